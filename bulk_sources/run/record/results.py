"""What happened to one catalog row: its final status and why."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ...models import ListedSource, SourceContent


class Status(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    EXISTS = "exists"
    INVALID = "invalid"
    DUPLICATE = "duplicate"
    FAILED = "failed"
    NOT_ATTEMPTED = "not_attempted"
    # Sent, and no answer settled it (in flight when the run stopped, or the last attempt
    # got none): the server may hold it. Resume lists the names to settle it.
    UNKNOWN = "unknown"
    # Exists with the same content (compared field by field): nothing was sent.
    UNCHANGED = "unchanged"
    # Sent with dryRun=true and accepted: the API checked the row and persisted nothing.
    VALIDATED = "validated"
    # A rollback's outcomes: what it undid, and what it left alone and why.
    DELETED = "deleted"
    RESTORED = "restored"
    KEPT = "kept"
    GONE = "gone"

    def __str__(self) -> str:
        return self.value


# A run is a success when every row ends in one of these.
DONE = frozenset(
    {
        Status.CREATED,
        Status.UPDATED,
        Status.EXISTS,
        Status.DUPLICATE,
        Status.UNCHANGED,
        Status.VALIDATED,
        Status.DELETED,
        Status.RESTORED,
        Status.KEPT,
        Status.GONE,
    }
)
# Rows `retry` sends again: those a person fixes and those not settled yet.
RETRYABLE = frozenset({Status.INVALID, Status.FAILED, Status.NOT_ATTEMPTED, Status.UNKNOWN})
# Rows that need a person (failed.csv holds only these): the rest of RETRYABLE (not sent,
# no answer) is settled by `resume` without any change to the catalog.
NEEDS_FIX = frozenset({Status.INVALID, Status.FAILED})
# Not final: never journalled as an outcome, so `resume` picks these rows up again (a run
# that ends with any of them stopped short of its work).
UNSETTLED = frozenset({Status.NOT_ATTEMPTED, Status.UNKNOWN})


@dataclass
class RowResult:
    row: int
    name: str | None
    status: Status
    http_status: int | None = None
    attempts: int = 0
    error: str = ""
    key: str | None = None  # content hash of the request body; None for invalid rows
    # What the API answered for a created or updated row (its `data`), for follow-on work.
    data: ListedSource | None = None
    # For an updated row: the source as the listing showed it before the update (rollback).
    before: SourceContent | None = None
    # Each problem as (field, reason), when known field by field (validation's findings);
    # `error` is them joined for one-line views.
    problems: tuple[tuple[str, str], ...] = ()
