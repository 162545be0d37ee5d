"""Reading catalogs: CSV and Parquet details, whole-file problems, subsets, the examples."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from catalog_helpers import HEADER, good, write_csv, write_parquet

from bulk_sources.catalog.reader import (
    RawRow,
    file_sha256,
    open_catalog,
    unknown_columns_warning,
    write_rows_subset,
)
from bulk_sources.errors import CatalogError, UsageError

REPO = Path(__file__).resolve().parent.parent
INPUTS = REPO / "inputs"


def test_csv_rows_are_numbered_from_one_after_the_header(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [good("a"), good("b")])
    catalog = open_catalog(path)
    assert catalog.format == "csv"
    assert catalog.columns == HEADER
    rows = list(catalog.rows())
    assert rows[0] == RawRow(1, good("a"))
    assert [r.number for r in rows] == [1, 2]
    assert list(catalog.rows()) == rows  # re-reads the file


def test_rfc4180_quoting_commas_quotes_and_newlines(tmp_path: Path) -> None:
    sql = "SELECT a, \"b\"\nFROM t\r\nWHERE x = 'y, z'"
    path = write_csv(tmp_path / "c.csv", [good(sql=sql, description='say "hi", then\nbye')])
    [row] = open_catalog(path).rows()
    assert row.cells["sql"] == sql
    assert row.cells["description"] == 'say "hi", then\nbye'


def test_bom_is_fine(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [good()], encoding="utf-8-sig")
    assert open_catalog(path).columns[0] == "name"
    assert open_catalog(path, "utf-8").columns[0] == "name"


def test_other_encodings_with_the_option(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [good(description="café olé")], encoding="cp1252")
    with pytest.raises(CatalogError) as info:
        open_catalog(path)
    assert str(info.value) == (
        f"{path} line 2 is not valid utf-8 (byte b'\\xe9'); save the file as UTF-8 or pass "
        "its encoding, e.g. --encoding cp1252"
    )
    [row] = open_catalog(path, "cp1252").rows()
    assert row.cells["description"] == "café olé"


def test_undecodable_byte_names_its_line_past_the_first_chunk(tmp_path: Path) -> None:
    rows = [good(f"n{i}", sql="SELECT " + "x" * 200) for i in range(6000)]
    path = write_csv(tmp_path / "c.csv", rows)
    data = path.read_bytes() + b"late,\xff\n"
    path.write_bytes(data)
    with pytest.raises(CatalogError, match=r" line 6002 is not valid utf-8"):
        open_catalog(path)


def test_unknown_encoding_is_a_usage_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [good()])
    with pytest.raises(UsageError, match="unknown encoding 'klingon'; pass a Python codec"):
        open_catalog(path, "klingon")


def test_blank_lines_are_not_rows(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [good("a")])
    path.write_text(path.read_text() + "\r\n,,,,,\r\n" + "b,s,t,e,g,u=c\r\n\r\n")
    assert [(r.number, r.cells["name"]) for r in open_catalog(path).rows()] == [
        (1, "a"),
        (2, "b"),
    ]


def test_header_only_catalog_is_valid_and_empty(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [], header=HEADER)
    assert list(open_catalog(path).rows()) == []
    empty_parquet = write_parquet(tmp_path / "c.parquet", [])
    assert list(open_catalog(empty_parquet).rows()) == []


def test_unknown_columns_are_kept_aside(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [{**good(), "colour": "red", "notes": ""}])
    catalog = open_catalog(path)
    assert catalog.unknown_columns == ["colour", "notes"]
    assert unknown_columns_warning(catalog) == (
        "warning: ignoring columns that are not assignment-source fields: colour, notes "
        "(rename them to spec field names if they were meant to be sent)"
    )


# --- whole-file problems: one sentence that says how to fix it ---


def _error(path: Path, encoding: str | None = None) -> str:
    with pytest.raises(CatalogError) as info:
        open_catalog(path, encoding)
    return str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    assert _error(path) == f"{path} does not exist; check the path to the catalog file"


def test_folder_instead_of_file(tmp_path: Path) -> None:
    assert _error(tmp_path) == f"{tmp_path} is a folder; give the path to a CSV or Parquet file"


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.touch()
    assert _error(path) == (
        f"{path} is empty (0 bytes); a catalog needs at least a header line, "
        "run `bulk-sources template` for a header that works"
    )


def test_binary_junk(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(bytes(range(256)) * 4)
    assert _error(path) == (
        f"{path} is not a CSV or Parquet file (it contains binary data); "
        "give a UTF-8 CSV file, a Parquet file or an .xlsx workbook"
    )


def test_zip_named_csv(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    assert _error(path) == (
        f"{path} is not a CSV or Parquet file, it looks like a zip archive; an Excel "
        "workbook must be named .xlsx"
    )


def test_broken_workbook(tmp_path: Path) -> None:
    path = tmp_path / "c.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    assert _error(path).startswith(f"{path} is not a readable Excel workbook (")


def test_truncated_parquet(tmp_path: Path) -> None:
    full = write_parquet(tmp_path / "full.parquet", [good()])
    path = tmp_path / "c.parquet"
    path.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    message = _error(path)
    assert message.startswith(f"{path} is not a readable Parquet file, it is truncated or corrupt")
    assert message.endswith("; write it again or export the catalog as CSV")


def test_csv_named_parquet(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.parquet", [good()])
    assert _error(path) == (
        f"{path} is named like a Parquet file but is not one; rename it to .csv if it is "
        "CSV, or write it again as Parquet"
    )


def test_parquet_detected_by_content_whatever_its_name(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "catalog.dat", [good()])
    assert open_catalog(path).format == "parquet"


def test_missing_required_columns(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [{"name": "a", "query": "SELECT 1", "ts": "t"}])
    assert _error(path) == (
        f"{path} lacks the required column(s) sql, timestampColumn, experimentIDColumn, "
        "groupIDColumn, idTypeMapping (columns found: 'name', 'query', 'ts'); add or rename "
        "them, run `bulk-sources template` for a header that works"
    )


def test_missing_required_columns_in_parquet(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "c.parquet", [{"name": "a"}])
    assert "lacks the required column(s) sql," in _error(path)


def test_blank_first_line(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("\nname,sql\n")
    assert _error(path) == (
        f"{path} has no header line (the first line is blank); "
        "run `bulk-sources template` for a header that works"
    )


def test_two_spellings_of_a_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [{**good(), "timestamp_column": "ts"}])
    assert _error(path) == (
        f"{path}: columns 'timestampColumn' and 'timestamp_column' both give "
        "timestampColumn; keep only one"
    )


def test_unclosed_quote_stops_the_stream_with_its_line(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [good("a")])
    path.write_text(path.read_text() + 'b,"SELECT 1,t,e,g,u=c\n')
    catalog = open_catalog(path)
    with pytest.raises(CatalogError) as info:
        list(catalog.rows())
    assert str(info.value).startswith(f"{path} line 3 is not valid CSV (unexpected end of data)")
    assert "quote cells that contain commas, quotes or line breaks" in str(info.value)


def test_text_after_closing_quote_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [good("a")])
    path.write_text(path.read_text() + 'b,"SELECT 1"x,t,e,g,u=c\n')
    with pytest.raises(CatalogError, match=r"line 3 is not valid CSV"):
        list(open_catalog(path).rows())


# --- Parquet ---

NATIVE_SCHEMA = pa.schema(
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
        ("tags", pa.list_(pa.string())),
        ("isVerified", pa.bool_()),
        ("owner", pa.struct([("ownerID", pa.string()), ("ownerType", pa.string())])),
    ]
)


def test_parquet_native_columns_come_through_as_python_values(tmp_path: Path) -> None:
    row = {
        **good(),
        "idTypeMapping": [{"statsigUnitID": "userID", "column": "user_id"}],
        "tags": ["a", "b"],
        "isVerified": True,
        "owner": {"ownerID": "u1", "ownerType": None},
    }
    path = write_parquet(tmp_path / "c.parquet", [row], NATIVE_SCHEMA)
    [raw] = open_catalog(path).rows()
    assert raw.cells == row


def test_parquet_batches_number_rows_continuously(tmp_path: Path) -> None:
    rows = [good(f"n{i}") for i in range(20_000)]
    path = write_parquet(tmp_path / "c.parquet", rows)
    numbers = [r.number for r in open_catalog(path).rows()]
    assert numbers == list(range(1, 20_001))


# --- subsets and hashes ---


def test_csv_subset_keeps_header_and_cells_untouched(tmp_path: Path) -> None:
    rows = [good(f"n{i}", description=f' =odd, "{i}"\n ') for i in range(1, 6)]
    path = write_csv(tmp_path / "c.csv", rows, encoding="utf-8-sig")
    out = tmp_path / "subset.csv"
    write_rows_subset(open_catalog(path), [4, 2], out)
    again = open_catalog(out)
    assert again.columns == [*HEADER, "description"]
    assert [r.cells for r in again.rows()] == [rows[1], rows[3]]


def test_csv_subset_from_another_encoding_is_utf8(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [good(description="café")], encoding="cp1252")
    out = tmp_path / "subset.csv"
    write_rows_subset(open_catalog(path, "cp1252"), [1], out)
    [row] = open_catalog(out).rows()
    assert row.cells["description"] == "café"


def test_empty_subset_is_header_only(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [good()])
    out = tmp_path / "subset.csv"
    write_rows_subset(open_catalog(path), [], out)
    assert out.read_text().splitlines() == [",".join(HEADER)]
    parquet = write_parquet(tmp_path / "c.parquet", [good()], None)
    pout = tmp_path / "subset.parquet"
    write_rows_subset(open_catalog(parquet), [], pout)
    assert pq.read_table(pout).num_rows == 0


def test_parquet_subset_keeps_schema_across_batches(tmp_path: Path) -> None:
    rows = [
        {
            **good(f"n{i}"),
            "idTypeMapping": [{"statsigUnitID": "userID", "column": "u"}],
            "tags": [str(i)],
            "isVerified": i % 2 == 0,
            "owner": None,
        }
        for i in range(1, 20_001)
    ]
    path = write_parquet(tmp_path / "c.parquet", rows, NATIVE_SCHEMA)
    out = tmp_path / "subset.parquet"
    write_rows_subset(open_catalog(path), {3, 9000, 19_999}, out)
    assert pq.read_schema(out).equals(NATIVE_SCHEMA)
    assert [r.cells for r in open_catalog(out).rows()] == [rows[2], rows[8999], rows[19_998]]


def test_file_sha256(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [good()])
    assert file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()


# --- the committed examples ---


def test_examples_are_reproducible(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_examples", INPUTS / "make_examples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.example_rows()
    module.write_csv(rows, tmp_path / "example.csv")
    module.write_bad_rows(tmp_path / "bad_rows.csv")
    module.write_parquet(rows, tmp_path / "example.parquet")
    module.write_demo(rows, tmp_path / "demo.csv")
    for name in ("example.csv", "bad_rows.csv", "demo.csv"):
        assert (tmp_path / name).read_bytes() == (INPUTS / name).read_bytes(), name
    assert pq.read_table(tmp_path / "example.parquet").equals(
        pq.read_table(INPUTS / "example.parquet")
    )


def test_examples_open(tmp_path: Path) -> None:
    for name in ("example.csv", "example.parquet", "bad_rows.csv", "demo.csv"):
        copy = tmp_path / name
        shutil.copy(INPUTS / name, copy)
        assert open_catalog(copy).unknown_columns == []
