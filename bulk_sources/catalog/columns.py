"""Catalog columns: which header feeds which body field, and what the other headers are.

A header is one of three things: a body field (under its spec name, its snake_case name, in
any case), a *report column* (a name starting with `_`, which the tool itself appends to
`failed.csv`: `_row`, `_status`, `_error`; always ignored, so a failed file is valid input as
it is), or an unknown column (ignored with a warning, with a "did you mean" when the header
is close to a field's name).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

REQUIRED_FIELDS = (
    "name",
    "sql",
    "timestampColumn",
    "experimentIDColumn",
    "groupIDColumn",
    "idTypeMapping",
)
OPTIONAL_FIELDS = (
    "description",
    "isVerified",
    "tags",
    "groupNameColumn",
    "isReadOnly",
    "owner",
    "team",
    "teamID",
    "scheduledReloadHour",
    "dryRun",
)
OWNER_FIELDS = ("ownerID", "ownerType", "ownerName", "ownerEmail")
BOOL_FIELDS = frozenset({"isVerified", "isReadOnly", "dryRun"})
# Fields whose value names a column of the SQL's output: one word, no spaces or separators.
COLUMN_NAME_FIELDS = frozenset(
    {"timestampColumn", "experimentIDColumn", "groupIDColumn", "groupNameColumn"}
)
# Headers starting with this are the tool's own report columns (see the module docstring).
REPORT_PREFIX = "_"
# The one report column validation reads: the SQL dialect of the row (`import` writes it from
# the platform's warehouse type); `--dialect` overrides it, an empty cell is the default.
DIALECT_COLUMN = "_dialect"

_SNAKE = {
    "timestampColumn": "timestamp_column",
    "experimentIDColumn": "experiment_id_column",
    "groupIDColumn": "group_id_column",
    "groupNameColumn": "group_name_column",
    "idTypeMapping": "id_type_mapping",
    "isVerified": "is_verified",
    "isReadOnly": "is_read_only",
    "teamID": "team_id",
    "scheduledReloadHour": "scheduled_reload_hour",
    "dryRun": "dry_run",
}
_OWNER_SNAKE = {
    "ownerID": "owner_id",
    "ownerType": "owner_type",
    "ownerName": "owner_name",
    "ownerEmail": "owner_email",
}


def _alias_table() -> dict[str, str]:
    # Headers match case-insensitively: spreadsheets and people capitalise freely.
    table: dict[str, str] = {}
    for name in REQUIRED_FIELDS + OPTIONAL_FIELDS:
        table[name.lower()] = name
        table[_SNAKE.get(name, name)] = name
    for part, snake in _OWNER_SNAKE.items():
        target = f"owner.{part}"
        for spelling in (f"owner.{part}", f"owner.{snake}", snake):
            table[spelling.lower()] = target
    return table


_ALIASES = _alias_table()
_SQUASH = re.compile(r"[^a-z0-9]")
# Spellings with case, dots, dashes, spaces and underscores removed: `ownerEmail`,
# `Owner Email` and `owner-email` all squash to `owneremail`, which is `owner_email`'s.
_SQUASHED = {_SQUASH.sub("", alias): target for alias, target in _ALIASES.items()}


def target_of(column: str) -> str | None:
    """The body field (or `owner.<part>`) a header cell feeds, or None for another column."""
    return _ALIASES.get(column.strip().lower())


def dialect_index(columns: Sequence[str]) -> int | None:
    """Where the `_dialect` column is, or None when the catalog has none."""
    return next((i for i, c in enumerate(columns) if c.strip().lower() == DIALECT_COLUMN), None)


def is_report_column(column: str) -> bool:
    return column.strip().startswith(REPORT_PREFIX)


def suggest(column: str) -> str | None:
    """The field a header that is not one was probably meant to be, or None."""
    squashed = _SQUASH.sub("", column.lower())
    if not squashed:
        return None
    if squashed in _SQUASHED:
        return _SQUASHED[squashed]
    close = difflib.get_close_matches(squashed, list(_SQUASHED), n=1, cutoff=0.8)
    if close:
        return _SQUASHED[close[0]]
    # `groupName`, `timestamp`: the start of exactly one field's name.
    starts = {t for s, t in _SQUASHED.items() if s.startswith(squashed)}
    return starts.pop() if len(squashed) >= 5 and len(starts) == 1 else None


class ColumnProblem(ValueError):
    """The header itself can't be used; the message ends in how to fix it."""


@dataclass(frozen=True)
class ColumnMap:
    columns: tuple[str, ...]
    targets: tuple[str | None, ...]
    unknown: tuple[str, ...]
    missing: tuple[str, ...]
    # Unknown column -> the field it is probably meant to be.
    hints: dict[str, str] = field(default_factory=dict)
    report: tuple[str, ...] = ()


def map_columns(columns: Sequence[str]) -> ColumnMap:
    targets = tuple(target_of(c) for c in columns)
    seen: dict[str, str] = {}
    for column, target in zip(columns, targets, strict=True):
        if target is None:
            continue
        if target in seen:
            raise ColumnProblem(
                f"columns {seen[target]!r} and {column!r} both give {target}; keep only one"
            )
        seen[target] = column
    if "owner" in seen and any(t.startswith("owner.") for t in seen):
        raise ColumnProblem(
            "it has both an owner column and owner.* columns; keep only one of the two forms"
        )
    others = [c for c, t in zip(columns, targets, strict=True) if t is None]
    report = tuple(c for c in others if is_report_column(c))
    unknown = tuple(c for c in others if not is_report_column(c))
    hints = {c: hint for c in unknown if (hint := suggest(c)) is not None and hint not in seen}
    missing = tuple(f for f in REQUIRED_FIELDS if f not in seen)
    return ColumnMap(tuple(columns), targets, unknown, missing, hints, report)


def unknown_columns_text(cmap: ColumnMap, ignore: Collection[str] = ()) -> str | None:
    """The warning about ignored columns, with "did you mean" where one is close; or None."""
    unknown = meant_unknown(cmap, ignore)
    if not unknown:
        return None
    names = ", ".join(
        f"{c} (did you mean `{cmap.hints[c]}`?)" if c in cmap.hints else c for c in unknown
    )
    return (
        f"warning: ignoring columns that are not assignment-source fields: {names} "
        "(rename them to spec field names if they were meant to be sent)"
    )


def _folded(names: Collection[str]) -> set[str]:
    return {n.strip().lower() for n in names}


def meant_unknown(cmap: ColumnMap, ignore: Collection[str]) -> tuple[str, ...]:
    """The unknown columns `--ignore-column` does not name (those are meant: never warned)."""
    ignored = _folded(ignore)
    return tuple(c for c in cmap.unknown if c.strip().lower() not in ignored)


def header_errors(
    cmap: ColumnMap, *, strict: bool = False, ignore: Collection[str] = ()
) -> list[str]:
    """Why the header stops a submit before any request: a column that is almost a field (its
    values would silently not be sent), or under `strict` any column that is not one."""
    out = []
    for column in meant_unknown(cmap, ignore):
        meant = cmap.hints.get(column)
        if meant is not None:
            out.append(
                f"column {column!r} is almost the field `{meant}`, so its values would not be "
                f"sent: rename it to {meant}, or pass --ignore-column {column} if it is meant "
                "to stay out"
            )
        elif strict:
            out.append(
                f"column {column!r} is not an assignment-source field (an error under "
                f"--strict): remove it, or pass --ignore-column {column}"
            )
    return out
