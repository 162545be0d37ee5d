"""A platform's warehouse type -> the sqlglot dialect the SQL check reads its queries in.

GrowthBook names each data source's warehouse (`type`, packages/shared/types/datasource.d.ts
`DataSourceType`); Datadog's exposure SQL models name none, so there only `--dialect` gives
one. The import writes the dialect per row in the `_dialect` column, which validation reads
(catalog/columns.py), so a catalog that mixes warehouses is checked row by row without a flag.
"""

from __future__ import annotations

from ..errors import UsageError

# GrowthBook type -> sqlglot dialect; None: a SQL warehouse sqlglot has no dialect for.
GROWTHBOOK_DIALECTS: dict[str, str | None] = {
    "bigquery": "bigquery",
    "snowflake": "snowflake",
    "redshift": "redshift",
    "databricks": "databricks",
    "athena": "athena",
    "presto": "presto",
    "trino": "trino",
    "postgres": "postgres",
    "mysql": "mysql",
    "mssql": "tsql",
    "clickhouse": "clickhouse",
    "growthbook_clickhouse": "clickhouse",
    "vertica": None,
}


def dialect_for(kind: str) -> str | None:
    """The sqlglot dialect of a GrowthBook data source type, None when there is none."""
    return GROWTHBOOK_DIALECTS.get(kind.strip().lower())


def checked_dialect(name: str | None) -> str | None:
    """`--dialect` of `import` as sqlglot names it; a UsageError lists the names that exist."""
    if name is None:
        return None
    from ..catalog.sql.parse import check_dialect  # sqlglot only when a dialect is named

    try:
        return check_dialect(name)
    except ValueError as exc:
        raise UsageError(f"--dialect: {exc}") from None
