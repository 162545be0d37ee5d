"""The unit ID types the fake server holds, per project, and the check a create makes.

Per project (unit ID types belong to a project, not to a key), preloaded with the built-in
`userID` and `stableID` plus whatever `FakeApiConfig.unit_types` adds. Whether the real list
shows the built-ins is undocumented; the stand-in shows them, and the client treats them as
present whether listed or not.
"""

from __future__ import annotations

import re
from typing import Any

from .store import NOT_FOUND, ApiError, DuplicateName

BUILT_IN = ("userID", "stableID")
INVALID = "Invalid request"
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


class UnknownUnitTypes(ApiError):
    """A 400 whose body carries an `errors` list, as the real API's validation 400s do."""

    def __init__(self, unknown: list[str], known: list[str]) -> None:
        super().__init__(400, f"{INVALID}: unknown unit ID type")
        self.errors = [
            {
                "property": "idTypeMapping",
                "message": f"unit ID type {name!r} does not exist in this project "
                f"(it has: {', '.join(known)})",
            }
            for name in unknown
        ]


class UnitTypeStore:
    """name -> {name, description} per project, in creation order."""

    def __init__(self, extra: list[str], duplicate_message: str) -> None:
        self._preloaded = [*BUILT_IN, *(n for n in extra if n not in BUILT_IN)]
        self._duplicate_message = duplicate_message
        self.projects: dict[str, dict[str, dict[str, Any]]] = {}

    def of(self, project: str) -> dict[str, dict[str, Any]]:
        if project not in self.projects:
            self.projects[project] = {n: {"name": n, "description": ""} for n in self._preloaded}
        return self.projects[project]

    def names(self, project: str) -> list[str]:
        return list(self.of(project))

    def page(self, project: str, page: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        types = list(self.of(project).values())
        start = (page - 1) * limit
        return types[start : start + limit], len(types)

    def get(self, project: str, name: str) -> dict[str, Any]:
        found = self.of(project).get(name)
        if found is None:
            raise ApiError(404, NOT_FOUND)
        return found

    def create(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, f"{INVALID}: name must be a non-empty string")
        description = body.get("description", "")
        if description is None:
            description = ""
        if not isinstance(description, str):
            raise ApiError(400, f"{INVALID}: description must be a string")
        if not _NAME.fullmatch(name):
            # The real rule is undocumented; the reference's examples are camelCase words.
            raise ApiError(400, f"{INVALID}: name may hold only letters, digits and _")
        types = self.of(project)
        if name in types:
            raise DuplicateName(name, self._duplicate_message)
        types[name] = {"name": name, "description": description}
        return types[name]

    def update(self, project: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """PATCH: only the description changes (required, per the reference)."""
        found = self.get(project, name)
        description = body.get("description")
        if not isinstance(description, str):
            raise ApiError(400, f"{INVALID}: description is required and must be a string")
        found["description"] = description
        return found

    def delete(self, project: str, name: str) -> None:
        if name in BUILT_IN:
            raise ApiError(400, f"{INVALID}: {name} is built in and can't be deleted")
        if self.of(project).pop(name, None) is None:
            raise ApiError(404, NOT_FOUND)

    def check_mapping(self, project: str, mapping: list[Any] | None) -> None:
        """Raise UnknownUnitTypes when a mapping names a type the project lacks."""
        known = self.of(project)
        unknown = [m.statsigUnitID for m in mapping or () if m.statsigUnitID not in known]
        if unknown:
            raise UnknownUnitTypes(unknown, list(known))

    def clear(self) -> None:
        self.projects.clear()

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        return {project: list(types.values()) for project, types in self.projects.items()}

    def load(self, saved: Any) -> None:
        self.projects.clear()
        if not isinstance(saved, dict):
            return
        for project, types in saved.items():
            if isinstance(types, list):
                self.projects[str(project)] = {
                    str(t["name"]): t for t in types if isinstance(t, dict) and "name" in t
                }
