"""The command line: parser, exit codes and all rendering, over the library."""

from .main import main

__all__ = ["main"]
