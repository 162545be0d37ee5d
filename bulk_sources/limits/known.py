"""What the budget memory knows about one identity, for `bulk-sources budget show|forget`.

Read-only for show: a missing log is "nothing known yet", never created. Forget removes the
log under its lock; a run still going reopens a fresh one (state.py), so nothing breaks,
but what was sent and learned is gone, which is the risk the command states.
"""

from __future__ import annotations

import os
import stat
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .state import BudgetMemory, log_path
from .state_dir import kind_of, problem, state_dir
from .windows import DEFAULT_WINDOWS, DRIFT, format_period

__all__ = ["FORGET_RISK", "BudgetView", "budget_identity", "describe", "forget"]

# The longest default window: what `show` counts recorded sends over.
HORIZON = max(w.period for w in DEFAULT_WINDOWS) * (1 + DRIFT)

FORGET_RISK = (
    "the next run will not know what was sent in the last 15 minutes nor the windows learned "
    "from 429s, so it may send into a budget already spent and re-learn its windows with a "
    "few rejected attempts, which count against the project's quota for everyone"
)


def budget_identity(project: str | None, fingerprint: str) -> str:
    """The project name (several keys of one project share one budget), else the key's."""
    return f"project-{project}" if project else fingerprint


@dataclass
class BudgetView:
    identity: str
    path: Path
    learned: dict[str, Any] | None = None
    note: str | None = None
    window: float = HORIZON
    since: float | None = None  # wall time of the oldest recorded send that still counts
    sends: int = 0
    rejected: int = 0
    by_run: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "identity": self.identity,
            "state_file": str(self.path),
            "learned": self.learned,
            "note": self.note,
            "window": format_period(round(self.window)),
            "since": self.since,
            "sends": self.sends,
            "rejected": self.rejected,
            "by_run": self.by_run,
        }


def _log_of(identity: str, directory: Path | None) -> Path | None:
    root = directory if directory is not None else state_dir()
    path = log_path(root / "budgets", identity)
    for p in (root, root / "budgets", path):
        try:
            mode = os.stat(p).st_mode
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise problem(root, f"cannot be read ({exc.strerror})") from None
        if p is not path and not stat.S_ISDIR(mode):
            raise problem(p, f"is {kind_of(mode)}, not a directory")
    return path


def describe(
    identity: str, *, directory: Path | None = None, now: float | None = None
) -> BudgetView | None:
    """What is recorded for `identity`, or None when nothing is (no log yet)."""
    if _log_of(identity, directory) is None:
        return None
    now = time.time() if now is None else now
    with BudgetMemory(identity, HORIZON, directory=directory) as memory:
        view = BudgetView(identity, memory.path)
        windows = memory.learned_windows(now=now)
        if windows and memory.learned is not None:
            record = memory.learned
            view.learned = {"windows": windows, "at": record.get("at"), "why": record.get("why")}
        view.note = memory.damaged
        runs: Counter[str] = Counter()
        for rid, send in memory.sends.items():
            if min(send.sent, now) <= now - HORIZON:
                continue
            view.sends += 1
            view.rejected += send.ok is False
            view.since = min(view.since or send.sent, send.sent)
            runs[rid.rsplit("-", 1)[0]] += 1  # a run's requests are RUN-N
        view.by_run = dict(runs.most_common())
    return view


def forget(identity: str, *, directory: Path | None = None) -> bool:
    """Remove what is recorded for `identity`; False if nothing was."""
    path = _log_of(identity, directory)
    if path is None:
        return False
    with BudgetMemory(identity, HORIZON, directory=directory) as memory, memory.locked():
        path.unlink(missing_ok=True)
    return True
