"""`validate(path)`: check every row of a catalog file without sending anything.

cli/validate.py is the command over it (the same idea one layer up).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from .catalog.reader import open_catalog
from .catalog.validation import ValidationReport, validate_catalog


def validate(
    path: Path | str,
    *,
    encoding: str | None = None,
    sheet: str | None = None,
    dialect: str | None = None,
    strict: bool = False,
    ignore_columns: Collection[str] = (),
) -> ValidationReport:
    """Every row's problems (row number, field, reason), duplicates, warnings, the valid count,
    and `column_errors`: header problems that make a submit refuse the file."""
    return validate_catalog(
        open_catalog(Path(path), encoding, sheet=sheet),
        dialect=dialect,
        strict=strict,
        ignore_columns=ignore_columns,
    )
