"""`submit --dry-run --server-check`: ask the API itself, with its `dryRun` body flag.

For N planned rows (default all; a sample is spread evenly over the plan) the create or
full update goes out with `dryRun: true`: the API validates it and persists nothing. It is
a POST, so it counts against the mutation windows: every request takes a slot of the same
shared budget a submit uses, 429s hold everyone back and are sent again, and the cost is
said before the first one leaves. A refusal is the row's error in the plan; a row whose
check got no answer keeps its action (the check proves nothing either way).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ...api.answers import Answer, AnswerKind
from ...api.apikey import ApiKey
from ...api.client import ConsoleClient
from ...errors import AuthRefused
from ...limits.budget import SharedBudget
from ...limits.windows import exact_schedule
from ...models import full_update_body
from ..actions import PlanEntry
from ..record.results import RowResult, Status
from ..settings import SubmitSettings
from .history import open_budget, planned_budget
from .task import Task

PREFIX = "server check"


@dataclass(frozen=True)
class Cost:
    """What the check spends, said before it starts."""

    requests: int
    seconds: float
    windows: list[str]
    budget_source: str


@dataclass
class CheckResult:
    """The API's verdict per row key: an error message for a refused row."""

    sampled: int = 0
    requests: int = 0
    refused: dict[str, tuple[int | None, str]] = field(default_factory=dict)
    unanswered: dict[str, str] = field(default_factory=dict)
    left_out: int = 0  # rows not sampled because they need a type the submit creates first

    def to_json(self) -> dict[str, Any]:
        return {
            "sampled": self.sampled,
            "requests": self.requests,
            "refused": len(self.refused),
            "unanswered": len(self.unanswered),
            "left_out": self.left_out,
        }


def sample(tasks: list[Task], n: int | None) -> list[Task]:
    """All tasks, or n spread evenly (the first, the last and between): a sample of the
    first n rows would check one corner of a catalog built in parts."""
    if n is None or n >= len(tasks):
        return list(tasks)
    if n <= 1:
        return tasks[:n]
    step = (len(tasks) - 1) / (n - 1)
    return [tasks[round(i * step)] for i in range(n)]


def cost_of(tasks: list[Task], settings: SubmitSettings, api_key: ApiKey) -> Cost:
    windows, history, source = planned_budget(settings, api_key)
    now = time.time()
    seconds = exact_schedule(len(tasks), windows, history, start=now)[-1] - now if tasks else 0.0
    return Cost(len(tasks), seconds, [str(w) for w in windows], source)


async def server_check(
    client: ConsoleClient,
    tasks: list[Task],
    settings: SubmitSettings,
    api_key: ApiKey,
    announce: Callable[[Cost], None] | None = None,
) -> CheckResult:
    """Send each task's body with dryRun under the run's budget; the answers by row key."""
    result = CheckResult(sampled=len(tasks))
    if not tasks:
        return result
    if announce is not None:
        announce(cost_of(tasks, settings, api_key))
    with open_budget(settings, api_key) as budget:
        budget.restore()  # what other runs on the project sent still counts
        queue = list(reversed(tasks))

        async def worker() -> None:
            while queue:
                await _check_one(queue.pop(), client, budget, settings, result)

        workers = min(settings.concurrency, len(tasks))
        await asyncio.gather(*(worker() for _ in range(workers)))
    return result


async def _check_one(
    task: Task,
    client: ConsoleClient,
    budget: SharedBudget,
    settings: SubmitSettings,
    result: CheckResult,
) -> None:
    row, tries = task.row, 0
    while True:
        slot = await budget.acquire()
        answer: Answer = await (
            client.create({**row.body, "dryRun": True})
            if task.action == "create"
            else client.update(row.name, {**full_update_body(row.body), "dryRun": True})
        )
        result.requests += 1
        kind = answer.kind
        accepted = kind in (AnswerKind.OK, AnswerKind.EXISTS, AnswerKind.REJECTED)
        limited = kind is AnswerKind.RATE_LIMITED
        budget.answered(slot, "rejected" if limited else "accepted" if accepted else "unknown")
        if limited:
            continue  # the budget holds the next try back; a 429 is no try
        if kind is AnswerKind.AUTH:
            raise AuthRefused(f"the API refused the key (HTTP {answer.status}): {answer.message}")
        if kind is AnswerKind.OK:
            return
        if kind in (AnswerKind.REJECTED, AnswerKind.EXISTS):
            result.refused[row.key] = (answer.status, answer.message)
            return
        tries += 1
        if tries >= settings.max_attempts or answer.stops_run:
            result.unanswered[row.key] = answer.message
            return


def fold(
    entries: list[PlanEntry], problems: list[RowResult], result: CheckResult
) -> tuple[list[PlanEntry], list[RowResult]]:
    """The plan with each refused row made invalid (its note the API's reason), and the
    problems with those rows added, in row order."""
    out: list[PlanEntry] = []
    added: list[RowResult] = []
    for entry in entries:
        refused = result.refused.get(entry.digest) if entry.digest else None
        if refused is None:
            out.append(entry)
            continue
        status, message = refused
        why = f"{PREFIX}: HTTP {status}: {message}"
        out.append(replace(entry, action="invalid", note=why))
        added.append(
            RowResult(entry.row, entry.name, Status.INVALID, http_status=status, error=why)
        )
    return out, sorted([*problems, *added], key=lambda r: r.row)
