"""`bulk-sources submit`, `resume` and `retry`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .options import (
    add_force_other_key,
    add_key_options,
    add_submit_options,
    base_url_note,
    key_from,
    settings_from,
)

if TYPE_CHECKING:
    from ..run.dryrun import ServerCheck
    from ..run.record.summary import RunReport
    from ..run.send.servercheck import Cost
    from ..run.settings import SubmitSettings


def register(subparsers: Any) -> None:
    submit = subparsers.add_parser(
        "submit",
        help="create every valid row of a catalog, within the rate limits, and report each row",
        description="Validate the catalog, list what exists, then create the rest as fast as "
        "the rate windows allow. Writes results.csv, failed.csv and summary.json to a new "
        "run folder; the last line printed names it. Exit 0 all done, 1 some row invalid "
        "or failed, 2 usage or file problem, 3 stopped (key refused, Ctrl-C).",
    )
    submit.add_argument("catalog", type=Path, help="CSV, Parquet or Excel (.xlsx) catalog")
    add_submit_options(submit)
    submit.add_argument(
        "--dry-run",
        action="store_true",
        help="validate and list, print what would happen to each row and how long it "
        "takes, write the plan (plan.csv); send nothing",
    )
    submit.add_argument(
        "--plan",
        type=Path,
        metavar="FILE",
        default=None,
        help="with --dry-run: write the plan here (default: plan.csv in a new "
        "<time>-<catalog>-dry-run folder under --report-dir); without it: apply that "
        "reviewed plan, refusing (exit 2, naming the rows) if the server or the catalog "
        "changed since",
    )
    submit.add_argument(
        "--replan",
        action="store_true",
        help="with --plan FILE: when rows changed since the plan, apply today's plan instead "
        "of refusing (the rows that changed are printed on stderr)",
    )
    submit.add_argument(
        "--tag",
        metavar="TEXT",
        default=None,
        help="add TEXT to every created or updated source's tags, so what the run made can "
        "be found in the console (rollback says when a source lost it)",
    )
    submit.add_argument(
        "--server-check",
        action="store_true",
        help="with --dry-run: also send each planned row with the API's dryRun flag (it "
        "validates, stores nothing, and counts against the mutation budget); the cost is "
        "said first and refusals become the rows' errors in the plan",
    )
    submit.add_argument(
        "--sample",
        type=_sample,
        metavar="N",
        default=None,
        help="with --server-check: check only N planned rows, spread over the plan (default: all)",
    )
    submit.add_argument(
        "--create-unit-types",
        action="store_true",
        help="create the unit ID types rows map and the project lacks, before any row "
        "(mutations under the same budget; a near miss like userId is never created)",
    )
    add_json_option(submit)
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
    add_force_other_key(resume)
    add_json_option(resume)
    resume.add_argument("--quiet", action="store_true", help="no progress on stderr")
    resume.set_defaults(func=run_resume)

    retry = subparsers.add_parser(
        "retry",
        help="send again only the rows of a run that failed or were not attempted",
        description="Starts a new run (its summary names RUN) with the rows of RUN that "
        "ended failed or not_attempted, read from the run's catalog as it is now.",
    )
    retry.add_argument("run", type=Path, help="the run folder submit printed")
    add_key_options(retry)
    add_force_other_key(retry)
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
    add_json_option(retry)
    retry.add_argument("--quiet", action="store_true", help="no progress on stderr")
    retry.set_defaults(func=run_retry)


def _sample(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of rows; give 1 or more")
    return int(text)


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON document on stdout instead of the text summary (see "
        "docs/report.md); progress stays on stderr",
    )


def _show(report: RunReport, as_json: bool) -> int:
    from .exits import for_outcome
    from .render import print_json, print_report, report_document

    if as_json:
        print_json(report_document(report))
    else:
        print_report(report)
    return for_outcome(report.outcome)


def run_submit(args: argparse.Namespace) -> int:
    from ..errors import ListingFailed, UsageError
    from ..run.entry import dry_run, submit_catalog
    from .exits import for_outcome
    from .progress import run_progress
    from .render import dry_run_document, print_dry_run, print_json

    settings = settings_from(args)
    note = base_url_note(args)
    if note:
        print(note, file=sys.stderr)
    _check_server_check_options(args)
    if args.dry_run:
        try:
            plan = dry_run(
                args.catalog,
                settings,
                key_from(args),
                plan_file=args.plan,
                server_check=_server_check(args),
            )
        except ListingFailed as exc:
            # No run folder exists to resume: the dry run itself is what to run again.
            raise ListingFailed(
                f"{exc}; nothing was sent: check --base-url and the network, then run the "
                "dry run again"
            ) from None
        if args.json:
            print_json(dry_run_document(plan))
        else:
            print_dry_run(plan)
        return for_outcome(plan.outcome)
    if args.plan is not None:
        settings = _check_reviewed_plan(args, settings)
    elif args.replan:
        raise UsageError("--replan goes with --plan FILE (the plan to apply)")
    report = submit_catalog(
        args.catalog, settings, key_from(args), progress=run_progress(quiet=args.quiet)
    )
    return _show(report, args.json)


def _check_server_check_options(args: argparse.Namespace) -> None:
    from ..errors import UsageError

    if args.server_check and not args.dry_run:
        raise UsageError(
            "--server-check goes with --dry-run (a submit's own requests are the real check)"
        )
    if args.sample is not None and not args.server_check:
        raise UsageError("--sample N goes with --server-check (how many rows to check)")


def _server_check(args: argparse.Namespace) -> ServerCheck | None:
    from ..run.dryrun import ServerCheck
    from .render import duration

    if not args.server_check:
        return None

    def announce(cost: Cost) -> None:
        # stderr, before the first request: what the check spends of the project's budget.
        print(
            f"server check: {cost.requests} requests (dryRun; they count against the "
            f"project's mutation budget), about {duration(cost.seconds)} at the "
            f"{'learned' if cost.budget_source.startswith('learned') else cost.budget_source} "
            f"windows ({', '.join(cost.windows)})",
            file=sys.stderr,
            flush=True,
        )

    return ServerCheck(sample=args.sample, announce=announce)


def _check_reviewed_plan(args: argparse.Namespace, settings: SubmitSettings) -> SubmitSettings:
    """The reviewed plan still holds (else PlanChanged); the settings to apply it with."""
    from ..run.applyplan import check_plan

    checked = check_plan(args.catalog, settings, key_from(args), args.plan, replan=args.replan)
    if checked.note:
        print(checked.note, file=sys.stderr)
    for line in checked.changed:
        print(f"replanned: {line}", file=sys.stderr)
    return checked.settings


def run_resume(args: argparse.Namespace) -> int:
    from ..run.entry import resume_run
    from .progress import run_progress

    report = resume_run(
        args.run,
        key_from(args),
        progress=run_progress(quiet=args.quiet),
        force_other_key=args.force_other_key,
    )
    return _show(report, args.json)


def run_retry(args: argparse.Namespace) -> int:
    from ..run.entry import retry_run
    from .progress import run_progress

    report = retry_run(
        args.run,
        key_from(args),
        include_invalid=args.include_invalid,
        on_exists=args.on_exists,
        progress=run_progress(quiet=args.quiet),
        force_other_key=args.force_other_key,
    )
    return _show(report, args.json)
