"""`bulk-sources submit`, `resume` and `retry`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .options import (
    add_key_options,
    add_submit_options,
    key_from,
    settings_from,
)


def register(subparsers: Any) -> None:
    submit = subparsers.add_parser(
        "submit",
        help="create every valid row of a catalog, within the rate limits, and report each row",
        description="Validate the catalog, list what exists, then create the rest as fast as "
        "the rate windows allow. Writes results.csv, failed.csv and summary.json to a new "
        "run folder; the last line printed names it. Exit 0 all done, 1 some row invalid "
        "or failed, 2 usage or file problem, 3 stopped (key refused, Ctrl-C).",
    )
    submit.add_argument("catalog", type=Path, help="CSV or Parquet catalog")
    add_submit_options(submit)
    submit.add_argument(
        "--dry-run",
        action="store_true",
        help="validate and list, print what would happen and how long it takes; send nothing",
    )
    submit.set_defaults(func=run_submit)

    resume = subparsers.add_parser(
        "resume",
        help="continue a run that stopped, without sending anything twice",
        description="Rows with a final outcome stay; rows sent without an answer are checked "
        "against the list of existing sources; the rest are sent. Uses the run's own "
        "catalog and settings; the key is read again.",
    )
    resume.add_argument("run", type=Path, help="the run folder submit printed")
    add_key_options(resume)
    resume.set_defaults(func=run_resume)

    retry = subparsers.add_parser(
        "retry",
        help="send again only the rows of a run that failed or were not attempted",
        description="Starts a new run (its summary names RUN) with the rows of RUN that "
        "ended failed or not_attempted, read from the run's catalog as it is now.",
    )
    retry.add_argument("run", type=Path, help="the run folder submit printed")
    add_key_options(retry)
    retry.add_argument(
        "--include-invalid",
        action="store_true",
        help="also send the rows that were invalid (after you fixed them in the catalog)",
    )
    retry.add_argument(
        "--on-exists",
        choices=["skip", "update", "fail"],
        default=None,
        help="override the run's --on-exists, e.g. update the rows that failed as existing",
    )
    retry.set_defaults(func=run_retry)


def run_submit(args: argparse.Namespace) -> int:
    from ..run.session import dry_run, submit_catalog
    from .exits import for_outcome
    from .progress import bar_progress
    from .render import print_dry_run, print_report

    settings = settings_from(args)
    if args.dry_run:
        plan = dry_run(args.catalog, settings, key_from(args))
        print_dry_run(plan)
        return for_outcome(plan.outcome)
    report = submit_catalog(
        args.catalog, settings, key_from(args), progress=bar_progress(args.quiet)
    )
    print_report(report)
    return for_outcome(report.outcome)


def run_resume(args: argparse.Namespace) -> int:
    from ..run.session import resume_run
    from .exits import for_outcome
    from .progress import bar_progress
    from .render import print_report

    report = resume_run(args.run, key_from(args), progress=bar_progress(False))
    print_report(report)
    return for_outcome(report.outcome)


def run_retry(args: argparse.Namespace) -> int:
    from ..run.session import retry_run
    from .exits import for_outcome
    from .progress import bar_progress
    from .render import print_report

    report = retry_run(
        args.run,
        key_from(args),
        include_invalid=args.include_invalid,
        on_exists=args.on_exists,
        progress=bar_progress(False),
    )
    print_report(report)
    return for_outcome(report.outcome)
