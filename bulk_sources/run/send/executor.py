"""The executor: workers take planned rows and send them under the run's budget.

Concurrency (how many rows are in progress) and the rate limit (when a request may go) are
separate: `concurrency` workers each carry one row at a time through its attempts, and
every request is first admitted by the budget (limits/budget.py: the windows in force as
learned from the answers, and what other processes on the same budget send).

A row's answer decides its fate (the rules themselves are in `answers.py`):
- 2xx: created / updated.
- 400 "already ...": if an earlier attempt of this row got no answer, that attempt created
  it (created); otherwise `on_exists` decides (exists / update / failed).
- other 4xx: failed, never repeated.
- 401/403, a 3xx (not followed) or a refused certificate: the whole run stops; rows not
  sent are not_attempted.
- 429: evidence for the budget, which holds every worker until the window it infers frees
  (or Retry-After, capped by max_wait); the row goes again: the 429 is journaled, no attempt.
  After max_wait with no request accepted the run stops (patience.py).
- 5xx, timeouts, lost connections: retried with full-jitter backoff up to max_attempts; a
  row whose last attempt got no answer ends unknown (resume settles it).
- connection refused: nothing reached the server. A row refused on every attempt of its
  backoff sequence with no answer from the server to anyone meanwhile means the API is
  unreachable: the run stops, and the rows not settled are not_attempted (or unknown).

`stop()` takes no new rows and gives requests in flight `stop_grace` seconds to answer;
`stop(now=True)` (a second Ctrl-C: `interrupt()`) gives up on them at once. Either way the
rows in flight are unknown and the rest not_attempted.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ...api.client import Answer, AnswerKind
from ...limits.backoff import full_jitter, parse_retry_after
from ...limits.budget import SharedBudget
from ...limits.limiter import Slot
from ...models import full_update_body
from ..halt import HaltCount
from ..record.journal import Journal
from ..record.results import UNSETTLED, RowResult, Status
from ..settings import SubmitSettings
from .gauges import Counters, Waiting, journal_429, waiting_now
from .outcomes import (
    Sender,
    budget_verdict,
    delete_not_found,
    exists_outcome,
    gave_up,
    settled,
    succeeded,
    unfinished,
)
from .patience import watch_patience
from .progress import Progress
from .signals import unless_set
from .task import Action, Task

__all__ = ["Action", "Counters", "Executor", "Sender", "Task", "Waiting"]

T = TypeVar("T")
# A 429, 401/403, "already in use" or refused connection says the request changed nothing.
_MAY_HAVE_TAKEN_EFFECT = frozenset({AnswerKind.OK, AnswerKind.SERVER_ERROR, AnswerKind.NO_ANSWER})
# Sent again blindly, these could act twice (a second create, a delete of a source made
# since): a lost answer is settled by listing first (`settle`).
_SETTLED_BY_LISTING = frozenset({"create", "delete"})


@dataclass
class Executor:
    client: Sender
    settings: SubmitSettings
    budget: SharedBudget
    journal: Journal
    progress: Progress
    run_id: str
    rng: random.Random = field(default_factory=random.Random)
    counters: Counters = field(default_factory=Counters)
    stop_reason: str | None = None
    auth_error: str | None = None
    # Settles a create whose answer was lost, by listing (run/plan/settle.py): a final result, or
    # None to send the task again (as a create, or as the update it was turned into).
    settle: Callable[[Task], Awaitable[RowResult | None]] | None = None

    def __post_init__(self) -> None:
        self._stopping = asyncio.Event()
        self._abort = asyncio.Event()
        self._queue: deque[Task] = deque()
        self._in_progress: dict[int, Task] = {}
        self._results: dict[int, RowResult] = {}
        self._rid = itertools.count(1)
        self._in_flight: dict[int, float] = {}  # row -> loop time its request went
        self._backing_off: dict[int, float] = {}  # row -> loop time its retry may go
        self._last_heard = -math.inf  # loop time of the server's latest answer to anyone
        self._halt = HaltCount.of(self.settings.halt_rule)  # --halt-after

    # -- control ------------------------------------------------------------------------

    def stop(self, reason: str, *, now: bool = False) -> None:
        """Take no new rows and send nothing more; requests in flight get `stop_grace`
        seconds to answer, or none with `now`."""
        if self.stop_reason is None:
            self.stop_reason = reason
        self._stopping.set()
        if now:
            self._abort.set()

    def interrupt(self, reason: str) -> None:
        """For a signal handler: the first call stops, the second gives up on requests
        in flight."""
        self.stop(reason, now=self._stopping.is_set())

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def waiting(self) -> Waiting:
        """What holds the run back right now (after a stop: only requests in flight)."""
        return waiting_now(
            self.budget,
            self._in_flight.values(),
            self._backing_off.values(),
            stopping=self._stopping.is_set(),
        )

    def waiting_for(self) -> str:
        """`waiting()` in words, "" while requests flow."""
        return str(self.waiting())

    # -- the run ------------------------------------------------------------------------

    async def run(self, tasks: list[Task]) -> list[RowResult]:
        self._queue.extend(tasks)
        workers = [
            asyncio.create_task(self._worker())
            for _ in range(min(self.settings.concurrency, len(tasks)))
        ]
        if workers:
            await self._supervise(workers)
        reason = self.stop_reason or "the run stopped"
        for task in itertools.chain(self._in_progress.values(), self._queue):
            self._results[task.row.row] = unfinished(task, reason)
        return [self._results[t.row.row] for t in tasks]

    async def _supervise(self, workers: list[asyncio.Task[None]]) -> None:
        all_done: asyncio.Future[Any] = asyncio.gather(*workers, return_exceptions=True)
        stop_watch = asyncio.create_task(self._stopping.wait())
        patience = asyncio.create_task(
            watch_patience(self.budget.learner, self.settings.max_wait, self.stop, self._stopping)
        )
        await asyncio.wait({stop_watch, all_done}, return_when=asyncio.FIRST_COMPLETED)
        if not all_done.done():
            # Requests in flight get a bounded time to answer, cut short by stop(now=True).
            abort_watch = asyncio.create_task(self._abort.wait())
            await asyncio.wait(
                {abort_watch, all_done},
                timeout=self.settings.stop_grace,
                return_when=asyncio.FIRST_COMPLETED,
            )
            abort_watch.cancel()
            for worker in workers:
                worker.cancel()
        stop_watch.cancel()
        patience.cancel()
        for result in await all_done:
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                raise result

    async def _worker(self) -> None:
        while not self._stopping.is_set() and self._queue:
            task = self._queue.popleft()
            self._in_progress[task.row.row] = task
            try:
                result = await self._process(task)
            except Exception as exc:
                # A bug must cost the run, never a row: this row and the rest are reported
                # unfinished, and resume finishes them.
                self.stop(f"internal error: {type(exc).__name__}: {exc}")
                return
            if result is None:
                return  # stopped: the task stays in progress and is reported unfinished
            del self._in_progress[task.row.row]
            self._results[result.row] = result
            if result.status not in UNSETTLED:
                try:
                    self.journal.outcome(result)
                except OSError as exc:
                    # A full disk: the outcome stands in the report; the journal still holds
                    # the send, so resume reconciles this row by listing.
                    self.stop(f"can't write the journal: {exc}")
                    return
            self.progress.advance(result.status)
            if result.status not in UNSETTLED and (why := self._halt.note(result.status.value)):
                self.stop(why)

    async def _unless_stopped(self, awaitable: Awaitable[T]) -> tuple[bool, T | None]:
        """Await, unless a stop comes first: (True, value) or (False, None)."""
        done, value = await unless_set(self._stopping, awaitable)
        if not done and isinstance(value, Slot):  # admitted in the same instant as the stop
            value.cancel()
        return (True, value) if done else (False, None)

    async def _admitted(self, rid: str) -> Slot | None:
        """Wait for the budget (windows, 429 holds, other processes); None once stopped."""
        ok, slot = await self._unless_stopped(self.budget.acquire(rid))
        if not ok or slot is None:
            return None
        if self._stopping.is_set():
            slot.cancel()
            self.budget.answered(slot, "unknown")
            return None
        return slot

    async def _process(self, task: Task) -> RowResult | None:
        loop = asyncio.get_running_loop()
        while True:
            rid = f"{self.run_id}-{next(self._rid)}"
            slot = await self._admitted(rid)
            if slot is None:
                return None
            task.attempts += 1
            sent_at = loop.time()
            answer = await self._send(task, slot, sent_at, rid)
            task.last = answer
            kind = answer.kind
            if answer.status is not None:  # the server answered: it is reachable
                self._last_heard = loop.time()
            if kind is not AnswerKind.NOT_SENT:
                task.refused_since = None
            if kind is AnswerKind.OK:
                return succeeded(task, answer)
            if kind is AnswerKind.RATE_LIMITED:
                task.attempts -= 1  # a 429 is not one of the row's attempts
                self.counters.rate_limited += 1
                journal_429(self.journal, self.budget, task.row, rid, self.stop)
                continue
            if answer.stops_run:  # the same for every row: a wrong key, URL or certificate
                task.attempts -= 1  # not the row's fault
                if kind is AnswerKind.AUTH:
                    self.auth_error = f"HTTP {answer.status}: {answer.message}"
                    self.stop(f"the API refused the key ({self.auth_error})")
                else:
                    self.stop(answer.message)
                return None
            if kind is AnswerKind.EXISTS:
                if task.action == "create" and self.settle and task.maybe_sent:
                    # The wording proves nothing: the next listing settles it, if it can.
                    ok, found = await self._unless_stopped(self.settle(task))
                    if not ok:
                        return None
                    if found is not None and found.status is not Status.NOT_ATTEMPTED:
                        return found
                outcome = exists_outcome(task, answer, self.settings.on_exists)
                if outcome is not None:
                    return outcome
                continue  # switched to an update
            if kind is AnswerKind.REJECTED:
                if task.action == "delete" and answer.status == 404:
                    return delete_not_found(task, answer)
                return settled(task, Status.FAILED, answer, answer.message)
            if kind is AnswerKind.NO_ANSWER and task.action in _SETTLED_BY_LISTING and self.settle:
                task.maybe_sent = True
                action = task.action
                ok, found = await self._unless_stopped(self.settle(task))
                if not ok:
                    return None
                if found is not None:
                    return found
                if task.action != action:
                    continue  # present with other content, and --on-exists update
            if not await self._transient(task, answer, sent_at):
                return None if self._stopping.is_set() else gave_up(task, answer)

    async def _transient(self, task: Task, answer: Answer, sent_at: float) -> bool:
        """A 5xx, no answer or refused connection: True once the retry may go."""
        if answer.kind is AnswerKind.NOT_SENT:
            if task.refused_since is None:
                task.refused_since = sent_at
        else:
            task.maybe_sent = task.maybe_sent or task.action in _SETTLED_BY_LISTING
        if task.attempts >= self.settings.max_attempts:
            if task.refused_since is not None and self._last_heard < task.refused_since:
                # Refused through a whole backoff sequence and nobody heard from the
                # server meanwhile: failing every row after it would only burn their tries.
                waited = asyncio.get_running_loop().time() - task.refused_since
                self.stop(
                    f"API unreachable: {task.attempts} connection attempts over "
                    f"{waited:.0f} s were refused ({answer.message})"
                )
            return False
        self.counters.retries += 1
        delay = full_jitter(
            task.attempts - 1,
            base=self.settings.retry_base,
            cap=self.settings.retry_cap,
            rng=self.rng,
        )
        self._backing_off[task.row.row] = asyncio.get_running_loop().time() + delay
        try:
            ok, _ = await self._unless_stopped(asyncio.sleep(delay))
        finally:
            del self._backing_off[task.row.row]
        return ok

    async def _send(self, task: Task, slot: Slot, sent_at: float, rid: str) -> Answer:
        wall = time.time()
        row = task.row
        self.journal.sending(
            rid=rid,
            key=row.key,
            row=row.row,
            name=row.name,
            action=task.action,
            attempt=task.attempts,
        )
        counters = self.counters
        counters.requests_sent += 1
        counters.first_request_at = counters.first_request_at or wall
        counters.last_request_at = wall
        # Cancelled in flight, it may have landed, with no answer to tell.
        reached, task.reached, task.last = task.reached, True, None
        self._in_flight[row.row] = sent_at
        answer: Answer | None = None
        try:
            if task.action == "create":
                answer = await self.client.create(row.body)
            elif task.action == "delete":
                answer = await self.client.delete(row.name)
            else:  # update, or a rollback's restore: a full update to the row's body
                answer = await self.client.update(row.name, full_update_body(row.body))
            return answer
        finally:
            del self._in_flight[row.row]
            if answer is not None:
                task.reached = reached or answer.kind in _MAY_HAVE_TAKEN_EFFECT
            if answer is not None and answer.kind is AnswerKind.NOT_SENT:
                counters.requests_sent -= 1
                counters.refused += 1
                slot.cancel()  # the connection was refused: nothing reached the server
            retry_after = parse_retry_after(answer.retry_after) if answer is not None else None
            self.budget.answered(slot, budget_verdict(answer), retry_after)
