"""Everything a fake server remembers: sources, rate-limit logs, what it saw, and its state file."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..api.protocol import key_fingerprint, masked
from ..fileio import write_text
from .config import FakeApiConfig
from .faults import FAULT_KINDS, FaultInjector
from .limits import RateLimiter, WindowStats
from .store import SourceStore
from .unitstore import UnitTypeStore

STATE_VERSION = 1


def key_label(key: str) -> str:
    """A masked but distinct name for a key in the stats (generated keys share their prefix)."""
    return f"{key[:8]}…{key[-4:]}" if len(key) >= 16 else masked(key)


@dataclass(frozen=True)
class Arrival:
    """One authenticated mutation as the server counted it."""

    time: float  # monotonic seconds (the event loop's clock), after inbound latency
    key: str  # key_label of the key
    accepted: bool  # False when answered 429


class FakeApiState:
    """In-process view of a fake server: `.sources` (name -> source) and `.stats()`."""

    def __init__(self, config: FakeApiConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.clock = clock
        self.store = SourceStore(config.duplicate_message, clock)
        self.unit_types = UnitTypeStore(config.unit_types, config.duplicate_message)
        self.faults = FaultInjector(config.faults)
        # One budget per project, shared by all its keys (the current page's rule).
        self.limiter = RateLimiter(config.windows, config.count_rejected, config.windows_of)
        self._labels = {key: key_label(key) for key in config.keys}
        self._revoked: set[str] = set()
        self.dirty = False
        self._reset_counters()
        if config.state_file is not None:
            self._load(config.state_file)

    @property
    def sources(self) -> dict[str, dict[str, Any]]:
        return self.store.sources

    def _reset_counters(self) -> None:
        self.arrivals: list[Arrival] = []
        self.by_status: Counter[str] = Counter()
        self.by_method: Counter[str] = Counter()
        self.requests = 0
        self.created = 0
        self.updated = 0
        self.deleted = 0
        self.duplicates = 0
        self.unit_types_created = 0
        self.unit_types_deleted = 0
        self.unknown_unit_types = 0
        self.rate_limited = 0
        self.fault_counts: Counter[str] = Counter({kind: 0 for kind in FAULT_KINDS})
        config = self.config
        self.window_stats = WindowStats(config.windows_of(""))
        self.key_stats = {
            label: WindowStats(config.windows_of(config.project_of(key)))
            for key, label in self._labels.items()
        }
        self.project_stats = {
            name: WindowStats(config.windows_of(name))
            for name in {config.project_of(key) for key in config.keys}
        }
        self._project_of_label = {
            label: config.project_of(key) for key, label in self._labels.items()
        }

    def reset(self) -> None:
        """Forget sources, logs and counters, and restart the fault stream from its seed."""
        self.store.clear()
        self.unit_types.clear()
        self.limiter.clear()
        self.faults.reseed()
        self._reset_counters()
        self.dirty = True

    def is_known_key(self, key: str) -> bool:
        return key in self._labels and key not in self._revoked

    def revoke_key(self, key: str) -> None:
        """From now on the key gets 401, as when someone deletes it in the console."""
        self._revoked.add(key)

    def admit(self, key: str, now: float) -> float | None:
        """Count a mutation's arrival; None if it may proceed, else seconds until a slot frees."""
        wait = self.limiter.admit(self.config.project_of(key), now)
        self._record_arrival(Arrival(now, self._labels[key], wait is None))
        if wait is not None:
            self.rate_limited += 1
        self.dirty = True
        return wait

    def _record_arrival(self, arrival: Arrival, counted: bool = True) -> None:
        self.arrivals.append(arrival)
        self.window_stats.add(arrival.time, arrival.accepted, counted)
        self.key_stats[arrival.key].add(arrival.time, arrival.accepted, counted)
        project = self._project_of_label[arrival.key]
        self.project_stats[project].add(arrival.time, arrival.accepted, counted)

    def count_request(self, method: str, status: str) -> None:
        self.requests += 1
        self.by_method[method] += 1
        self.by_status[status] += 1

    def stats(self) -> dict[str, Any]:
        return {
            "requests": {
                "total": self.requests,
                "by_status": dict(sorted(self.by_status.items())),
                "by_method": dict(sorted(self.by_method.items())),
            },
            "mutations": self.window_stats.mutations,
            "sources_created": self.created,
            "sources_updated": self.updated,
            "sources_deleted": self.deleted,
            "duplicates_refused": self.duplicates,
            "rate_limited": self.rate_limited,
            "faults": dict(self.fault_counts),
            "source_count": len(self.store.sources),
            "unit_types": {
                "created": self.unit_types_created,
                "deleted": self.unit_types_deleted,
                "unknown_refused": self.unknown_unit_types,
                "per_project": {
                    name: self.unit_types.names(name) for name in sorted(self.project_stats)
                },
            },
            "windows": self.window_stats.as_json(),
            "per_key": {
                label: {"mutations": ks.mutations, "windows": ks.as_json()}
                for label, ks in self.key_stats.items()
            },
            "per_project": {
                name: {"mutations": ps.mutations, "rejected": ps.rejected, "windows": ps.as_json()}
                for name, ps in sorted(self.project_stats.items())
            },
            "settings": {
                "windows": [str(w) for w in self.config.windows],
                "burst": str(self.config.burst) if self.config.burst else None,
                "projects": {
                    name: [key_label(k) for k in keys]
                    for name, keys in self.config.projects.items()
                },
                "project_windows": {
                    name: [str(w) for w in ws] for name, ws in self.config.project_windows.items()
                },
                "retry_after": self.config.retry_after,
                "count_rejected": self.config.count_rejected,
                "strict_unit_types": self.config.strict_unit_types,
            },
        }

    # Persistence: sources plus the arrivals still inside the longest window, so a restart
    # neither loses what was created nor forgets the budget already spent.

    def snapshot(self) -> dict[str, Any]:
        periods = [w.period for name in self.project_stats for w in self.config.windows_of(name)]
        horizon = self.clock() - max(periods, default=0.0)
        wall_offset = time.time() - self.clock()
        fingerprints = {label: key_fingerprint(key) for key, label in self._labels.items()}
        recent: list[dict[str, Any]] = []
        for arrival in reversed(self.arrivals):
            if arrival.time <= horizon:
                break
            recent.append(
                {
                    "at": arrival.time + wall_offset,
                    "key": fingerprints[arrival.key],
                    "accepted": arrival.accepted,
                }
            )
        recent.reverse()
        return {
            "version": STATE_VERSION,
            "sources": list(self.store.sources.values()),
            "unit_types": self.unit_types.snapshot(),
            "recent_mutations": recent,
        }

    def save(self, snapshot: dict[str, Any] | None = None) -> None:
        """Write the state file atomically (temp file in the same folder, then os.replace)."""
        path = self.config.state_file
        if path is None:
            return
        data = json.dumps(self.snapshot() if snapshot is None else snapshot, ensure_ascii=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text(path, data)

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            raise ValueError(f"can't read the fake server's state file {path}: {exc}") from None
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise ValueError(f"{path} is not a fake server state file (version {STATE_VERSION})")
        self.store.load(data.get("sources", []))
        self.unit_types.load(data.get("unit_types"))
        by_fingerprint = {key_fingerprint(key): key for key in self.config.keys}
        now = self.clock()
        mono_offset = now - time.time()
        for entry in data.get("recent_mutations", []):
            key = by_fingerprint.get(entry.get("key"))
            if key is None:
                continue  # a key this run does not accept: its budget is not ours
            # Clamped, so a wall clock set back can't put an arrival after the next one.
            at = min(float(entry["at"]) + mono_offset, now)
            accepted = bool(entry.get("accepted", True))
            if accepted or self.config.count_rejected:
                self.limiter.restore(self.config.project_of(key), [at])
            self._record_arrival(Arrival(at, self._labels[key], accepted), counted=False)
