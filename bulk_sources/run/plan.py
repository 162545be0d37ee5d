"""The plan: what each valid row needs, given what the API already holds and what a journal says.

Pure functions, no I/O: the same inputs always give the same plan, which `--dry-run` prints.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace

from ..catalog.validation import ValidRow
from ..limits.windows import Window, exact_schedule
from .executor import Task
from .results import RowResult, Status
from .settings import OnExists


@dataclass
class Plan:
    tasks: list[Task] = field(default_factory=list)
    decided: list[RowResult] = field(default_factory=list)  # settled without a request
    kept: list[RowResult] = field(default_factory=list)  # final in an earlier run of this folder

    def count(self, action: str) -> int:
        return sum(1 for task in self.tasks if task.action == action)


_LOST_ANSWER = "created by an earlier request whose answer was lost (found by listing)"
_EXISTS_FAIL = "already exists (found by listing) and --on-exists is fail"
_EXISTS_SKIP = "already exists (found by listing); skipped"


def _settled(row: ValidRow, status: Status, why: str, attempts: int = 0) -> RowResult:
    return RowResult(row.row, row.name, status, error=why, key=row.key, attempts=attempts)


def make_plan(
    valid: Sequence[ValidRow],
    existing: Collection[str],
    on_exists: OnExists,
    *,
    finals: Mapping[str, RowResult] | None = None,
    maybe_sent: Collection[str] = (),
) -> Plan:
    """`finals`: outcomes a journal already holds, by row key; `maybe_sent`: keys of rows
    whose create was sent without a recorded answer (in this run folder or the one retried)."""
    plan = Plan()
    finals = finals or {}
    for row in valid:
        previous = finals.get(row.key)
        if previous is not None:
            # The catalog may have been reordered: keep the outcome, take today's row number.
            plan.kept.append(replace(previous, row=row.row, name=row.name))
            continue
        sent_before = row.key in maybe_sent
        if row.name not in existing:
            plan.tasks.append(Task(row, "create", maybe_sent=sent_before))
        elif sent_before:
            # Its create went out and the answer was lost: that create made it.
            plan.decided.append(_settled(row, Status.CREATED, _LOST_ANSWER, attempts=1))
        elif on_exists == "update":
            plan.tasks.append(Task(row, "update"))
        elif on_exists == "fail":
            plan.decided.append(_settled(row, Status.FAILED, _EXISTS_FAIL))
        else:
            plan.decided.append(_settled(row, Status.EXISTS, _EXISTS_SKIP))
    return plan


def estimate_seconds(
    n: int, windows: Sequence[Window], history: Sequence[float] = (), now: float = 0.0
) -> float:
    """How long n more requests take under the windows at best (zero latency), given the
    send times of earlier requests (same clock as `now`)."""
    if n <= 0:
        return 0.0
    return exact_schedule(n, windows, history, start=now)[-1] - now
