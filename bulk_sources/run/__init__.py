"""A run: its settings, the one run routine and the library entry points over it."""
