"""The run folder's report: results.csv, failed.csv (or .parquet), summary.json.

Every file is written to a temporary name and renamed into place, so a crash while writing
leaves the previous version, never half a file.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, Any

from ...catalog.reader import Catalog
from ...catalog.writer import write_rows_with_report
from ...fileio import atomic_write
from .csvsafe import neutralise
from .results import RETRYABLE, RowResult, Status
from .shapes import CreatedLine

RESULT_COLUMNS = ("row", "name", "status", "http_status", "attempts", "error", "key")
# Appended to failed.csv after the catalog's own columns; the catalog reader ignores `_...`.
REPORT_COLUMNS = ("_row", "_status", "_error")


def atomic_text(path: Path) -> AbstractContextManager[IO[str]]:
    return atomic_write(path)


def write_results(path: Path, results: Iterable[RowResult]) -> None:
    with atomic_text(path) as handle:
        writer = csv.writer(handle)
        writer.writerow(RESULT_COLUMNS)
        for r in results:
            writer.writerow(
                [
                    r.row,
                    neutralise(r.name or ""),
                    r.status.value,
                    "" if r.http_status is None else r.http_status,
                    r.attempts,
                    neutralise(r.error),
                    r.key or "",
                ]
            )


def read_results(path: Path) -> list[RowResult]:
    with path.open("r", encoding="utf-8", newline="") as handle:
        return [
            RowResult(
                row=int(rec["row"]),
                name=rec["name"] or None,
                status=Status(rec["status"]),
                http_status=int(rec["http_status"]) if rec["http_status"] else None,
                attempts=int(rec["attempts"] or 0),
                error=rec["error"],
                key=rec["key"] or None,
            )
            for rec in csv.DictReader(handle)
        ]


def failed_path(run_dir: Path, catalog: Catalog) -> Path:
    return run_dir / ("failed.parquet" if catalog.format == "parquet" else "failed.csv")


def write_failed(
    run_dir: Path,
    catalog: Catalog,
    results: Iterable[RowResult],
    original_row: Callable[[int], int] = int,
) -> Path:
    """The rows to re-run, in the catalog's own columns and values, then why each is there
    (`_row`, `_status`, `_error`, which the reader ignores): valid input as it is, and
    fixable in place. `results` are numbered as in `catalog`; `_row` is `original_row` of
    that (a retry's rows carry their numbers in the catalog it came from)."""
    report = {
        r.row: (str(original_row(r.row)), r.status.value, neutralise(r.error))
        for r in results
        if r.status in RETRYABLE
    }
    out = failed_path(run_dir, catalog)
    write_rows_with_report(catalog, report, REPORT_COLUMNS, out)
    return out


def write_created(path: Path, results: Iterable[RowResult]) -> None:
    """What the API answered for each created or updated row, one JSON object a line; an
    updated row also carries `before`, the content it replaced."""
    with atomic_text(path) as handle:
        for r in results:
            if r.data is not None or r.before is not None:
                record: CreatedLine = {
                    "row": r.row,
                    "name": r.name,
                    "status": r.status.value,
                    "data": r.data,
                }
                if r.before is not None:
                    record["before"] = r.before
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    with atomic_text(path) as handle:
        json.dump(summary, handle, indent=2, sort_keys=False)
        handle.write("\n")
