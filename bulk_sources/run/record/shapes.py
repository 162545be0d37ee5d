"""The JSON a run keeps, by shape: the journal's records and created.jsonl's lines.

A listed source and a source's content before an update are the API's shapes
(models.ListedSource, models.SourceContent). What is read back from disk is checked field
by field where it is read (journal.read_journal, rollback/undo.read_created): a file may be
torn or edited, so these types say what is written, not what a read can assume.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

from ...models import ListedSource, SourceContent


class SendRecord(TypedDict):
    """A request about to go: once per attempt, before it is sent."""

    event: Literal["send"]
    t: float  # wall clock
    rid: str  # the request's own id, shared with the budget memory
    key: str  # the row's content key
    row: int
    name: str
    action: str  # create, update, delete, restore
    attempt: int


class RateLimitedRecord(TypedDict):
    """A 429 answer to a row's request (the send with the same `rid`): not one of its
    attempts; or to a unit ID type's (its `unit_type` event has the `rid`): row 0."""

    event: Literal["429"]
    t: float  # wall clock, as the answer came
    rid: str
    key: str  # the row's key, or "unit type NAME"
    row: int
    wait: float  # seconds the budget then held every worker (a window, a Retry-After)


class BeforeRecord(TypedDict):
    """A source's content before this run folder's first update of it."""

    event: Literal["before"]
    t: float
    key: str
    name: str
    content: SourceContent


class Problem(TypedDict):
    """One problem of a row, as failed.csv's `_errors` lists them."""

    field: str
    error: str


class FinalRecord(TypedDict):
    """A row's final outcome (a RowResult)."""

    event: Literal["final"]
    t: float
    key: str | None
    row: int
    name: str | None
    status: str
    http_status: int | None
    message: str
    attempts: int
    data: ListedSource | None
    problems: NotRequired[list[Problem]]  # when the API named the fields it refused


class CreatedLine(TypedDict):
    """One line of created.jsonl: what a created or updated row left on the server."""

    row: int
    name: str | None
    status: str  # created or updated
    data: ListedSource | None
    before: NotRequired[SourceContent]  # an updated row's content before the run
