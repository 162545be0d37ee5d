"""Rows that share a name: identical content is a duplicate (not sent), different content
makes every such row invalid and says which fields differ.

The first pass keeps one packed int per name (hash of the raw cells, row number); only names
whose later rows differ in their cells are decoded again, in a second pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..models import row_key
from .decoder import RowDecoder
from .rowcheck import check_row
from .verdicts import RowError, ValidationReport

if TYPE_CHECKING:
    # For the type only: the reader brings pyarrow, which validating a frame does not need.
    from .reader import CatalogSource

_MAX_LISTED_ROWS = 10


ROW_BITS = 40


ROW_MASK = (1 << ROW_BITS) - 1


_HASH_MASK = (1 << 64) - 1


def _raw_hash(values: Sequence[object]) -> int:
    """64 bits, never negative, so it packs with a row number into one int."""
    try:
        return hash(tuple(values)) & _HASH_MASK
    except TypeError:  # Parquet lists and structs
        return hash(repr(values)) & _HASH_MASK


def packed_hashes(start: int, rows: Sequence[Sequence[object]]) -> list[int]:
    """Per row, its raw hash and number packed in one int, for a batch starting at row `start`."""
    try:
        return [
            (hash(tuple(values)) & _HASH_MASK) << ROW_BITS | number
            for number, values in enumerate(rows, start)
        ]
    except TypeError:  # some row has Parquet lists or structs: the same, row by row
        return [_raw_hash(values) << ROW_BITS | number for number, values in enumerate(rows, start)]


@dataclass(frozen=True, slots=True)
class Later:
    """A second or later row with an already-seen name, held until all rows are read."""

    number: int
    raw: int
    errors: list[tuple[str, str]] | None  # None when the row is valid on its own


def _content(decoder: RowDecoder, values: Sequence[object]) -> tuple[str, dict[str, Any]]:
    """A row's identity by content, and its decoded fields (to say which ones differ)."""
    _, model, _ = check_row(decoder, values)
    if model is not None:
        body = model.to_body()
        return row_key(body), body
    width = decoder.width
    full = [*values[:width], *[""] * (width - len(values))]
    return f"invalid:{values!r}", decoder.decode(full)[0]


def _contents(
    catalog: CatalogSource, decoder: RowDecoder, rows: set[int]
) -> dict[int, tuple[str, dict[str, Any]]]:
    """Second pass, only when a name repeats with different cells: same body or not?"""
    return {
        number: _content(decoder, values) for number, values in catalog.records() if number in rows
    }


def _differing(bodies: Sequence[dict[str, Any]]) -> list[str]:
    first, *others = bodies
    fields = {f for body in bodies for f in body}
    return sorted(f for f in fields if any(o.get(f) != first.get(f) for o in others))


def settle_repeated_names(
    report: ValidationReport,
    catalog: CatalogSource,
    decoder: RowDecoder,
    first: dict[str, int],
    later: dict[str, list[Later]],
) -> None:
    differ = {n for n, rows in later.items() if any(r.raw != first[n] >> ROW_BITS for r in rows)}
    needed = {first[n] & ROW_MASK for n in differ} | {r.number for n in differ for r in later[n]}
    contents = _contents(catalog, decoder, needed) if needed else {}
    dropped: set[int] = set()
    for name, rows in later.items():
        first_row = first[name] & ROW_MASK
        report._names.update({r.number: name for r in rows})
        if name not in differ or all(contents[r.number][0] == contents[first_row][0] for r in rows):
            for r in rows:
                report.duplicates[r.number] = (name, first_row)
            continue
        numbers = [first_row, *(r.number for r in rows)]
        listed = ", ".join(str(n) for n in numbers[:_MAX_LISTED_ROWS])
        if len(numbers) > _MAX_LISTED_ROWS:
            listed += f", ... ({len(numbers)} rows)"
        fields = _differing([contents[n][1] for n in numbers])
        which = f" (they differ in {', '.join(fields)})" if fields else ""
        conflict = f"name {name} appears in rows {listed} with different content{which}"
        if first_row not in report.invalid:
            report.valid_count -= 1
            dropped.add(first_row)
            report.invalid[first_row] = []
            report._names[first_row] = name
        report.invalid[first_row].append(RowError(first_row, name, "name", conflict))
        for r in rows:
            own = [RowError(r.number, name, f, reason) for f, reason in r.errors or []]
            report.invalid[r.number] = [*own, RowError(r.number, name, "name", conflict)]
    if dropped and report.valid:
        report.valid = [v for v in report.valid if v.row not in dropped]
    report.invalid = dict(sorted(report.invalid.items()))
