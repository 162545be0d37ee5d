"""The assignment sources the fake server holds, and the answers for what can go wrong with them."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from ..models import AssignmentSourceCreate, AssignmentSourcePartialUpdate, AssignmentSourceUpdate

NOT_FOUND = "Not Found. The requested resource could not be found."
# Undocumented for assignment sources; other entities say this. Configurable, so tests can
# show the tool does not depend on it.
DUPLICATE_MESSAGE = "Name is already in use: {name}"


class ApiError(Exception):
    """An answer other than success, with the spec's `{status, message}` body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class DuplicateName(ApiError):
    def __init__(self, name: str, template: str = DUPLICATE_MESSAGE) -> None:
        super().__init__(400, template.format(name=name))


def _stored_fields(body: dict[str, Any]) -> dict[str, Any]:
    # dryRun is an instruction for this request, not part of the source.
    return {k: v for k, v in body.items() if k != "dryRun"}


class SourceStore:
    """Sources by name (case-sensitive), in creation order; a rename keeps the position."""

    def __init__(
        self,
        duplicate_message: str = DUPLICATE_MESSAGE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sources: dict[str, dict[str, Any]] = {}
        self.duplicate_message = duplicate_message
        self._clock = clock
        self.born: dict[str, float] = {}  # name -> when it was created (the listing's lag)

    def create(self, body: AssignmentSourceCreate) -> tuple[dict[str, Any], bool]:
        """The new source and whether it was stored (a dry run validates only)."""
        if body.name in self.sources:
            raise DuplicateName(body.name, self.duplicate_message)
        source = _stored_fields(body.to_body())
        source.setdefault("description", "")
        source.setdefault("tags", [])
        if body.dryRun:
            return source, False
        self.sources[body.name] = source
        self.born[body.name] = self._clock()
        return source, True

    def update(
        self, name: str, body: AssignmentSourceUpdate | AssignmentSourcePartialUpdate
    ) -> tuple[dict[str, Any], bool]:
        """Full (POST) or partial (PATCH) update; fields the body leaves out stay as they were."""
        current = self.sources.get(name)
        if current is None:
            raise ApiError(404, NOT_FOUND)
        fields = _stored_fields(body.to_body())
        new_name = fields.get("name", name)
        if new_name != name and new_name in self.sources:
            raise DuplicateName(new_name, self.duplicate_message)
        updated = {**current, **fields, "name": new_name}
        if body.dryRun:
            return updated, False
        if new_name == name:
            self.sources[name] = updated
        else:
            # In place, so whoever holds `sources` keeps seeing the live dict.
            items = [(new_name, updated) if k == name else (k, v) for k, v in self.sources.items()]
            self.sources.clear()
            self.sources.update(items)
        return updated, True

    def delete(self, name: str) -> None:
        if self.sources.pop(name, None) is None:
            raise ApiError(404, NOT_FOUND)

    def listed(
        self, lag: float = 0.0, hidden: frozenset[str] = frozenset()
    ) -> list[dict[str, Any]]:
        """What a listing shows: all sources, but those younger than `lag` seconds and the
        `hidden` names (the listing's misbehaviours, ListingFaults)."""
        if not lag and not hidden:
            return list(self.sources.values())
        now = self._clock()
        return [
            s
            for name, s in self.sources.items()
            if name not in hidden and now - self.born.get(name, -math.inf) >= lag
        ]

    def clear(self) -> None:
        self.sources.clear()

    def load(self, sources: list[dict[str, Any]]) -> None:
        self.sources.clear()
        self.sources.update((s["name"], s) for s in sources)
