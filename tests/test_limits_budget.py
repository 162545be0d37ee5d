"""SharedBudget on the virtual clock: two budgets on one identity split it exactly, a restart
starts from what was sent and learned, and the report says where the budget came from."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from virtual_clock import most_overlapping, run

from bulk_sources.limits.budget import SharedBudget
from bulk_sources.limits.state import BudgetMemory
from bulk_sources.limits.windows import Window

WINDOWS = [Window(10, 100.0)]
EPOCH = 1.0e9


def wall() -> float:
    return asyncio.get_running_loop().time() + EPOCH


def budget(tmp_path: Path, windows: list[Window] = WINDOWS) -> SharedBudget:
    memory = BudgetMemory("project-x", 200.0, directory=tmp_path, clock=wall)
    return SharedBudget(windows, source="configured", memory=memory, wall=wall, drift=0.0)


async def spend(b: SharedBudget, n: int, latency: float = 0.0) -> list[float]:
    async def one() -> float:
        slot = await b.acquire()
        await asyncio.sleep(latency)
        slot.release()
        b.answered(slot, "accepted")
        return slot.admitted_at

    return sorted(await asyncio.gather(*(one() for _ in range(n))))


def test_two_budgets_on_one_identity_split_it_without_exceeding_it(tmp_path: Path) -> None:
    async def main() -> list[float]:
        a, b = budget(tmp_path), budget(tmp_path)
        a.restore()
        b.restore()
        times = await asyncio.gather(spend(a, 15), spend(b, 15))
        a.close()
        b.close()
        return sorted(times[0] + times[1])

    times = run(main())
    assert times[:10] == [0.0] * 10
    assert times[10:20] == [100.0] * 10
    assert times[20:] == [200.0] * 10


def test_a_restart_starts_from_what_was_sent_and_what_was_learned(tmp_path: Path) -> None:
    async def first() -> None:
        a = budget(tmp_path)
        a.restore()
        await spend(a, 10)
        slot = await a.acquire()  # the server says no: the window is really 5 (sent 10?)
        slot.release()
        a.answered(slot, "rejected")
        a.close()

    async def second() -> tuple[list[float], dict[str, object]]:
        b = budget(tmp_path)
        assert b.restore() == 11
        times = await spend(b, 2)
        report = b.report()
        b.close()
        return times, report

    run(first())
    times, report = run(second(), start=50.0)
    # It starts at t=50; what the first run sent at t=0 leaves the 100 s window at t=100.
    assert times == [100.0, 100.0]
    assert report["source"] == "configured"


def test_learned_windows_are_remembered_for_the_next_run(tmp_path: Path) -> None:
    async def first() -> list[str]:
        a = budget(tmp_path, [Window(10, 100.0)])
        a.restore()
        for _ in range(5):  # spread out, so no burst window explains the 429
            await spend(a, 1)
            await asyncio.sleep(15.0)
        slot = await a.acquire()
        slot.release()
        a.answered(slot, "rejected")  # 5 went through in 100 s, the 6th did not
        a.close()
        return [str(w) for w in a.learner.windows]

    async def second() -> dict[str, object]:
        b = budget(tmp_path, [Window(10, 100.0)])
        b.restore()
        report = b.report()
        b.close()
        return report

    assert run(first()) == ["5/100s"]
    report = run(second(), start=1000.0)
    assert report["in_force"] == ["5/100s"]
    assert report["source"] == "learned"
    learned_from = report["learned_from"]
    assert isinstance(learned_from, dict) and "5 sent in the last 100s" in learned_from["why"]


def test_news_read_while_recording_an_answer_is_not_lost(tmp_path: Path) -> None:
    """Every locked append reads the others' new lines first; those must reach the limiter
    too, or one process misses the other's sends (in flight and stamps) for good."""

    async def main() -> list[tuple[float, float]]:
        a, b = budget(tmp_path), budget(tmp_path)
        a.restore()
        b.restore()
        spans: list[tuple[float, float]] = []

        async def spend_slowly(x: SharedBudget, n: int) -> None:
            async def one() -> None:
                slot = await x.acquire()
                await asyncio.sleep(3.0)
                slot.release()
                x.answered(slot, "accepted")
                assert slot.stamp is not None
                spans.append((slot.admitted_at, slot.stamp))

            await asyncio.gather(*(one() for _ in range(n)))

        await asyncio.gather(spend_slowly(a, 12), spend_slowly(b, 12))
        a.close()
        b.close()
        return spans

    spans = run(main())
    assert len(spans) == 24
    # At the server, no 100 s window ever held more than 10 of the two processes' requests.
    assert most_overlapping(spans, 100.0) <= 10


def test_a_window_wait_names_the_window_and_what_filled_it(tmp_path: Path) -> None:
    import re
    import time

    now = time.time()
    with BudgetMemory("project-shop", 60.0, directory=tmp_path) as memory:
        for i in range(3):  # an earlier run, 10 s ago
            memory.record_sent(f"earlier-{i}", now - 10.5)
            memory.record_done(f"earlier-{i}", now - 10.0, ok=True)

    async def main_() -> tuple[str, str]:
        memory = BudgetMemory("project-shop", 60.0, directory=tmp_path)
        with SharedBudget([Window(4, 60.0)], memory=memory) as b:
            b.restore()
            before = b.window_wait()
            await spend(b, 1)
            return before, b.window_wait()

    before, full = run(main_())
    assert before == ""  # one slot left: nothing to wait for
    assert re.fullmatch(
        r"waiting 50 s for the 1m window: 4 requests recorded on project shop since "
        r"\d\d:\d\d, 3 of them by earlier runs",
        full,
    ), full


@pytest.mark.parametrize(("answers", "free"), [(True, 1.1), (False, 31.0)])
def test_a_run_blocked_by_another_process_in_flight_looks_for_its_answers(
    tmp_path: Path, answers: bool, free: float
) -> None:
    """With none of its own requests in flight, no answer of its own comes to read the other
    process's news by: a run whose window is full of the other's sends in flight must look
    again, or it waits for ever (two processes on the virtual clock did, at 9/24ms learned).
    The other answers at 0.1 s (the window frees a period on), or dies (its sends count as
    answered at the timeout, 30 s)."""
    windows = [Window(5, 1.0)]

    async def main() -> float:
        a = budget(tmp_path, windows)
        a.restore()
        other = BudgetMemory("project-x", 200.0, directory=tmp_path, clock=wall)
        for i in range(5):  # the other process's five sends, in flight
            other.record_sent(f"other-{i}", wall())

        async def answer() -> None:
            await asyncio.sleep(0.1)
            for i in range(5):
                other.record_done(f"other-{i}", wall(), ok=True)

        task = asyncio.create_task(answer()) if answers else None
        slot = await a.acquire()
        if task is not None:
            await task
        a.close()
        other.close()
        return slot.admitted_at

    at = run(main())
    # Within the recheck's share of the window (1/8 s) after it frees.
    assert free <= at <= free + 1.0 / 8 + 1e-9
