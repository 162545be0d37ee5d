"""Property: valid rows written as CSV (any documented encoding) or Parquet read back the same."""

from __future__ import annotations

import csv
import json
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from bulk_sources.api.names import name_problem
from bulk_sources.catalog.reader import open_catalog
from bulk_sources.catalog.validation import validate_catalog
from bulk_sources.models import AssignmentSourceCreate

# Cells are trimmed on the way in, so generated text is already trimmed. NUL is left out:
# a NUL makes its row invalid (tests/test_catalog_habits.py).
TEXT = (
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
    .map(str.strip)
    .filter(bool)
)
# Column names of the SQL's output: no spaces or separators (those are refused).
WORD = TEXT.filter(lambda t: not any(c.isspace() or c in ",;|" for c in t))
OPTIONAL_TEXT = st.none() | TEXT
# A name a URL path carries exactly (api/names.py): `.` and `..` are invalid (issue 18).
NAME = TEXT.filter(lambda t: name_problem(t) is None)

MAPPING = st.lists(
    st.fixed_dictionaries({"statsigUnitID": WORD, "column": WORD}),
    min_size=1,
    max_size=3,
    unique_by=lambda m: m["statsigUnitID"],
)
OWNER = st.none() | st.dictionaries(
    st.sampled_from(["ownerID", "ownerType", "ownerName", "ownerEmail"]), TEXT, min_size=1
)
BODY = st.fixed_dictionaries(
    {
        "name": NAME,
        "sql": TEXT,
        "timestampColumn": WORD,
        "experimentIDColumn": WORD,
        "groupIDColumn": WORD,
        "idTypeMapping": MAPPING,
        "description": OPTIONAL_TEXT,
        "tags": st.none() | st.lists(TEXT, max_size=3),
        "isVerified": st.none() | st.booleans(),
        "isReadOnly": st.none() | st.booleans(),
        "owner": OWNER,
        "teamID": OPTIONAL_TEXT,
    }
)
CATALOG = st.lists(BODY, min_size=1, max_size=6, unique_by=lambda b: b["name"])
COLUMNS = list(BODY.wrapped_strategy.mapping)  # type: ignore[attr-defined]

_TRUE = ["true", "TRUE", "yes", "Yes", "1"]
_FALSE = ["false", "False", "no", "NO", "0"]


def _compact_ok(texts: list[str], forbidden: str) -> bool:
    return (
        bool(texts)
        and not texts[0].startswith(("[", "{"))
        and not any(set(t) & set(forbidden) for t in texts)
    )


def _csv_cell(column: str, value: Any, draw: st.DrawFn) -> str:
    if value is None:
        return ""
    if column == "idTypeMapping":
        parts = [p for m in value for p in (m["statsigUnitID"], m["column"])]
        if _compact_ok(parts, ";=") and draw(st.booleans()):
            return ";".join(f"{m['statsigUnitID']}={m['column']}" for m in value)
        return json.dumps(value)
    if column == "tags":
        if _compact_ok(value, ";,") and draw(st.booleans()):
            return ";".join(value)
        return json.dumps(value)
    if column == "owner":
        return json.dumps(value)
    if isinstance(value, bool):
        return draw(st.sampled_from(_TRUE if value else _FALSE))
    return str(value)


def _expected(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    given_fields = [{k: v for k, v in b.items() if v is not None} for b in bodies]
    return [AssignmentSourceCreate.model_validate(b).to_body() for b in given_fields]


def _read_back(path: Path) -> list[dict[str, Any]]:
    report = validate_catalog(open_catalog(path), keep_valid=True, check_sql=False)
    assert report.invalid == {}, report.invalid
    return [v.body for v in report.valid]


@settings(max_examples=40, deadline=None)
@given(bodies=CATALOG, data=st.data())
def test_csv_round_trip(bodies: list[dict[str, Any]], data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.csv"
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(COLUMNS)
            for body in bodies:
                writer.writerow([_csv_cell(c, body[c], data.draw) for c in COLUMNS])
        assert _read_back(path) == _expected(bodies)


PARQUET_SCHEMA = pa.schema(
    [
        ("name", pa.string()),
        ("sql", pa.string()),
        ("timestampColumn", pa.string()),
        ("experimentIDColumn", pa.string()),
        ("groupIDColumn", pa.string()),
        (
            "idTypeMapping",
            pa.list_(pa.struct([("statsigUnitID", pa.string()), ("column", pa.string())])),
        ),
        ("description", pa.string()),
        ("tags", pa.list_(pa.string())),
        ("isVerified", pa.bool_()),
        ("isReadOnly", pa.bool_()),
        (
            "owner",
            pa.struct(
                [(k, pa.string()) for k in ("ownerID", "ownerType", "ownerName", "ownerEmail")]
            ),
        ),
        ("teamID", pa.string()),
    ]
)


@settings(max_examples=25, deadline=None)
@given(bodies=CATALOG)
def test_parquet_native_round_trip(bodies: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.parquet"
        pq.write_table(pa.Table.from_pylist(bodies, schema=PARQUET_SCHEMA), path)
        assert _read_back(path) == _expected(bodies)


@settings(max_examples=25, deadline=None)
@given(bodies=CATALOG, data=st.data())
def test_parquet_string_round_trip(bodies: list[dict[str, Any]], data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.parquet"
        rows = [{c: _csv_cell(c, b[c], data.draw) for c in COLUMNS} for b in bodies]
        schema = pa.schema([(c, pa.string()) for c in COLUMNS])
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
        assert _read_back(path) == _expected(bodies)
