"""What the CLI prints: --json documents, the pulse on a non-terminal stderr, hints that name
real commands, STATSIG_BASE_URL, examples in --help, completion, a fast --help."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
from catalog_helpers import names, row, write_catalog
from process_helpers import server_process, tool, wait_for_sends
from submit_helpers import read_results, run_folder_in

from bulk_sources.cli.main import build_parser, main

KEY = "console-cli-output-secret-0123456789"
WINDOWS = ["20/500ms", "60/3s"]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with server_process(KEY, WINDOWS) as url:
        yield url


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATSIG_API_KEY", KEY)
    monkeypatch.delenv("STATSIG_BASE_URL", raising=False)


def _args(reports: Path, url: str | None = None) -> list[str]:
    out = ["--report-dir", str(reports), "--margin", "0.02"]
    out += ["--base-url", url] if url else []
    for window in WINDOWS:
        out += ["--rate-limit", window]
    return out


def test_submit_json_is_one_document_and_the_pulse_goes_to_stderr(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [row(n) for n in names(10, "js")] + [row("js_bad", sql="")]
    catalog = write_catalog(tmp_path / "c.csv", rows)
    code = main(["submit", str(catalog), "--json", *_args(tmp_path / "r", server)])
    out, err = capsys.readouterr()
    assert code == 1
    doc = json.loads(out)  # the whole of stdout is one JSON document
    assert doc["tool"] == "bulk-sources"
    assert doc["outcome"] == "rows_failed"
    assert doc["counts"]["created"] == 10 and doc["counts"]["invalid"] == 1
    assert doc["problems"] == [
        {
            "row": 11,
            "name": "js_bad",
            "status": "invalid",
            "http_status": None,
            "attempts": 0,
            "error": "sql: is required but empty",
        }
    ]
    run_dir = Path(doc["run_dir"])
    summary = json.loads((run_dir / "summary.json").read_text())
    assert {k: doc[k] for k in summary} == summary  # summary.json's content, and more
    # stderr is not a terminal here: one record at each tenth, the last at 100 %.
    records = [line for line in err.splitlines() if line.startswith("progress ")]
    assert len(records) == 11  # the opening line, then one at each tenth
    assert records[0].startswith("progress 0/10 rows (0 %) after 00:00")
    assert records[-1].startswith("progress 10/10 rows (100 %) after ")
    assert "created=10" in records[-1] and "rows/s" in records[-1]

    code = main(["resume", str(run_dir), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1
    assert doc["note"] == "nothing to resume: every row already has a final outcome"

    code = main(["retry", str(run_dir), "--json"])
    out = capsys.readouterr().out
    assert code == 1  # the invalid row still needs the user
    assert json.loads(out)["note"].startswith(f"nothing to retry in {run_dir}")


def test_dry_run_json_lists_the_rows_that_would_fail(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = write_catalog(tmp_path / "c.csv", [row("dj_ok"), row("dj_bad", sql="")])
    code = main(["submit", str(catalog), "--dry-run", "--json", *_args(tmp_path / "r", server)])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1
    assert doc["dry_run"] is True and doc["would_create"] == 1 and doc["invalid"] == 1
    assert [(p["row"], p["status"]) for p in doc["problems"]] == [(2, "invalid")]
    assert not list((tmp_path / "r").glob("*/run.json"))  # no run folder


def test_an_error_with_json_is_a_document_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["submit", str(tmp_path / "missing.csv"), "--json", *_args(tmp_path / "r")])
    out, err = capsys.readouterr()
    assert code == 2
    doc = json.loads(out)
    assert doc["exit_code"] == 2 and "does not exist" in doc["error"]
    assert "does not exist" in err


def test_retry_with_nothing_to_send_says_so_and_makes_no_folder(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = write_catalog(tmp_path / "c.csv", [row("nr_1"), row("nr_2")])
    reports = tmp_path / "r"
    assert main(["submit", str(catalog), "--quiet", *_args(reports, server)]) == 0
    run_dir = run_folder_in(capsys.readouterr().out)
    before = sorted(reports.iterdir())
    assert main(["retry", str(run_dir)]) == 0
    out, err = capsys.readouterr()
    assert out == f"bulk-sources: nothing to retry in {run_dir}\n"
    assert err == ""
    assert sorted(reports.iterdir()) == before
    assert not list(run_dir.glob(".*retry*"))


def test_the_dry_run_does_not_suggest_a_resume_it_has_nothing_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = write_catalog(tmp_path / "c.csv", [row("unreachable")])
    url = "http://127.0.0.1:9"  # discard port: nothing listens
    args = ["--dry-run", "--max-attempts", "1", *_args(tmp_path / "r", url)]
    code = main(["submit", str(catalog), *args])
    err = capsys.readouterr().err
    assert code == 3
    assert "could not list the existing assignment sources" in err
    assert "resume" not in err
    assert "then run the dry run again" in err


def test_a_stopped_run_names_resume_once_and_no_rows_to_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = write_catalog(tmp_path / "c.csv", [row("s1"), row("s2")])
    args = ["--quiet", "--max-attempts", "1", *_args(tmp_path / "r", "http://127.0.0.1:9")]
    assert main(["submit", str(catalog), *args]) == 3
    out = capsys.readouterr().out
    assert out.count("bulk-sources resume ") == 1
    assert "rows to fix" not in out


def test_the_base_url_comes_from_the_environment(
    server: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STATSIG_BASE_URL", server)
    catalog = write_catalog(tmp_path / "c.csv", [row("env_1")])
    assert main(["submit", str(catalog), "--quiet", *_args(tmp_path / "r")]) == 0
    out, err = capsys.readouterr()
    assert "  created             1" in out
    assert f"base URL {server} (from $STATSIG_BASE_URL)" in err
    assert "STATSIG_BASE_URL" in _help("submit")


def _help(command: str | None = None) -> str:
    parser = build_parser()
    if command is None:
        return parser.format_help()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return str(sub.choices[command].format_help())


def test_every_command_has_examples_in_its_help() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name in sub.choices:
        text = _help(name)
        assert "examples:\n  bulk-sources " + name in text, name
    assert "STATSIG_BASE_URL" in _help()


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_scripts_know_every_command_and_option(
    shell: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    for word in ("submit", "resume", "retry", "validate", "--json", "--include-invalid"):
        assert word in script, word


def test_help_imports_no_heavy_library() -> None:
    probe = (
        "import sys\n"
        "from bulk_sources.cli.main import build_parser\n"
        "build_parser().format_help()\n"
        "heavy = ('aiohttp', 'pandas', 'pyarrow', 'sqlglot')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


@pytest.mark.slow
def _next_line_but_progress(stream: IO[str]) -> str:
    while (line := stream.readline()).startswith("progress "):
        pass
    return line


def test_ctrl_c_says_what_it_waits_for_and_a_second_one_stops_at_once(tmp_path: Path) -> None:
    """Every request hangs (the stand-in stalls 60 s): the first Ctrl-C names the requests
    in flight and waits (grace 10 s); the second gives up on them at once: unknown rows."""
    with server_process(KEY, WINDOWS, "--stall-rate", "1", "--stall-seconds", "60") as url:
        catalog = write_catalog(tmp_path / "c.csv", [row(n) for n in names(6, "hang")])
        reports = tmp_path / "r"
        args = ["submit", str(catalog), "--concurrency", "3", *_args(reports, url)]
        proc = subprocess.Popen(
            tool(*args),
            env={**os.environ, "STATSIG_API_KEY": KEY},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        wait_for_sends(reports, 2, proc)  # three requests out, none will answer
        proc.send_signal(signal.SIGINT)
        first = _next_line_but_progress(proc.stderr)
        proc.send_signal(signal.SIGINT)
        second = _next_line_but_progress(proc.stderr)
        out, err = proc.communicate(timeout=8)  # well inside the 10 s grace
    assert first.startswith("stopping: waiting up to 10 s for requests in flight (3 requests")
    assert first.rstrip().endswith("Ctrl-C again to stop now")
    assert second.startswith("stopping now: ")
    assert proc.returncode == 3, err
    assert "Traceback" not in err
    run_dir = run_folder_in(out)
    statuses = [r["status"] for r in read_results(run_dir)]
    assert statuses.count("unknown") == 3 and statuses.count("not_attempted") == 3
