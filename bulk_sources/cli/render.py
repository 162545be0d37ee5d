"""Everything the CLI shows about a run: the summary, the dry run, durations."""

from __future__ import annotations

import sys

from ..run.results import Status
from ..run.summary import DryRun, RunReport


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {secs} s"


def print_report(report: RunReport, *, problems: int = 10) -> None:
    if report.note:
        print(report.note)
    print(f"{report.rows} rows from {report.catalog}")
    for status in Status:
        print(f"  {status.value:<14}{report.counts.get(status.value, 0):>7}")
    r = report.requests
    print(
        f"  {r.sent} requests, {r.rate_limited_429} answered 429, "
        f"{r.retries} retries, {report.duration_s:.1f} s"
    )
    if report.stopped:
        print(f"  stopped: {report.stopped}")
    bad = report.problems
    for row in bad[:problems]:
        who = f"row {row.row}" + (f" ({row.name})" if row.name else "")
        print(f"  {who}: {row.status.value}: {row.error}")
    if len(bad) > problems:
        print(f"  ... and {len(bad) - problems} more in results.csv")
    if bad:
        print(f"  rows to fix and run again: {report.failed_rows_file}")
    sys.stdout.flush()
    print(f"run folder: {report.run_dir}")


def print_dry_run(plan: DryRun) -> None:
    lines = [
        f"dry run of {plan.catalog}: {plan.rows} rows, nothing sent",
        f"  would create:  {plan.would_create}",
        f"  would update:  {plan.would_update}",
        f"  would skip:    {plan.would_skip_existing} (already exist)",
        f"  would fail:    {plan.would_fail_existing} (already exist, --on-exists fail)",
        f"  invalid:       {plan.invalid}",
        f"  duplicates:    {plan.duplicates}",
        f"  {plan.requests} requests under {', '.join(plan.windows)} take at least "
        f"{duration(plan.estimated_seconds)}",
    ]
    print("\n".join(lines))
