"""Helpers for the submit tests: catalogs on disk and settings sized for short windows."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from bulk_sources.catalog.cells import REQUIRED_FIELDS
from bulk_sources.limits.windows import Window
from bulk_sources.run.settings import SubmitSettings

HEADER = [*REQUIRED_FIELDS, "tags"]
# Short windows so a test crosses both in seconds (20/0.5 s and 60/3 s).
TEST_WINDOWS = (Window(20, 0.5), Window(60, 3.0))


def row(name: str, **override: str) -> dict[str, str]:
    cells = {
        "name": name,
        "sql": f"SELECT * FROM exposures_{name}",
        "timestampColumn": "ts",
        "experimentIDColumn": "experiment",
        "groupIDColumn": "group_id",
        "idTypeMapping": "userID=user_id;stableID=stable_id",
        "tags": "migrated;bulk",
    }
    cells.update(override)
    return cells


def write_catalog(path: Path, rows: Iterable[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path


def names(n: int, prefix: str = "src") -> list[str]:
    return [f"{prefix}_{i:04d}" for i in range(n)]


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
