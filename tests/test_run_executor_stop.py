"""How the executor stops: Ctrl-C grace and a second Ctrl-C, internal errors, a full disk,
an unreachable API, and what it says it is waiting for. Virtual clock, scripted answers."""

from __future__ import annotations

import asyncio
import contextlib
import re
from pathlib import Path

from scripted_sender import (
    NO_ANSWER,
    REFUSED,
    UNAVAILABLE,
    ScriptedSender,
    Step,
    execute,
    journal_records,
    limited,
    make_executor,
    ok,
    retry_delays,
    statuses,
    tasks,
)
from virtual_clock import run

from bulk_sources.limits.windows import Window
from bulk_sources.run.record.results import Status
from bulk_sources.run.send.executor import Executor, Waiting

HANG = Step(None)  # a request whose answer never comes


def at(when: float, action: object, *args: object) -> None:
    asyncio.get_running_loop().call_at(when, action, *args)  # type: ignore[arg-type]


def test_stop_gives_requests_in_flight_the_grace_then_gives_up(tmp_path: Path) -> None:
    sender = ScriptedSender({"a": [Step(ok(name="a"), latency=3.0)], "b": [HANG]})
    seen: list[str] = []

    async def scenario() -> None:
        executor = make_executor(sender, tmp_path, concurrency=2, stop_grace=10.0)
        at(1.0, executor.interrupt, "interrupted by SIGINT")
        at(5.0, lambda: seen.append(executor.waiting_for()))
        results = await execute(executor, tasks("a", "b", "c"))
        assert asyncio.get_running_loop().time() == 11.0  # the stop plus the grace
        assert statuses(results) == {"a": "created", "b": "unknown", "c": "not_attempted"}
        b, c = results[1:]
        assert b.attempts == 1
        assert b.error == (
            "unfinished: interrupted by SIGINT (last: no answer); "
            "resume checks whether it was created"
        )
        assert c.error == "not sent: interrupted by SIGINT"
        assert executor.budget.limiter.in_flight == 0

    run(scenario())
    assert seen == ["1 request in flight for 5 s"]
    assert [f["name"] for f in journal_records(tmp_path, "final")] == ["a"]
    assert [s["name"] for s in journal_records(tmp_path, "send")] == ["a", "b"]


def test_a_second_interrupt_gives_up_on_requests_in_flight_at_once(tmp_path: Path) -> None:
    sender = ScriptedSender({"a": [Step(ok(name="a"), latency=3.0)], "b": [HANG]})

    async def scenario() -> None:
        executor = make_executor(sender, tmp_path, concurrency=2, stop_grace=10.0)
        at(1.0, executor.interrupt, "interrupted by SIGINT")
        at(2.0, executor.interrupt, "interrupted by SIGINT")
        results = await execute(executor, tasks("a", "b", "c"))
        assert asyncio.get_running_loop().time() == 2.0
        assert statuses(results) == {"a": "unknown", "b": "unknown", "c": "not_attempted"}
        assert executor.stop_reason == "interrupted by SIGINT"
        assert executor.budget.limiter.in_flight == 0

    run(scenario())
    assert journal_records(tmp_path, "final") == []


def test_stop_now_cuts_the_grace_short(tmp_path: Path) -> None:
    sender = ScriptedSender({"a": [HANG]})

    async def scenario() -> None:
        executor = make_executor(sender, tmp_path, stop_grace=10.0)
        at(1.0, lambda: executor.stop("quit", now=True))
        [a] = await execute(executor, tasks("a"))
        assert asyncio.get_running_loop().time() == 1.0
        assert a.status is Status.UNKNOWN

    run(scenario())


