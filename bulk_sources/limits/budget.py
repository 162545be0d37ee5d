"""The run's budget: the limiter, the learner and the shared memory, composed.

acquire() admits a request under the windows in force; with a memory, the admission is then
claimed under the memory's lock after reading what other processes sent since, so two runs
on one budget identity never both take the last slot. answered() feeds the learner and the
memory. report() says which budget is in force and where it came from; cli/budget.py
(the same idea from the command line) shows and forgets what the memory keeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

from .learn import BudgetLearner
from .limiter import MultiWindowLimiter, Slot
from .state import BudgetMemory, Delta
from .windows import DRIFT, Window, parse_window

__all__ = ["SharedBudget", "Verdict"]

Verdict = Literal["accepted", "rejected", "unknown"]
Source = Literal["default", "configured"]


class SharedBudget:
    def __init__(
        self,
        ceilings: Sequence[Window],
        *,
        source: Source = "default",
        memory: BudgetMemory | None = None,
        timeout: float = 30.0,
        max_wait: float = 3600.0,
        drift: float = DRIFT,
        margin: float = 0.0,
        spacing: float | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.ceilings = tuple(ceilings)
        self.source = source
        self.memory = memory
        self.timeout = timeout
        self._wall = wall
        self.limiter = MultiWindowLimiter(ceilings, drift=drift, margin=margin, spacing=spacing)
        self.started_from: dict[str, Any] | None = None
        start = self._remembered()
        self.learner = BudgetLearner(
            self.limiter, ceilings, start=start, max_wait=max_wait, rng=random.Random()
        )
        self._prefix = f"{os.getpid()}-{secrets.token_hex(3)}"
        self._foreign_open: dict[str, float] = {}
        self._foreign_stamps: list[float] = []  # loop time: others' and earlier runs' sends
        self._rids: dict[int, str] = {}
        self._saved = self.learner.remembered()
        self.restored = 0
        self.attempts = 0
        if memory is not None:
            self.limiter.recheck = self._refresh

    def _remembered(self) -> list[Window]:
        if self.memory is None:
            return []
        names = self.memory.learned_windows()
        if not names:
            return []
        windows = [parse_window(n) for n in names]
        self.started_from = dict(self.memory.learned or {})
        return windows

    def restore(self) -> int:
        """Seed the limiter with what earlier or concurrent processes sent (in a loop)."""
        if self.memory is None:
            return 0
        with self.memory.locked():
            self.memory._sync()
            learned = self.memory.take_news().learned  # the sends are all read below
            now, edge = self._wall(), self._wall() - self.memory.horizon
            sends: list[tuple[float, float, bool | None]] = []
            for rid, e in self.memory.sends.items():
                if e.done is None and e.sent + self.timeout >= now:
                    self._foreign_open[rid] = e.sent  # still on its way: in flight
                    continue
                # No answer recorded: its process died; it completed by the timeout at latest.
                stamp = e.done if e.done is not None else e.sent + self.timeout
                if stamp > edge:
                    sends.append((min(e.sent, now), min(stamp, now), e.ok))
        self._add_foreign(sends)
        self._adopt(learned)
        self.limiter.foreign_in_flight = len(self._foreign_open)
        self.restored = len(sends) + len(self._foreign_open)
        return self.restored

    # -- per request ----------------------------------------------------------------------

    async def acquire(self, rid: str | None = None) -> Slot:
        """Admit one request; `rid` names it in the shared memory (and the run's journal)."""
        while True:
            slot = await self.limiter.acquire()
            name = rid if rid is not None else f"{self._prefix}-{slot.seq}"
            if self.memory is None or self._claim(slot, name):
                self.attempts += 1
                self._rids[slot.seq] = name
                return slot
            slot.cancel()  # another process took it first: wait again with its sends counted

    def _claim(self, slot: Slot, rid: str) -> bool:
        assert self.memory is not None
        with self.memory.locked():
            self.memory._sync()
            self._absorb(self.memory.take_news())
            if self.limiter.overfull():
                return False
            self.memory.append_locked({"rid": rid, "sent": self._wall()})
        self._absorb(self.memory.take_news())
        return True

    def _refresh(self) -> None:
        """Read the others' news while only their sends in flight block us (the limiter asks:
        no answer of ours is coming to read them by). A memory that cannot be read now
        still lets a dead process's sends expire by the timeout."""
        assert self.memory is not None
        try:
            news = self.memory.sync()
        except OSError:
            news = Delta()
        self._absorb(news)

    def add_history(self, wall_stamps: Sequence[float]) -> None:
        """Completion stamps (wall clock) the memory does not know, e.g. from a journal."""
        self._add_foreign([(s, s, None) for s in wall_stamps])

    def answered(self, slot: Slot, answer: Verdict, retry_after: float | None = None) -> None:
        """The answer came back: release the slot and learn from it (after a cancel(),
        nothing is learned from a request never sent). A 429's slot goes to the next request
        only once the 429 is applied: the safety bound's one probe (limits/safety.py)."""
        if slot.open:
            slot.release(refused=answer == "rejected")
        rid = self._rids.pop(slot.seq, None)
        if self.memory is not None and rid is not None:
            # A cancelled slot was claimed too: close it, so no one counts it as in flight.
            ok = {"accepted": True, "rejected": False}.get(answer)
            self.memory.record_done(rid, self._wall(), ok=ok if slot.stamp is not None else None)
            self._absorb(self.memory.take_news())
        if slot.stamp is None:
            return
        if answer == "accepted":
            self.learner.accepted(slot)
        elif answer == "rejected":
            self.learner.rejected(slot, retry_after)
        else:
            self.learner.unanswered(slot)
        self._save_learned()

    def _save_learned(self) -> None:
        remembered = self.learner.remembered()
        if self.memory is None or remembered == self._saved or not self.learner.changes:
            return
        self._saved = remembered
        why = self.learner.changes[-1].reason
        self.memory.record_learned([str(w) for w in remembered], why)
        self._absorb(self.memory.take_news())

    def _absorb(self, delta: Delta) -> None:
        now = self._wall()
        # A send dated in the future (another host's clock, a damaged line) is now: it must
        # neither hold the budget for that long nor slide out of it early.
        for rid, sent in delta.sent:
            self._foreign_open[rid] = min(sent, now)
        done: list[tuple[float, float, bool | None]] = []
        for rid, stamp, ok in delta.done:
            sent = self._foreign_open.pop(rid, stamp)
            done.append((min(sent, now), min(stamp, now), ok))
        stale = [r for r, sent in self._foreign_open.items() if sent + self.timeout < now]
        for rid in stale:  # its process died: it completed at the latest at the timeout
            sent = self._foreign_open.pop(rid)
            done.append((sent, sent + self.timeout, None))
        if done:
            self._add_foreign(done)
        self._adopt(delta.learned)
        if self.limiter.foreign_in_flight != len(self._foreign_open):
            self.limiter.foreign_in_flight = len(self._foreign_open)

    def _adopt(self, names: list[str] | None) -> None:
        """Windows another run just learned: what it proved holds here too."""
        if names:
            self.learner.adopt([parse_window(n) for n in names])
            self._saved = self.learner.remembered()  # theirs: not ours to record again

    def _add_foreign(self, sends: list[tuple[float, float, bool | None]]) -> None:
        """Others' (sent, done, accepted) in wall time: stamps for the limiter, and evidence
        for the learner (what they got through proves counts too)."""
        if not sends:
            return
        offset = asyncio.get_running_loop().time() - self._wall()
        moved = [(sent + offset, done + offset, ok) for sent, done, ok in sends]
        self.limiter.add_history(done for _, done, _ in moved)
        self._foreign_stamps.extend(done for _, done, _ in moved)
        self.learner.foreign(moved)

    def resumes_in(self) -> float:
        """Seconds until a request could be admitted if nothing else changes: what a 429
        just taken holds every worker for (its journal record's `wait`)."""
        return max(0.0, self.limiter.free_at() - asyncio.get_running_loop().time())

    def window_wait(self) -> str:
        """A wait for a full window in words, "" if none is full: how long, which window,
        and its cause ("waiting 139 s for the 15m window: 1,800 requests recorded on this
        key since 10:02, 1,212 of them by earlier runs")."""
        now = asyncio.get_running_loop().time()
        stamps, limiter = self.limiter.stamps(), self.limiter
        flying = limiter.in_flight + limiter.foreign_in_flight
        worst: tuple[float, Window, list[float]] | None = None
        for window in limiter.windows:
            span = limiter.span(window.period)
            live = [t for t in stamps if t + span > now]
            excess = len(live) + flying - (window.count - 1)
            if excess <= 0 or excess > len(live):
                continue
            frees = live[excess - 1] + span - now
            if worst is None or frees > worst[0]:
                worst = (frees, window, live)
        if worst is None:
            return ""
        frees, window, live = worst
        earlier = sum(1 for t in self._foreign_stamps if t + limiter.span(window.period) > now)
        since = time.strftime("%H:%M", time.localtime(live[0] - now + self._wall()))
        who = self.memory.identity if self.memory is not None else ""
        on = f"project {who.removeprefix('project-')}" if who.startswith("project-") else "this key"
        return (
            f"waiting {frees:.0f} s for the {window.period_text} window: {len(live):,} "
            f"request{'s' if len(live) != 1 else ''} recorded on {on} since {since}, "
            f"{f'{earlier:,}' if earlier else 'none'} of them by earlier runs"
        )

    # -- what the run reports ---------------------------------------------------------------

    def report(self) -> dict[str, Any]:
        offset = self._wall() - asyncio.get_running_loop().time()
        learned = self.started_from
        return {
            # What was learned; a relaxing probe still being judged is listed apart.
            "in_force": [str(r.window) for r in self.learner.settled()],
            "probing": str(probe) if (probe := self.learner.probing) is not None else None,
            "ceilings": [str(w) for w in self.ceilings],
            "source": "learned" if learned else self.source,
            "learned_from": (
                {"at": learned.get("at"), "why": learned.get("why"), "windows": learned["learned"]}
                if learned
                else None
            ),
            # Every 429 is a rejected attempt, and the current page says those count too.
            "rate_limited": self.learner.rejections,
            "explained_429s": self.learner.fresh_rejections,
            "attempts": self.attempts,
            "note": self.memory.damaged if self.memory is not None else None,
            "changes": [c.as_json(offset) for c in self.learner.changes],
        }

    def close(self) -> None:
        self.limiter.recheck = None  # a waiter left behind must not read a closed memory
        if self.memory is not None:
            self.memory.close()

    def __enter__(self) -> SharedBudget:
        return self

    def __exit__(self, *exc: object) -> None:
        # The memory is a best effort across runs; failing to close it (a full disk) must
        # not replace the run's own outcome.
        with contextlib.suppress(OSError):
            self.close()
