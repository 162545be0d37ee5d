"""Crash safety: SIGKILL a submit at random moments, resume until done, check exactly once.

Both the stand-in and the tool run as real processes here, so a kill is a real kill.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from catalog_helpers import names, row, write_catalog
from process_helpers import (
    journal_sends,
    run_folder,
    server_process,
    server_stats,
    tool,
    wait_for_sends,
)
from submit_helpers import no_send_after_success, read_journal, read_results

KEY = "console-kill-test-key"
WINDOWS = ["40/500ms", "200/3s"]


@pytest.fixture
def server() -> Iterator[str]:
    faults = ["--error-rate", "0.05", "--reset-rate", "0.02", "--create-then-drop-rate", "0.02"]
    with server_process(KEY, WINDOWS, *faults, "--seed", "3") as url:
        yield url


def _submit_args(url: str, reports: Path) -> list[str]:
    args = ["--base-url", url, "--report-dir", str(reports), "--quiet", "--timeout", "2"]
    args += ["--max-attempts", "10", "--margin", "0.02"]
    for window in WINDOWS:
        args += ["--rate-limit", window]
    return args


def _env() -> dict[str, str]:
    return {**os.environ, "STATSIG_API_KEY": KEY}


@pytest.mark.slow
def test_sigkill_at_random_moments_then_resume_creates_every_row_exactly_once(
    server: str, tmp_path: Path
) -> None:
    url = server
    rows = [row(n) for n in names(590)]
    bad = [row(f"bad_{i}", groupIDColumn="") for i in range(10)]
    catalog = write_catalog(tmp_path / "catalog.csv", rows[:300] + bad + rows[300:])
    reports = tmp_path / "reports"
    rng = random.Random(2026)
    kills = 0
    while kills < 6:
        run = run_folder(reports)
        command = (
            tool("submit", str(catalog), *_submit_args(url, reports))
            if run is None
            else tool("resume", str(run))
        )
        sends_before = journal_sends(reports)
        proc = subprocess.Popen(
            command, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        # A random moment after this process started sending, however slow its start-up.
        wait_for_sends(reports, sends_before, proc)
        time.sleep(rng.uniform(0.0, 0.8))
        if proc.poll() is not None:
            break  # finished before the kill
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
    assert kills >= 5, "the run finished too early to be killed five times"
    run = run_folder(reports)
    assert run is not None
    done = subprocess.run(
        tool("resume", str(run)), env=_env(), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1, done.stderr  # the 10 invalid rows
    stats = server_stats(url)
    valid_names = {r["name"] for r in rows}
    assert stats["source_count"] == 590
    results = read_results(run)
    assert [int(r["row"]) for r in results] == list(range(1, 601))
    assert {r["name"] for r in results if r["status"] == "created"} == valid_names
    assert sum(r["status"] == "invalid" for r in results) == 10
    summary = json.loads((run / "summary.json").read_text())
    assert sum(summary["counts"].values()) == 600
    assert summary["counts"]["created"] == 590
    journal = read_journal(run)
    assert no_send_after_success(journal)
    # The kills landed mid-run: several processes sent rows before the last one finished.
    starts = [i for i, r in enumerate(journal) if r["event"] == "start"]
    sends_per_process = [
        sum(r["event"] == "send" for r in journal[a:b])
        for a, b in zip(starts, [*starts[1:], len(journal)], strict=True)
    ]
    assert sum(n > 0 for n in sends_per_process[:-1]) >= 4, sends_per_process
    assert sends_per_process[-1] < 590
    # Across seven processes the server never saw a window exceeded, and the rate-limit
    # memory meant no restart opened with a burst into a 429.
    assert stats["rate_limited"] == 0
    for window in stats["windows"]:
        assert window["max_arrivals_in_window"] <= window["limit"], window
    assert done.stdout.strip().splitlines()[-2] == f"run folder: {run}"


@pytest.mark.slow
def test_a_new_process_right_after_another_starts_with_the_budget_really_left(
    tmp_path: Path,
) -> None:
    windows = ["20/500ms", "60/6s"]
    reports = tmp_path / "reports"
    with server_process(KEY, windows) as url:
        for part in ("one", "two"):
            catalog = write_catalog(tmp_path / f"{part}.csv", [row(n) for n in names(50, part)])
            args = ["--base-url", url, "--report-dir", str(reports), "--quiet", "--margin", "0.02"]
            for window in windows:
                args += ["--rate-limit", window]
            done = subprocess.run(
                tool("submit", str(catalog), *args),
                env=_env(),
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stdout + done.stderr
        stats = server_stats(url)
    assert stats["source_count"] == 100
    assert stats["rate_limited"] == 0
    for window in stats["windows"]:
        assert window["max_arrivals_in_window"] <= window["limit"], window
