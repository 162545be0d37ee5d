"""Helpers for the catalog tests: write real CSV and Parquet files from rows."""

from __future__ import annotations

import csv
from collections.abc import Sequence
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
