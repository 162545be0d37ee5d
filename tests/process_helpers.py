"""The stand-in as a real separate process, for tests that kill or interrupt the tool."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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


def tool(*args: str) -> list[str]:
    return [sys.executable, "-m", "bulk_sources", *args]
