"""bulk-sources: create many Statsig assignment sources at once, exactly once, within limits."""

from .version import __version__

__all__ = ["__version__"]
