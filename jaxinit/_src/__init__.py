"""Implementation of jaxinit. Users import from the flat `jaxinit` namespace."""
