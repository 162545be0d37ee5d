"""One SQL text through sqlglot: syntax errors with their place, and the output columns.

Imported only when a catalog is checked: sqlglot is large and `--help` must stay quick.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect, Dialects
from sqlglot.errors import ParseError, SqlglotError, TokenError
from sqlglot.optimizer.qualify import qualify

# Asked in turn when no dialect is named: a syntax error is one only if all of them refuse.
_NEUTRAL_TRIES = (
    "bigquery",
    "snowflake",
    "databricks",
    "redshift",
    "athena",
    "trino",
    "postgres",
    "mysql",
    "tsql",
    "clickhouse",
    "duckdb",
    "oracle",
)
# Dialects of other tools (DAX, PRQL, ...), not of warehouses Statsig reads.
_NOT_SQL = {"", "dax", "prql", "solr", "tableau", "druid", "dune"}


def dialect_names() -> list[str]:
    return sorted(d.value for d in Dialects if d.value not in _NOT_SQL)


def check_dialect(name: str) -> str:
    """The dialect's name as sqlglot knows it, or ValueError listing the ones that exist."""
    key = name.strip().lower()
    if key not in dialect_names():
        raise ValueError(
            f"unknown SQL dialect {name!r}; choose one of {', '.join(dialect_names())}"
        )
    return key


@dataclass
class Analysis:
    """What one SQL text says, whatever row uses it."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Output column names folded as the dialect folds them; None when they can't be known.
    outputs: frozenset[str] | None = None
    shown: tuple[str, ...] = ()


def _parse(text: str, dialect: str | None) -> list[exp.Expr | None]:
    return sqlglot.parse(text, read=dialect)


# sqlglot's descriptions name its own objects: a token's repr, or the class of an expression
# left incomplete. A user knows the SQL's words, not the parser's classes.
_TOKEN = re.compile(r"<Token token_type: TokenType\.(\w+), text: (.*?), line: [^>]*>")
_MISSING = re.compile(r"Required keyword: '\w+' missing for <class '(?:\w+\.)*(\w+)'>")
_CLASS = re.compile(r"<class '(?:\w+\.)*(\w+)'>")


def _plain(description: str) -> str:
    text = _TOKEN.sub(
        lambda m: "the end of the SQL" if m.group(1) == "SENTINEL" else repr(m.group(2)),
        description,
    )
    text = _MISSING.sub(lambda m: f"{m.group(1).upper()} is incomplete", text)
    return _CLASS.sub(lambda m: m.group(1).upper(), text)


def _syntax_reason(exc: SqlglotError) -> str:
    if isinstance(exc, ParseError) and exc.errors:
        first = exc.errors[0]
        what = _plain(str(first.get("description") or "a syntax error")).rstrip(".")
        near = str(first.get("highlight") or "").strip()
        at = f" near {near!r}" if near else ""
        return f"syntax error at line {first.get('line')}, column {first.get('col')}: {what}{at}"
    return "the SQL can't be read: a quote or comment is never closed"


def _parsed(text: str, dialect: str | None) -> tuple[list[exp.Expr | None] | None, str]:
    """The statements, or None and the reason every dialect asked gives."""
    try:
        return _parse(text, dialect), ""
    except (ParseError, TokenError) as exc:
        reason = _syntax_reason(exc)
    if dialect is not None:
        return None, reason
    for other in _NEUTRAL_TRIES:
        try:
            return _parse(text, other), ""
        except (ParseError, TokenError):
            continue
    return None, reason


def analyse(text: str, dialect: str | None) -> Analysis:
    out = Analysis()
    try:
        statements, reason = _parsed(text, dialect)
        if statements is None:
            out.errors.append(reason)
            return out
        queries = [s for s in statements if s is not None]
        if len(queries) != 1:
            out.errors.append(
                f"the SQL holds {len(queries)} statements; Statsig runs exactly one query"
            )
            return out
        _outputs(queries[0], dialect, out)
    except (SqlglotError, RecursionError, ValueError, TypeError, AttributeError, KeyError) as exc:
        # A bug of the parser, not of the SQL: nothing is known, the row is still sent.
        out = Analysis(warnings=[f"could not analyse this SQL (parser: {_brief(exc)})"])
    return out


def _brief(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:100]}" if text else type(exc).__name__


def _first_select(query: exp.Expr) -> exp.Select | None:
    while isinstance(query, exp.SetOperation | exp.Subquery):
        query = query.this
    return query if isinstance(query, exp.Select) else None


def _identifiers(select: exp.Select) -> list[exp.Identifier] | None:
    """The output names as identifiers (quoted or not); None when a `*` hides some."""
    names: list[exp.Identifier] = []
    for item in select.selects:
        if isinstance(item, exp.Alias):
            ident = item.args.get("alias")
        elif isinstance(item, exp.Column):
            ident = item.this
        elif isinstance(item, exp.Star):
            return None
        else:
            ident = exp.Identifier(this=item.output_name, quoted=False)
        if not isinstance(ident, exp.Identifier):
            return None
        names.append(ident)
    return names


def _outputs(query: exp.Expr, dialect: str | None, out: Analysis) -> None:
    select = _first_select(query)
    if select is None:
        return  # not a query whose columns we can read (a VALUES list, a command)
    names = _identifiers(select)
    if names is None and (query.find(exp.CTE) is not None or query.find(exp.Subquery)):
        # `SELECT *` from a CTE or subquery whose columns are written out: expand it.
        qualified = qualify(query.copy(), dialect=dialect, validate_qualify_columns=False)
        select = _first_select(qualified)
        names = None if select is None else _identifiers(select)
    if names is None:
        return  # `SELECT *` from a table: its columns are the warehouse's to know
    out.shown = tuple(i.this for i in names)
    out.outputs = frozenset(fold(i, dialect) for i in names)


def fold(ident: exp.Identifier, dialect: str | None) -> str:
    """A name as the dialect resolves it; without a dialect, ignoring case (as some do)."""
    if dialect is None:
        return str(ident.this).lower()
    return str(Dialect.get_or_raise(dialect).normalize_identifier(ident.copy()).this)


def fold_column(name: str, dialect: str | None) -> str:
    """A mapped column, which Statsig names unquoted."""
    return fold(exp.Identifier(this=name, quoted=False), dialect)
