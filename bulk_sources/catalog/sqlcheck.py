"""A warning, not an error: columns a row names that its SQL never mentions."""

from __future__ import annotations

from typing import Any

from ..models import IdTypeMapping
from .columns import COLUMN_NAME_FIELDS

_SQL_COLUMN_FIELDS = tuple(sorted(COLUMN_NAME_FIELDS))


def _column(entry: Any) -> str:
    return entry.column if entry.__class__ is IdTypeMapping else entry["column"]


def sql_misses(body: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, reason) for each column a valid body names that its SQL never mentions.

    Only for SQL that names its columns (no `*`): such a column is almost always a typo
    or a column the SQL forgot, and the source would fail when Statsig loads it. A warning,
    not an error: the test is textual and can't see through every SQL dialect's quoting.
    """
    sql = body["sql"]
    # The common case first, case-sensitive and at C speed: every column is in the SQL as
    # written. This runs on every valid row; the full check only when something is off.
    if (
        body["timestampColumn"] in sql
        and body["experimentIDColumn"] in sql
        and body["groupIDColumn"] in sql
        and body.get("groupNameColumn", "") in sql
    ):
        for entry in body["idTypeMapping"]:
            if _column(entry) not in sql:
                break
        else:
            return []
    if "*" in sql:
        return []
    low = sql.lower()
    missing = [(f, body[f]) for f in _SQL_COLUMN_FIELDS if f in body and body[f].lower() not in low]
    missing += [
        ("idTypeMapping", c) for c in map(_column, body["idTypeMapping"]) if c.lower() not in low
    ]
    return [
        (
            f,
            f"column {c!r} appears nowhere in the SQL, which names its columns; check the "
            "spelling (a warning: the row is still sent)",
        )
        for f, c in missing
    ]
