"""Catalog columns and cells: which column feeds which body field, and how a cell decodes.

A cell is a string (CSV) or a Parquet-native value (str, bool, list, dict, None). Every
decoder returns the Python value to send, or None for "not sent", or raises CellError with
a reason that says how to write the cell instead.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from .columns import (
    OWNER_FIELDS,
    REQUIRED_FIELDS,
    ColumnMap,
    ColumnProblem,
    map_columns,
    target_of,
)

__all__ = [
    "REQUIRED_FIELDS",
    "CellError",
    "ColumnMap",
    "ColumnProblem",
    "map_columns",
    "target_of",
]


class CellError(ValueError):
    """A cell that can't be decoded; `reason` is the user-facing text."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class NulCell:
    """A cell holding a NUL character, as the reader hands it over: never valid, never sent.

    Readers wrap such cells so every decoder refuses them without any cost for the others
    (a NUL can't be told from the end of a string by the warehouse or the console).
    """

    value: object


class NotedText(str):
    """A cell's text that a reader marks as probably not what the person meant (a workbook's
    date, a formula without a value): read as the text, plus `note`, a warning about it.

    A str subclass, so every decoder takes it as the text it is; validation looks for it only
    in catalogs whose reader makes them (`CatalogSource.may_note_cells`).
    """

    note: str

    def __new__(cls, value: str, note: str) -> NotedText:
        made = super().__new__(cls, value)
        made.note = note
        return made


NUL_REASON = "contains a NUL character (\\0); remove it, it is never part of a value"


def _kind(value: object) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", list: "a list"}.get(
        type(value), type(value).__name__
    )


