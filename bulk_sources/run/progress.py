"""How a run reports progress: a small protocol the CLI implements (tqdm) and the library
does not (the library prints nothing)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from .results import Status

# Seconds from now until n more requests could go, as the limiter sees it.
Estimate = Callable[[int], float]


class Progress(Protocol):
    def advance(self, status: Status) -> None: ...

    async def keep_fresh(self) -> None:
        """Runs for the whole run (cancelled at its end): redraw while nothing finishes."""

    def close(self) -> None: ...


# Makes the run's progress once the plan knows how many requests there are.
ProgressFactory = Callable[[int, Estimate], Progress]


class NoProgress:
    """The library's default: nothing shown."""

    def advance(self, status: Status) -> None:
        pass

    async def keep_fresh(self) -> None:
        pass

    def close(self) -> None:
        pass


def no_progress(total: int, estimate: Estimate) -> Progress:
    return NoProgress()
