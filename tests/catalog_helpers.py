"""The one catalog builder of the tests: rows as dicts, written as real CSV or Parquet files.

`good()` is a row whose SQL names its columns (the catalog tests); `row()` a row for runs,
with tags; `write_catalog()` writes `row()`s with their header."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

HEADER = [
    "name",
    "sql",
    "timestampColumn",
    "experimentIDColumn",
    "groupIDColumn",
    "idTypeMapping",
]


def good(name: str = "exposures_a", **changes: str) -> dict[str, str]:
    row = {
        "name": name,
        "sql": "SELECT user_id, ts, exp, grp FROM analytics.exposures",
        "timestampColumn": "ts",
        "experimentIDColumn": "exp",
        "groupIDColumn": "grp",
        "idTypeMapping": "userID=user_id",
    }
    row.update(changes)
    return row


def write_csv(
    path: Path,
    rows: Sequence[dict[str, Any]],
    header: Sequence[str] | None = None,
    encoding: str = "utf-8",
) -> Path:
    columns = list(header or (rows[0].keys() if rows else HEADER))
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(c, "") for c in columns])
    return path


def write_parquet(
    path: Path, rows: Sequence[dict[str, Any]], schema: pa.Schema | None = None
) -> Path:
    if schema is None:
        columns = list(rows[0].keys()) if rows else HEADER
        schema = pa.schema([(c, pa.string()) for c in columns])
    pq.write_table(pa.Table.from_pylist(list(rows), schema=schema), path)
    return path


# A source as runs send it: the required fields and tags.
SOURCE_HEADER = [*HEADER, "tags"]


def row(name: str, **override: str) -> dict[str, str]:
    cells = {
        "name": name,
        "sql": f"SELECT * FROM exposures_{name}",
        "timestampColumn": "ts",
        "experimentIDColumn": "experiment",
        "groupIDColumn": "group_id",
        "idTypeMapping": "userID=user_id;stableID=stable_id",
        "tags": "migrated;bulk",
    }
    cells.update(override)
    return cells


def write_catalog(path: Path, rows: Iterable[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, SOURCE_HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path


def names(n: int, prefix: str = "src") -> list[str]:
    return [f"{prefix}_{i:04d}" for i in range(n)]
