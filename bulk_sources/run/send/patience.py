"""The run's patience: a 429 is not one of a row's attempts, so a budget someone else holds
could keep a run waiting for ever; after `max_wait` with no request accepted it stops."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ...limits.learn import BudgetLearner
from ...limits.windows import format_period


def starved_message(max_wait: float) -> str:
    return (
        f"no request was accepted for {format_period(max_wait)}: the project's rate budget "
        "is being used by someone else (another tool, key or run); resume when it is free"
    )


async def watch_patience(
    learner: BudgetLearner, max_wait: float, stop: Callable[[str], None], stopping: asyncio.Event
) -> None:
    """Call stop() once nothing was accepted for max_wait (counted from now at the latest)."""
    loop = asyncio.get_running_loop()
    since = loop.time()
    while not stopping.is_set():
        last = max(since, learner.last_accepted or since)
        if loop.time() - last >= max_wait:
            stop(starved_message(max_wait))
            return
        await asyncio.sleep(last + max_wait - loop.time())
