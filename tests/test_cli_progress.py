"""The pulse a log gets (stderr not a terminal) and the lines that answer Ctrl-C, on a
virtual clock: records at each tenth and every 30 s, stalls said as such, no 00:00 ETA
while nothing finishes."""

from __future__ import annotations

import asyncio
import io

from virtual_clock import virtual_clock

from bulk_sources.cli.progress import LogProgress, run_progress, stop_message
from bulk_sources.run.record.results import Status


def _lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


async def test_a_record_at_each_tenth_and_every_30_s_while_rows_trickle() -> None:
    with virtual_clock():
        out = io.StringIO()
        waiting = "rate window frees in 12 s"
        progress = LogProgress(20, lambda n: n * 3.0, stream=out)
        progress.watch(lambda: waiting)
        ticker = asyncio.create_task(progress.keep_fresh())
        # The opening line says at once that the run started, and how big it is.
        assert _lines(out) == ["progress 0/20 rows (0 %) after 00:00; 0.0 rows/s; eta 01:00"]
        progress.advance(Status.CREATED)
        assert len(_lines(out)) == 1  # 1 of 20 is not a tenth yet
        progress.advance(Status.CREATED)
        assert _lines(out)[1:] == [
            "progress 2/20 rows (10 %) after 00:00; created=2; 0.0 rows/s; eta 00:54"
        ]
        await asyncio.sleep(5)
        progress.advance(Status.FAILED)
        await asyncio.sleep(29.5)
        # 30 s after the last record, with a row finished 29.5 s ago: a stall.
        assert _lines(out)[-1] == (
            "progress 3/20 rows (15 %) after 00:30; created=2 failed=1; 0.1 rows/s; "
            "stalled: rate window frees in 12 s; eta unknown"
        )
        await asyncio.sleep(30)
        assert len(_lines(out)) == 4
        for _ in range(17):
            progress.advance(Status.CREATED)
        assert _lines(out)[-1].startswith("progress 20/20 rows (100 %) after 01:04")
        count = len(_lines(out))
        await asyncio.sleep(600)
        assert len(_lines(out)) == count  # done: no more records
        ticker.cancel()


async def test_a_stall_without_words_still_says_how_long() -> None:
    with virtual_clock():
        out = io.StringIO()
        progress = LogProgress(4, None, stream=out, every=30.0)
        ticker = asyncio.create_task(progress.keep_fresh())
        await asyncio.sleep(31)
        ticker.cancel()
        assert _lines(out) == [
            "progress 0/4 rows (0 %) after 00:00; 0.0 rows/s",
            "progress 0/4 rows (0 %) after 00:30; 0.0 rows/s; stalled: no answer for 30 s",
        ]


async def test_a_window_wait_is_not_a_stall_and_keeps_its_eta() -> None:
    with virtual_clock():
        out = io.StringIO()
        waiting = "waiting 139 s for the 15m window: 1,800 requests recorded on this key"
        progress = LogProgress(20, lambda n: n * 10.0, stream=out, every=30.0)
        progress.watch(lambda: waiting)
        ticker = asyncio.create_task(progress.keep_fresh())
        await asyncio.sleep(31)
        ticker.cancel()
        assert _lines(out)[-1] == (
            f"progress 0/20 rows (0 %) after 00:30; 0.0 rows/s; {waiting}; eta 03:20"
        )


def test_ctrl_c_lines_say_what_the_run_waits_for() -> None:
    first = stop_message(now=False, waiting="3 requests in flight for 2 s", grace=10.0)
    assert first == (
        "stopping: waiting up to 10 s for requests in flight (3 requests in flight for 2 s); "
        "Ctrl-C again to stop now"
    )
    assert stop_message(now=False, waiting="", grace=10.0) == (
        "stopping: no request in flight; writing the report"
    )
    second = stop_message(now=True, waiting="", grace=10.0)
    assert second.startswith("stopping now: requests still in flight are reported unknown")


def test_a_log_gets_the_pulse_and_a_terminal_the_bar() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert isinstance(run_progress(quiet=False, stream=io.StringIO())(5, float), LogProgress)
    bar = run_progress(quiet=True, stream=Tty())(5, float)
    assert not isinstance(bar, LogProgress)
    bar.close()
