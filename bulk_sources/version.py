# The one place the version is written; pyproject.toml reads it from here (a constant, so
# `--help` need not load importlib.metadata).
__version__ = "0.2.0"
