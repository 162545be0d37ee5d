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
from ...errors import UsageError
from ...fileio import atomic_write
from .csvsafe import neutralise
from .folder import CREATED_FILE, JOURNAL_FILE, RESULTS_FILE, SUMMARY_FILE
from .journal import read_journal
from .kept import kept_lines
from .results import NEEDS_FIX, RowResult, Status
from .runfiles import csv_records, damaged, json_lines, whole_number
from .shapes import CreatedLine

# `content_hash`: the request body's hash, how resume and retry find a row again (files
# written before it was named so call it `key`, and are still read).
RESULT_COLUMNS = ("row", "name", "status", "http_status", "attempts", "error", "content_hash")
OLD_HASH_COLUMN = "key"
# Appended to failed.csv after the catalog's own columns; the catalog reader ignores `_...`.
# One line per row: its first problem in `_field` and `_error`, and when it has more than
# one, all of them in `_errors` as a JSON list of {"field", "error"}.
REPORT_COLUMNS = ("_row", "_status", "_field", "_error", "_errors")
ROW_COLUMN = "_row"


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
    """results.csv as a person may have re-saved it (BOM, columns reordered, a cell too
    many); a line that can't be read is refused with a sentence naming it."""
    fix = f"`bulk-sources resume {path.parent}` writes it again from the run's journal"
    out = []
    for line, rec in csv_records(path, ("row", "name", "status"), fix):
        try:
            out.append(
                RowResult(
                    row=whole_number(rec["row"], "row"),
                    name=rec["name"] or None,
                    status=_status(rec["status"]),
                    http_status=whole_number(rec["http_status"], "http_status")
                    if rec.get("http_status", "").strip()
                    else None,
                    attempts=whole_number(rec.get("attempts") or "0", "attempts"),
                    error=rec.get("error", ""),
                    key=(rec.get(RESULT_COLUMNS[-1]) or rec.get(OLD_HASH_COLUMN)) or None,
                )
            )
        except ValueError as exc:
            raise damaged(path, line, str(exc), fix) from None
    return out


def _status(text: str) -> Status:
    try:
        return Status(text.strip())
    except ValueError:
        raise ValueError(f"status {text!r} is not one the tool writes") from None


def read_run_results(run_dir: Path) -> list[RowResult]:
    """The run folder's results.csv, refused when it holds fewer rows than its summary
    counts (emptied or cut by hand): then its rows can't be told from rows never sent."""
    path = run_dir / RESULTS_FILE
    results = read_results(path)
    try:
        rows = int(json.loads((run_dir / SUMMARY_FILE).read_text(encoding="utf-8"))["rows"])
    except (OSError, ValueError, TypeError, KeyError):
        # No summary (yet), or a damaged one: the journal says how many rows the run has.
        try:
            rows = read_journal(run_dir / JOURNAL_FILE).rows
        except UsageError:
            rows = 0
    if len(results) < rows:
        raise damaged(
            path,
            len(results) + 2,
            f"it holds {len(results)} rows, the run has {rows}",
            f"`bulk-sources resume {run_dir}` writes it again from the run's journal",
        )
    return results


def report_intact(run_dir: Path) -> bool:
    """summary.json, results.csv and created.jsonl are there and read back: a resume with
    nothing left to send may leave them as they are."""
    if not (run_dir / SUMMARY_FILE).is_file():
        return False
    try:
        read_run_results(run_dir)
        if (run_dir / CREATED_FILE).exists():
            list(json_lines(run_dir / CREATED_FILE, ""))
    except UsageError:
        return False
    return True


def carried_rows(catalog: Catalog) -> dict[int, int]:
    """The catalog's own `_row` column (a failed.csv fed back in): row here -> the row number
    in the catalog it was cut from, so a chain of fixes keeps saying "row 17". Rows without a
    whole number there (added by hand) keep their own number."""
    if ROW_COLUMN not in catalog.columns:
        return {}
    at = list(catalog.columns).index(ROW_COLUMN)
    out: dict[int, int] = {}
    for number, values in catalog.records():
        cell = str(values[at]).strip() if at < len(values) and values[at] is not None else ""
        if cell.isdigit() and int(cell) > 0:
            out[number] = int(cell)
    return out


def _problem_cells(r: RowResult) -> tuple[str, str, str]:
    problems = list(r.problems) or [("", r.error)]
    field, error = problems[0]
    listed = (
        json.dumps([{"field": f, "error": e} for f, e in problems], ensure_ascii=False)
        if len(problems) > 1
        else ""
    )
    return neutralise(field), neutralise(error), neutralise(listed)


def failed_path(run_dir: Path, catalog: Catalog) -> Path:
    return run_dir / ("failed.parquet" if catalog.format == "parquet" else "failed.csv")


def write_failed(
    run_dir: Path,
    catalog: Catalog,
    results: Iterable[RowResult],
    original_row: Callable[[int], int] = int,
) -> Path:
    """The rows a person must fix (invalid, failed), in the catalog's own columns and values,
    then why each is there (REPORT_COLUMNS, which the reader ignores): valid input as it is,
    and fixable in place. Rows not settled yet are `resume`'s, not a person's. `results` are
    numbered as in `catalog`; `_row` is `original_row` of that (a retry's rows carry their
    numbers in the catalog it came from)."""
    report = {
        r.row: (str(original_row(r.row)), r.status.value, *_problem_cells(r))
        for r in results
        if r.status in NEEDS_FIX
    }
    out = failed_path(run_dir, catalog)
    write_rows_with_report(catalog, report, REPORT_COLUMNS, out)
    return out


def write_created(path: Path, results: Iterable[RowResult]) -> None:
    """Every created or updated row, one JSON object a line: what the API holds (its answer,
    else what was sent, else null); an updated row also carries `before`, the content it
    replaced. A row without data is still listed, so rollback names it. A line the file
    had for a row not among `results` is kept: the file never loses a row the run made."""
    made = [
        r for r in results if r.status in (Status.CREATED, Status.UPDATED) or r.before is not None
    ]
    kept = kept_lines(path, {r.name for r in made if r.name is not None})
    with atomic_text(path) as handle:
        for line in kept:
            handle.write(line + "\n")
        for r in made:
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
