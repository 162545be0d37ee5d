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
from ..record.folder import PLAN_FILE as PLAN_FILE  # named with the folder's other files
from ..record.report import atomic_text
from ..record.runfiles import csv_records, damaged, whole_number
from .rows import PlanEntry

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
    """plan.csv as a reviewer may have re-saved it (BOM, columns reordered, a cell too many);
    a line that can't be read is refused, naming it (record/runfiles.py)."""
    fix = "write it again with `bulk-sources submit CATALOG --dry-run --plan FILE`"
    out = []
    for line, rec in csv_records(path, ("row", "name", "action", "fields", "note"), fix):
        try:
            out.append(
                PlanEntry(
                    row=whole_number(rec["row"], "row"),
                    name=rec["name"] or None,
                    action=rec["action"],
                    fields=tuple(f for f in rec["fields"].split(";") if f),
                    note=rec["note"],
                    changes=_texts(rec.get("changes"), "changes"),
                    digest=rec.get("digest") or "",
                    warnings=_texts(rec.get("warnings"), "warnings"),
                )
            )
        except ValueError as exc:
            raise damaged(path, line, str(exc), fix) from None
    return out


def _texts(cell: str | None, what: str) -> tuple[str, ...]:
    """A JSON list of texts in a cell (empty: none); ValueError says what is wrong."""
    try:
        value = json.loads(cell or "[]")
    except ValueError:
        raise ValueError(f"{what} is not a JSON list") from None
    if not isinstance(value, list):
        raise ValueError(f"{what} is not a JSON list")
    return tuple(str(v) for v in value)
