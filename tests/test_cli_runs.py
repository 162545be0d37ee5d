"""Runs you can find a month later: `bulk-sources runs`, dry runs out of the way, a rollback
that says its own statuses and marks what it undid, ISO times in the journal, and a
results.csv column that says it is a content hash."""

from __future__ import annotations

import calendar
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from catalog_helpers import names, row, write_catalog
from process_helpers import server_process
from submit_helpers import read_journal, run_folder_in

from bulk_sources.cli.main import main
from bulk_sources.run.record.folder import RunRecord
from bulk_sources.run.record.report import RESULT_COLUMNS, read_results
from bulk_sources.run.record.results import Status
from bulk_sources.run.settings import SubmitSettings

KEY = "console-runs-test-key-0123456789"
WINDOWS = ["20/500ms", "60/3s"]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with server_process(KEY, WINDOWS) as url:
        yield url


def _args(url: str, reports: Path) -> list[str]:
    out = ["--base-url", url, "--report-dir", str(reports), "--quiet", "--margin", "0.02"]
    for window in WINDOWS:
        out += ["--rate-limit", window]
    return out


def _runs(reports: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    capsys.readouterr()
    assert main(["runs", "--report-dir", str(reports), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    runs: list[dict[str, object]] = document["runs"]
    return runs


def test_runs_lists_every_kind_newest_first_and_marks_what_was_undone(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATSIG_API_KEY", KEY)
    reports = tmp_path / "reports"
    catalog = write_catalog(tmp_path / "c.csv", [row(n) for n in names(3, "runs")])
    assert main(["submit", str(catalog), *_args(server, reports), "--dry-run"]) == 0
    time.sleep(1.1)  # one folder name per second: the order is by time
    assert main(["submit", str(catalog), *_args(server, reports)]) == 0
    capsys.readouterr()
    [first] = [p for p in reports.iterdir() if p.name != "dry-runs"]
    time.sleep(1.1)
    assert main(["rollback", str(first), "--quiet"]) == 0
    out = capsys.readouterr().out
    # The rollback's summary says what it did in its own words, not submit's.
    assert out.startswith(f"rollback of {first}: 3 rows at http://")
    assert "  deleted             3" in out
    assert "  created" not in out and "  invalid" not in out
    rollback = run_folder_in(out)
    assert f"-c-rollback-of-{first.name[:16]}" in rollback.name
    # Dry runs are out of the way of the runs.
    assert sorted(p.name for p in reports.iterdir()) == sorted(
        ["dry-runs", first.name, rollback.name]
    )

    runs = _runs(reports, capsys)
    assert [r["kind"] for r in runs] == ["rollback", "submit", "dry run"]
    assert runs[0]["what"] == f"rollback of {first.name}"
    assert runs[0]["state"] == "done" and runs[0]["counts"] == {"deleted": 3}
    assert runs[1]["state"] == f"undone by {rollback.name}"
    assert runs[1]["counts"] == {"created": 3}
    assert runs[1]["target"] == server.removeprefix("http://")
    assert runs[1]["catalog"] == str(catalog.resolve())
    assert runs[2]["counts"] == {"create": 3} and runs[2]["what"] == "dry run"
    stamps = [str(r["when"]) for r in runs]
    assert stamps == sorted(stamps, reverse=True)

    assert main(["runs", "--report-dir", str(reports)]) == 0
    text = capsys.readouterr().out
    assert f"{first}  [undone by {rollback.name}]" in text
    assert f"rollback of {first.name}; " in text


def test_runs_tolerates_odd_folders_with_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    (reports / "20261101T000000Z-half-made").mkdir(parents=True)
    damaged = reports / "20261102T000000Z-damaged"
    damaged.mkdir()
    (damaged / "run.json").write_text("{not json", encoding="utf-8")
    (reports / "notes.txt").write_text("a stray file", encoding="utf-8")
    torn = reports / "20261103T000000Z-torn-summary"
    torn.mkdir()
    made = calendar.timegm((2026, 11, 3, 0, 0, 0, 0, 0, 0))
    RunRecord(
        torn / "c.csv", "0" * 64, SubmitSettings(base_url="https://api.example"), made, "x"
    ).save(torn)
    (torn / "summary.json").write_text('{"counts": [1, 2', encoding="utf-8")
    runs = _runs(reports, capsys)
    assert [(r["state"], bool(r["note"])) for r in runs] == [
        ("not finished", True),
        ("unreadable", True),
        ("not a run", True),
    ]
    assert runs[0]["target"] == "api.example" and "summary.json is damaged" in str(runs[0]["note"])
    runs = runs[1:]
    assert "damaged" in str(runs[0]["note"])
    assert main(["runs", "--report-dir", str(reports)]) == 0
    assert "note: no run.json" in capsys.readouterr().out
    # No report dir at all: a sentence, not a traceback.
    assert main(["runs", "--report-dir", str(tmp_path / "none")]) == 0
    assert capsys.readouterr().out == (
        f"no run folders in {tmp_path / 'none'} (it does not exist yet)\n"
    )


def test_the_journal_has_iso_times_and_results_name_the_content_hash(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATSIG_API_KEY", KEY)
    catalog = write_catalog(tmp_path / "c.csv", [row("iso_a"), row("iso_b")])
    assert main(["submit", str(catalog), *_args(server, tmp_path / "r")]) == 0
    run_dir = run_folder_in(capsys.readouterr().out)
    for record in read_journal(run_dir):
        at = time.strptime(record["at"][:19], "%Y-%m-%dT%H:%M:%S")
        assert abs(calendar.timegm(at) - record["t"]) < 1.0
        assert record["at"].endswith("Z")
    header = (run_dir / "results.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.split(",")[-1] == "content_hash" == RESULT_COLUMNS[-1]
    assert all(r.key for r in read_results(run_dir / "results.csv"))
    # A results.csv written before the rename (column `key`) is still read.
    old = tmp_path / "old.csv"
    old.write_text(
        "row,name,status,http_status,attempts,error,key\n1,a,created,201,1,,abc123\n",
        encoding="utf-8",
    )
    [one] = read_results(old)
    assert (one.key, one.status) == ("abc123", Status.CREATED)


def test_runs_says_when_the_report_dir_is_a_file_or_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    afile = tmp_path / "reports"
    afile.write_text("not a folder\n", encoding="utf-8")
    assert main(["runs", "--report-dir", str(afile)]) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert main(["runs", "--report-dir", str(tmp_path / "none")]) == 0
    assert "(it does not exist yet)" in capsys.readouterr().out


def test_runs_open_shows_the_newest_page_or_a_named_runs(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATSIG_API_KEY", KEY)
    reports = tmp_path / "reports"
    catalog = write_catalog(tmp_path / "c.csv", [row(n) for n in names(2, "open")])
    assert main(["submit", str(catalog), *_args(server, reports)]) == 0
    [run] = [p for p in reports.iterdir() if p.name != "dry-runs"]
    # A real process, its browser a script ($BROWSER, as Python's webbrowser reads it).
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" >> {opened}\n', encoding="utf-8")
    browser.chmod(0o755)
    env = {**os.environ, "BROWSER": str(browser)}
    env.pop("DISPLAY", None)
    cli = [sys.executable, "-m", "bulk_sources", "runs", "--report-dir", str(reports), "--open"]
    done = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"opening {run / 'report.html'}")
    done = subprocess.run([*cli, run.name], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    page = (run / "report.html").resolve().as_uri()
    assert opened.read_text(encoding="utf-8").split() == [page, page]

    (reports / "empty").mkdir()
    assert main(["runs", "--report-dir", str(reports), "--open", "empty"]) == 2
    assert "has no report.html" in capsys.readouterr().err
    assert main(["runs", "--report-dir", str(reports), "--open", "nothing-here"]) == 2
    assert "no run folder nothing-here" in capsys.readouterr().err
    assert main(["runs", "--report-dir", str(tmp_path / "none"), "--open"]) == 0
    assert "has a page (report.html) yet" in capsys.readouterr().out
