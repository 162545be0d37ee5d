"""Validation is the same everywhere: submit, its dry run (text, --json, plan.csv), resume,
retry, validate_frame and submit_frame show and record the warnings `validate` finds; a
near-miss header stops a submit before any request (exit 1) unless --ignore-column; --strict
makes every warning an error. Against the stand-in server, in a real process."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from catalog_helpers import row, write_catalog, write_csv
from process_helpers import server_process, server_stats
from submit_helpers import TEST_WINDOWS, read_results, run_folder_in

from bulk_sources.api.apikey import ApiKey
from bulk_sources.catalog.frame import validate_frame
from bulk_sources.cli.main import main
from bulk_sources.errors import HeaderRefused
from bulk_sources.frames import submit_frame
from bulk_sources.run.settings import SubmitSettings

KEY = "console-validation-everywhere-0123456789"
WINDOWS = ["20/500ms", "60/3s"]
# Nested past Python's recursion limit: sqlglot itself crashes on it, a warning (the row is
# still sent: the SQL may well be fine, only the check could not read it).
DEEP = "SELECT * FROM exposures_deep WHERE x = " + "(" * 3000 + "1" + ")" * 3000
CRASH = "could not analyse this SQL (parser: RecursionError"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with server_process(KEY, WINDOWS) as url:
        yield url


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATSIG_API_KEY", KEY)


def _args(url: str, reports: Path) -> list[str]:
    out = ["--base-url", url, "--report-dir", str(reports), "--quiet", "--margin", "0.02"]
    for window in WINDOWS:
        out += ["--rate-limit", window]
    return out


def _warned(path: Path, prefix: str) -> Path:
    rows = [row(f"{prefix}_ok"), row(f"{prefix}_deep", sql=DEEP), row(f"{prefix}_ok2")]
    return write_catalog(path, rows)


def _near_miss(path: Path, prefix: str) -> Path:
    rows = [{**row(f"{prefix}_a"), "groupNameColum": "group_name"}]
    return write_csv(path, rows)


def _run_dir(out: str) -> Path:
    return run_folder_in(out)


def test_submit_shows_and_records_the_warnings_validate_finds(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = _warned(tmp_path / "c.csv", "warn_submit")
    assert main(["validate", str(catalog)]) == 0
    assert f"row 2 (warn_submit_deep): sql: {CRASH}" in capsys.readouterr().out
    assert main(["submit", str(catalog), *_args(server, tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "1 warnings (sent anyway; --strict makes them errors):" in out
    assert f"row 2 (warn_submit_deep): sql: {CRASH}" in out
    summary = json.loads((_run_dir(out) / "summary.json").read_text(encoding="utf-8"))
    [warning] = summary["warnings"]
    assert (warning["row"], warning["field"], warning["status"]) == (2, "sql", "warning")
    assert warning["reason"].startswith(CRASH)
    with (_run_dir(out) / "plan.csv").open(encoding="utf-8", newline="") as f:
        plan = list(csv.DictReader(f))
    assert [json.loads(p["warnings"] or "[]") != [] for p in plan] == [False, True, False]


def test_the_dry_run_shows_them_in_text_json_and_plan_csv(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = _warned(tmp_path / "c.csv", "warn_dry")
    plan_file = tmp_path / "plan.csv"
    args = ["submit", str(catalog), *_args(server, tmp_path / "r"), "--dry-run"]
    assert main([*args, "--plan", str(plan_file)]) == 0
    assert f"row 2 (warn_dry_deep): sql: {CRASH}" in capsys.readouterr().out
    with plan_file.open(encoding="utf-8", newline="") as f:
        plan = {int(p["row"]): json.loads(p["warnings"] or "[]") for p in csv.DictReader(f)}
    assert plan[1] == [] and plan[2][0].startswith(f"sql: {CRASH}")
    assert main([*args, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [w["row"] for w in document["warnings"]] == [2]
    assert document["warnings"][0]["reason"].startswith(CRASH)


def test_a_near_miss_header_stops_every_door_before_any_request(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = _near_miss(tmp_path / "c.csv", "near")
    before = server_stats(server)["requests"]["total"]
    reports = tmp_path / "r"
    for extra in ([], ["--dry-run"], ["--dry-run", "--json"]):
        assert main(["submit", str(catalog), *_args(server, reports), *extra]) == 1
        out, err = capsys.readouterr()
        if "--json" in extra:
            assert json.loads(out)["exit_code"] == 1
            assert "is almost the field" in json.loads(out)["error"]
        assert "column 'groupNameColum' is almost the field `groupNameColumn`" in err
        assert "--ignore-column groupNameColum" in err and "Nothing was sent" in err
    assert main(["validate", str(catalog)]) == 1
    assert "header: column 'groupNameColum' is almost" in capsys.readouterr().out
    assert main(["validate", str(catalog), "--json"]) == 1
    assert len(json.loads(capsys.readouterr().out)["column_errors"]) == 1
    assert main(["validate", str(catalog), "--report", str(tmp_path / "p.csv")]) == 1
    with (tmp_path / "p.csv").open(encoding="utf-8", newline="") as f:
        [header_row] = [r for r in csv.DictReader(f) if r["row"] == "header"]
    assert header_row["status"] == "invalid" and "groupNameColum" in header_row["reason"]
    capsys.readouterr()
    assert server_stats(server)["requests"]["total"] == before  # not even a listing
    assert not reports.exists() or not any(reports.iterdir())
    # Said to be meant: sent without its values, and no more warned about.
    args = ["submit", str(catalog), *_args(server, reports), "--ignore-column", "groupNameColum"]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert "created             1" in out and "groupNameColum" not in out + err
    assert main(["validate", str(catalog), "--ignore-column", "GROUPNAMECOLUM"]) == 0


def test_strict_makes_warnings_errors_on_validate_and_submit(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = _warned(tmp_path / "c.csv", "strict")
    assert main(["validate", str(catalog), "--strict"]) == 1
    out = capsys.readouterr().out
    assert "row 2 (strict_deep): sql: could not analyse" in out and "(a warning, an error" in out
    assert "3 rows: 2 valid, 1 invalid" in out
    assert main(["submit", str(catalog), *_args(server, tmp_path / "r"), "--strict"]) == 1
    run_dir = _run_dir(capsys.readouterr().out)
    assert [r["status"] for r in read_results(run_dir)] == ["created", "invalid", "created"]
    settings = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))["settings"]
    assert settings["strict"] is True
    # An unknown column is an error under --strict, a warning without it.
    extra = write_csv(tmp_path / "x.csv", [{**row("strict_x"), "notes": "n"}])
    assert main(["submit", str(extra), *_args(server, tmp_path / "r2"), "--strict"]) == 1
    assert "column 'notes' is not an assignment-source field" in capsys.readouterr().err
    assert main(["validate", str(extra)]) == 0


def test_resume_and_retry_keep_the_options_and_show_the_warnings(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = _warned(tmp_path / "c.csv", "again")
    # One invalid row to retry once fixed; the run itself records strict=False.
    with catalog.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    rows.append(row("again_bad", idTypeMapping="userID"))
    write_catalog(catalog, rows)
    assert main(["submit", str(catalog), *_args(server, tmp_path / "r")]) == 1
    run_dir = _run_dir(capsys.readouterr().out)
    assert main(["resume", str(run_dir), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "nothing to resume" in out and f"row 2 (again_deep): sql: {CRASH}" in out
    # The catalog gains a near-miss column: the retry refuses it before sending anything.
    write_csv(catalog, [{**r, "groupNameColum": "g"} for r in rows[:3]] + [
        {**row("again_bad"), "groupNameColum": "g"}
    ])  # fmt: skip
    before = server_stats(server)["requests"]["total"]
    assert main(["retry", str(run_dir), "--include-invalid", "--quiet"]) == 1
    assert "is almost the field `groupNameColumn`" in capsys.readouterr().err
    assert server_stats(server)["requests"]["total"] == before


def test_validate_frame_and_submit_frame_say_the_same(server: str, tmp_path: Path) -> None:
    frame = pd.DataFrame([row("frame_ok"), row("frame_deep", sql=DEEP)])
    report = validate_frame(frame)
    assert [(w.row, w.field) for w in report.warnings] == [(2, "sql")]
    assert validate_frame(frame, strict=True).invalid.keys() == {2}
    settings = SubmitSettings(base_url=server, windows=TEST_WINDOWS, report_dir=tmp_path / "r")
    done = submit_frame(frame, settings, ApiKey(KEY), name="frame")
    assert [w["row"] for w in done.warnings] == [2]
    summary = json.loads((done.run_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["warnings"] == done.warnings
    near = frame.assign(groupNameColum="g")
    assert validate_frame(near).column_errors
    assert validate_frame(near, ignore_columns=["groupNameColum"]).column_errors == []
    with pytest.raises(HeaderRefused, match=r"^the DataFrame: column 'groupNameColum'"):
        submit_frame(near, settings, ApiKey(KEY), name="near")
