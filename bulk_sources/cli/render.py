"""Everything the CLI shows about a run: the summary (text or one JSON document), the dry
run, durations, and what to do next.

Hints name only commands that exist and apply, and one next step at a time: `resume` when
the run stopped or left rows unsettled (it writes failed.csv again when it ends), else
"rows to fix" when some row needs a person.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from ..run.record.results import NEEDS_FIX, RETRYABLE, RowResult, Status
from ..run.record.summary import TOOL, DryRun, Outcome, RunReport


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {secs} s"


def _who(row: RowResult) -> str:
    return f"row {row.row}" + (f" ({row.name})" if row.name else "")


def _rows(n: int) -> str:
    return f"{n} row" + ("" if n == 1 else "s")


# The statuses every submit shows, even at 0; the others (unchanged, ...) when seen.
_SUBMIT_SHOWN = (
    Status.CREATED,
    Status.UPDATED,
    Status.EXISTS,
    Status.INVALID,
    Status.DUPLICATE,
    Status.FAILED,
    Status.NOT_ATTEMPTED,
    Status.UNKNOWN,
)
# A rollback's own: what it undid, what it left and why, then what it could not settle.
_ROLLBACK_SHOWN = (
    Status.DELETED,
    Status.RESTORED,
    Status.GONE,
    Status.KEPT,
    Status.FAILED,
    Status.NOT_ATTEMPTED,
    Status.UNKNOWN,
)


def shown_statuses(report: RunReport) -> list[Status]:
    """The statuses the summary lists, in order: its kind's own always, others when seen."""
    own = _ROLLBACK_SHOWN if report.rollback_of is not None else _SUBMIT_SHOWN
    seen = [s for s in Status if s not in own and report.counts.get(s.value, 0)]
    return [*own, *seen]


def warning_lines(
    warnings: list[dict[str, Any]],
    unknown_columns: list[dict[str, Any]],
    limit: int = 10,
    notes: list[str] | None = None,
) -> list[str]:
    """What validation warns about, as `validate` words it: the rows are sent anyway."""
    lines = [f"  note: {note}" for note in notes or ()]
    if unknown_columns:
        names = ", ".join(
            f"{c['column']} (did you mean `{c['did_you_mean']}`?)"
            if c["did_you_mean"]
            else c["column"]
            for c in unknown_columns
        )
        lines.append(f"  ignored columns (not assignment-source fields): {names}")
    if warnings:
        lines.append(f"  {len(warnings)} warnings (sent anyway; --strict makes them errors):")
        for w in warnings[:limit]:
            who = f"row {w['row']}" + (f" ({w['name']})" if w["name"] else "")
            lines.append(f"    {who}: {w['field']}: {w['reason']}")
        if len(warnings) > limit:
            lines.append(f"    ... and {len(warnings) - limit} more (--json lists them all)")
    return lines


def print_report(report: RunReport, *, problems: int = 10) -> None:
    if report.note:
        print(report.note)
    if report.rollback_of is not None:
        print(f"rollback of {report.rollback_of}: {_rows(report.rows)} at {report.target}")
    else:
        print(f"{report.rows} rows from {report.catalog} to {report.target}")
    if report.catalog_change:
        print(f"  {report.catalog_change}")
    for line in warning_lines(
        report.warnings, report.unknown_columns, problems, report.catalog_notes
    ):
        print(line)
    for status in shown_statuses(report):
        print(f"  {status.value:<14}{report.counts.get(status.value, 0):>7}")
    r = report.requests
    print(
        f"  {r.sent} requests, {r.rate_limited_429} answered 429, "
        f"{r.retries} retries, {report.duration_s:.1f} s"
    )
    if report.stopped:
        print(f"  stopped: {report.stopped}")
    units = report.unit_types or {}
    if units.get("note"):
        print(f"  note: {units['note']}")
    if units.get("created"):
        print(f"  unit ID types created: {', '.join(units['created'])}")
    to_fix = [row for row in report.results if row.status in NEEDS_FIX]
    for row in to_fix[:problems]:
        print(f"  {_who(row)}: {row.status.value}: {row.error}")
    if len(to_fix) > problems:
        print(f"  ... and {len(to_fix) - problems} more in results.csv")
    print_next_step(report, to_fix)
    sys.stdout.flush()
    print(f"run folder: {report.run_dir}")
    if report.page is not None:
        print(f"report page: {report.page}")


