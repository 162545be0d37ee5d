"""`bulk-sources demo`: submit the example catalog to the embedded stand-in.

The same idea as run/demo.py one layer up: this parses and renders, that one runs.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from ..limits.windows import DEFAULT_WINDOWS, STAND_IN_WINDOWS

_WINDOWS = " and ".join(str(w) for w in STAND_IN_WINDOWS)
_TOLD = " and ".join(str(w) for w in DEFAULT_WINDOWS)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="submit the example catalog to the embedded Console API stand-in (no network)",
        description=f"Starts the stand-in on a free loopback port with windows {_WINDOWS} "
        "and a few injected faults, submits the example catalog on the tool's defaults "
        f"({_TOLD}: more than 100 rows, so the stand-in's burst protection is learned), and "
        "prints the summary, what the stand-in saw, and the run folder.",
    )
    parser.add_argument(
        "catalog",
        nargs="?",
        type=Path,
        default=None,
        help="catalog to submit: CSV, Parquet or Excel .xlsx (default inputs/demo.csv)",
    )
    parser.add_argument(
        "--report-dir", type=Path, default=Path("reports"), help="where run folders go"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..run.demo import default_demo_catalog, run_demo
    from ..run.record.summary import Outcome
    from .exits import for_outcome
    from .progress import bar_progress
    from .render import print_report

    catalog = args.catalog or default_demo_catalog()
    print(f"demo: submitting {catalog} to the embedded stand-in ({_WINDOWS} windows,")
    print("      3 % 500s, 2 % resets, 1 % create-then-drop, 5-30 ms latency)", flush=True)
    outcome = asyncio.run(run_demo(catalog, args.report_dir, progress=bar_progress(args.quiet)))
    print_report(outcome.report)
    stats = outcome.server_stats
    windows = ", ".join(
        f"most accepted in any {w['window'].split('/')[1]} window {w['max_accepted_in_window']}"
        f" (limit {w['limit']}"
        + (
            f"; {w['max_arrivals_in_window']} attempts with the refused ones)"
            if w["max_arrivals_in_window"] > w["max_accepted_in_window"]
            else ")"
        )
        for w in stats["windows"]
    )
    print(
        f"stand-in saw {stats['mutations']} mutations, {stats['rate_limited']} answered 429, "
        f"{stats['sources_created']} sources created; {windows}"
    )
    if outcome.report.outcome is Outcome.ROWS_FAILED:
        # The demo catalog holds bad rows on purpose; the demo itself went as it should.
        print("(submit would exit 1 for this catalog: its bad rows are invalid on purpose)")
        return 0
    return for_outcome(outcome.report.outcome)
