"""Config files for the parity example; each module has `get_config()`."""
