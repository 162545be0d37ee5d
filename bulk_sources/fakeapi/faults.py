"""Which faults hit a mutation: one seeded random stream, drawn in a fixed order per request."""

from __future__ import annotations

import random
from dataclasses import dataclass

from .config import FaultConfig

FAULT_KINDS = ("reset", "error", "stall", "create_then_drop")


@dataclass(frozen=True)
class FaultDraw:
    latency: float  # seconds slept before the request counts as arrived
    reset: bool  # drop the connection without doing anything
    error: bool  # answer 500 without doing anything
    stall: bool  # hold the request stall_seconds, then process it
    create_then_drop: bool  # process it, then drop the connection instead of answering
    answer_latency: float = 0.0  # seconds between counting it and its answer leaving


class FaultInjector:
    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self.reseed()

    def reseed(self) -> None:
        self._rng = random.Random(self.config.seed)
        # A stream of its own: adding answer delays leaves a seed's fault pattern as it was.
        seed = None if self.config.seed is None else self.config.seed + 1
        self._answer_rng = random.Random(seed)

    def draw(self) -> FaultDraw:
        # Every draw is taken whatever the rates are, so a seed gives the same pattern of
        # outcomes per request position however the rates are combined.
        c = self.config
        lo, hi = c.latency
        latency = lo + (hi - lo) * self._rng.random()
        u_reset, u_error, u_stall, u_drop = (self._rng.random() for _ in range(4))
        a_lo, a_hi = c.answer_latency
        answer = a_lo + (a_hi - a_lo) * self._answer_rng.random() if a_hi > 0 else 0.0
        return FaultDraw(
            latency=latency,
            reset=u_reset < c.reset_rate,
            error=u_error < c.error_rate,
            stall=u_stall < c.stall_rate,
            create_then_drop=u_drop < c.create_then_drop_rate,
            answer_latency=answer,
        )
