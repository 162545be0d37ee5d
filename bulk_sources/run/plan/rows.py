"""The plan: one action per catalog row, given what the API holds and what a journal says.

Pure functions, no I/O: the same inputs always give the same plan, which `--dry-run`
prints and writes and a submit records in its run folder (plan.csv) before sending.

Actions: create, update (exists and differs, --on-exists update), unchanged (exists with
the same content: nothing sent), skip (exists and differs, --on-exists skip), fail (exists
and differs, --on-exists fail), invalid, duplicate, settled (an earlier request's answer
was lost and the listing shows it went through), done (final in an earlier invocation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from ...catalog.verdicts import ValidationReport, ValidRow
from ...limits.windows import Window, exact_schedule
from ...models import ListedSource, SourceContent
from ..actions import ACTIONS, PlanEntry
from ..record.results import RowResult
from ..send.task import Task
from ..settings import OnExists
from .changes import describe_changes
from .settle import decide, settled_result


@dataclass
class Plan:
    tasks: list[Task] = field(default_factory=list)
    decided: list[RowResult] = field(default_factory=list)  # settled without a request
    kept: list[RowResult] = field(default_factory=list)  # final in an earlier run of this folder
    entries: list[PlanEntry] = field(default_factory=list)  # every valid row, catalog order
    # The server's content before an update, by row key: what a rollback restores.
    befores: dict[str, SourceContent] = field(default_factory=dict)

    def count(self, action: str) -> int:
        return sum(1 for entry in self.entries if entry.action == action)


__all__ = ["ACTIONS", "Plan", "PlanEntry", "all_entries", "estimate_seconds", "make_plan"]


def make_plan(
    valid: Sequence[ValidRow],
    existing: Mapping[str, ListedSource],
    on_exists: OnExists,
    *,
    finals: Mapping[str, RowResult] | None = None,
    maybe_sent: Mapping[str, str] | None = None,
) -> Plan:
    """`existing`: the listed sources by name; `finals`: outcomes a journal already holds, by
    row key; `maybe_sent`: row key -> action of a request sent without a recorded answer (in
    this run folder or the one retried)."""
    plan = Plan()
    finals = finals or {}
    maybe_sent = maybe_sent or {}
    for row in valid:
        previous = finals.get(row.key)
        if previous is not None:
            # The catalog may have been reordered: keep the outcome, take today's row number.
            plan.kept.append(replace(previous, row=row.row, name=row.name))
            plan.entries.append(
                PlanEntry(row.row, row.name, "done", note=previous.status.value, digest=row.key)
            )
            continue
        sent = maybe_sent.get(row.key)
        listed = existing.get(row.name)
        decision = decide(row, listed, on_exists, sent=sent)
        changes = describe_changes(decision.fields, row.body, listed)
        plan.entries.append(
            PlanEntry(
                row.row, row.name, decision.action, decision.fields, decision.why, changes, row.key
            )
        )
        if decision.status is not None:
            plan.decided.append(settled_result(row, decision, attempts=1 if sent else 0))
        elif decision.action == "create":
            plan.tasks.append(Task(row, "create", maybe_sent=sent == "create"))
        else:
            plan.tasks.append(Task(row, "update"))
            if decision.before is not None:
                plan.befores[row.key] = decision.before
    return plan


def static_entries(validation: ValidationReport) -> list[PlanEntry]:
    """The plan of the rows validation settled: invalid and duplicate."""
    out = []
    for row, errors in validation.invalid.items():
        why = "; ".join(f"{e.field}: {e.reason}" for e in errors)
        out.append(PlanEntry(row, validation.row_name(row), "invalid", note=why))
    for row, (name, first) in validation.duplicates.items():
        out.append(PlanEntry(row, name, "duplicate", note=f"duplicate of row {first}"))
    return out


def all_entries(plan: Plan, validation: ValidationReport) -> list[PlanEntry]:
    """Every row's entry in row order, each with the warnings validation has about it."""
    entries = sorted([*plan.entries, *static_entries(validation)], key=lambda e: e.row)
    if not validation.warnings:
        return entries
    warned: dict[int, list[str]] = {}
    for w in validation.warnings:
        warned.setdefault(w.row, []).append(f"{w.field}: {w.reason}")
    return [replace(e, warnings=tuple(warned[e.row])) if e.row in warned else e for e in entries]


def estimate_seconds(
    n: int, windows: Sequence[Window], history: Sequence[float] = (), now: float = 0.0
) -> float:
    """How long n more requests take under the windows at best (zero latency), given the
    send times of earlier requests (same clock as `now`)."""
    if n <= 0:
        return 0.0
    return exact_schedule(n, windows, history, start=now)[-1] - now
