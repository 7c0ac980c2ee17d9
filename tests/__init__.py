"""fbt's test suite (a package, so that helper modules are imported as tests.<folder>.<module>)."""
