"""A rollback's unit ID types: delete the ones the undone run created, and only those no
source still maps.

Which types a run created is what its journal says (`unit_type` events with action
`created`): a type it found present, or whose create lost its answer and then came back
"in use", is never deleted. Whether a source still maps one is what the listing says after
the rows are undone (GETs); a source anyone made since that maps it keeps it alive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...api.answers import AnswerKind
from ...catalog.unitcheck import mapped_types
from ...errors import RunStopped
from ..plan.existing import list_existing
from ..plan.projectunits import JOURNAL_EVENT, send_with_budget
from ..resources import RunResources


@dataclass
class UnitUndo:
    """What the rollback did with the types the run created."""

    deleted: list[str] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)  # type -> why it stays
    requests: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"deleted": list(self.deleted), "kept": dict(self.kept), "requests": self.requests}


async def undo_unit_types(res: RunResources, created: list[str]) -> UnitUndo:
    """After the rows are undone: list the sources, delete each created type none maps."""
    out = UnitUndo()
    if not created:
        return out
    try:
        listed = await list_existing(res.client, res.settings)
    except RunStopped as exc:
        out.kept = {name: f"not deleted: could not list the sources ({exc})" for name in created}
        return out
    users: dict[str, list[str]] = {}
    for source in listed:
        for name in mapped_types(source):
            users.setdefault(name, []).append(str(source.get("name")))
    for name in created:
        if name in users:
            shown = ", ".join(users[name][:3]) + (" ..." if len(users[name]) > 3 else "")
            out.kept[name] = f"still mapped by {len(users[name])} sources ({shown})"
            continue
        await _delete(res, name, out)
    return out


async def _delete(res: RunResources, name: str, out: UnitUndo) -> None:
    answer, requests = await send_with_budget(
        res.budget,
        res.journal,
        {"name": name, "action": "delete"},
        lambda: res.client.delete_unit_type(name),
        res.settings.max_attempts,
    )
    out.requests += requests
    if answer.kind is AnswerKind.OK or answer.status == 404:  # 404: gone already
        out.deleted.append(name)
        res.journal.event(JOURNAL_EVENT, name=name, action="deleted")
    else:
        out.kept[name] = f"delete failed: {answer.message}"
        res.journal.event(JOURNAL_EVENT, name=name, action="delete_failed", error=answer.message)
