"""What a row's SQL means: Statsig macros, foreign templates, syntax, output columns.

`SqlCheck` is the entry point; sqlglot is imported when one is made, not before.
"""

from __future__ import annotations

from .check import SqlCheck, SqlChecks

__all__ = ["SqlCheck", "SqlChecks"]
