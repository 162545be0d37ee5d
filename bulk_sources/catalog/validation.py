"""Catalog rows -> valid bodies, invalid rows with every reason, and duplicate names.

Streams: only the rows' verdicts are kept, plus one small entry per name so a later row
with the same name can be recognised as a duplicate (same content) or a conflict.
Every row ends in exactly one of valid, invalid, duplicates.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..api.names import name_warning
from ..errors import HeaderRefused
from ..models import row_key
from .cells import NotedText
from .columns import dialect_index, header_errors, meant_unknown
from .decoder import RowDecoder
from .duplicates import ROW_BITS, Later, packed_hashes, settle_repeated_names
from .rowcheck import check_batch, check_row, check_rows, validated_mapping
from .sql import SqlChecks
from .verdicts import RowError, ValidationReport, ValidRow

if TYPE_CHECKING:
    # For the type only: the reader brings pyarrow, which validating a frame does not need.
    from .reader import CatalogSource

__all__ = [
    "Finding",
    "RowError",
    "ValidRow",
    "ValidationReport",
    "check_header",
    "check_row",
    "check_rows",
    "findings",
    "validate_catalog",
]

STRICT_NOTE = " (a warning, an error under --strict)"


def validate_catalog(
    catalog: CatalogSource,
    *,
    keep_valid: bool = False,
    dialect: str | None = None,
    check_sql: bool = True,
    strict: bool = False,
    ignore_columns: Collection[str] = (),
) -> ValidationReport:
    """Every row's verdict; `dialect` names the SQL's (None: only what every dialect rejects).

    Without `dialect`, a row's `_dialect` cell (an import writes it) names its SQL's dialect.
    `strict` makes every warning an error (its row invalid); `ignore_columns` are unknown
    columns that are meant (never warned about). Header problems that stop a submit are in
    `column_errors`. A ValueError names the dialects when `dialect` is not one of them.
    """
    sql = SqlChecks(dialect, dialect_index(catalog.columns)) if check_sql else None
    report = _new_report(catalog, strict, ignore_columns)
    noted = _noted_columns(catalog.column_map.targets) if catalog.may_note_cells else ()
    decoder = RowDecoder(catalog.column_map, finish={"idTypeMapping": validated_mapping})
    # Per name only (first row, hash of its raw cells), packed in one int: a million tuples
    # would be a million objects for the garbage collector to walk, a quarter of the time.
    # Identical cells are a duplicate; different cells are compared by content afterwards.
    first: dict[str, int] = {}
    later: dict[str, list[Later]] = {}
    total = valid_count = 0
    for start, rows in catalog.batches():
        bodies, models, errors = check_batch(decoder, rows, keep_models=keep_valid)
        total += len(rows)
        for i, (body, packed) in enumerate(zip(bodies, packed_hashes(start, rows), strict=True)):
            number = start + i
            name = body.get("name")
            row_errors, sql_warnings = _beyond_types(
                decoder, sql, noted, body, rows[i], errors.get(i)
            )
            if name is not None and first.setdefault(name, packed) != packed:
                later.setdefault(name, []).append(Later(number, packed >> ROW_BITS, row_errors))
                continue
            if row_errors is not None:
                report.invalid[number] = [RowError(number, name, f, r) for f, r in row_errors]
                if name is not None:
                    report._names[number] = name
            else:
                valid_count += 1
                if sql_warnings:
                    report.warnings.extend(RowError(number, name, f, r) for f, r in sql_warnings)
                if keep_valid:
                    model = models[i]
                    assert model is not None
                    valid = model.to_body()
                    report.valid.append(ValidRow(number, model.name, valid, row_key(valid)))
    report.total = total
    report.valid_count = valid_count
    if later:
        settle_repeated_names(report, catalog, decoder, first, later)
        # A row found in conflict is not sent, so a warning that says it is would mislead.
        report.warnings = [w for w in report.warnings if w.row not in report.invalid]
    if strict and report.warnings:
        _warnings_as_errors(report)
    return report


def _new_report(
    catalog: CatalogSource, strict: bool, ignore_columns: Collection[str]
) -> ValidationReport:
    cmap = catalog.column_map
    unknown = meant_unknown(cmap, ignore_columns)
    return ValidationReport(
        unknown_columns=list(unknown),
        column_hints={c: h for c, h in cmap.hints.items() if c in unknown},
        column_errors=header_errors(cmap, strict=strict, ignore=ignore_columns),
        notes=list(catalog.notes),
    )


Problems = list[tuple[str, str]]


def _beyond_types(
    decoder: RowDecoder,
    sql: SqlChecks | None,
    noted: tuple[tuple[int, str], ...],
    body: dict[str, Any],
    cells: Sequence[object],
    row_errors: Problems | None,
) -> tuple[Problems | None, Sequence[tuple[str, str]]]:
    """A row's errors (None: valid) and warnings, once the SQL and the cells are looked at."""
    warnings: Sequence[tuple[str, str]] = ()
    if row_errors is None and sql is not None:
        sql_errors, warnings = sql.check(body, cells)
        if sql_errors:
            row_errors = decoder.sort_errors(sql_errors)
    if row_errors is None:
        odd = name_warning(str(body.get("name", "")))
        if odd is not None:
            warnings = [("name", odd), *warnings]
    if noted:
        warnings = [*_cell_notes(cells, noted), *warnings]
        if row_errors is not None and warnings:
            row_errors = [*row_errors, *warnings]  # why a cell read as it did
    return row_errors, warnings


def _noted_columns(targets: Sequence[str | None]) -> tuple[tuple[int, str], ...]:
    """(index, field) of the columns that feed a field: where a noted cell is worth a word."""
    return tuple((i, t.partition(".")[0]) for i, t in enumerate(targets) if t is not None)


def _cell_notes(
    cells: Sequence[object], columns: tuple[tuple[int, str], ...]
) -> list[tuple[str, str]]:
    width = len(cells)
    return [
        (field, cells[i].note)  # type: ignore[attr-defined]
        for i, field in columns
        if i < width and cells[i].__class__ is NotedText
    ]


def _warnings_as_errors(report: ValidationReport) -> None:
    """--strict: each warned row becomes invalid, with its warnings as its errors."""
    for w in report.warnings:
        report.invalid.setdefault(w.row, []).append(
            RowError(w.row, w.name, w.field, w.reason + STRICT_NOTE)
        )
        if w.name is not None:
            report._names[w.row] = w.name
    warned = {w.row for w in report.warnings}
    report.invalid = dict(sorted(report.invalid.items()))
    report.valid = [v for v in report.valid if v.row not in warned]
    report.valid_count -= len(warned)
    report._valid_names = None
    report.warnings = []


def check_header(
    catalog: CatalogSource, *, strict: bool = False, ignore_columns: Collection[str] = ()
) -> None:
    """HeaderRefused (exit 1, nothing sent) when the header has a column that stops a submit."""
    problems = header_errors(catalog.column_map, strict=strict, ignore=ignore_columns)
    if problems:
        raise HeaderRefused(f"{catalog.label}: {'; '.join(problems)}. Nothing was sent")


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
