"""One planned row on its way through the executor: what to send and what its attempts learnt.

Kept apart from the executor (and free of aiohttp) so the pure planner can build tasks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ...catalog.validation import ValidRow

if TYPE_CHECKING:
    from ...api.client import Answer

# delete and restore are a rollback's (run/rollback/).
Action = Literal["create", "update", "delete", "restore"]


@dataclass
class Task:
    row: ValidRow
    action: Action
    attempts: int = 0
    # An earlier create of this row may have reached the server (no answer, or a 5xx), in
    # this run or an earlier one: an "already in use" answer then means that create made it.
    maybe_sent: bool = False
    last: Answer | None = None
    # Some attempt of this run may have taken effect: it got no answer, a 5xx, or was in
    # flight when the run stopped. A row that never reached the server is not_attempted.
    reached: bool = False
    # Loop time of the first refused connection in the row's current run of refusals.
    refused_since: float | None = None
