"""Neural model families (architecture only, one module each) and their Enhancer wrappers."""
