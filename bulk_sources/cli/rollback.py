"""`bulk-sources rollback RUN`: undo what a run created and updated, safely."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .options import add_force_other_key, add_key_options, key_from
from .submit import _show, add_json_option

if TYPE_CHECKING:
    from ..run.record.summary import DryRun, RunReport

SHOWN = 10


def register(subparsers: Any) -> None:
    rollback = subparsers.add_parser(
        "rollback",
        help="undo a run: delete what it created, restore what it updated, unless changed since",
        description="Lists the project, then deletes each source RUN created and restores each "
        "source it updated to its content before the run, only where the server still holds "
        "exactly what RUN wrote; anything changed since is kept and reported, and a source "
        "already gone is 'gone'. A run of its own (folder <label>-rollback, resumable with "
        "`bulk-sources resume`), under the same rate limits; exit codes as for submit. "
        "Refused for a rollback run, a run still running, or another key than RUN's.",
    )
    rollback.add_argument("run", type=Path, help="the run folder submit printed")
    add_key_options(rollback)
    rollback.add_argument(
        "--dry-run",
        action="store_true",
        help="list and print what would be deleted, restored or kept; write the plan "
        "(plan.csv in a new <label>-rollback-dry-run folder); send nothing",
    )
    add_force_other_key(rollback)
    add_json_option(rollback)
    rollback.add_argument("--quiet", action="store_true", help="no progress on stderr")
    rollback.set_defaults(func=run_rollback)


def run_rollback(args: argparse.Namespace) -> int:
    from ..run.rollback.start import plan_rollback, rollback_run
    from .exits import for_outcome
    from .progress import run_progress
    from .render import dry_run_document, print_json

    if args.dry_run:
        plan = plan_rollback(args.run, key_from(args), force_other_key=args.force_other_key)
        if args.json:
            print_json(dry_run_document(plan))
        else:
            print_rollback_plan(plan)
        return for_outcome(plan.outcome)
    report = rollback_run(
        args.run,
        key_from(args),
        force_other_key=args.force_other_key,
        progress=run_progress(quiet=args.quiet),
    )
    if not args.json:
        print_kept(report)
    return _show(report, args.json)


def print_kept(report: RunReport) -> None:
    """Each row left alone and why (all of them are in results.csv)."""
    from ..run.record.results import Status

    kept = [r for r in report.results if r.status is Status.KEPT]
    for r in kept[:SHOWN]:
        print(f"  kept row {r.row} ({r.name}): {r.error}")
    if len(kept) > SHOWN:
        print(f"  ... and {len(kept) - SHOWN} more kept in results.csv")


_WORDS = {
    "delete": "would delete",
    "restore": "would restore",
    "kept": "kept",
    "gone": "gone",
}


def print_rollback_plan(plan: DryRun) -> None:
    from .render import print_plan

    title = (
        f"rollback dry run of {plan.catalog.parent} against {plan.target}: "
        f"{plan.rows} rows, nothing sent"
    )
    print_plan(plan, title, _WORDS)
    sys.stdout.flush()
