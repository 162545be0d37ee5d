"""The rate-limit memory a run starts from: what earlier processes with this key sent."""

from __future__ import annotations

import asyncio
import time

from ..api.apikey import ApiKey
from ..limits.limiter import MultiWindowLimiter
from ..limits.memory import LimitMemory
from .journal import JournalState
from .settings import SubmitSettings

LIMITS_DIR = ".rate-limits"


def limit_memory(settings: SubmitSettings, api_key: ApiKey) -> LimitMemory:
    horizon = max(w.period for w in settings.windows) + settings.margin
    path = settings.report_dir / LIMITS_DIR / f"{api_key.fingerprint}.jsonl"
    return LimitMemory(path, horizon)


def past_stamps(memory: LimitMemory, settings: SubmitSettings) -> list[float]:
    """Wall-clock completion stamps of earlier requests that still count in a window."""
    return memory.stamps(now=time.time(), timeout=settings.timeout)


def restore_history(
    limiter: MultiWindowLimiter,
    memory: LimitMemory,
    state: JournalState,
    settings: SubmitSettings,
) -> int:
    """Seed the limiter with what earlier processes sent; returns how many stamps."""
    wall_now = time.time()
    stamps = memory.stamps(now=wall_now, timeout=settings.timeout)
    for rid, sent in state.sends.items():
        if not memory.known(rid) and sent > wall_now - memory.horizon:
            # Only the journal knows this send: its answer came at the latest at the timeout.
            stamps.append(min(wall_now, sent + settings.timeout))
    loop_now = asyncio.get_running_loop().time()
    limiter.add_history(loop_now - (wall_now - s) for s in stamps)
    return len(stamps)
