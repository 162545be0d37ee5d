"""Crash safety of a rollback: SIGKILL it twice at random moments, resume, same end state,
and no delete sent again after its success. Stand-in and tool are real processes."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from catalog_helpers import names, row, write_catalog
from process_helpers import server_process, server_stats, tool
from submit_helpers import read_journal, read_results

KEY = "console-rollback-kill-key"
WINDOWS = ["60/300ms", "600/6s"]
FAULTS = ["--error-rate", "0.05", "--reset-rate", "0.02", "--create-then-drop-rate", "0.02"]


def _env() -> dict[str, str]:
    return {**os.environ, "STATSIG_API_KEY": KEY}


def _submit(catalog: Path, url: str, reports: Path, *extra: str) -> Path:
    args = ["--base-url", url, "--report-dir", str(reports), "--quiet", "--timeout", "2"]
    args += ["--max-attempts", "10", "--margin", "0.02", *extra]
    for window in WINDOWS:
        args += ["--rate-limit", window]
    done = subprocess.run(
        tool("submit", str(catalog), *args, "--json"),
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return Path(json.loads(done.stdout)["run_dir"])


def _listed(url: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    path: str | None = "/console/v1/experiments/assignment_sources?page=1&limit=100"
    while path:
        request = urllib.request.Request(url + path, headers={"STATSIG-API-KEY": KEY})
        with urllib.request.urlopen(request, timeout=5) as answer:
            page = json.load(answer)
        out.update((s["name"], s) for s in page["data"])
        path = page["pagination"]["nextPage"]
    return out


def _sends(run: Path) -> int:
    journal = run / "journal.jsonl"
    return journal.read_text(errors="replace").count('"event":"send"') if journal.exists() else 0


def _rollback_folder(reports: Path) -> Path | None:
    found = [p for p in reports.glob("*-rollback-of-*") if (p / "run.json").exists()]
    return found[0] if found else None


@pytest.mark.slow
def test_a_rollback_killed_twice_then_resumed_undoes_everything_once(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    old = [row(n, sql=f"SELECT * FROM legacy_{n}") for n in names(50)]
    rows = [row(n) for n in names(250)]
    with server_process(KEY, WINDOWS, *FAULTS, "--seed", "5") as url:
        _submit(write_catalog(tmp_path / "old.csv", old), url, reports)
        originals = _listed(url)
        run = _submit(
            write_catalog(tmp_path / "new.csv", rows), url, reports, "--on-exists", "update"
        )
        assert len(_listed(url)) == 250
        deleted_before = server_stats(url)["sources_deleted"]
        rng = random.Random(7)
        kills = 0
        while kills < 2:
            folder = _rollback_folder(reports)
            command = tool("rollback", str(run)) if folder is None else tool("resume", str(folder))
            before = _sends(folder) if folder else 0
            proc = subprocess.Popen(
                [*command, "--quiet"],
                env=_env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 60
            while proc.poll() is None and (
                (folder := _rollback_folder(reports)) is None or _sends(folder) <= before
            ):
                assert time.monotonic() < deadline, "the rollback never started sending"
                time.sleep(0.01)
            time.sleep(rng.uniform(0.05, 0.4))
            assert proc.poll() is None, "the rollback finished before it was killed"
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
        folder = _rollback_folder(reports)
        assert folder is not None
        done = subprocess.run(
            tool("resume", str(folder), "--json"),
            env=_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        now = _listed(url)
        stats = server_stats(url)
    assert now == originals  # the 50 originals as they were, nothing else
    summary = json.loads(done.stdout)
    assert summary["counts"]["deleted"] == 200 and summary["counts"]["restored"] == 50
    assert summary["counts"]["gone"] == summary["counts"]["kept"] == 0
    # Each created source was deleted once at the server: a second DELETE would be a 404.
    assert stats["sources_deleted"] - deleted_before == 200
    assert len(read_results(folder)) == 250
    journal = read_journal(folder)
    assert sum(r["event"] == "start" for r in journal) == 3
    finished: set[str] = set()
    for record in journal:
        if record["event"] == "final" and record["status"] in ("deleted", "restored"):
            finished.add(record["key"])
        elif record["event"] == "send":
            assert record["key"] not in finished, record