def test_a_stop_during_a_retry_wait_ends_at_once(tmp_path: Path) -> None:
    # b's 429 says to wait 10 s: the run holds, and a waits to retry, when the stop comes.
    sender = ScriptedSender({"a": [UNAVAILABLE], "b": [limited("10")]})
    delay = retry_delays(1)[0]
    seen: list[str] = []

    async def scenario() -> None:
        executor = make_executor(sender, tmp_path, concurrency=2)
        at(0.25 + delay / 4, lambda: seen.append(executor.waiting_for()))
        at(0.25 + delay / 2, executor.interrupt, "interrupted by SIGTERM")
        results = await execute(executor, tasks("a", "b"))
        assert asyncio.get_running_loop().time() == 0.25 + delay / 2
        # a's 503 may have done something; b's 429 certainly did nothing.
        assert statuses(results) == {"a": "unknown", "b": "not_attempted"}
        assert results[1].error == "not done: interrupted by SIGTERM"

    run(scenario())
    pause_left = seen[0].split("429 pause, ")[1].split(" s left")[0]
    assert seen == [
        f"429 pause, {pause_left} s left; 1 row to retry, next in {delay * 3 / 4:.0f} s"
    ]
    assert float(pause_left) >= 9.0


def test_an_internal_error_stops_the_run_and_loses_no_row(tmp_path: Path) -> None:
    sender = ScriptedSender({"a": [Step(ok(), raises=RuntimeError("boom"))]})

    async def scenario() -> None:
        executor = make_executor(sender, tmp_path, max_attempts=5)
        results = await execute(executor, tasks("a", "b"))
        assert executor.stop_reason == "internal error: RuntimeError: boom"
        # The request went out before the bug: whether it landed is unknown.
        assert statuses(results) == {"a": "unknown", "b": "not_attempted"}
        assert asyncio.get_running_loop().time() == 0.25

    run(scenario())
    assert len(sender.calls) == 1


def test_a_journal_that_cannot_be_written_stops_the_run(tmp_path: Path) -> None:
    """The disk fills while a's request is out: its outcome stands in the report, the
    journal still holds its send (resume reconciles it), and nothing more goes."""
    holder: dict[str, Executor] = {}
    full = open("/dev/full", "a", encoding="utf-8")  # noqa: SIM115 - closed below

    def fill_the_disk() -> None:
        holder["executor"].journal._file = full  # type: ignore[attr-defined]

    sender = ScriptedSender({"a": [Step(ok(name="a"), then=fill_the_disk)]})

    async def scenario() -> None:
        executor = make_executor(sender, tmp_path)
        holder["executor"] = executor
        real = executor.journal._file  # type: ignore[attr-defined]
        results = await executor.run(tasks("a", "b", "c"))
        assert executor.stop_reason == "can't write the journal: [Errno 28] No space left on device"
        assert statuses(results) == {"a": "created", "b": "not_attempted", "c": "not_attempted"}
        real.close()
        executor.progress.close()

    try:
        run(scenario())
    finally:
        with contextlib.suppress(OSError):
            full.close()
    assert [s["name"] for s in journal_records(tmp_path, "send")] == ["a"]
    assert journal_records(tmp_path, "final") == []


def test_an_api_refusing_every_connection_stops_the_run_as_unreachable(tmp_path: Path) -> None:
    sender = ScriptedSender({name: [REFUSED] * 4 for name in "abc"}, latency=0.0)
    d = retry_delays(3)
    last = ((0.0 + d[0]) + d[1]) + d[2]

    async def scenario() -> None:
        executor = make_executor(sender, tmp_path, max_attempts=4)
        results = await execute(executor, tasks("a", "b", "c"))
        assert executor.stop_reason == (
            f"API unreachable: 4 connection attempts over {last:.0f} s were refused "
            "(could not connect: [Errno 111] Connect call failed)"
        )
        assert asyncio.get_running_loop().time() == last
        assert statuses(results) == {n: "not_attempted" for n in "abc"}
        assert results[0].error.startswith("not sent (4 connections refused): API unreachable")
        assert executor.counters.requests_sent == 0
        assert executor.counters.refused == 4
        assert executor.budget.limiter.stamps() == []  # nothing reached the server's windows

    run(scenario())
    assert sender.sent("a") == [0.0, d[0], d[0] + d[1], last]
    assert journal_records(tmp_path, "final") == []  # resume sends every row


