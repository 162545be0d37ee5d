"""The CLI's progress on stderr: a tqdm bar on a terminal, a pulse of one-line records
elsewhere (CI, nohup, a log file), and the lines that answer Ctrl-C.

tqdm's own ETA assumes the rate so far continues; after a burst that fills the 15-minute
window it would promise the rest at burst speed. Our ETA comes from the limiter instead,
and says "unknown" while nothing finishes (the limiter would promise 00:00 while every
request hangs). It implements run/send/progress.py's protocol: the same idea one layer up.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import TextIO

from tqdm import tqdm

from ..run.record.results import Status
from ..run.send.gauges import predictable
from ..run.send.progress import Estimate, Progress, ProgressFactory, WaitingFor

# A log gets a record at each tenth of the rows and at least this often (seconds): often
# enough that a watcher knows the run lives, rare enough for an hour-long log.
PULSE_EVERY = 30.0
# Nothing finished for this long (seconds) is shown as a stall, with what the run waits for.
STALL_AFTER = 10.0
# How often the bar's ETA is recomputed (seconds): the schedule costs O(rows left).
ETA_EVERY = 1.0


def format_seconds(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def stop_message(*, now: bool, waiting: str, grace: float) -> str:
    if now:
        return (
            "stopping now: requests still in flight are reported unknown; "
            "`bulk-sources resume` settles them"
        )
    if not waiting:
        return "stopping: no request in flight; writing the report"
    return (
        f"stopping: waiting up to {grace:g} s for requests in flight ({waiting}); "
        "Ctrl-C again to stop now"
    )


class Pulse:
    """What both displays say: counts by status, rate, a window-aware ETA, stalls."""

    def __init__(self, total: int, estimate: Estimate | None, clock: Callable[[], float]) -> None:
        self.total = total
        self.done = 0
        self.counts: Counter[str] = Counter()
        self._estimate = estimate
        self._clock = clock
        self.started = clock()
        self.last_finish = self.started
        self.waiting_for: WaitingFor = str
        self._eta = ""
        self._eta_at = float("-inf")

    def finished(self, status: Status) -> None:
        self.counts[status.value] += 1
        self.done += 1
        self.last_finish = self._clock()

    def stall(self) -> str:
        """'stalled: ...' when no row finished for STALL_AFTER seconds, else ''."""
        since = self._clock() - self.last_finish
        if self.done >= self.total or since < STALL_AFTER:
            return ""
        waiting = self.waiting_for() or f"no answer for {since:.0f} s"
        # A window wait has an end the limiter knows: said as it is, not as a stall.
        return waiting if predictable(waiting) else f"stalled: {waiting}"

    def eta(self, *, every: float = 0.0) -> str:
        left = self.total - self.done
        if left <= 0 or self._estimate is None:
            return ""
        stall = self.stall()
        if stall and not predictable(stall):
            return "eta unknown"
        now = self._clock()
        if now - self._eta_at >= every:
            self._eta = f"eta {format_seconds(self._estimate(left))}"
            self._eta_at = now
        return self._eta

    def rate(self) -> float:
        elapsed = self._clock() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    def counts_text(self) -> str:
        return " ".join(f"{name}={count}" for name, count in sorted(self.counts.items()))

    def record(self) -> str:
        """One line for a log: where the run is, how fast, what it waits for, when it ends."""
        percent = 100 * self.done // self.total if self.total else 100
        elapsed = format_seconds(self._clock() - self.started)
        parts = [f"progress {self.done}/{self.total} rows ({percent} %) after {elapsed}"]
        if self.counts:
            parts.append(self.counts_text())
        parts.append(f"{self.rate():.1f} rows/s")
        parts += [text for text in (self.stall(), self.eta()) if text]
        return "; ".join(parts)


class LogProgress:
    """For a stderr that is not a terminal: a record at the start, at each 10 % and every
    PULSE_EVERY s."""

    def __init__(
        self,
        total: int,
        estimate: Estimate | None,
        *,
        stream: TextIO | None = None,
        clock: Callable[[], float] | None = None,
        every: float = PULSE_EVERY,
    ) -> None:
        self._stream = stream or sys.stderr
        self._clock = clock or _loop_time
        self.pulse = Pulse(total, estimate, self._clock)
        self._every = every
        self._tenth = 0
        self._last_record = self._clock()
        # The opening line: a log (or a pipe) says at once that the run has started and
        # how many rows it sends, as the bar does on a terminal.
        self._record()

    def _emit(self, line: str) -> None:
        print(line, file=self._stream, flush=True)

    def _record(self) -> None:
        self._last_record = self._clock()
        self._emit(self.pulse.record())

    def advance(self, status: Status) -> None:
        self.pulse.finished(status)
        tenth = 10 * self.pulse.done // self.pulse.total if self.pulse.total else 10
        if tenth > self._tenth:
            self._tenth = tenth
            self._record()

    async def keep_fresh(self) -> None:
        while True:
            due = self._last_record + self._every - self._clock()
            if due > 0:
                await asyncio.sleep(due)
            elif self.pulse.done < self.pulse.total:
                self._record()
            else:
                await asyncio.sleep(self._every)

    def watch(self, waiting_for: WaitingFor) -> None:
        self.pulse.waiting_for = waiting_for

    def stopping(self, *, now: bool, waiting: str, grace: float) -> None:
        self._emit(stop_message(now=now, waiting=waiting, grace=grace))

    def close(self) -> None:
        pass


class BarProgress:
    """For a terminal: a tqdm bar whose postfix holds counts, stalls and the ETA."""

    def __init__(self, total: int, *, quiet: bool, estimate: Estimate | None = None) -> None:
        self.pulse = Pulse(total, estimate, time.monotonic)
        self._bar = tqdm(
            total=total,
            disable=quiet,
            file=sys.stderr,
            unit="row",
            dynamic_ncols=True,
            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]",
        )

    def advance(self, status: Status) -> None:
        self.pulse.finished(status)
        self._bar.update(1)
        self.refresh()

    def refresh(self) -> None:
        if self._bar.disable:
            return
        parts = [self.pulse.counts_text(), self.pulse.stall(), self.pulse.eta(every=ETA_EVERY)]
        self._bar.set_postfix_str(" ".join(p for p in parts if p), refresh=True)

    async def keep_fresh(self, every: float = 1.0) -> None:
        """Redraw while the windows hold requests back, so elapsed time and ETA move on."""
        if self._bar.disable:
            return
        while True:
            await asyncio.sleep(every)
            self.refresh()

    def watch(self, waiting_for: WaitingFor) -> None:
        self.pulse.waiting_for = waiting_for

    def stopping(self, *, now: bool, waiting: str, grace: float) -> None:
        # Said even with --quiet: it answers the user's own Ctrl-C.
        tqdm.write(stop_message(now=now, waiting=waiting, grace=grace), file=sys.stderr)

    def close(self) -> None:
        self._bar.close()


def _loop_time() -> float:
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()


def run_progress(*, quiet: bool, stream: TextIO | None = None) -> ProgressFactory:
    """A bar on a terminal; one-line records when stderr is a file or a pipe."""
    err = stream or sys.stderr

    def make(total: int, estimate: Estimate) -> Progress:
        if quiet or err.isatty():
            return BarProgress(total, quiet=quiet, estimate=estimate)
        return LogProgress(total, estimate, stream=err)

    return make


def bar_progress(quiet: bool) -> ProgressFactory:
    return run_progress(quiet=quiet)
