"""`validate(path)`: check every row of a catalog file without sending anything.

cli/validate.py is the command over it (the same idea one layer up).
"""

from __future__ import annotations

from pathlib import Path

from .catalog.reader import open_catalog
from .catalog.validation import ValidationReport, validate_catalog


def validate(path: Path | str, *, encoding: str | None = None) -> ValidationReport:
    """Every row's problems (row number, field, reason), duplicates and the valid count."""
    return validate_catalog(open_catalog(Path(path), encoding))
