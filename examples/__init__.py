"""Example training scripts for jaxinit (importable from the repository root)."""
