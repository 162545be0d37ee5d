"""What a row's answers make of it: the executor's outcome rules, without the waiting.

`Sender` is all the executor needs from the API (ConsoleClient satisfies it), so the
executor can be driven by scripted answers on a virtual clock.
"""

from __future__ import annotations

from typing import Any, Protocol

from ...api.client import Answer, AnswerKind
from ...limits.budget import Verdict
from ..record.created import WROTE, written
from ..record.results import RowResult, Status
from ..settings import OnExists
from .task import Task

__all__ = [
    "DONE_BY_ACTION",
    "Sender",
    "budget_verdict",
    "delete_not_found",
    "exists_outcome",
    "gave_up",
    "settled",
    "succeeded",
    "unfinished",
]


class Sender(Protocol):
    async def create(self, body: dict[str, Any]) -> Answer: ...

    async def update(self, name: str, body: dict[str, Any]) -> Answer: ...

    async def delete(self, name: str) -> Answer: ...


def settled(task: Task, status: Status, answer: Answer, error: str) -> RowResult:
    return RowResult(
        row=task.row.row,
        name=task.row.name,
        status=status,
        http_status=answer.status,
        attempts=task.attempts,
        error=error,
        key=task.row.key,
        # An answer without the source (no body, not JSON, only the name): what was sent.
        data=written(task.row.body, answer.data) if status in WROTE else None,
        # The fields a refusal names (for failed.csv's _field/_errors), each with a reason.
        problems=tuple((f, e or answer.message) for f, e in answer.problems)
        if status is Status.FAILED
        else (),
    )


# What a 2xx makes of each action.
DONE_BY_ACTION = {
    "create": Status.CREATED,
    "update": Status.UPDATED,
    "delete": Status.DELETED,
    "restore": Status.RESTORED,
}


DRY_RUN = "sent with dryRun=true: the API checked it and kept nothing"


def succeeded(task: Task, answer: Answer) -> RowResult:
    """A 2xx. A row sent with dryRun=true made nothing (the API "skips persisting" it), so
    it is `validated`: never `created`, never in created.jsonl, nothing for rollback."""
    if task.row.body.get("dryRun") is True and task.action in ("create", "update"):
        return settled(task, Status.VALIDATED, answer, DRY_RUN)
    return settled(task, DONE_BY_ACTION[task.action], answer, "")


def delete_not_found(task: Task, answer: Answer) -> RowResult:
    """A 404 to a delete: gone, or deleted by an earlier attempt whose answer was lost."""
    if task.maybe_sent:
        why = "deleted by an earlier attempt whose answer was lost (the retry was told 404)"
        return settled(task, Status.DELETED, answer, why)
    return settled(task, Status.GONE, answer, "already gone (404)")


def exists_outcome(task: Task, answer: Answer, policy: OnExists) -> RowResult | None:
    """A 409/"already in use"; None means the task has switched to an update.

    A create is planned only for a name the listing showed absent, so the claim contradicts
    what the run saw and proves nothing (a hostile or confused server can say it of a name
    it doesn't hold): the row is `unknown`, and resume's listing settles it."""
    if task.action == "create":
        earlier = " (an earlier attempt's answer was lost)" if task.maybe_sent else ""
        return _row(
            task,
            Status.UNKNOWN,
            f"the API said {answer.message!r}{earlier}, but the listing showed no source of "
            "that name; resume lists again to settle it",
        )
    if policy == "fail":
        return settled(task, Status.FAILED, answer, f"{answer.message} (--on-exists fail)")
    return settled(task, Status.EXISTS, answer, f"{answer.message} (skipped)")


def gave_up(task: Task, answer: Answer) -> RowResult:
    """Every attempt was transient (5xx, no answer, refused connection)."""
    if not task.reached:
        return _row(
            task,
            Status.NOT_ATTEMPTED,
            f"not sent: could not connect in {task.attempts} attempts ({answer.message})",
        )
    if answer.kind is AnswerKind.NO_ANSWER:
        return _row(
            task,
            Status.UNKNOWN,
            f"no answer after {task.attempts} attempts (last: {answer.message}); {_settles(task)}",
        )
    error = f"gave up after {task.attempts} attempts: {answer.message}"
    if task.maybe_sent:
        error += " (an attempt may have reached the server; re-running is safe)"
    return settled(task, Status.FAILED, answer, error)


def unfinished(task: Task, reason: str) -> RowResult:
    """A row the run stopped before it settled; never journalled as final, so resume
    sends it again (not_attempted) or first checks whether it was created (unknown)."""
    if not task.reached:
        last = task.last
        if last is None:
            why = f"not sent: {reason}"
        elif last.kind is AnswerKind.NOT_SENT:
            why = f"not sent ({task.attempts} connections refused): {reason}"
        else:  # a 429, 401/403 or "already in use" changed nothing on the server
            why = f"not done: {reason}"
        return _row(task, Status.NOT_ATTEMPTED, why)
    said = task.last.message if task.last is not None else "no answer"
    return _row(task, Status.UNKNOWN, f"unfinished: {reason} (last: {said}); {_settles(task)}")


def _settles(task: Task) -> str:
    if task.action == "create":
        return "resume checks whether it was created"
    if task.action == "delete":
        return "resume checks whether it was deleted"
    return f"resume sends the {task.action} again"


def _row(task: Task, status: Status, error: str) -> RowResult:
    last = task.last
    return RowResult(
        task.row.row,
        task.row.name,
        status,
        http_status=last.status if last is not None else None,
        attempts=task.attempts,
        error=error,
        key=task.row.key,
    )


def budget_verdict(answer: Answer | None) -> Verdict:
    """What an answer says about the rate budget: passed its windows, refused, or unknown."""
    if answer is None:
        return "unknown"
    if answer.kind is AnswerKind.RATE_LIMITED:
        return "rejected"
    if answer.kind in (AnswerKind.OK, AnswerKind.EXISTS, AnswerKind.REJECTED):
        return "accepted"
    return "unknown"  # no answer, a 5xx, a refused key: no evidence either way
