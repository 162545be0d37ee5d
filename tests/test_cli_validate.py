"""`bulk-sources validate` and `bulk-sources template`: exact output and exit codes."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from catalog_helpers import good, write_csv

from bulk_sources.cli.main import main
from bulk_sources.run.record.csvsafe import neutralise

REPO = Path(__file__).resolve().parent.parent


def test_all_valid_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "c.csv", [good("a"), good("b")])
    assert main(["validate", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{path}: 2 rows: 2 valid, 0 invalid, 0 duplicates\n"
    assert err == ""


def test_invalid_rows_exit_1_and_are_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [good("a"), good("b", idTypeMapping="[]"), good("a"), good("", sql="")]
    path = write_csv(tmp_path / "c.csv", rows)
    assert main(["validate", str(path)]) == 1
    out, _ = capsys.readouterr()
    assert out.splitlines() == [
        "row 2 (b): idTypeMapping: needs at least one entry",
        "row 3 (a): duplicate of row 1, not sent",
        "row 4: name: is required but empty",
        "row 4: sql: is required but empty",
        f"{path}: 4 rows: 1 valid, 2 invalid, 1 duplicate",
    ]


def test_duplicates_alone_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "c.csv", [good("a"), good("a")])
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"{path}: 2 rows: 1 valid, 0 invalid, 1 duplicate"
    )


def test_header_only_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "c.csv", [])
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: 0 rows: 0 valid, 0 invalid, 0 duplicates\n"


def test_unknown_columns_warn_once_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path / "c.csv", [{**good(f"n{i}"), "colour": "red"} for i in range(3)])
    assert main(["validate", str(path)]) == 0
    out, err = capsys.readouterr()
    assert err == (
        "warning: ignoring columns that are not assignment-source fields: colour "
        "(rename them to spec field names if they were meant to be sent)\n"
    )
    assert out == f"{path}: 3 rows: 3 valid, 0 invalid, 0 duplicates\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "{path} does not exist; check the path to the catalog file"),
        (
            b"",
            "{path} is empty (0 bytes); a catalog needs at least a header line, "
            "run `bulk-sources template` for a header that works",
        ),
        (
            b"\x00\x01\x02\xff" * 50,
            "{path} is not a CSV or Parquet file (it contains binary data); "
            "give a UTF-8 CSV file, a Parquet file or an .xlsx workbook",
        ),
        (
            b"name,sql\nx,caf\xe9\n",
            "{path} line 2 is not valid utf-8 (byte b'\\xe9'); save the file as UTF-8 or pass "
            "its encoding, e.g. --encoding cp1252",
        ),
        (
            b"name,sql\nx,y\n",
            "{path} lacks the required column(s) timestampColumn, experimentIDColumn, "
            "groupIDColumn, idTypeMapping (columns found: 'name', 'sql'); add or rename them, "
            "run `bulk-sources template` for a header that works",
        ),
    ],
)
def test_file_problems_exit_2_with_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, message: str
) -> None:
    path = tmp_path / "c.csv"
    if content is not None:
        path.write_bytes(content)
    assert main(["validate", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "bulk-sources: " + message.format(path=path) + "\n"
    assert "Traceback" not in err


def test_corrupt_parquet_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.parquet"
    path.write_bytes(b"PAR1" + b"\x07" * 300)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"bulk-sources: {path} is not a readable Parquet file, it is truncated")
    assert err.count("\n") == 1


def test_broken_quoting_mid_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path / "c.csv", [good("a")])
    path.write_text(path.read_text() + 'b,"SELECT 1,t,e,g,u=c\n')
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"bulk-sources: {path} line 3 is not valid CSV")


def test_encoding_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "c.csv", [good(description="naïve")], encoding="latin-1")
    assert main(["validate", str(path), "--encoding", "latin-1"]) == 0
    assert main(["validate", str(path), "--encoding", "nope"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "bulk-sources: unknown encoding 'nope'; pass a Python codec name such as utf-8, "
        "cp1252 or latin-1\n"
    )


def test_report_file_is_csv_and_neutralised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        good("=HYPERLINK(1)", sql="", isVerified=""),
        good("ok"),
        good("ok"),
        good("@x", isVerified="+1"),
    ]
    path = write_csv(tmp_path / "c.csv", rows)
    report = tmp_path / "report.csv"
    assert main(["validate", str(path), "--report", str(report)]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == f"report written to {report}"
    with report.open(encoding="utf-8", newline="") as f:
        lines = list(csv.reader(f))
    assert lines == [
        ["row", "name", "status", "field", "reason"],
        ["1", "'=HYPERLINK(1)", "invalid", "sql", "is required but empty"],
        ["3", "ok", "duplicate", "name", "duplicate of row 2, not sent"],
        [
            "4",
            "'@x",
            "invalid",
            "isVerified",
            "'+1' is not a boolean; write true/false, yes/no or 1/0",
        ],
    ]


def test_report_to_unwritable_place_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path / "c.csv", [good()])
    target = tmp_path / "no" / "such" / "dir.csv"
    assert main(["validate", str(path), "--report", str(target)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"bulk-sources: can't write the report {target} (No such file or directory); "
        "choose a writable path\n"
    )


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain", "plain"),
        ("", ""),
        ("a=b", "a=b"),
    ],
)
def test_neutralise(cell: str, expected: str) -> None:
    assert neutralise(cell) == expected


def test_template_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["template"]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert lines[0] == (
        "name,description,sql,timestampColumn,experimentIDColumn,groupIDColumn,"
        "idTypeMapping,tags,isVerified"
    )
    assert len(lines) == 3
    assert "userID=user_id;stableID=stable_id" in lines[1]
    assert '""statsigUnitID""' in lines[2]
    path = tmp_path / "t.csv"
    path.write_text(text)
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: 2 rows: 2 valid, 0 invalid, 0 duplicates\n"


@pytest.mark.parametrize("name", ["example.csv", "example.parquet"])
def test_examples_are_valid(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = REPO / "inputs" / name
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: 240 rows: 240 valid, 0 invalid, 0 duplicates\n"


def test_bad_rows_example_shows_each_kind(capsys: pytest.CaptureFixture[str]) -> None:
    path = REPO / "inputs" / "bad_rows.csv"
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    for expected in [
        "row 2: name: is required but empty",
        "row 3 (exposures_blank_sql): sql: is required but empty",
        "idTypeMapping: needs at least one entry",
        "lacks '='",
        "maps unit ID 'userID' twice",
        "needs a non-empty column",
        "is not a boolean",
        "tags: is not valid JSON",
        "tag 1 must be non-empty text",
        "timestampColumn: is required but empty",
        "row 12 (exposures_ok_a): duplicate of row 1, not sent",
        "name exposures_ok_b appears in rows 13, 14 with different content",
        "row: has 10 cells but the header has 9 columns",
    ]:
        assert expected in out
    assert out.splitlines()[-1] == f"{path}: 15 rows: 1 valid, 13 invalid, 1 duplicate"


@pytest.mark.parametrize("command", ["validate", "template"])
def test_commands_have_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert "usage: bulk-sources" in capsys.readouterr().out
