"""What a run returns: `RunReport` (a run that made a folder) and `DryRun` (a plan, nothing sent).

Both are plain typed data. `summary.json` is written from `RunReport.to_json()`; the CLI
renders the same objects (text or JSON) and maps `Outcome` to an exit code. Nothing here
prints.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..actions import ACTIONS, PlanEntry
from .results import RETRYABLE, UNSETTLED, RowResult, Status

if TYPE_CHECKING:
    import pandas as pd

TOOL = "bulk-sources"


class Outcome(StrEnum):
    OK = "ok"  # every row done
    ROWS_FAILED = "rows_failed"  # some row invalid or failed: fix and retry
    STOPPED = "stopped"  # the run stopped early (key refused, API unreachable, interrupted)


def outcome_of(counts: dict[str, int], stop_reason: str | None) -> Outcome:
    """The one rule that turns a run's counts into its outcome."""
    if stop_reason is not None or any(counts.get(s.value, 0) for s in UNSETTLED):
        return Outcome.STOPPED
    if any(counts.get(s.value, 0) for s in RETRYABLE):
        return Outcome.ROWS_FAILED
    return Outcome.OK


def count_statuses(results: list[RowResult]) -> dict[str, int]:
    counts = {status.value: 0 for status in Status}
    for r in results:
        counts[r.status.value] += 1
    return counts


def iso(t: float | None) -> str | None:
    if t is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"


@dataclass
class Requests:
    """What the executor sent, across every invocation of one run folder."""

    sent: int = 0
    rate_limited_429: int = 0
    retries: int = 0
    pauses: int = 0
    first_at: float | None = None  # wall clock
    last_at: float | None = None

    def plus(self, other: Requests) -> Requests:
        firsts = [t for t in (self.first_at, other.first_at) if t is not None]
        lasts = [t for t in (self.last_at, other.last_at) if t is not None]
        return Requests(
            sent=self.sent + other.sent,
            rate_limited_429=self.rate_limited_429 + other.rate_limited_429,
            retries=self.retries + other.retries,
            pauses=self.pauses + other.pauses,
            first_at=min(firsts, default=None),
            last_at=max(lasts, default=None),
        )