def test_a_server_that_dies_mid_request_leaves_that_row_unknown(tmp_path: Path) -> None:
    sender = ScriptedSender({"a": [NO_ANSWER, REFUSED, REFUSED, REFUSED]})

    async def scenario() -> None:
        executor = make_executor(sender, tmp_path, max_attempts=4)
        results = await execute(executor, tasks("a", "b"))
        assert (executor.stop_reason or "").startswith("API unreachable: 4 connection attempts")
        assert statuses(results) == {"a": "unknown", "b": "not_attempted"}
        assert executor.counters.requests_sent == 1

    run(scenario())


def test_one_row_refused_while_others_get_answers_does_not_stop_the_run(tmp_path: Path) -> None:
    sender = ScriptedSender({"a": [REFUSED] * 4, "b": [Step(ok(name="b"), latency=0.5)]})

    async def scenario() -> None:
        executor = make_executor(sender, tmp_path, concurrency=2, max_attempts=4)
        results = await execute(executor, tasks("a", "b", "c", "d"))
        assert executor.stop_reason is None
        assert statuses(results) == {
            "a": "not_attempted",
            "b": "created",
            "c": "created",
            "d": "created",
        }
        assert results[0].error == (
            "not sent: could not connect in 4 attempts "
            "(could not connect: [Errno 111] Connect call failed)"
        )

    run(scenario())
    assert [f["name"] for f in journal_records(tmp_path, "final")] == ["b", "c", "d"]


def test_waiting_for_names_the_rate_window(tmp_path: Path) -> None:
    sender = ScriptedSender({"a": [Step(ok(name="a"), latency=2.0)]})
    seen: list[str] = []

    async def scenario() -> None:
        executor = make_executor(sender, tmp_path, concurrency=2, windows=(Window(1, 60.0),))
        for when in (1.0, 10.0):
            at(when, lambda: seen.append(executor.waiting_for()))
        results = await execute(executor, tasks("a", "b"))
        assert statuses(results) == {"a": "created", "b": "created"}
        assert executor.waiting_for() == ""

    run(scenario())
    assert seen[0] == "1 request in flight for 1 s; rate window frees in 60 s"
    # The window full: which one, how long, and what fills it (wall-clock minute).
    assert re.fullmatch(
        r"waiting 52 s for the 1m window: 1 request recorded on this key since \d\d:\d\d, "
        r"none of them by earlier runs",
        seen[1],
    )
    assert sender.sent("b") == [2.0 + 60.0 * (1 + 1e-4)]  # the drift pad: 100 ppm


def test_a_retry_in_flight_at_the_stop_is_unknown_with_no_answer(tmp_path: Path) -> None:
    """The 503 before it is not the row's last word: the request cut off is."""
    sender = ScriptedSender({"a": [UNAVAILABLE, HANG]})

    async def scenario() -> None:
        executor = make_executor(sender, tmp_path)
        at(1.0, lambda: executor.stop("interrupted by SIGINT", now=True))
        [a] = await execute(executor, tasks("a"))
        assert (a.status, a.attempts, a.http_status) == (Status.UNKNOWN, 2, None)
        assert "(last: no answer)" in a.error

    run(scenario())
    assert sender.sent("a") == [0.0, 0.25 + retry_delays(1)[0]]


def test_waiting_says_stalled_only_when_nothing_can_go() -> None:
    assert not Waiting(in_flight=3, in_flight_for=2.0).stalled
    assert str(Waiting(in_flight=3, in_flight_for=2.4)) == "3 requests in flight for 2 s"
    assert Waiting(pause_left=4.0).stalled
    assert Waiting(window_frees_in=30.0).stalled
    assert Waiting(retrying=2, next_retry_in=1.0).stalled
    assert not Waiting(retrying=2, next_retry_in=1.0, in_flight=1).stalled
    assert str(Waiting()) == "" and not Waiting().stalled
