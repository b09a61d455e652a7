"""One module per file format: what can go wrong in its header or layout, read without loading the weights."""
