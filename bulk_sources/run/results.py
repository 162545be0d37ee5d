"""What happened to one catalog row: its final status and why."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    EXISTS = "exists"
    INVALID = "invalid"
    DUPLICATE = "duplicate"
    FAILED = "failed"
    NOT_ATTEMPTED = "not_attempted"

    def __str__(self) -> str:
        return self.value


# A run is a success when every row ends in one of these.
DONE = frozenset({Status.CREATED, Status.UPDATED, Status.EXISTS, Status.DUPLICATE})
# Rows that go to failed.csv, to be fed straight back in.
RETRYABLE = frozenset({Status.INVALID, Status.FAILED, Status.NOT_ATTEMPTED})


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
    data: dict[str, Any] | None = None
