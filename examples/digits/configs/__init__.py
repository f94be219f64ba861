"""Config files for the digits example; each module has `get_config()`."""
