"""Request and response models of the assignment-source endpoints, written from `spec/`.

Field names are the spec's own (camelCase). The models are strict: the server stand-in
uses them to refuse what the real API refuses, and the catalog reader decodes cells into
real Python types before validating, so nothing relies on pydantic's coercion.

`tests/test_models_spec.py` compares every model with the spec files field by field.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Self, TypedDict

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

# Required text is trimmed and must be non-empty: Statsig would store a blank name or SQL
# and the user would only find out in the console.
RequiredText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
# An hour of the day; strict, so `true` or `"11"` are refused rather than read as a number.
ReloadHour = Annotated[int, Field(ge=0, le=23)]


class _Model(BaseModel):
    # Unknown fields are ignored (the spec does not forbid them); types are never coerced.
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    def to_body(self) -> dict[str, Any]:
        """The JSON body with only the given fields: never `null`, never `""` for absent."""
        return self.model_dump(mode="json", exclude_unset=True, exclude_none=True)


class IdTypeMappingJson(TypedDict):
    statsigUnitID: str
    column: str


class ListedSource(TypedDict, total=False):
    """One assignment source as the API holds it: a listing item, or a create's or an
    update's answer (`data`). AssignmentSourceContract's fields, and the creation fields a
    server may echo (tests/test_models_spec.py keeps them in step); not validated: read,
    never sent, and the server may add more."""

    name: str
    description: str | None
    isVerified: bool | None
    tags: list[str] | None
    sql: str
    timestampColumn: str
    experimentIDColumn: str
    groupIDColumn: str
    groupNameColumn: str | None
    idTypeMapping: list[IdTypeMappingJson]
    isReadOnly: bool | None
    owner: dict[str, Any] | None
    team: str | None
    teamID: str | None
    scheduledReloadHour: int | None


# A source's content: a ListedSource's fields without its name, what an update replaced
# and a rollback restores. Built by walking the model's field names (run/plan/compare.py),
# which a TypedDict can't be indexed by, so it stays a mapping by name.
SourceContent = dict[str, Any]


class IdTypeMapping(_Model):
    statsigUnitID: RequiredText
    column: RequiredText


class Owner(_Model):
    ownerID: str | None = None
    ownerType: str | None = None
    ownerName: str | None = None
    ownerEmail: str | None = None


def _check_id_type_mapping(mappings: list[IdTypeMapping]) -> None:
    if not mappings:
        raise ValueError("idTypeMapping needs at least one entry")
    seen: set[str] = set()
    for mapping in mappings:
        if mapping.statsigUnitID in seen:
            raise ValueError(f"idTypeMapping maps unit ID {mapping.statsigUnitID!r} twice")
        seen.add(mapping.statsigUnitID)


class _SourceBody(_Model):
    """The fields the creation and the full-update bodies share; they differ only in `name`."""

    description: str | None = None
    isVerified: bool | None = None
    tags: list[str] | None = None
    sql: RequiredText
    timestampColumn: RequiredText
    experimentIDColumn: RequiredText
    groupIDColumn: RequiredText
    groupNameColumn: str | None = None
    idTypeMapping: list[IdTypeMapping]
    isReadOnly: bool | None = None
    owner: Owner | None = None
    team: str | None = None
    teamID: str | None = None
    scheduledReloadHour: ReloadHour | None = None
    dryRun: bool | None = None

    @model_validator(mode="after")
    def _mapping_rules(self) -> Self:
        _check_id_type_mapping(self.idTypeMapping)
        return self


class AssignmentSourceCreate(_SourceBody):
    """Body of `POST /console/v1/experiments/assignment_sources` (AssignmentSourceCreationDto)."""

    name: RequiredText


class AssignmentSourceUpdate(_SourceBody):
    """Body of the full update `POST .../assignment_source/{name}` (AssignmentSourceQueryUpdateDto).

    `name` here renames the source.
    """

    name: RequiredText | None = None


class AssignmentSourcePartialUpdate(_Model):
    """Body of `PATCH .../assignment_source/{name}`; `sql` is read-only there."""

    name: RequiredText | None = None
    description: str | None = None
    isVerified: bool | None = None
    tags: list[str] | None = None
    timestampColumn: RequiredText | None = None
    experimentIDColumn: RequiredText | None = None
    groupIDColumn: RequiredText | None = None
    idTypeMapping: list[IdTypeMapping] | None = None
    isReadOnly: bool | None = None
    owner: Owner | None = None
    team: str | None = None
    teamID: str | None = None
    dryRun: bool | None = None


class AssignmentSourceContract(BaseModel):
    """What the API answers with (AssignmentSourceContractDto). Lenient: it is read, not sent."""

    model_config = ConfigDict(extra="allow")

    name: str
    description: str
    tags: list[str]
    sql: str
    timestampColumn: str
    experimentIDColumn: str
    groupIDColumn: str
    idTypeMapping: list[IdTypeMapping]
    isVerified: bool | None = None
    isReadOnly: bool | None = None
    owner: Owner | None = None
    team: str | None = None
    teamID: str | None = None


class Pagination(BaseModel):
    model_config = ConfigDict(extra="allow")

    itemsPerPage: float
    pageNumber: float
    nextPage: str | None
    previousPage: str | None
    totalItems: float | None = None
    all: str | None = None


class ListPage(BaseModel):
    model_config = ConfigDict(extra="allow")

    message: str
    data: list[AssignmentSourceContract] = Field(default_factory=list)
    pagination: Pagination


def full_update_body(create_body: dict[str, Any]) -> dict[str, Any]:
    """The full update that makes an existing source equal to a creation body. The path
    names the source; a `name` in the body would rename it."""
    return {key: value for key, value in create_body.items() if key != "name"}


def canonical_json(body: dict[str, Any]) -> str:
    """One spelling per body: sorted keys, no whitespace, so equal content gives equal text."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_key(body: dict[str, Any]) -> str:
    """A row's identity by content (not position): survives reordering and filtering."""
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()[:32]
