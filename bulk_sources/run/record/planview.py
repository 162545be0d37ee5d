"""plan.csv as the report page shows it: counts per action, one line per changed field.

Read back from the file (plan/planfile.py writes it; the page sits below plan/ in the
layers), so a dry run's page and a submit's show the plan exactly as it was reviewed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ...errors import UsageError
from .runfiles import csv_records


def plan_context(path: Path, most: int) -> dict[str, Any]:
    """plan.csv for the page: counts per action, and the first `most` field changes."""
    entries = _read_plan(path)
    counts: dict[str, int] = {}
    for e in entries:
        counts[e["action"]] = counts.get(e["action"], 0) + 1
    changes = [c for e in entries for c in _changes(e)]
    return {
        "plan_counts": sorted(counts.items(), key=lambda kv: -kv[1]),
        "changes": changes[:most],
        "changes_total": len(changes),
    }


def _read_plan(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []  # no plan: a run stopped before planning
    try:
        # The one tolerant reader of run files: a BOM, reordered columns, a cell too many.
        return [rec for _, rec in csv_records(path, ("action",), "") if rec.get("action")]
    except UsageError:
        return []  # an unreadable one: the page goes without it


def _changes(entry: dict[str, str]) -> Iterable[dict[str, str]]:
    """plan.csv's `field: old -> new` (or `field: -a +b` for sets) as columns."""
    try:
        changes = json.loads(entry.get("changes") or "[]")
    except ValueError:
        changes = []
    for change in changes if isinstance(changes, list) else []:
        field, _, rest = str(change).partition(": ")
        old, arrow, new = rest.partition(" -> ")
        if not arrow:  # a set: members that leave (-a), members that join (+b)
            words = rest.split(" ")
            old = " ".join(w for w in words if w.startswith("-"))
            new = " ".join(w for w in words if w.startswith("+"))
        yield {
            "row": entry.get("row", ""),
            "name": entry.get("name", ""),
            "action": entry["action"],
            "field": field,
            "old": old,
            "new": new,
        }
