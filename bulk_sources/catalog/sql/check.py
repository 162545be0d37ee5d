"""Per row: the SQL's own problems and the mapped columns it never returns.

Each distinct SQL text is analysed once (catalogs repeat a few queries over many rows); a row
then costs a dict lookup and a set lookup per mapped column.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from ...models import IdTypeMapping
from ..columns import COLUMN_NAME_FIELDS
from .templates import fill_macros, foreign_templates

_COLUMN_FIELDS = tuple(sorted(COLUMN_NAME_FIELDS))
_MAX_SHOWN = 8

Problems = list[tuple[str, str]]


def _column(entry: Any) -> str:
    return str(entry.column if entry.__class__ is IdTypeMapping else entry["column"])


class SqlCheck:
    """Analyses SQL texts for one dialect (None: reports only what every dialect rejects)."""

    def __init__(self, dialect: str | None = None) -> None:
        from . import parse  # sqlglot, only once a catalog is checked

        self._parse = parse
        self.dialect = None if dialect is None else parse.check_dialect(dialect)
        self._cache: dict[str, parse.Analysis] = {}
        self._folded: dict[str, str] = {}
        # Rows repeat their SQL and columns together: the verdict once per combination.
        self._verdicts: dict[tuple[Any, ...], tuple[Problems, Problems]] = {}

    def _analysis(self, sql: str) -> Any:
        found = self._cache.get(sql)
        if found is None:
            reasons = foreign_templates(sql)
            if reasons:
                found = self._parse.Analysis(errors=reasons)
            else:
                found = self._parse.analyse(fill_macros(sql), self.dialect)
            self._cache[sql] = found
        return found

    def _fold(self, name: str) -> str:
        folded = self._folded.get(name)
        if folded is None:
            folded = self._folded[name] = self._parse.fold_column(name, self.dialect)
        return folded

    def check(self, body: dict[str, Any]) -> tuple[Problems, Problems]:
        """(errors, warnings) as (field, reason) for one valid body (lists not to be changed)."""
        key = (
            body["sql"],
            body["timestampColumn"],
            body["experimentIDColumn"],
            body["groupIDColumn"],
            body.get("groupNameColumn"),
            *map(_column, body["idTypeMapping"]),
        )
        found = self._verdicts.get(key)
        if found is None:
            found = self._verdicts[key] = self._check(body)
        return found

    def _check(self, body: dict[str, Any]) -> tuple[Problems, Problems]:
        analysis = self._analysis(body["sql"])
        errors: Problems = [("sql", r) for r in analysis.errors]
        warnings: Problems = [("sql", r) for r in analysis.warnings]
        outputs = analysis.outputs
        if outputs is None:
            return errors, warnings
        mapped = [(f, body[f]) for f in _COLUMN_FIELDS if f in body]
        mapped += [("idTypeMapping", _column(e)) for e in body["idTypeMapping"]]
        for field_name, column in mapped:
            if self._fold(column) not in outputs:
                errors.append((field_name, self._missing(column, analysis.shown)))
        return errors, warnings

    def _missing(self, column: str, shown: tuple[str, ...]) -> str:
        listed = ", ".join(shown[:_MAX_SHOWN]) + (", ..." if len(shown) > _MAX_SHOWN else "")
        for name in shown:
            if name.lower() == column.lower():
                return (
                    f"the SQL returns {name!r} quoted, and {self.dialect} compares quoted names "
                    f"by case, so {column!r} is not among its columns: drop the quotes or match "
                    "the case; Statsig would fail to load the source"
                )
        by_fold = {self._fold(s): s for s in shown}
        close = difflib.get_close_matches(self._fold(column), list(by_fold), n=1, cutoff=0.6)
        hint = f"; closest: {by_fold[close[0]]!r}" if close else ""
        return (
            f"column {column!r} is not among the columns the SQL returns ({listed}){hint}; "
            "Statsig would fail to load the source"
        )


class SqlChecks:
    """One SqlCheck per dialect in use: `dialect` for every row when given, else each row's
    `_dialect` cell (at `column`), else the dialect-neutral check."""

    def __init__(self, dialect: str | None, column: int | None) -> None:
        self._given = dialect is not None
        self._column = None if self._given else column
        self._default = SqlCheck(dialect)
        # Cell text -> its check, or the reason the text names no dialect.
        self._by_cell: dict[str, SqlCheck | str] = {"": self._default}

    def check(self, body: dict[str, Any], cells: Sequence[object]) -> tuple[Problems, Problems]:
        if self._column is None or self._column >= len(cells):
            return self._default.check(body)
        cell = cells[self._column]
        text = cell.strip() if isinstance(cell, str) else ""
        found = self._by_cell.get(text)
        if found is None:
            try:
                found = SqlCheck(text)
            except ValueError as exc:
                found = f"{exc}; fix the cell or clear it (then any dialect's SQL is accepted)"
            self._by_cell[text] = found
        if isinstance(found, str):
            return [("_dialect", found)], []
        return found.check(body)
