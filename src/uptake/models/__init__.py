"""Models: the catalog, the content-addressed store, sources, and GGUF metadata."""
