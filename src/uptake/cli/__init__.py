"""The `uptake` command line: thin verbs over the library."""
