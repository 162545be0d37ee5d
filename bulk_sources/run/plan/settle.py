"""One rule for a row whose name exists, used by the plan, by resume and by lost answers.

`decide` compares the row with what the listing shows and says what the row needs. A
create whose answer was lost is settled by the same rule: `ListingSettler` lists the
project (GETs, outside the mutation quota) once for every batch of such rows, so many lost
answers cost one listing, and each row is then created (present, same content), decided by
`--on-exists` (present, other content) or sent again (absent). The API's "already in use"
wording is only a fallback for when the listing fails or a row appears after it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ...catalog.verdicts import ValidRow
from ...errors import BulkSourcesError
from ...models import ListedSource, SourceContent
from ..record.results import RowResult, Status
from ..settings import OnExists
from .compare import content_of, differing_fields


@dataclass(frozen=True)
class Decision:
    """What a row needs: `action` is a plan action; `status` is set when nothing is sent."""

    action: str  # create, update, unchanged, skip, fail, settled
    status: Status | None = None
    why: str = ""
    fields: tuple[str, ...] = ()
    before: SourceContent | None = None  # the server's content, for an update


def _listed(fields: tuple[str, ...]) -> str:
    return ", ".join(fields)


def decide(
    row: ValidRow,
    listed: ListedSource | None,
    on_exists: OnExists,
    *,
    sent: str | None = None,
) -> Decision:
    """`listed`: the source of that name as the listing shows it (None: absent);
    `sent`: the action of an earlier request of this row whose answer was lost."""
    if listed is None:
        return Decision("create")
    if row.body.get("dryRun") is True:
        sent = None  # a dryRun request persists nothing: the source listed is not its doing
    fields = tuple(differing_fields(row.body, listed))
    if not fields:
        if sent == "create":
            why = "created by an earlier request whose answer was lost (found by listing)"
            return Decision("settled", Status.CREATED, why)
        if sent == "update":
            why = "updated by an earlier request whose answer was lost (found by listing)"
            return Decision("settled", Status.UPDATED, why)
        return Decision("unchanged", Status.UNCHANGED, "exists with the same content; not sent")
    before = content_of(listed)
    other = f"exists with other content ({_listed(fields)})"
    if sent == "create":
        other = (
            "an earlier create's answer was lost and the source holds other content "
            f"({_listed(fields)})"
        )
    if on_exists == "update":
        return Decision("update", None, other, fields, before)
    if on_exists == "fail":
        return Decision("fail", Status.FAILED, f"{other} and --on-exists is fail", fields)
    return Decision("skip", Status.EXISTS, f"{other}; skipped", fields)


def settled_result(row: ValidRow, decision: Decision, attempts: int) -> RowResult:
    assert decision.status is not None
    return RowResult(
        row.row, row.name, decision.status, error=decision.why, key=row.key, attempts=attempts
    )


Lister = Callable[[], Awaitable[list[ListedSource]]]
# A row and what the listing shows under its name (None: absent) -> its decision.
Judge = Callable[[ValidRow, ListedSource | None], Decision]


@dataclass
class ListingSettler:
    """Settles creates whose answer was lost, one listing per batch of them.

    `__call__(row, attempts)` waits for the next listing and returns the row's decision, or
    None when the listing failed (the caller falls back to sending again). Rows that come
    while a listing is under way wait for the next one, so a burst of lost answers shares
    one listing.
    """

    lister: Lister
    on_exists: OnExists
    # Another rule than a create's (a rollback's delete); default: `decide` as a lost create.
    judge: Judge | None = None
    listings: int = 0
    _waiting: list[tuple[ValidRow, asyncio.Future[Decision | None]]] = field(default_factory=list)
    _runner: asyncio.Task[None] | None = None

    async def __call__(self, row: ValidRow) -> Decision | None:
        future: asyncio.Future[Decision | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((row, future))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run())
        return await future

    async def _run(self) -> None:
        while self._waiting:
            await asyncio.sleep(0)  # rows lost in the same instant join this batch
            batch, self._waiting = self._waiting, []
            try:
                self.listings += 1
                items = await self.lister()
            except (BulkSourcesError, OSError):
                items = None
            except asyncio.CancelledError:
                for _row, future in batch:
                    future.cancel()
                raise
            by_name = {str(s.get("name")): s for s in items or [] if isinstance(s, dict)}
            for row, future in batch:
                if future.done():
                    continue
                if items is None:
                    future.set_result(None)
                else:
                    future.set_result(self._judge(row, by_name.get(row.name)))

    def _judge(self, row: ValidRow, listed: ListedSource | None) -> Decision:
        if self.judge is not None:
            return self.judge(row, listed)
        return decide(row, listed, self.on_exists, sent="create")

    async def close(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
