"""The stand-in as a real separate process, for tests that kill or interrupt the tool."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def server_process(key: str, windows: Sequence[str], *extra: str) -> Iterator[str]:
    """Start `bulk-sources fake-server` on a free port; yields its URL; stops it after."""
    command = [sys.executable, "-m", "bulk_sources", "fake-server", "--port", "0", "--key", key]
    for window in windows:
        command += ["--rate-limit", window]
    command += list(extra)
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    with proc.stdout:
        try:
            url = proc.stdout.readline().strip().removeprefix("url: ")
            assert url.startswith("http://127.0.0.1:"), url
            yield url
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=10)


def server_stats(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "/__stats", timeout=5) as response:
        data: dict[str, Any] = json.load(response)
        return data


def run_folder(reports: Path) -> Path | None:
    """The one run folder under `reports`, once submit has made it."""
    runs = [p for p in reports.iterdir() if (p / "run.json").exists()] if reports.exists() else []
    return runs[0] if runs else None


def journal_sends(reports: Path) -> int:
    """How many requests the run under `reports` has journalled so far."""
    run = run_folder(reports)
    journal = run / "journal.jsonl" if run else None
    if journal is None or not journal.exists():
        return 0
    return journal.read_text(encoding="utf-8", errors="replace").count('"event":"send"')


def wait_for_sends(reports: Path, more_than: int, proc: subprocess.Popen[Any]) -> None:
    """Until the process has sent something (or ended), however slow its start-up."""
    deadline = time.monotonic() + 60
    while journal_sends(reports) <= more_than and proc.poll() is None:
        assert time.monotonic() < deadline, "the tool never started sending"
        time.sleep(0.02)


def tool(*args: str) -> list[str]:
    return [sys.executable, "-m", "bulk_sources", *args]
