"""The models against both spec files, field by field (name, type, required): drift fails here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from bulk_sources.models import (
    AssignmentSourceContract,
    AssignmentSourceCreate,
    AssignmentSourcePartialUpdate,
    AssignmentSourceUpdate,
    ListedSource,
)

YAML_DOC = "create_assignment_source.openapi.yaml"
JSON_DOC = "assignment_sources.capi.openapi.json"

PAIRS = [
    (YAML_DOC, "AssignmentSourceCreationDto", AssignmentSourceCreate),
    (YAML_DOC, "AssignmentSourceContractDto", AssignmentSourceContract),
    (JSON_DOC, "AssignmentSourceCreationDto", AssignmentSourceCreate),
    (JSON_DOC, "AssignmentSourceContractDto", AssignmentSourceContract),
    (JSON_DOC, "AssignmentSourceQueryUpdateDto", AssignmentSourceUpdate),
    (JSON_DOC, "AssignmentSourcePartialUpdateDto", AssignmentSourcePartialUpdate),
]


def _load(spec_dir: Path, doc: str) -> dict[str, Any]:
    text = (spec_dir / doc).read_text(encoding="utf-8")
    loaded: dict[str, Any] = yaml.safe_load(text) if doc.endswith(".yaml") else json.loads(text)
    return loaded


def _spec_shape(prop: dict[str, Any], schemas: dict[str, Any]) -> Any:
    """A comparable shape: "string", "boolean", ("array", item) or ("object", {name: ...})."""
    if "$ref" in prop:
        return _spec_shape(schemas[prop["$ref"].rsplit("/", 1)[1]], schemas)
    kind = prop["type"]
    if kind == "array":
        return ("array", _spec_shape(prop["items"], schemas))
    if kind == "object":
        required = set(prop.get("required", []))
        fields = {
            name: (_spec_shape(sub, schemas), name in required)
            for name, sub in prop.get("properties", {}).items()
            if not sub.get("readOnly")
        }
        return ("object", fields)
    return kind


def _model_shape(prop: dict[str, Any], defs: dict[str, Any]) -> Any:
    if "anyOf" in prop:
        # `X | None = None` is how a model says "optional"; the null branch is not a type.
        options = [p for p in prop["anyOf"] if p.get("type") != "null"]
        assert len(options) == 1, prop
        return _model_shape(options[0], defs)
    if "$ref" in prop:
        return _model_shape(defs[prop["$ref"].rsplit("/", 1)[1]], defs)
    kind = prop["type"]
    if kind == "array":
        return ("array", _model_shape(prop["items"], defs))
    if kind == "object":
        required = set(prop.get("required", []))
        fields = {
            name: (_model_shape(sub, defs), name in required)
            for name, sub in prop.get("properties", {}).items()
        }
        return ("object", fields)
    return kind


def _model_object(model: type[BaseModel]) -> Any:
    schema = model.model_json_schema(mode="validation")
    return _model_shape(schema, schema.get("$defs", {}))


def _fields(spec_dir: Path, doc: str, schema_name: str) -> dict[str, Any]:
    schemas = _load(spec_dir, doc)["components"]["schemas"]
    fields: dict[str, Any] = _spec_shape(schemas[schema_name], schemas)[1]
    return fields


@pytest.mark.parametrize(("doc", "schema_name", "model"), PAIRS)
def test_model_matches_spec(
    spec_dir: Path, doc: str, schema_name: str, model: type[BaseModel]
) -> None:
    spec_fields = _fields(spec_dir, doc, schema_name)
    _, model_fields = _model_object(model)
    expected = set(spec_fields)
    if doc == YAML_DOC:
        # The older document lacks the optional fields the newer one added (team, teamID,
        # dryRun); the models follow the newer one, and only by those fields.
        expected |= set(_fields(spec_dir, JSON_DOC, schema_name)) - set(spec_fields)
    assert sorted(model_fields) == sorted(expected), "field names differ"
    for name, (spec_shape, spec_required) in spec_fields.items():
        model_shape, model_required = model_fields[name]
        assert model_shape == spec_shape, f"{schema_name}.{name}: type differs"
        assert model_required == spec_required, f"{schema_name}.{name}: required differs"


def test_both_docs_agree_on_the_create_body(spec_dir: Path) -> None:
    yaml_schemas = _load(spec_dir, YAML_DOC)["components"]["schemas"]
    json_schemas = _load(spec_dir, JSON_DOC)["components"]["schemas"]
    old = _spec_shape(yaml_schemas["AssignmentSourceCreationDto"], yaml_schemas)[1]
    new = _spec_shape(json_schemas["AssignmentSourceCreationDto"], json_schemas)[1]
    # The newer document only adds optional fields; nothing the older one has changed.
    assert {k: v for k, v in new.items() if k in old} == old
    assert all(not required for k, (_, required) in new.items() if k not in old)


MINIMAL = {
    "name": "exposures_a",
    "sql": "SELECT 1",
    "timestampColumn": "ts",
    "experimentIDColumn": "exp",
    "groupIDColumn": "grp",
    "idTypeMapping": [{"statsigUnitID": "userID", "column": "user_id"}],
}


def test_to_body_sends_only_given_fields() -> None:
    body = AssignmentSourceCreate.model_validate(MINIMAL).to_body()
    assert body == MINIMAL
    assert None not in body.values()
    assert "" not in body.values()


def test_to_body_keeps_given_optional_fields() -> None:
    given = {**MINIMAL, "tags": [], "isVerified": False, "owner": {"ownerID": "u1"}}
    body = AssignmentSourceCreate.model_validate(given).to_body()
    assert body == given
    assert "ownerType" not in body["owner"]


def test_required_text_is_trimmed_and_must_not_be_blank() -> None:
    body = AssignmentSourceCreate.model_validate({**MINIMAL, "name": "  a  "}).to_body()
    assert body["name"] == "a"
    with pytest.raises(ValueError):
        AssignmentSourceCreate.model_validate({**MINIMAL, "sql": "   "})


def test_the_listed_source_shape_is_the_contract_and_what_a_create_may_echo() -> None:
    shape = set(ListedSource.__annotations__)
    assert set(AssignmentSourceContract.model_fields) <= shape
    assert shape <= set(AssignmentSourceCreate.model_fields) - {"dryRun"}
