"""The executor: workers take planned rows and send them under the limiter and the shared pause.

Concurrency (how many rows are in progress) and the rate limit (when a request may go) are
separate: `concurrency` workers each carry one row at a time through its attempts, and
every request first passes the shared 429 pause, then the multi-window limiter.

A row's answer decides its fate:
- 2xx: created / updated.
- 400 "already ...": if an earlier attempt of this row got no answer, that attempt created
  it (created); otherwise `on_exists` decides (exists / update / failed).
- other 4xx: failed, never repeated.
- 401/403: the whole run stops; rows not sent are not_attempted.
- 429: one shared pause for all workers; the row tries again and the 429 is not an attempt.
- 5xx, timeouts, lost connections: retried with full-jitter backoff up to max_attempts.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import deque
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from ..api.client import Answer, AnswerKind, ConsoleClient
from ..catalog.validation import ValidRow
from ..limits.backoff import SharedPause, full_jitter, parse_retry_after
from ..limits.limiter import MultiWindowLimiter, Slot
from ..limits.memory import LimitMemory
from ..models import full_update_body
from .journal import Journal
from .progress import Progress
from .results import RowResult, Status
from .settings import SubmitSettings

T = TypeVar("T")
Action = Literal["create", "update"]


@dataclass
class Task:
    row: ValidRow
    action: Action
    attempts: int = 0
    # An earlier attempt of this row may have reached the server (no answer, or a 5xx):
    # an "already in use" answer then means that attempt created it.
    maybe_sent: bool = False
    last: Answer | None = None


@dataclass
class Counters:
    requests_sent: int = 0
    rate_limited: int = 0
    retries: int = 0
    first_request_at: float | None = None  # wall clock
    last_request_at: float | None = None


@dataclass
class Executor:
    client: ConsoleClient
    settings: SubmitSettings
    limiter: MultiWindowLimiter
    pause: SharedPause
    journal: Journal
    memory: LimitMemory | None
    progress: Progress
    run_id: str
    rng: random.Random = field(default_factory=random.Random)
    counters: Counters = field(default_factory=Counters)
    stop_reason: str | None = None
    auth_error: str | None = None

    def __post_init__(self) -> None:
        self._stopping = asyncio.Event()
        self._queue: deque[Task] = deque()
        self._in_progress: dict[int, Task] = {}
        self._results: dict[int, RowResult] = {}
        self._rid = itertools.count(1)

    def stop(self, reason: str) -> None:
        """Take no new rows and send nothing more; requests in flight may still finish."""
        if self.stop_reason is None:
            self.stop_reason = reason
        self._stopping.set()

    async def run(self, tasks: list[Task]) -> list[RowResult]:
        self._queue.extend(tasks)
        workers = [
            asyncio.create_task(self._worker())
            for _ in range(min(self.settings.concurrency, len(tasks)))
        ]
        if workers:
            stop_watch: asyncio.Future[Any] = asyncio.create_task(self._stopping.wait())
            all_done: asyncio.Future[Any] = asyncio.gather(*workers, return_exceptions=True)
            await asyncio.wait({stop_watch, all_done}, return_when=asyncio.FIRST_COMPLETED)
            if self._stopping.is_set() and not all_done.done():
                # Requests in flight get a bounded time to answer; then we give up on them.
                _done, pending = await asyncio.wait(workers, timeout=self.settings.stop_grace)
                for worker in pending:
                    worker.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
            stop_watch.cancel()
            results = await all_done
            for result in results:
                if isinstance(result, BaseException) and not isinstance(
                    result, asyncio.CancelledError
                ):
                    raise result
        for task in itertools.chain(self._in_progress.values(), self._queue):
            self._results[task.row.row] = self._unfinished(task)
        return [self._results[t.row.row] for t in tasks]

    def _unfinished(self, task: Task) -> RowResult:
        # Reported, never journalled as final: resume sends (or reconciles) these rows again.
        reason = self.stop_reason or "the run stopped"
        if task.attempts == 0:
            return RowResult(
                task.row.row,
                task.row.name,
                Status.NOT_ATTEMPTED,
                error=f"not sent: {reason}",
                key=task.row.key,
            )
        last = task.last.message if task.last else "no answer"
        maybe = "; it may have been created, resume checks" if task.maybe_sent else ""
        return RowResult(
            task.row.row,
            task.row.name,
            Status.FAILED,
            http_status=task.last.status if task.last else None,
            attempts=task.attempts,
            error=f"unfinished: {reason} (last: {last}){maybe}",
            key=task.row.key,
        )

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
            try:
                self.journal.outcome(result)
            except OSError as exc:
                # A full disk: the outcome stands in the report; the journal still holds the
                # send, so resume reconciles this row by listing.
                self.stop(f"can't write the journal: {exc}")
                return
            self.progress.advance(result.status)

    async def _unless_stopped(self, awaitable: Awaitable[T]) -> tuple[bool, T | None]:
        """Await, unless a stop comes first: (True, value) or (False, None)."""
        job = asyncio.ensure_future(awaitable)
        stopper = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({job, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if job.done():
            return True, job.result()
        job.cancel()
        try:
            value = await job
        except asyncio.CancelledError:
            return False, None
        if isinstance(value, Slot):  # admitted in the same instant as the stop
            value.cancel()
        return False, None

    async def _process(self, task: Task) -> RowResult | None:
        while True:
            if self._stopping.is_set():
                return None
            ok, _ = await self._unless_stopped(self.pause.wait())
            if not ok:
                return None
            ok, slot = await self._unless_stopped(self.limiter.acquire())
            if not ok or slot is None:
                return None
            if (
                self.pause.paused_until > asyncio.get_running_loop().time()
                or self._stopping.is_set()
            ):
                slot.cancel()  # a 429 arrived while we queued: don't spend the slot
                continue
            task.attempts += 1
            sent_at = asyncio.get_running_loop().time()
            answer = await self._send(task, slot)
            task.last = answer
            kind = answer.kind
            if kind is AnswerKind.OK:
                self.pause.record_success()
                status = Status.CREATED if task.action == "create" else Status.UPDATED
                return self._result(task, status, answer, "")
            if kind is AnswerKind.RATE_LIMITED:
                task.attempts -= 1  # a 429 is not one of the row's attempts
                self.counters.rate_limited += 1
                delay = parse_retry_after(answer.retry_after)
                self.pause.trigger(delay, sent_at=sent_at)
                continue
            if kind is AnswerKind.AUTH:
                self.auth_error = f"HTTP {answer.status}: {answer.message}"
                self.stop(f"the API refused the key ({self.auth_error})")
                return None
            if kind is AnswerKind.EXISTS:
                outcome = self._on_exists(task, answer)
                if outcome is not None:
                    return outcome
                continue  # switched to an update
            if kind is AnswerKind.REJECTED:
                return self._result(task, Status.FAILED, answer, answer.message)
            # Transient: 5xx, no answer, could not connect.
            if kind in (AnswerKind.NO_ANSWER, AnswerKind.SERVER_ERROR):
                task.maybe_sent = task.maybe_sent or task.action == "create"
            if task.attempts >= self.settings.max_attempts:
                error = f"gave up after {task.attempts} attempts: {answer.message}"
                if task.maybe_sent:
                    error += " (an attempt may have reached the server; re-running is safe)"
                return self._result(task, Status.FAILED, answer, error)
            self.counters.retries += 1
            delay = full_jitter(
                task.attempts - 1,
                base=self.settings.retry_base,
                cap=self.settings.retry_cap,
                rng=self.rng,
            )
            ok, _ = await self._unless_stopped(asyncio.sleep(delay))
            if not ok:
                return None

    def _on_exists(self, task: Task, answer: Answer) -> RowResult | None:
        if task.action == "create" and task.maybe_sent:
            return self._result(
                task,
                Status.CREATED,
                answer,
                "created by an earlier attempt whose answer was lost "
                f"(the retry was told: {answer.message})",
            )
        policy = self.settings.on_exists
        if policy == "update" and task.action == "create":
            task.action = "update"
            return None
        if policy == "fail":
            return self._result(task, Status.FAILED, answer, f"{answer.message} (--on-exists fail)")
        return self._result(task, Status.EXISTS, answer, f"{answer.message} (skipped)")

    def _result(self, task: Task, status: Status, answer: Answer, error: str) -> RowResult:
        return RowResult(
            row=task.row.row,
            name=task.row.name,
            status=status,
            http_status=answer.status,
            attempts=task.attempts,
            error=error,
            key=task.row.key,
            data=answer.data if status in (Status.CREATED, Status.UPDATED) else None,
        )

    async def _send(self, task: Task, slot: Slot) -> Answer:
        rid = f"{self.run_id}-{next(self._rid)}"
        wall = time.time()
        self.journal.sending(
            rid=rid,
            key=task.row.key,
            row=task.row.row,
            name=task.row.name,
            action=task.action,
            attempt=task.attempts,
        )
        if self.memory is not None:
            self.memory.record_sent(rid, wall)
        counters = self.counters
        counters.requests_sent += 1
        counters.first_request_at = counters.first_request_at or wall
        counters.last_request_at = wall
        answer: Answer | None = None
        try:
            if task.action == "create":
                answer = await self.client.create(task.row.body)
            else:
                answer = await self.client.update(task.row.name, full_update_body(task.row.body))
            return answer
        finally:
            if answer is not None and answer.kind is AnswerKind.NOT_SENT:
                slot.cancel()  # the connection was refused: nothing reached the server
            else:
                slot.release()
            if self.memory is not None:
                self.memory.record_done(rid, time.time())