@dataclass
class RunReport:
    run_dir: Path
    catalog: Path
    catalog_sha256: str
    rows: int
    counts: dict[str, int]
    outcome: Outcome
    started_at: float
    ended_at: float
    requests: Requests
    windows: list[str]
    failed_rows_file: Path
    key_fingerprint: str
    version: str
    stopped: str | None = None
    catalog_changed_since_start: bool = False
    # Said once: rows the catalog no longer holds, kept in the report as the run settled them.
    catalog_change: str | None = None
    target: str = ""  # the API host the run sends to (scheme://host[:port])
    retry_of: str | None = None
    resumed: bool = False
    restored_rate_limit_history: int = 0
    # The rate budget: in force at the end, where it came from, 429s and every learned change.
    budget: dict[str, Any] | None = None
    rollback_of: str | None = None  # a rollback run: the run folder it undoes
    results: list[RowResult] = field(default_factory=list, repr=False)
    # A remark for the reader, e.g. "nothing to resume": the CLI shows it first.
    note: str = ""
    # What this invocation checked and created of the project's unit ID types (submit only).
    unit_types: dict[str, Any] | None = None
    # What validation warns about (rows sent anyway) and the columns it ignores, as
    # `validate --json` writes them (catalog/problems.py).
    warnings: list[dict[str, Any]] = field(default_factory=list, repr=False)
    unknown_columns: list[dict[str, Any]] = field(default_factory=list, repr=False)
    catalog_notes: list[str] = field(default_factory=list, repr=False)  # e.g. the sheet read
    page: Path | None = None  # report.html, once written

    @property
    def duration_s(self) -> float:
        return round(self.ended_at - self.started_at, 3)

    @property
    def problems(self) -> list[RowResult]:
        return [r for r in self.results if r.status in RETRYABLE]

    def to_json(self) -> dict[str, Any]:
        return {
            "tool": TOOL,
            "version": self.version,
            "run_dir": str(self.run_dir),
            "catalog": str(self.catalog),
            "catalog_sha256": self.catalog_sha256,
            "catalog_changed_since_start": self.catalog_changed_since_start,
            "catalog_change": self.catalog_change,
            "target": self.target,
            "retry_of": self.retry_of,
            "rollback_of": self.rollback_of,
            "resumed": self.resumed,
            "rows": self.rows,
            "counts": self.counts,
            "outcome": self.outcome.value,
            "stopped": self.stopped,
            "note": self.note or None,  # what a person must know beside the counts
            "started_at": iso(self.started_at),
            "ended_at": iso(self.ended_at),
            "duration_s": self.duration_s,
            "requests_sent": self.requests.sent,
            "rate_limited_429": self.requests.rate_limited_429,
            "retries": self.requests.retries,
            "pauses": self.requests.pauses,
            "first_request_at": iso(self.requests.first_at),
            "last_request_at": iso(self.requests.last_at),
            "windows": self.windows,
            "restored_rate_limit_history": self.restored_rate_limit_history,
            "budget": self.budget,
            "failed_rows_file": str(self.failed_rows_file),
            "key_fingerprint": self.key_fingerprint,
            "unit_types": self.unit_types,
            "warnings": self.warnings,
            "unknown_columns": self.unknown_columns,
            "catalog_notes": self.catalog_notes,
            "report_page": str(self.page) if self.page else None,
        }

    def results_frame(self) -> pd.DataFrame:
        """One row per catalog row (row, name, status, http_status, attempts, error, data)."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "row": r.row,
                    "name": r.name,
                    "status": r.status.value,
                    "http_status": r.http_status,
                    "attempts": r.attempts,
                    "error": r.error,
                    "data": r.data,
                }
                for r in self.results
            ],
            columns=["row", "name", "status", "http_status", "attempts", "error", "data"],
        )


@dataclass
class DryRun:
    """What a submit would do: an action per row, the requests it needs and how long they
    take at best. `examples` holds the first few rows of each action; `plan_file` all."""

    catalog: Path
    rows: int
    actions: dict[str, int]
    requests: int
    estimated_seconds: float
    windows: list[str]
    # Where the windows come from: default, configured, or learned (when, from what).
    budget_source: str = "default"
    # The rows a submit would leave invalid or failed, with why.
    problems: list[RowResult] = field(default_factory=list, repr=False)
    examples: dict[str, list[PlanEntry]] = field(default_factory=dict, repr=False)
    plan_file: Path | None = None
    target: str = ""  # the API host the plan was listed from (scheme://host[:port])
    # Unit ID types a --create-unit-types submit creates before any row (in `requests`).
    unit_types_to_create: list[str] = field(default_factory=list)
    # Sentences about the whole plan, e.g. "unit ID types not checked: ...".
    notes: list[str] = field(default_factory=list)
    # --server-check: rows sampled, requests sent, refused and unanswered (None: not asked).
    server_check: dict[str, Any] | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list, repr=False)  # as RunReport's
    unknown_columns: list[dict[str, Any]] = field(default_factory=list, repr=False)
    catalog_notes: list[str] = field(default_factory=list, repr=False)
    page: Path | None = None  # report.html beside plan_file, once written

    @property
    def would_create(self) -> int:
        return self.actions.get("create", 0)

    @property
    def would_update(self) -> int:
        return self.actions.get("update", 0)

    @property
    def unchanged(self) -> int:
        return self.actions.get("unchanged", 0)

    @property
    def would_skip_existing(self) -> int:
        return self.actions.get("skip", 0)

    @property
    def would_fail_existing(self) -> int:
        return self.actions.get("fail", 0)

    @property
    def invalid(self) -> int:
        return self.actions.get("invalid", 0)

    @property
    def duplicates(self) -> int:
        return self.actions.get("duplicate", 0)

    @property
    def outcome(self) -> Outcome:
        return Outcome.ROWS_FAILED if self.invalid or self.would_fail_existing else Outcome.OK

    def to_json(self) -> dict[str, Any]:
        return {
            "tool": TOOL,
            "dry_run": True,
            "catalog": str(self.catalog),
            "target": self.target,
            "rows": self.rows,
            "actions": {a: self.actions.get(a, 0) for a in ACTIONS if a in self.actions},
            "would_create": self.would_create,
            "would_update": self.would_update,
            "unchanged": self.unchanged,
            "would_skip_existing": self.would_skip_existing,
            "would_fail_existing": self.would_fail_existing,
            "invalid": self.invalid,
            "duplicates": self.duplicates,
            "requests": self.requests,
            "estimated_seconds": round(self.estimated_seconds, 1),
            "windows": self.windows,
            "budget_source": self.budget_source,
            "plan_file": str(self.plan_file) if self.plan_file else None,
            "unit_types_to_create": list(self.unit_types_to_create),
            "notes": list(self.notes),
            "server_check": self.server_check,
            "report_page": str(self.page) if self.page else None,
            "examples": {
                action: [
                    {
                        "row": e.row,
                        "name": e.name,
                        "fields": list(e.fields),
                        "changes": list(e.changes),
                        "note": e.note,
                    }
                    for e in entries
                ]
                for action, entries in self.examples.items()
            },
            "warnings": self.warnings,
            "unknown_columns": self.unknown_columns,
            "catalog_notes": self.catalog_notes,
            "outcome": self.outcome.value,
        }
