"""The budget a run starts from: its identity, the shared memory, and what was sent before.

The identity is the project name given with --project (several keys of one project share
one budget), else the key's fingerprint. The memory lives in the per-user state directory
(limits/state.py), not under --report-dir, so every run on the identity finds it.
"""

from __future__ import annotations

import time

from ...api.apikey import ApiKey
from ...limits.budget import SharedBudget
from ...limits.known import budget_identity as identity_for
from ...limits.state import BudgetMemory
from ...limits.windows import DEFAULT_WINDOWS, DRIFT, Window, parse_window
from ..record.journal import JournalState
from ..settings import SubmitSettings


def budget_identity(settings: SubmitSettings, api_key: ApiKey) -> str:
    return identity_for(settings.project, api_key.fingerprint)


def budget_memory(settings: SubmitSettings, api_key: ApiKey) -> BudgetMemory:
    horizon = max(w.period for w in settings.windows) * (1 + DRIFT) + settings.margin
    return BudgetMemory(budget_identity(settings, api_key), horizon)


def open_budget(settings: SubmitSettings, api_key: ApiKey) -> SharedBudget:
    return SharedBudget(
        settings.windows,
        source="default" if tuple(settings.windows) == DEFAULT_WINDOWS else "configured",
        memory=budget_memory(settings, api_key),
        timeout=settings.timeout,
        max_wait=settings.max_wait,
        margin=settings.margin,
        spacing=settings.spacing,
    )


def planned_budget(
    settings: SubmitSettings, api_key: ApiKey
) -> tuple[list[Window], list[float], str]:
    """For a dry run: the windows a run would start with, the wall-clock stamps that still
    count, and where the windows come from."""
    with budget_memory(settings, api_key) as memory:
        stamps = memory.stamps(now=time.time(), timeout=settings.timeout)
        learned = {w.period: w for w in map(parse_window, memory.learned_windows())}
        why = (memory.learned or {}).get("why")
        at = (memory.learned or {}).get("at")
    windows = [
        Window(min(w.count, learned[w.period].count), w.period) if w.period in learned else w
        for w in settings.windows
    ]
    source = "default" if tuple(settings.windows) == DEFAULT_WINDOWS else "configured"
    if windows != list(settings.windows):
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(at)) if at else "earlier"
        source = f"learned {when} ({why})"
    return windows, stamps, source


def restore_history(budget: SharedBudget, state: JournalState, settings: SubmitSettings) -> int:
    """Seed the budget with what earlier processes sent; returns how many stamps."""
    restored = budget.restore()
    memory = budget.memory
    if memory is None:
        return restored
    wall_now = time.time()
    extra = [
        min(wall_now, sent + settings.timeout)
        for rid, sent in state.sends.items()
        # Only the journal knows this send: its answer came at the latest at the timeout.
        if not memory.known(rid) and sent > wall_now - memory.horizon
    ]
    budget.add_history(extra)
    return restored + len(extra)
