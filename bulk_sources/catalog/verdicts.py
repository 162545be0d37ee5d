"""What validation says about a catalog: every row valid, invalid (with every reason) or a
duplicate, plus warnings about valid rows that look wrong."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
    # Header problems that stop a submit before any request (columns.header_errors).
    column_errors: list[str] = field(default_factory=list)
    # What the reader chose that the person should know (a workbook's sheet, header row).
    notes: list[str] = field(default_factory=list)
    _names: dict[int, str] = field(default_factory=dict, repr=False)
    _valid_names: dict[int, str] | None = field(default=None, repr=False)

    def row_name(self, row: int) -> str | None:
        if row in self._names:
            return self._names[row]
        if self._valid_names is None:
            self._valid_names = {v.row: v.name for v in self.valid}
        return self._valid_names.get(row)
