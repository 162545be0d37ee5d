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

from ..models import AssignmentSourceCreate, IdTypeMapping, row_key
from .cells import REQUIRED_FIELDS, Errors, RowDecoder
from .columns import COLUMN_NAME_FIELDS
from .reader import CatalogSource

_MAX_LISTED_ROWS = 10
_STAND_INS: dict[str, Any] = {
    **{f: "-" for f in REQUIRED_FIELDS},
    "idTypeMapping": [{"statsigUnitID": "-", "column": "-"}],
}


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
    # Unknown column -> the field it is probably meant to be ("did you mean").
    column_hints: dict[str, str] = field(default_factory=dict)
    # Rows that are valid and sent, with something that looks wrong (RowError.field, .reason).
    warnings: list[RowError] = field(default_factory=list)
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
) -> tuple[str | None, AssignmentSourceCreate | None, Errors]:
    """One row's name (if readable), its model (if valid) and every (field, reason) against it."""
    return next(check_rows(decoder, [values]))


def check_rows(
    decoder: RowDecoder, rows: Sequence[Sequence[object]]
) -> Iterator[tuple[str | None, AssignmentSourceCreate | None, Errors]]:
    bodies, models, errors = _check_batch(decoder, rows, keep_models=True)
    for i, (body, model) in enumerate(zip(bodies, models, strict=True)):
        yield body.get("name"), model, errors.get(i, [])


# What `AssignmentSourceCreate.model_validate` calls, without its Python-level wrapper.
_validate = AssignmentSourceCreate.__pydantic_validator__.validate_python


def _check_batch(
    decoder: RowDecoder, rows: Sequence[Sequence[object]], *, keep_models: bool
) -> tuple[list[dict[str, Any]], list[AssignmentSourceCreate | None], dict[int, Errors]]:
    """Bodies, models and sorted errors, by index into `rows`: a row is invalid iff it has errors.

    Models (None for invalid rows) are only kept when asked for; otherwise the list is empty
    and each model is dropped as soon as it is made. Kept, a batch's models would outnumber
    the garbage collector's first threshold and be walked by its older-generation collections.
    """
    width = decoder.width
    ragged: dict[int, int] = {}
    if any(len(r) != width for r in rows):
        ragged = {i: len(r) for i, r in enumerate(rows) if len(r) != width}
        rows = [
            [*r[:width], *[""] * (width - len(r))] if i in ragged else r for i, r in enumerate(rows)
        ]
    bodies, errors = decoder.decode_many(rows)
    for i, cells in ragged.items():
        problem = f"has {cells} cells but the header has {width} columns"
        errors[i] = [("row", f"{problem}; quote cells that contain commas"), *errors.get(i, [])]
    models: list[AssignmentSourceCreate | None] = []
    for i, body in enumerate(bodies):
        failed = errors.get(i)
        if failed is None:
            try:
                model = _validate(body)
                if keep_models:
                    models.append(model)
                continue
            except ValidationError as exc:
                errors[i] = _model_errors(exc, set())
        else:
            # Stand-ins for the cells already found wrong let the model check all the rest
            # too (its own rules only run once every field has a value).
            fields = {f for f, _ in failed}
            probe = {**body, **{f: v for f, v in _STAND_INS.items() if f in fields}}
            try:
                _validate(probe)
            except ValidationError as exc:
                failed.extend(_model_errors(exc, fields))
        if keep_models:
            models.append(None)
    for i, row_errors in errors.items():
        errors[i] = decoder.sort_errors(row_errors)
    return bodies, models, errors


def _validated_mapping(entries: Any) -> Any:
    """Decoded idTypeMapping entries as IdTypeMapping models, when they all pass.

    The decoder does this once per distinct cell text, and pydantic takes the (frozen) models
    as they are: validating the same entries again on every row was about 2.5 µs of a row's
    5 µs in pydantic. Entries that don't pass stay dicts, so pydantic reports them as always.
    """
    try:
        return [IdTypeMapping.model_validate(entry) for entry in entries]
    except (ValidationError, TypeError):
        return entries


_ROW_BITS = 40
_ROW_MASK = (1 << _ROW_BITS) - 1
_HASH_MASK = (1 << 64) - 1


def _raw_hash(values: Sequence[object]) -> int:
    """64 bits, never negative, so it packs with a row number into one int."""
    try:
        return hash(tuple(values)) & _HASH_MASK
    except TypeError:  # Parquet lists and structs
        return hash(repr(values)) & _HASH_MASK


def _packed(start: int, rows: Sequence[Sequence[object]]) -> list[int]:
    """Per row, its raw hash and number packed in one int, for a batch starting at row `start`."""
    try:
        return [
            (hash(tuple(values)) & _HASH_MASK) << _ROW_BITS | number
            for number, values in enumerate(rows, start)
        ]
    except TypeError:  # some row has Parquet lists or structs: the same, row by row
        return [
            _raw_hash(values) << _ROW_BITS | number for number, values in enumerate(rows, start)
        ]


@dataclass(frozen=True, slots=True)
class _Later:
    """A second or later row with an already-seen name, held until all rows are read."""

    number: int
    raw: int
    errors: list[tuple[str, str]] | None  # None when the row is valid on its own


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


def validate_catalog(catalog: CatalogSource, *, keep_valid: bool = False) -> ValidationReport:
    cmap = catalog.column_map
    report = ValidationReport(
        unknown_columns=list(catalog.unknown_columns), column_hints=dict(cmap.hints)
    )
    decoder = RowDecoder(catalog.column_map, finish={"idTypeMapping": _validated_mapping})
    # Per name only (first row, hash of its raw cells), packed in one int: a million tuples
    # would be a million objects for the garbage collector to walk, a quarter of the time.
    # Identical cells are a duplicate; different cells are compared by content afterwards.
    first: dict[str, int] = {}
    later: dict[str, list[_Later]] = {}
    total = valid_count = 0
    for start, rows in catalog.batches():
        bodies, models, errors = _check_batch(decoder, rows, keep_models=keep_valid)
        total += len(rows)
        for i, (body, packed) in enumerate(zip(bodies, _packed(start, rows), strict=True)):
            number = start + i
            name = body.get("name")
            row_errors = errors.get(i)
            if name is not None and first.setdefault(name, packed) != packed:
                later.setdefault(name, []).append(_Later(number, packed >> _ROW_BITS, row_errors))
                continue
            if row_errors is not None:
                report.invalid[number] = [RowError(number, name, f, r) for f, r in row_errors]
                if name is not None:
                    report._names[number] = name
            else:
                valid_count += 1
                misses = sql_misses(body)
                if misses:
                    report.warnings.extend(RowError(number, name, f, r) for f, r in misses)
                if keep_valid:
                    model = models[i]
                    assert model is not None
                    valid = model.to_body()
                    report.valid.append(ValidRow(number, model.name, valid, row_key(valid)))
    report.total = total
    report.valid_count = valid_count
    if later:
        _settle_repeated_names(report, catalog, decoder, first, later)
    return report


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


def _settle_repeated_names(
    report: ValidationReport,
    catalog: CatalogSource,
    decoder: RowDecoder,
    first: dict[str, int],
    later: dict[str, list[_Later]],
) -> None:
    differ = {n for n, rows in later.items() if any(r.raw != first[n] >> _ROW_BITS for r in rows)}
    needed = {first[n] & _ROW_MASK for n in differ} | {r.number for n in differ for r in later[n]}
    contents = _contents(catalog, decoder, needed) if needed else {}
    dropped: set[int] = set()
    for name, rows in later.items():
        first_row = first[name] & _ROW_MASK
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
