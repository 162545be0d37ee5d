"""`bulk-sources runs`: every run folder under the report directory, newest first, as
run/record/index.py reads them; this module only prints them."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError

if TYPE_CHECKING:
    from ..run.record.index import RunEntry


def register(subparsers: Any) -> None:
    runs = subparsers.add_parser(
        "runs",
        help="list every run folder: when, what, target, catalog, counts and state",
        description="Every run folder under --report-dir, newest first: when it started, what "
        "it is (submit, retry of X, rollback of Y, dry run), the API host, the catalog, its "
        "counts and its state (done, done with rows to fix, stopped, running, not finished, "
        "undone by Z). Dry runs live in --report-dir's dry-runs/. A folder that can't be "
        "read in full is listed with a note.",
    )
    runs.add_argument(
        "--report-dir",
        type=Path,
        default=Path("reports"),
        help="where the run folders are (default reports/)",
    )
    runs.add_argument(
        "--json", action="store_true", help="one JSON document on stdout: {tool, report_dir, runs}"
    )
    runs.add_argument(
        "--open",
        nargs="?",
        const="",
        metavar="RUN",
        help="open the newest run's page (report.html) in the browser, or RUN's (a run "
        "folder, or its name under --report-dir)",
    )
    runs.set_defaults(func=run_runs)


def run_runs(args: argparse.Namespace) -> int:
    from ..run.record.index import list_runs
    from ..run.record.summary import TOOL
    from .render import print_json

    where = Path(args.report_dir)
    if where.exists() and not where.is_dir():
        raise UsageError(f"--report-dir {where} is not a directory; name the folder runs are in")
    entries = list_runs(where)
    if args.open is not None:
        return open_page(where, entries, args.open)
    if args.json:
        print_json(
            {
                "tool": TOOL,
                "report_dir": str(args.report_dir),
                "runs": [e.to_json() for e in entries],
            }
        )
        return 0
    if not entries:
        missing = "" if where.is_dir() else " (it does not exist yet)"
        print(f"no run folders in {where}{missing}")
        return 0
    for entry in entries:
        print("\n".join(lines(entry)))
    return 0


def lines(entry: RunEntry) -> list[str]:
    """Three lines a run: the folder and its state; what, when, where, from what; counts."""
    facts = [entry.what, entry.when or "time unknown"]
    facts += [f"to {entry.target}" if entry.target else "", entry.catalog or ""]
    counts = ", ".join(f"{status} {n}" for status, n in entry.counts.items())
    out = [f"{entry.path}  [{entry.state}]", "    " + "; ".join(f for f in facts if f)]
    if counts:
        out.append(f"    {counts}")
    if entry.note:
        out.append(f"    note: {entry.note}")
    return out


def open_page(where: Path, entries: list[RunEntry], run: str) -> int:
    """Open RUN's report.html (the newest run that has one when RUN is empty)."""
    import webbrowser

    from ..run.record.page import PAGE_FILE as PAGE

    if run:
        folder = Path(run) if Path(run).is_dir() else where / run
        if not folder.is_dir():
            raise UsageError(f"no run folder {run} (nor {folder}); `bulk-sources runs` lists them")
        page = folder / PAGE
        if not page.is_file():
            raise UsageError(
                f"{folder} has no {PAGE} (a dry run, or a run stopped before its report): "
                "its results.csv and summary.json say what happened"
            )
    else:
        pages = [e.path / PAGE for e in entries if (e.path / PAGE).is_file()]
        if not pages:
            print(f"no run in {where} has a page ({PAGE}) yet")
            return 0
        page = pages[0]
    print(f"opening {page}")
    if not webbrowser.open(page.resolve().as_uri()):
        print("no browser could be started here: open that file in one")
    return 0
