"""The fast path of cell decoding: a batch at a time, column by column, texts cached.

The pure decoders (one cell -> one value or a CellError) live in `cells.py`; this module
only decides how often they run and assembles partial bodies from their results.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any

from .cells import (
    NUL_REASON,
    CellError,
    NulCell,
    decode_bool,
    decode_column_name,
    decode_hour,
    decode_id_type_mapping,
    decode_owner,
    decode_tags,
    decode_text,
)
from .columns import (
    BOOL_FIELDS,
    COLUMN_NAME_FIELDS,
    OPTIONAL_FIELDS,
    REQUIRED_FIELDS,
    ColumnMap,
)
from .importnote import is_import_note, note_errors

Decoder = Callable[[object], Any]


_CACHE_SIZE = 4096


def _cached(decode: Decoder, finish: Decoder | None = None) -> Decoder:
    # Catalogs repeat the same few mappings and tag lists on thousands of rows; parsing each
    # text once keeps validation close to pydantic's own speed. The cached lists are shared
    # between rows, which is safe because bodies are only read (pydantic copies them).
    # `finish` only runs on values that go into the cache: it pays off on repeated texts only.
    cache: dict[str, Any] = {}

    def run(value: object) -> Any:
        """Decode one cell, remembering the answer for text seen before."""
        if value.__class__ is not str:
            if value.__class__ is NulCell:
                raise CellError(NUL_REASON)
            return decode(value)
        try:
            return cache[value]
        except KeyError:
            result = decode(value)
            if len(cache) < _CACHE_SIZE:
                if finish is not None and result is not None:
                    result = finish(result)
                cache[value] = result
            return result

    run.cache = cache  # type: ignore[attr-defined]
    return run


REQUIRED_EMPTY = "is required but empty"


_SPECIAL: dict[str, Decoder] = {
    "tags": decode_tags,
    "idTypeMapping": decode_id_type_mapping,
    "owner": decode_owner,
    "scheduledReloadHour": decode_hour,
    **{f: decode_bool for f in BOOL_FIELDS},
    **{f: decode_column_name for f in COLUMN_NAME_FIELDS},
}


_REQUIRED = frozenset(REQUIRED_FIELDS)


Errors = list[tuple[str, str]]


class RowDecoder:
    """Decodes rows' cells (in header order) into partial bodies plus (field, reason) errors.

    Works a batch at a time, column by column: most of a million-row catalog's cost would
    otherwise be Python's per-cell overhead. A body holds only the fields its row gave and
    may share lists with other rows' bodies.

    `finish` maps a field to a function applied to its decoded values (never None) as they
    are cached, once per distinct cell text; what it returns must validate exactly as what
    it was given, as other rows of the same field may get the unfinished value.
    """

    def __init__(self, cmap: ColumnMap, finish: Mapping[str, Decoder] | None = None) -> None:
        finish = finish or {}
        self.width = len(cmap.columns)
        self._text = [
            (i, t) for i, t in enumerate(cmap.targets) if t is not None and t not in _SPECIAL
        ]
        self._special = [
            (i, t, _cached(_SPECIAL[t], finish.get(t)))
            for i, t in enumerate(cmap.targets)
            if t is not None and t in _SPECIAL
        ]
        self._owner_parts = [t for t in cmap.targets if t is not None and t.startswith("owner.")]
        self._order = {t: i for i, t in enumerate(cmap.targets) if t is not None}
        if self._owner_parts:
            self._order["owner"] = min(self._order[p] for p in self._owner_parts)
        # An imported row whose `_import_note` still says "EDIT ME:" is invalid (importnote.py).
        self._note = next((i for i, c in enumerate(cmap.columns) if is_import_note(c)), None)

    def decode(self, values: Sequence[object]) -> tuple[dict[str, Any], Errors]:
        bodies, errors = self.decode_many([values])
        return bodies[0], errors.get(0, [])

    def decode_many(
        self, rows: Sequence[Sequence[object]]
    ) -> tuple[list[dict[str, Any]], dict[int, Errors]]:
        """Bodies in row order, and errors by index into `rows` (rows must be full width)."""
        if not rows:
            return [], {}
        columns = list(zip(*rows, strict=True))
        errors: dict[int, Errors] = {}
        fields: list[str] = []
        decoded: list[list[Any]] = []
        for index, field in self._text:
            fields.append(field)
            decoded.append(_decode_column(columns[index], field, decode_text, errors))
        for index, field, decode in self._special:
            fields.append(field)
            decoded.append(_decode_column(columns[index], field, decode, errors))
        if self._owner_parts:
            decoded, fields = self._gather_owner(decoded, fields)
        for field, column in zip(fields, decoded, strict=True):
            # all() first: a C-speed truth test, where `None in column` compares every value.
            if field in _REQUIRED and not all(column):
                for i, value in enumerate(column):
                    if value is None and not any(f == field for f, _ in errors.get(i, ())):
                        errors.setdefault(i, []).append((field, REQUIRED_EMPTY))
        if self._note is not None:
            for i, reason in note_errors(columns[self._note]).items():
                errors.setdefault(i, []).append(("row", reason))
        return _bodies(fields, decoded, len(rows)), errors

    def _gather_owner(
        self, decoded: list[list[Any]], fields: list[str]
    ) -> tuple[list[list[Any]], list[str]]:
        parts = [i for i, f in enumerate(fields) if f.startswith("owner.")]
        owners: list[dict[str, Any] | None] = [None] * len(decoded[0])
        # Owner parts are usually sparse: visit only the cells that hold something.
        for i in parts:
            key, column = fields[i][6:], decoded[i]
            for row in [row for row, value in enumerate(column) if value is not None]:
                owner = owners[row]
                if owner is None:
                    owners[row] = {key: column[row]}
                else:
                    owner[key] = column[row]
        keep = [i for i in range(len(fields)) if i not in parts]
        return [decoded[i] for i in keep] + [owners], [fields[i] for i in keep] + ["owner"]

    def sort_errors(self, errors: Errors) -> Errors:
        """In the order of the columns; whole-row problems first, then unknown places last."""
        order = self._order
        return sorted(errors, key=lambda e: -1 if e[0] == "row" else order.get(e[0], len(order)))


def _bodies(fields: list[str], decoded: list[list[Any]], size: int) -> list[dict[str, Any]]:
    """Per row, a dict of the fields whose value is not None (the key order carries no meaning).

    Columns without a None in this batch (the required ones, mostly) go in all at once through
    `_dict_maker`; the sparse optional columns are then added only where they have a value.
    all() picks the dense ones at C speed; a column it puts aside for a False or an empty list
    is still added exactly, value by value.
    """
    dense = [i for i, column in enumerate(decoded) if all(column)]
    if dense:
        make = _dict_maker(tuple(fields[i] for i in dense))
        bodies = list(map(make, *(decoded[i] for i in dense)))
    else:
        bodies = [{} for _ in range(size)]
    for i in range(len(fields)):
        if i in dense:
            continue
        field, column = fields[i], decoded[i]
        for row in [row for row, value in enumerate(column) if value is not None]:
            bodies[row][field] = column[row]
    return bodies


@cache
def _dict_maker(fields: tuple[str, ...]) -> Callable[..., dict[str, Any]]:
    """`lambda *values: dict(zip(fields, values))`, written out as a dict display.

    `lambda v0, v1: {'name': v0, 'sql': v1}` builds a row's dict in one bytecode: about
    0.55 µs a row against 1.25 µs for dict(zip()) or a comprehension. The keys are body field
    names from this module's own tables, never header text, and are quoted with repr().
    """
    unknown = set(fields) - {*REQUIRED_FIELDS, *OPTIONAL_FIELDS}
    if unknown:  # the guard that keeps eval() below away from anything a file supplies
        raise ValueError(f"not body fields: {sorted(unknown)}")
    params = ", ".join(f"v{i}" for i in range(len(fields)))
    items = ", ".join(f"{field!r}: v{i}" for i, field in enumerate(fields))
    make: Callable[..., dict[str, Any]] = eval(f"lambda {params}: {{{items}}}")
    return make


def _decode_column(
    column: Sequence[object], field: str, decode: Decoder, errors: dict[int, Errors]
) -> list[Any]:
    if decode is decode_text:
        try:
            # The common case, all text: a C-speed pass instead of a call per cell.
            return [value.strip() or None for value in column]  # type: ignore[attr-defined]
        except AttributeError:
            pass  # a Parquet null or a non-text value somewhere in the column
    else:
        try:
            # map() with the bound lookup: a C-speed pass, ~3 times faster than a comprehension
            # that looks up `decode.cache` for every cell.
            return list(map(decode.cache.__getitem__, column))  # type: ignore[attr-defined]
        except (KeyError, TypeError):
            pass  # new texts (cached by the loop below), or Parquet lists
    out: list[Any] = []
    for i, value in enumerate(column):
        try:
            out.append(decode(value))
        except CellError as exc:
            errors.setdefault(i, []).append((field, exc.reason))
            out.append(None)  # absent from the body; reported once, not also as empty
    return out
