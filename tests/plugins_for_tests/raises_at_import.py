"""A plugin module that raises while it is imported."""
raise RuntimeError("import bug")
