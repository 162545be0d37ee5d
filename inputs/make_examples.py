"""Write the example catalogs the README uses, reproducibly.

    .venv/bin/python inputs/make_examples.py

example.csv      240 valid rows (more than one 100-per-10 s window), string encodings
example.parquet  the same rows with native Parquet types (list, list<struct>, bool)
bad_rows.csv     a dozen deliberately broken rows, one per kind of error
demo.csv         example.csv with the bad rows spread among it: what `bulk-sources demo` sends
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
COLUMNS = [
    "name",
    "description",
    "sql",
    "timestampColumn",
    "experimentIDColumn",
    "groupIDColumn",
    "idTypeMapping",
    "tags",
    "isVerified",
    "isReadOnly",
    "owner.ownerID",
    "owner.ownerType",
    "owner.ownerEmail",
]
KINDS = ["exposures", "assignments", "allocations", "enrollments"]
AREAS = [
    "checkout",
    "search",
    "onboarding",
    "pricing",
    "feed",
    "recommendations",
    "notifications",
    "ads",
    "billing",
    "referrals",
]
UNITS = [
    [("userID", "user_id")],
    [("userID", "user_id"), ("stableID", "stable_id")],
    [("stableID", "device_id")],
    [("companyID", "company_id"), ("userID", "user_id")],
]
SQL_FORMS = [
    "SELECT {id_cols}, {ts}, {exp}, {grp} FROM {schema}.{table}",
    "SELECT {id_cols}, {ts}, {exp}, {grp}\nFROM {schema}.{table}\nWHERE {ts} >= '2024-01-01'",
    'SELECT {id_cols}, {ts}, {exp}, {grp} FROM "{schema}"."{table}" WHERE env = \'prod\'',
    "SELECT {id_cols}, MIN({ts}) AS {ts}, {exp}, {grp}\nFROM {schema}.{table}\n"
    "GROUP BY {id_cols}, {exp}, {grp}",
]
COLUMN_NAMES = [
    ("ts", "experiment_name", "group_id"),
    ("exposure_time", "experiment_id", "variant"),
    ("assigned_at", "exp_key", "arm"),
]
OWNERS = [
    ("u_4821", "USER", "ana.lima@example.com"),
    ("u_1177", "USER", "kenji.sato@example.com"),
    ("u_9034", "USER", "priya.nair@example.com"),
]


def example_rows() -> list[dict[str, Any]]:
    """240 rows as native values; the writers below encode them for CSV or Parquet."""
    rng = random.Random(20240601)
    rows: list[dict[str, Any]] = []
    for version in range(1, 7):
        for kind in KINDS:
            for area in AREAS:
                units = rng.choice(UNITS)
                ts, exp, grp = rng.choice(COLUMN_NAMES)
                sql = rng.choice(SQL_FORMS).format(
                    id_cols=", ".join(column for _, column in units),
                    ts=ts,
                    exp=exp,
                    grp=grp,
                    schema=rng.choice(["analytics", "warehouse", "events_prod"]),
                    table=f"{area}_{kind}",
                )
                row: dict[str, Any] = {
                    "name": f"{kind}_{area}_v{version}",
                    "description": None,
                    "sql": sql,
                    "timestampColumn": ts,
                    "experimentIDColumn": exp,
                    "groupIDColumn": grp,
                    "idTypeMapping": [{"statsigUnitID": u, "column": c} for u, c in units],
                    "tags": None,
                    "isVerified": None,
                    "isReadOnly": None,
                    "owner.ownerID": None,
                    "owner.ownerType": None,
                    "owner.ownerEmail": None,
                }
                if rng.random() < 0.25:
                    row["description"] = f"{kind.capitalize()} for {area} experiments, v{version}"
                if rng.random() < 0.3:
                    row["tags"] = rng.sample([area, kind, "core", "q3-launch", "growth"], 2)
                if rng.random() < 0.2:
                    row["isVerified"] = True
                if rng.random() < 0.1:
                    row["isReadOnly"] = rng.random() < 0.5
                if rng.random() < 0.15:
                    owner = rng.choice(OWNERS)
                    row["owner.ownerID"], row["owner.ownerType"], row["owner.ownerEmail"] = owner
                rows.append(row)
    return rows


def _csv_cell(column: str, value: Any, index: int) -> str:
    if value is None:
        return ""
    if column == "idTypeMapping":
        # Both documented forms appear, so the example exercises both.
        if index % 2:
            return json.dumps(value)
        return ";".join(f"{m['statsigUnitID']}={m['column']}" for m in value)
    if column == "tags":
        return ";".join(value) if index % 2 else json.dumps(value)
    if isinstance(value, bool):
        return ["true", "yes", "1"][index % 3] if value else ["false", "no", "0"][index % 3]
    return str(value)


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for i, row in enumerate(rows):
            writer.writerow([_csv_cell(c, row[c], i) for c in COLUMNS])


PARQUET_SCHEMA = pa.schema(
    [
        ("name", pa.string()),
        ("description", pa.string()),
        ("sql", pa.string()),
        ("timestampColumn", pa.string()),
        ("experimentIDColumn", pa.string()),
        ("groupIDColumn", pa.string()),
        (
            "idTypeMapping",
            pa.list_(pa.struct([("statsigUnitID", pa.string()), ("column", pa.string())])),
        ),
        ("tags", pa.list_(pa.string())),
        ("isVerified", pa.bool_()),
        ("isReadOnly", pa.bool_()),
        ("owner.ownerID", pa.string()),
        ("owner.ownerType", pa.string()),
        ("owner.ownerEmail", pa.string()),
    ]
)


def write_parquet(rows: list[dict[str, Any]], path: Path) -> None:
    table = pa.Table.from_pylist(rows, schema=PARQUET_SCHEMA)
    pq.write_table(table, path)


GOOD = "SELECT user_id, ts, experiment_name, group_id FROM analytics.exposures"
BAD_ROWS: list[tuple[str, ...]] = [
    # name, description, sql, ts, exp, grp, idTypeMapping, tags, isVerified
    ("exposures_ok_a", "", GOOD, "ts", "experiment_name", "group_id", "userID=user_id", "", ""),
    ("", "no name at all", GOOD, "ts", "experiment_name", "group_id", "userID=user_id", "", ""),
    (
        "exposures_blank_sql",
        "",
        "   ",
        "ts",
        "experiment_name",
        "group_id",
        "userID=user_id",
        "",
        "",
    ),
    ("exposures_no_units", "", GOOD, "ts", "experiment_name", "group_id", "[]", "", ""),
    ("exposures_bad_pair", "", GOOD, "ts", "experiment_name", "group_id", "userID", "", ""),
    (
        "exposures_unit_twice",
        "",
        GOOD,
        "ts",
        "experiment_name",
        "group_id",
        "userID=user_id;userID=uid",
        "",
        "",
    ),
    ("exposures_empty_col", "", GOOD, "ts", "experiment_name", "group_id", "userID=", "", ""),
    ("exposures_maybe", "", GOOD, "ts", "experiment_name", "group_id", "userID=u", "", "maybe"),
    ("exposures_bad_tags", "", GOOD, "ts", "experiment_name", "group_id", "userID=u", '["a",', ""),
    ("exposures_num_tag", "", GOOD, "ts", "experiment_name", "group_id", "userID=u", "[1]", ""),
    ("exposures_no_ts", "", GOOD, "", "experiment_name", "group_id", "userID=user_id", "", ""),
    ("exposures_ok_a", "", GOOD, "ts", "experiment_name", "group_id", "userID=user_id", "", ""),
    ("exposures_ok_b", "", GOOD, "ts", "experiment_name", "group_id", "stableID=sid", "", ""),
    ("exposures_ok_b", "", GOOD, "ts", "experiment_name", "grp", "stableID=sid", "", ""),
    (
        "exposures_extra_cell",
        "an unquoted, comma",
        GOOD,
        "ts",
        "experiment_name",
        "group_id",
        "userID=user_id",
        "",
        "",
        "spill",
    ),
]


def write_bad_rows(path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS[:9])
        writer.writerows(BAD_ROWS)


def write_demo(rows: list[dict[str, Any]], path: Path) -> None:
    """The demo's catalog: the example rows with the bad ones spread among them (all but
    the row with a spilled cell, which `validate` shows on its own)."""
    bad = [list(r) + [""] * (len(COLUMNS) - len(r)) for r in BAD_ROWS if len(r) <= len(COLUMNS)]
    bad = [r for r in bad if len(r) == len(COLUMNS) and r[0] != "exposures_extra_cell"]
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for i, row in enumerate(rows):
            writer.writerow([_csv_cell(c, row[c], i) for c in COLUMNS])
            if i % 17 == 16 and bad:
                writer.writerow(bad.pop(0))
        writer.writerows(bad)


def main() -> None:
    rows = example_rows()
    write_csv(rows, HERE / "example.csv")
    write_parquet(rows, HERE / "example.parquet")
    write_bad_rows(HERE / "bad_rows.csv")
    write_demo(rows, HERE / "demo.csv")
    print(f"wrote {len(rows)} rows to example.csv and example.parquet, bad_rows.csv and demo.csv")


if __name__ == "__main__":
    main()