def decode_text(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        if value.__class__ is NulCell:
            raise CellError(NUL_REASON)
        raise CellError(f"must be text, not {_kind(value)}")
    return value.strip() or None


_SEPARATOR = re.compile(r"[\s,;|]")
_SEPARATOR_NAMES = {",": "a comma", ";": "a semicolon", "|": "a '|'"}


def check_column_name(text: str) -> str:
    """`text` (trimmed) if it can be a column name of the SQL's output, else CellError."""
    found = _SEPARATOR.search(text)
    if found is None:
        return text
    char = found.group()
    what = _SEPARATOR_NAMES.get(char, "a space" if char == " " else "a tab or line break")
    fixed = re.sub(r"\s+", "_", text)
    raise CellError(
        f"{text!r} contains {what}; a column name is one word as the SQL outputs it"
        + (f" (did you mean `{fixed}`?)" if char.isspace() else "; give one column")
    )


def decode_column_name(value: object) -> str | None:
    text = decode_text(value)
    return None if text is None else check_column_name(text)


def decode_hour(value: object) -> int | None:
    """scheduledReloadHour: a whole hour; the model checks the 0-23 range."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)  # spreadsheets hand whole numbers over as floats
    if isinstance(value, str):
        text = value.strip().removesuffix(".0")
        if not text:
            return None
        if text.lstrip("-").isdigit():
            return int(text)
    raise CellError(f"{value!r} is not a whole hour; write a number from 0 to 23")


_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


def decode_bool(value: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if not text:
            return None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise CellError(f"{value!r} is not a boolean; write true/false, yes/no or 1/0")


def _json(text: str, what: str, example: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CellError(f"is not valid JSON ({exc.msg}); write {what}, e.g. {example}") from None


def _list_cell(value: object, what: str, example: str) -> list[Any] | str | None:
    """A JSON array or native list as a list; compact text as (stripped) str; empty as None."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return list(value)
    if not isinstance(value, str):
        raise CellError(f"must be {what}, not {_kind(value)}")
    text = value.strip()
    if not text:
        return None
    if text.startswith("{"):
        raise CellError(f"must be {what}; put [ ] around a single JSON object")
    if not text.startswith("["):
        return text
    items = _json(text, what, example)
    if not isinstance(items, list):
        raise CellError(f"must be {what}, e.g. {example}")
    return items


_TAGS_FORM = "a JSON array of strings or a;b;c"


def decode_tags(value: object) -> list[str] | None:
    items = _list_cell(value, _TAGS_FORM, '["growth","checkout"]')
    if items is None:
        return None
    if isinstance(items, str):
        if "," in items:
            # A spreadsheet habit: `a, b, c` would otherwise be one tag "a, b, c".
            fixed = ";".join(t.strip() for t in items.split(",") if t.strip())
            raise CellError(f"separate tags with `;`, not commas (did you mean `{fixed}`?)")
        tags = [t.strip() for t in items.split(";")]
        return [t for t in tags if t] or None
    out: list[str] = []
    for i, tag in enumerate(items, 1):
        if not isinstance(tag, str) or not tag.strip():
            raise CellError(f"tag {i} must be non-empty text; write {_TAGS_FORM}")
        out.append(tag.strip())
    return out


_MAPPING_FORM = (
    'userID=user_id;stableID=stable_id or [{"statsigUnitID": "userID", "column": "user_id"}]'
)


def _mapping_entry(i: int, item: object) -> dict[str, str]:
    if not isinstance(item, dict):
        raise CellError(f"entry {i} must be an object with statsigUnitID and column")
    unknown = sorted(set(item) - {"statsigUnitID", "column"})
    if unknown:
        raise CellError(f"entry {i} has unknown key {unknown[0]!r}; use statsigUnitID and column")
    entry: dict[str, str] = {}
    for key in ("statsigUnitID", "column"):
        text = item.get(key)
        if not isinstance(text, str) or not text.strip():
            raise CellError(f"entry {i} needs a non-empty {key}")
        entry[key] = text.strip()
    _entry_words(i, entry["statsigUnitID"], entry["column"])
    return entry


def _entry_words(i: int, unit: str, column: str) -> None:
    for key, text in (("statsigUnitID", unit), ("column", column)):
        try:
            check_column_name(text)
        except CellError as exc:
            raise CellError(f"entry {i} {key} {exc.reason}") from None


def decode_id_type_mapping(value: object) -> list[dict[str, str]] | None:
    # Empty lists and repeated unit IDs are left to the model, which owns those rules.
    items = _list_cell(value, _MAPPING_FORM, "userID=user_id")
    if items is None:
        return None
    if isinstance(items, str):
        if "," in items:
            fixed = ";".join(p.strip() for p in items.split(",") if p.strip())
            raise CellError(f"separate entries with `;`, not commas (did you mean `{fixed}`?)")
        pairs: list[tuple[str, str]] = []
        for i, piece in enumerate((p for p in items.split(";") if p.strip()), 1):
            unit, sep, column = piece.partition("=")
            if not sep:
                raise CellError(f"entry {i} {piece.strip()!r} lacks '='; write {_MAPPING_FORM}")
            pairs.append((unit.strip(), column.strip()))
        # What _mapping_entry checks of such entries, in its order, without the generic
        # dict checks: about half the time for catalogs with a different mapping on each row.
        for i, (unit, column) in enumerate(pairs, 1):
            if not unit:
                raise CellError(f"entry {i} needs a non-empty statsigUnitID")
            if not column:
                raise CellError(f"entry {i} needs a non-empty column")
            _entry_words(i, unit, column)
        return [{"statsigUnitID": unit, "column": column} for unit, column in pairs]
    return [_mapping_entry(i, item) for i, item in enumerate(items, 1)]


def decode_owner(value: object) -> dict[str, str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        value = _json(text, "a JSON object", '{"ownerID": "abc123", "ownerType": "USER"}')
        if value is None:
            return None
    if not isinstance(value, dict):
        raise CellError(f"must be a JSON object with {', '.join(OWNER_FIELDS)}")
    unknown = sorted(set(value) - set(OWNER_FIELDS))
    if unknown:
        raise CellError(f"has unknown key {unknown[0]!r}; use {', '.join(OWNER_FIELDS)}")
    owner: dict[str, str] = {}
    for key, part in value.items():
        try:
            part_text = decode_text(part)
        except CellError as exc:
            raise CellError(f"{key} {exc.reason}") from None
        if part_text is not None:
            owner[key] = part_text
    return owner or None