def print_next_step(report: RunReport, to_fix: list[RowResult]) -> None:
    """One instruction: after a stop, resume (the rows to fix come with the report it
    writes when it ends); else the file of rows to fix, if any."""
    unsettled = [r for r in report.results if r.status in RETRYABLE and r.status not in NEEDS_FIX]
    resume = f"bulk-sources resume {report.run_dir}"
    if report.outcome is Outcome.STOPPED or unsettled:
        if resume not in (report.stopped or ""):
            left = f"{_rows(len(unsettled))} not settled yet: " if unsettled else ""
            print(f"  {left}`{resume}` goes on from here")
    elif to_fix:
        print(f"  rows to fix and run again: {report.failed_rows_file}")


def problem_json(row: RowResult) -> dict[str, Any]:
    return {
        "row": row.row,
        "name": row.name,
        "status": row.status.value,
        "http_status": row.http_status,
        "attempts": row.attempts,
        "error": row.error,
    }


def report_document(report: RunReport) -> dict[str, Any]:
    """summary.json's content plus the note and every row that did not end done."""
    return {
        **report.to_json(),
        "note": report.note or None,
        "problems": [problem_json(r) for r in report.problems],
    }


def dry_run_document(plan: DryRun) -> dict[str, Any]:
    return {
        **plan.to_json(),
        "problems": [problem_json(r) for r in plan.problems],
    }


def message_document(
    *, note: str | None = None, error: str | None = None, code: int
) -> dict[str, Any]:
    """For `--json` when there is no run to show: nothing to retry, or an error sentence."""
    return {"tool": TOOL, "note": note, "error": error, "exit_code": code}


def print_json(document: dict[str, Any]) -> None:
    json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    sys.stdout.flush()


_ACTION_WORDS = {
    "create": "would create",
    "update": "would update",
    "unchanged": "unchanged",
    "skip": "would skip",
    "fail": "would fail",
    "invalid": "invalid",
    "duplicate": "duplicates",
}
_ACTION_NOTES = {
    "update": "exist with other content",
    "unchanged": "exist with the same content, nothing sent",
    "skip": "exist with other content, --on-exists skip",
    "fail": "exist with other content, --on-exists fail",
}


def print_dry_run(plan: DryRun) -> None:
    title = f"dry run of {plan.catalog} against {plan.target}: {plan.rows} rows, nothing sent"
    print_plan(plan, title, _ACTION_WORDS, _ACTION_NOTES)


CHANGE_WIDTH = 160


def _clip(text: str) -> str:
    # A long SQL change would bury the rest; plan.csv and --json hold it whole.
    return text if len(text) <= CHANGE_WIDTH else text[: CHANGE_WIDTH - 1] + "…"


def print_plan(
    plan: DryRun, title: str, words: dict[str, str], notes: dict[str, str] | None = None
) -> None:
    """Counts per action (in `words`' order), the first rows of each, and the time needed:
    the dry run of a submit and of a rollback alike."""
    notes = notes or {}
    lines = [title]
    for action, word in words.items():
        count = plan.actions.get(action, 0)
        note = f" ({notes[action]})" if action in notes and count else ""
        lines.append(f"  {word + ':':<14}{count:>7}{note}")
        examples = plan.examples.get(action, []) if count else []
        for entry in examples:
            detail = ", ".join(entry.fields) if entry.fields else entry.note
            who = f"row {entry.row}" + (f" ({entry.name})" if entry.name else "")
            if entry.changes:
                lines.append(f"      {who}:")
                lines.extend(f"          {_clip(change)}" for change in entry.changes)
                continue
            lines.append(f"      {who}" + (f": {detail}" if detail and action != "create" else ""))
        if count > len(examples):
            lines.append(f"      ... and {count - len(examples)} more")
    lines.extend(warning_lines(plan.warnings, plan.unknown_columns, notes=plan.catalog_notes))
    if plan.unit_types_to_create:
        lines.append(
            f"  unit ID types to create first: {', '.join(plan.unit_types_to_create)} "
            f"({_plural(len(plan.unit_types_to_create), 'request')})"
        )
    lines.extend(f"  note: {note}" for note in plan.notes)
    # Told only the quota, the estimate knows nothing of the project's burst protection.
    unknown = ", plus the project's burst protection, learned from its first 429s"
    lines.append(
        f"  {plan.requests} requests under {', '.join(plan.windows)} take at least "
        f"{duration(plan.estimated_seconds)} (budget: {plan.budget_source}"
        f"{unknown if plan.budget_source == 'default' else ''})"
    )
    if plan.plan_file is not None:
        lines.append(f"plan: {plan.plan_file}")
    if plan.page is not None:
        lines.append(f"report page: {plan.page}")
    print("\n".join(lines))
