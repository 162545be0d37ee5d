"""The CLI's progress on stderr: a tqdm bar with counts by status and a window-aware ETA.

tqdm's own ETA assumes the rate so far continues; after a burst that fills the 15-minute
window it would promise the rest at burst speed. Our ETA comes from the limiter instead.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter

from tqdm import tqdm

from ..run.progress import Estimate, Progress, ProgressFactory
from ..run.results import Status


def _format_seconds(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class BarProgress:
    def __init__(self, total: int, *, quiet: bool, estimate: Estimate | None = None) -> None:
        self._estimate = estimate
        self._counts: Counter[str] = Counter()
        self._left = total
        self._eta = ""
        self._eta_at = float("-inf")
        disable = quiet or not sys.stderr.isatty()
        self._bar = tqdm(
            total=total,
            disable=disable,
            file=sys.stderr,
            unit="row",
            dynamic_ncols=True,
            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]",
        )

    def advance(self, status: Status) -> None:
        self._counts[status.value] += 1
        self._left -= 1
        self._bar.update(1)
        self.refresh()

    def refresh(self) -> None:
        if self._bar.disable:
            return
        parts = [f"{name}={count}" for name, count in sorted(self._counts.items())]
        now = time.monotonic()
        if self._estimate is not None and self._left > 0 and now - self._eta_at >= 1.0:
            # The schedule costs O(rows left); once a second is plenty for a human.
            self._eta = f"eta {_format_seconds(self._estimate(self._left))}"
            self._eta_at = now
        if self._left > 0 and self._eta:
            parts.append(self._eta)
        self._bar.set_postfix_str(" ".join(parts), refresh=True)

    async def keep_fresh(self, every: float = 1.0) -> None:
        """Redraw while the windows hold requests back, so elapsed time and ETA move on."""
        if self._bar.disable:
            return
        while True:
            await asyncio.sleep(every)
            self.refresh()

    def close(self) -> None:
        self._bar.close()


def bar_progress(quiet: bool) -> ProgressFactory:
    def make(total: int, estimate: Estimate) -> Progress:
        return BarProgress(total, quiet=quiet, estimate=estimate)

    return make
