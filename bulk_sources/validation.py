"""Catalog rows -> valid bodies, invalid rows with every reason, and duplicate names.

Streams: only the rows' verdicts are kept, plus one small entry per name so a later row
with the same name can be recognised as a duplicate (same content) or a conflict.
Every row ends in exactly one of valid, invalid, duplicates.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from .catalog import Catalog
from .cells import RowDecoder
from .models import AssignmentSourceCreate, row_key

_MAX_LISTED_ROWS = 10


@dataclass(frozen=True)
class RowError:
    row: int
    name: str | None
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.name is None else f"row {self.row} ({self.name})"
        return f"{where}: {self.field}: {self.reason}"


@dataclass(frozen=True)
class ValidRow:
    row: int
    name: str
    body: dict[str, Any]
    key: str


@dataclass
class ValidationReport:
    total: int = 0
    valid: list[ValidRow] = field(default_factory=list)
    valid_count: int = 0
    invalid: dict[int, list[RowError]] = field(default_factory=dict)
    duplicates: dict[int, tuple[str, int]] = field(default_factory=dict)
    unknown_columns: list[str] = field(default_factory=list)
    _names: dict[int, str] = field(default_factory=dict, repr=False)
    _valid_names: dict[int, str] | None = field(default=None, repr=False)

    def row_name(self, row: int) -> str | None:
        if row in self._names:
            return self._names[row]
        if self._valid_names is None:
            self._valid_names = {v.row: v.name for v in self.valid}
        return self._valid_names.get(row)


def _model_errors(exc: ValidationError, skip: set[str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for error in exc.errors(include_url=False, include_context=False, include_input=False):
        loc = error["loc"]
        msg = error["msg"].removeprefix("Value error, ")
        if not loc:
            # A model-level rule; its message starts with the field it is about.
            first, _, rest = msg.partition(" ")
            field_name, reason = (
                (first, rest) if first in AssignmentSourceCreate.model_fields else ("row", msg)
            )
        else:
            field_name = str(loc[0])
            path = " ".join(f"entry {p + 1}" if isinstance(p, int) else str(p) for p in loc[1:])
            reason = f"{path}: {msg}" if path else msg
        if field_name not in skip:
            out.append((field_name, reason[:1].lower() + reason[1:]))
    return out


def check_row(
    decoder: RowDecoder, values: Sequence[object]
) -> tuple[str | None, AssignmentSourceCreate | None, list[tuple[str, str]]]:
    """One row's name (if readable), its model (if valid) and every (field, reason) against it."""
    body, errors = decoder.decode(values)
    if len(values) != decoder.width:
        errors.insert(
            0,
            (
                "row",
                f"has {len(values)} cells but the header has {decoder.width} columns; "
                "quote cells that contain commas",
            ),
        )
    name = body.get("name")
    try:
        model = AssignmentSourceCreate.model_validate(body)
    except ValidationError as exc:
        errors.extend(_model_errors(exc, {f for f, _ in errors}))
        return name, None, errors
    return name, (None if errors else model), errors


@dataclass(slots=True)
class _Seen:
    """What is remembered of the first row with a name, and of any later ones."""

    first: int
    content: int
    later: list[tuple[int, int, list[tuple[str, str]] | None]] | None = None


def validate_catalog(catalog: Catalog, *, keep_valid: bool = False) -> ValidationReport:
    report = ValidationReport(unknown_columns=list(catalog.unknown_columns))
    decoder = RowDecoder(catalog.column_map)
    seen: dict[str, _Seen] = {}
    for number, values in catalog.records():
        report.total += 1
        name, model, errors = check_row(decoder, values)
        if model is not None:
            body = model.to_body()
            key = row_key(body)
            content = hash(key)
        else:
            # Invalid rows compare by their raw cells: identical text is a plain duplicate.
            content = hash(repr(values))
        if name is not None:
            first = seen.get(name)
            if first is None:
                seen[name] = _Seen(number, content)
            else:
                # Decided at the end: a later row may still conflict with this name.
                if first.later is None:
                    first.later = []
                first.later.append((number, content, errors if model is None else None))
                if model is not None and keep_valid:
                    report.valid.append(ValidRow(number, name, body, key))
                continue
        if model is None:
            report.invalid[number] = [RowError(number, name, f, r) for f, r in errors]
            if name is not None:
                report._names[number] = name
            continue
        report.valid_count += 1
        if keep_valid:
            report.valid.append(ValidRow(number, model.name, body, key))
    _settle_repeated_names(report, seen)
    return report


def _settle_repeated_names(report: ValidationReport, seen: dict[str, _Seen]) -> None:
    dropped: set[int] = set()
    for name, entry in seen.items():
        if entry.later is None:
            continue
        if all(content == entry.content for _, content, _ in entry.later):
            for number, _, _ in entry.later:
                report.duplicates[number] = (name, entry.first)
                report._names[number] = name
                dropped.add(number)
            continue
        rows = [entry.first] + [number for number, _, _ in entry.later]
        listed = ", ".join(str(r) for r in rows[:_MAX_LISTED_ROWS])
        if len(rows) > _MAX_LISTED_ROWS:
            listed += f", ... ({len(rows)} rows)"
        conflict = f"name {name} appears in rows {listed} with different content"
        if entry.first not in report.invalid:
            report.valid_count -= 1
            dropped.add(entry.first)
            report.invalid[entry.first] = []
        report.invalid[entry.first].append(RowError(entry.first, name, "name", conflict))
        report._names[entry.first] = name
        for number, _, errors in entry.later:
            own = [RowError(number, name, f, r) for f, r in errors or []]
            report.invalid[number] = [*own, RowError(number, name, "name", conflict)]
            report._names[number] = name
            dropped.add(number)
    if report.valid and dropped:
        report.valid = [v for v in report.valid if v.row not in dropped]
    if report.invalid:
        report.invalid = dict(sorted(report.invalid.items()))


@dataclass(frozen=True)
class Finding:
    """One line of a validation report: an invalid row's error, or a duplicate row."""

    row: int
    name: str | None
    status: str  # "invalid" or "duplicate"
    field: str
    reason: str

    def __str__(self) -> str:
        if self.status == "duplicate":
            return f"row {self.row} ({self.name}): {self.reason}"
        return str(RowError(self.row, self.name, self.field, self.reason))


def findings(report: ValidationReport) -> Iterator[Finding]:
    """Every error of every invalid row and every duplicate, in row order."""
    duplicates = iter(sorted(report.duplicates.items()))
    pending = next(duplicates, None)
    for row, errors in report.invalid.items():
        while pending is not None and pending[0] < row:
            yield _duplicate(*pending)
            pending = next(duplicates, None)
        for error in errors:
            yield Finding(error.row, error.name, "invalid", error.field, error.reason)
    while pending is not None:
        yield _duplicate(*pending)
        pending = next(duplicates, None)


def _duplicate(row: int, of: tuple[str, int]) -> Finding:
    name, first = of
    return Finding(row, name, "duplicate", "name", f"duplicate of row {first}, not sent")
