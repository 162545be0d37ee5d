"""The plan's vocabulary: its actions and one row's entry (light: the CLI's exit map needs it)."""

from __future__ import annotations

from dataclasses import dataclass

ACTIONS = (
    "create",
    "update",
    "unchanged",
    "skip",
    "fail",
    "invalid",
    "duplicate",
    "settled",
    "done",
    # a rollback's: send a delete or a restore; leave a changed source; nothing left to undo;
    # an updated source the listing does not show (resume lists again)
    "delete",
    "restore",
    "kept",
    "gone",
    "unknown",
)


@dataclass(frozen=True)
class PlanEntry:
    row: int
    name: str | None
    action: str
    fields: tuple[str, ...] = ()  # the fields that differ from the server's source
    note: str = ""
    changes: tuple[str, ...] = ()  # `field: old -> new`, one per differing field
    digest: str = ""  # the row's content key: a plan applied later checks the catalog by it
    warnings: tuple[str, ...] = ()  # `field: reason` of what validation warns about the row
