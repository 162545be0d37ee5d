"""How a run reports progress: a small protocol the CLI implements (a bar on a terminal, a
pulse of one-line records elsewhere) and the library does not (the library prints nothing).
cli/progress.py is that implementation (the same idea one layer up)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ..record.results import Status

# Seconds from now until n more requests could go, as the limiter sees it.
Estimate = Callable[[int], float]
# What holds the run back right now, in words ("" while requests flow).
WaitingFor = Callable[[], str]


class Progress(Protocol):
    def advance(self, status: Status) -> None: ...

    async def keep_fresh(self) -> None:
        """Runs for the whole run (cancelled at its end): redraw while nothing finishes."""

    def watch(self, waiting_for: WaitingFor) -> None:
        """Told once the executor exists: asked what the run waits for when nothing moves."""

    def stopping(self, *, now: bool, waiting: str, grace: float) -> None:
        """A stop was asked for (a signal). `now`: in-flight requests are given up at once;
        else they get `grace` seconds. `waiting`: what is still out, in words."""

    def close(self) -> None: ...


# Makes the run's progress once the plan knows how many requests there are.
ProgressFactory = Callable[[int, Estimate], Progress]


class NoProgress:
    """The library's default: nothing shown."""

    def advance(self, status: Status) -> None:
        pass

    async def keep_fresh(self) -> None:
        pass

    def watch(self, waiting_for: WaitingFor) -> None:
        pass

    def stopping(self, *, now: bool, waiting: str, grace: float) -> None:
        pass

    def close(self) -> None:
        pass


def no_progress(total: int, estimate: Estimate) -> Progress:
    return NoProgress()
