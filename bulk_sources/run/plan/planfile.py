"""plan.csv: one line per catalog row with its planned action and the fields that differ.

Written by a submit into its run folder before anything is sent, and by a dry run (to
`--plan FILE`, or a `*-dry-run` folder under the report directory). Cells are neutralised
like results.csv, so a spreadsheet can open it safely.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path

from ..record.csvsafe import neutralise
from ..record.report import atomic_text
from .rows import PlanEntry

PLAN_FILE = "plan.csv"
# `changes`: a JSON list of `field: old -> new`; `digest`: the row's content key;
# `warnings`: a JSON list of `field: reason` validation warns about (plans written before
# these columns read as having none).
PLAN_COLUMNS = ("row", "name", "action", "fields", "note", "changes", "digest", "warnings")


def write_plan(path: Path, entries: Iterable[PlanEntry]) -> Path:
    with atomic_text(path) as handle:
        writer = csv.writer(handle)
        writer.writerow(PLAN_COLUMNS)
        for e in entries:
            changes = json.dumps(list(e.changes), ensure_ascii=False) if e.changes else ""
            warned = json.dumps(list(e.warnings), ensure_ascii=False) if e.warnings else ""
            writer.writerow(
                [
                    e.row,
                    neutralise(e.name or ""),
                    e.action,
                    ";".join(e.fields),
                    neutralise(e.note),
                    changes,
                    e.digest,
                    warned,  # a JSON list: starts with [, never a formula
                ]
            )
    return path


def read_plan(path: Path) -> list[PlanEntry]:
    with path.open("r", encoding="utf-8", newline="") as handle:
        return [
            PlanEntry(
                row=int(rec["row"]),
                name=rec["name"] or None,
                action=rec["action"],
                fields=tuple(f for f in rec["fields"].split(";") if f),
                note=rec["note"],
                changes=tuple(json.loads(rec.get("changes") or "[]")),
                digest=rec.get("digest") or "",
                warnings=tuple(json.loads(rec.get("warnings") or "[]")),
            )
            for rec in csv.DictReader(handle)
        ]
