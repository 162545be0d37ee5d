"""Ctrl-C and SIGTERM at any phase of a run become a stop with a report, never a traceback.

Reading and validating the catalog is synchronous, so there a signal raises `Interrupted`
at once (nothing has been sent, nothing is lost). Once the loop runs, a signal asks the
current phase to stop: the listing is abandoned, the executor stops taking rows and lets
requests in flight answer; a second signal stops it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable, Iterator
from types import FrameType
from typing import TypeVar

from ...errors import RunStopped

SIGNALS = (signal.SIGINT, signal.SIGTERM)
T = TypeVar("T")


class Interrupted(RunStopped):
    """A signal arrived before the run reached its executor."""


@contextlib.contextmanager
def raising_on_signals(phase: str) -> Iterator[None]:
    """Around synchronous work: a signal raises Interrupted from wherever the work is."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise Interrupted(f"interrupted by {signal.Signals(signum).name} while {phase}")

    previous = {}
    try:
        for sig in SIGNALS:
            previous[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread (a notebook's worker): the caller cancels instead
        pass
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class StopRequests:
    """Loop-level signal handlers for the async phases; `target` is told what to stop."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self.count = 0
        self.event = asyncio.Event()
        self._target: Callable[[str, bool], None] | None = None
        self._installed: list[signal.Signals] = []

    def direct_to(self, target: Callable[[str, bool], None] | None) -> None:
        """`target(reason, now)`: now is True from the second signal on."""
        self._target = target

    def _on_signal(self, sig: signal.Signals) -> None:
        self.count += 1
        self.reason = self.reason or f"interrupted by {sig.name}"
        self.event.set()
        if self._target is not None:
            self._target(self.reason, self.count > 1)

    def __enter__(self) -> StopRequests:
        loop = asyncio.get_running_loop()
        for sig in SIGNALS:
            try:
                loop.add_signal_handler(sig, self._on_signal, sig)
                self._installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not the main thread: the caller handles cancellation
        return self

    def __exit__(self, *exc: object) -> None:
        loop = asyncio.get_running_loop()
        for sig in self._installed:
            loop.remove_signal_handler(sig)
        self._installed.clear()

    async def unless_stopped(self, job: asyncio.Future[T], phase: str) -> T:
        """The job's result, or Interrupted if a signal comes first (the job is cancelled)."""
        done, _ = await unless_set(self.event, job)
        if done:
            return job.result()
        raise Interrupted(f"{self.reason} while {phase}")


async def unless_set(event: asyncio.Event, awaitable: Awaitable[T]) -> tuple[bool, T | None]:
    """Await, unless `event` is set first: (True, the result), or (False, None) with the job
    cancelled, or (False, its result) when it finished in the same instant anyway."""
    job = asyncio.ensure_future(awaitable)
    stopper = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({job, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if job.done():
        return True, job.result()
    job.cancel()
    try:
        return False, await job
    except asyncio.CancelledError:
        return False, None
