"""The submit, resume, retry and demo commands: exact messages, exit codes, the secret key."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from catalog_helpers import names, row, write_catalog
from process_helpers import server_process, server_stats, tool, wait_for_sends
from submit_helpers import read_results, run_folder_in

from bulk_sources.cli.main import build_parser, main

KEY = "console-cli-test-secret-0123456789"
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


def _every_file_text(folder: Path) -> str:
    return "".join(
        p.read_text(encoding="utf-8", errors="replace") for p in folder.rglob("*") if p.is_file()
    )


def test_submit_reports_every_row_and_never_shows_the_key(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATSIG_API_KEY", KEY)
    rows = [row(n) for n in names(5, "cli")] + [row("cli_bad", idTypeMapping="userID")]
    catalog = write_catalog(tmp_path / "c.csv", rows)
    code = main(["submit", str(catalog), *_args(server, tmp_path / "reports")])
    out, err = capsys.readouterr()
    assert code == 1
    lines = out.strip().splitlines()
    run_dir = run_folder_in("\n".join(lines))
    assert lines[-2].startswith("run folder: ") and run_dir.is_dir()
    assert lines[-1] == f"report page: {run_dir / 'report.html'}"
    assert "  created             5" in out
    assert "  invalid             1" in out
    assert "row 6 (cli_bad): invalid: idTypeMapping:" in out
    assert f"rows to fix and run again: {run_dir / 'failed.csv'}" in out
    assert [r["status"] for r in read_results(run_dir)] == ["created"] * 5 + ["invalid"]
    assert KEY not in out + err
    # Every summary names the host the run sent to (issue 18, case 11).
    assert f"6 rows from {catalog} to {server}\n" in out
    assert json.loads((run_dir / "summary.json").read_text())["target"] == server
    assert KEY not in _every_file_text(tmp_path / "reports")


def test_the_key_can_come_from_a_file(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STATSIG_API_KEY", raising=False)
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    catalog = write_catalog(tmp_path / "c.csv", [row("from_key_file")])
    args = ["submit", str(catalog), *_args(server, tmp_path / "r"), "--api-key-file", str(key_file)]
    assert main(args) == 0
    assert "  created             1" in capsys.readouterr().out


def test_no_key_is_a_usage_error_that_says_how_to_fix_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STATSIG_API_KEY", raising=False)
    catalog = write_catalog(tmp_path / "c.csv", [row("a")])
    assert main(["submit", str(catalog), "--report-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err == (
        "bulk-sources: no API key: set STATSIG_API_KEY=console-... or pass --api-key-file FILE "
        "(a Console API key from console.statsig.com/api_keys)\n"
    )


def test_plain_http_to_a_remote_host_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATSIG_API_KEY", KEY)
    catalog = write_catalog(tmp_path / "c.csv", [row("a")])
    code = main(["submit", str(catalog), "--base-url", "http://api.example.com"])
    assert code == 2
    assert capsys.readouterr().err == (
        "bulk-sources: refusing plain http to api.example.com: the API key would travel "
        "unencrypted; use https (http is allowed only for loopback hosts)\n"
    )


def test_a_bad_rate_limit_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["submit", "c.csv", "--rate-limit", "100/ten-seconds"])
    assert exit_info.value.code == 2
    assert "write it like 100/10s or 900/15m" in capsys.readouterr().err


def test_dry_run_prints_the_plan(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATSIG_API_KEY", KEY)
    catalog = write_catalog(tmp_path / "c.csv", [row(n) for n in names(130, "dry")])
    before = server_stats(server)["mutations"]
    code = main(["submit", str(catalog), *_args(server, tmp_path / "r"), "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    assert f"dry run of {catalog} against {server}: 130 rows, nothing sent" in out
    assert "  would create:     130\n      row 1 (dry_0000)\n" in out
    assert "      ... and 125 more\n" in out
    assert "  unchanged:          0\n" in out
    assert "130 requests under 20/500ms, 60/3s take at least 6 s" in out
    assert server_stats(server)["mutations"] == before


def test_a_dry_run_on_the_defaults_says_burst_protection_is_not_in_its_estimate(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATSIG_API_KEY", KEY)
    monkeypatch.setenv("BULK_SOURCES_STATE_DIR", str(tmp_path / "state"))
    catalog = write_catalog(tmp_path / "c.csv", [row(n) for n in names(3, "dflt")])
    args = ["--base-url", server, "--report-dir", str(tmp_path / "r"), "--quiet", "--dry-run"]
    assert main(["submit", str(catalog), *args]) == 0
    out = capsys.readouterr().out
    assert (
        "3 requests under 1800/15m take at least 0 s (budget: default, plus the project's "
        "burst protection, learned from its first 429s)"
    ) in out


@pytest.mark.slow
def test_ctrl_c_stops_reports_not_attempted_and_resume_finishes(
    server: str, tmp_path: Path
) -> None:
    catalog = write_catalog(tmp_path / "c.csv", [row(n) for n in names(150, "intr")])
    env = {**os.environ, "STATSIG_API_KEY": KEY}
    proc = subprocess.Popen(
        tool("submit", str(catalog), *_args(server, tmp_path / "r")),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_sends(tmp_path / "r", 0, proc)
    time.sleep(0.5)  # inside the run: 150 rows need 6 s under 60/3 s
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 3, err
    assert "Traceback" not in err
    assert "stopped: interrupted by SIGINT" in out
    run_dir = run_folder_in(out)
    statuses = [r["status"] for r in read_results(run_dir)]
    assert len(statuses) == 150
    assert 0 < statuses.count("created") < 150
    assert "not_attempted" in statuses
    done = subprocess.run(
        tool("resume", str(run_dir)), env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert [r["status"] for r in read_results(run_dir)] == ["created"] * 150


def test_every_command_and_option_has_help() -> None:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {c.dest: c.help for c in subparsers._choices_actions}
    assert set(helps) >= {"submit", "resume", "retry", "demo", "validate", "template"}
    for name, sub in subparsers.choices.items():
        assert helps.get(name), f"{name} has no help line"
        for action in sub._actions:
            if action.dest != "help":
                assert action.help, f"{name} {action.option_strings or action.dest} lacks help"


def test_a_catalog_with_only_a_header_is_valid_and_empty(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATSIG_API_KEY", KEY)
    catalog = write_catalog(tmp_path / "c.csv", [])
    assert main(["submit", str(catalog), *_args(server, tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("the catalog has a header and no rows: nothing to send\n0 rows from ")


def test_an_edited_journal_line_is_exit_2_with_the_line_never_an_internal_error(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATSIG_API_KEY", KEY)
    catalog = write_catalog(tmp_path / "c.csv", [row("cli_edit_a"), row("cli_edit_b")])
    assert main(["submit", str(catalog), *_args(server, tmp_path / "r")]) == 0
    lines = capsys.readouterr().out.splitlines()
    run_dir = Path(
        next(x for x in lines if x.startswith("run folder: ")).removeprefix("run folder: ")
    )
    journal = run_dir / "journal.jsonl"
    journal.write_text(journal.read_text().replace('"status":"created"', '"status":"made"', 1))
    assert main(["resume", str(run_dir), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{journal} line " in err and "status 'made' is not one the tool writes" in err
    assert "internal error" not in err and "resume continues it" not in err
