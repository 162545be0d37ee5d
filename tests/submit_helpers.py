"""Helpers for the run tests: settings sized for short windows, and reading a run folder back.

Catalogs are built with `catalog_helpers`."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bulk_sources.limits.windows import Window
from bulk_sources.run.settings import SubmitSettings

# Short windows so a test crosses both in seconds (20/0.5 s and 60/3 s).
TEST_WINDOWS = (Window(20, 0.5), Window(60, 3.0))


def settings(base_url: str, report_dir: Path, **changes: Any) -> SubmitSettings:
    values: dict[str, Any] = {
        "base_url": base_url,
        "windows": TEST_WINDOWS,
        "report_dir": report_dir,
        "margin": 0.02,
        "timeout": 2.0,
        "retry_base": 0.02,
        "retry_cap": 0.2,
        "stop_grace": 2.0,
        "seed": 1,
    }
    values.update(changes)
    return SubmitSettings(**values)


def read_results(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "results.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_journal(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def no_send_after_success(records: Sequence[dict[str, Any]]) -> bool:
    done: set[str] = set()
    for record in records:
        if record["event"] == "final" and record["status"] in ("created", "updated"):
            done.add(record["key"])
        elif record["event"] == "send" and record["key"] in done:
            return False
    return True


def run_folder_in(out: str) -> Path:
    """The run folder a summary names on its `run folder: ` line (the page follows it)."""
    lines = [line for line in out.splitlines() if line.startswith("run folder: ")]
    assert len(lines) == 1, out
    return Path(lines[0].removeprefix("run folder: "))
