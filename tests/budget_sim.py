"""An in-process strict server and a client driven by the learner, on the virtual clock."""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from virtual_clock import run

from bulk_sources.fakeapi.limits import RateLimiter
from bulk_sources.limits.learn import BudgetLearner
from bulk_sources.limits.limiter import MultiWindowLimiter
from bulk_sources.limits.windows import Window, exact_schedule


@dataclass
class Outcome:
    finished: float
    rejected: int
    accepted_at: list[float] = field(default_factory=list)
    windows: tuple[Window, ...] = ()
    changes: list[str] = field(default_factory=list)
    learner: BudgetLearner | None = None


def simulate(
    server: Sequence[Window],
    told: Sequence[Window],
    n: int,
    *,
    workers: int = 16,
    latency: float = 0.0,
    other: tuple[float, float] | None = None,  # (interval, until): another consumer's sends
    start: Sequence[Window] = (),
    jitter: tuple[float, float] = (0.0, 0.0),  # max inbound, max answer latency: uniform
    seed: int = 0,
    cpu: float = 0.0,  # the client's own work per request, one event loop: before and after
) -> Outcome:
    rng = random.Random(seed)

    async def main() -> Outcome:
        loop = asyncio.get_running_loop()
        strict = RateLimiter(server, count_rejected=True)
        limiter = MultiWindowLimiter(told)
        learner = BudgetLearner(limiter, told, start=start)
        queue = deque(range(n))
        out = Outcome(0.0, 0, learner=learner)
        busy = asyncio.Lock()

        async def work() -> None:
            if cpu:
                async with busy:
                    await asyncio.sleep(cpu / 2)

        async def worker() -> None:
            while queue:
                queue.popleft()
                while True:
                    slot = await limiter.acquire()
                    await work()
                    inbound = latency / 2 + rng.uniform(0.0, jitter[0])
                    if inbound:
                        await asyncio.sleep(inbound)
                    ok = strict.admit("k", loop.time()) is None
                    outbound = latency / 2 + rng.uniform(0.0, jitter[1])
                    if outbound:
                        await asyncio.sleep(outbound)
                    await work()
                    slot.release(refused=not ok)
                    if ok:
                        out.accepted_at.append(loop.time())
                        learner.accepted(slot)
                        break
                    out.rejected += 1
                    learner.rejected(slot)

        async def consumer(interval: float, until: float) -> None:
            while loop.time() < until and (queue or limiter.in_flight):
                strict.admit("k", loop.time())
                await asyncio.sleep(interval)

        jobs = [worker() for _ in range(workers)]
        if other is not None:
            jobs.append(consumer(*other))
        await asyncio.gather(*jobs)
        out.finished = max(out.accepted_at, default=0.0)
        out.windows = learner.windows
        out.changes = [
            f"{c.at:.4f}: {','.join(map(str, c.after))} ({c.reason})" for c in learner.changes
        ]
        return out

    return run(main())


def limit(n: int, server: Sequence[Window]) -> float:
    return exact_schedule(n, server)[-1]
