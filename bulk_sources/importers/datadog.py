"""Datadog Experiments' exposure SQL models -> Statsig assignment sources.

Reads the JSON:API answers of `GET /api/v2/experiments/exposure-sql-models` (a list page,
`data[]`, or one model, `data{}`), one file or several pages. A model names its own columns
(`experiment_column`, `variant_column`, `timestamp_column`) and its subject types'
(`subject_types[{subject_type_id, column_name}]`); `--id-map` maps a subject type, by its id
or by its column, to a Statsig unit ID type.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import CatalogError, UsageError
from .dialects import checked_dialect
from .files import Loaded, listed, load, text_field
from .model import ImportedRow, ImportResult, parse_id_map, unmapped_error
from .naming import Names

DEFAULT_TAG = "imported-from-datadog"
MODEL_TYPE = "exposure-sql-models"


def _models(loaded: Loaded) -> list[tuple[str, dict[str, Any]]]:
    doc, path = loaded.document, loaded.path
    data = doc.get("data") if isinstance(doc, dict) else None
    items = [data] if isinstance(data, dict) else data
    if not isinstance(items, list):
        if isinstance(doc, dict) and ("datasources" in doc or "dataSources" in doc):
            raise CatalogError(
                f"{path} is a GrowthBook file, not Datadog's; use `bulk-sources import growthbook`"
            )
        raise CatalogError(
            f"{path} is not a Datadog exposure SQL models answer (a JSON:API document with "
            "`data` from /api/v2/experiments/exposure-sql-models)"
        )
    out = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("attributes"), dict):
            raise CatalogError(f"{path}: an entry of `data` has no `attributes` object")
        kind = item.get("type", MODEL_TYPE)
        if kind != MODEL_TYPE:
            raise CatalogError(
                f"{path} holds `{kind}` resources, not `{MODEL_TYPE}`; export the exposure "
                "SQL models"
            )
        out.append((str(item.get("id") or "?"), item["attributes"]))
    return out


def _unit(subject: Any, mapping: Mapping[str, str]) -> str | None:
    return mapping.get(str(subject.get("subject_type_id"))) or mapping.get(
        str(subject.get("column_name"))
    )


def read_datadog(
    paths: Path | str | Sequence[Path | str],
    id_map: str | Mapping[str, str] | Iterable[str] | None = None,
    *,
    include_archived: bool = False,
    prefix: str | None = None,
    tag: str = DEFAULT_TAG,
    dialect: str | None = None,
) -> ImportResult:
    """Every (unarchived) exposure SQL model as one catalog row; nothing is sent anywhere.

    A model names no warehouse, so the rows' `_dialect` is `dialect` (None: left empty).
    """
    dialect = checked_dialect(dialect)
    if prefix and "{datasource}" in prefix:
        raise UsageError("--prefix {datasource} is for GrowthBook; Datadog has no data sources")
    files = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    result = ImportResult("datadog", [str(p) for p in files])
    mapping = parse_id_map(id_map)
    models: list[tuple[Path, str, dict[str, Any]]] = []
    seen: set[str] = set()
    for path in files:
        for model_id, attributes in _models(load(path)):
            if model_id in seen and model_id != "?":
                continue  # the same model on two pages
            seen.add(model_id)
            if attributes.get("archived_at") and not include_archived:
                result.skipped.append(f"model {model_id}: archived (--include-archived)")
                continue
            models.append((path, model_id, attributes))
    _check(models, mapping)
    names = Names()
    for path, model_id, attributes in models:
        result.rows.append(_row(result, path, model_id, attributes, mapping, names, prefix, tag))
    for row in result.rows:
        row.dialect = dialect
    if result.rows:
        result.dialect_notes.append(
            f"every model: {dialect} (--dialect {dialect})"
            if dialect
            else "none: Datadog's models name no warehouse, so the SQL is checked "
            "dialect-neutral; import with --dialect NAME (snowflake, bigquery, ...) to choose one"
        )
    return result


def _check(models: list[tuple[Path, str, dict[str, Any]]], mapping: Mapping[str, str]) -> None:
    missing: dict[str, list[str]] = {}
    for path, model_id, attributes in models:
        subjects = attributes.get("subject_types")
        if not isinstance(subjects, list) or not subjects:
            raise CatalogError(f"{path}: model {model_id}: `subject_types` is empty or missing")
        for subject in subjects:
            if not isinstance(subject, dict):
                raise CatalogError(f"{path}: model {model_id}: a subject type is not an object")
            text_field(subject.get("column_name"), path, f"model {model_id}", "column_name")
            if _unit(subject, mapping) is None:
                label = f"{subject.get('subject_type_id')} (column {subject['column_name']})"
                missing.setdefault(label, []).append(model_id)
    if missing:
        files = ", ".join(sorted({str(p) for p, _, _ in models}))
        raise unmapped_error(files, missing)


def _row(
    result: ImportResult,
    path: Path,
    model_id: str,
    attributes: dict[str, Any],
    mapping: Mapping[str, str],
    names: Names,
    prefix: str | None,
    tag: str,
) -> ImportedRow:
    place = f"model {model_id}"
    wanted = text_field(attributes.get("name"), path, place, "name")
    name, renamed = names.take((prefix or "") + wanted)
    columns = {
        key: text_field(attributes.get(key), path, place, key)
        for key in ("timestamp_column", "experiment_column", "variant_column")
    }
    body = {
        "name": name,
        "sql": text_field(attributes.get("sql"), path, place, "sql"),
        "timestampColumn": columns["timestamp_column"],
        "experimentIDColumn": columns["experiment_column"],
        "groupIDColumn": columns["variant_column"],
        "idTypeMapping": [
            {"statsigUnitID": _unit(s, mapping), "column": s["column_name"]}
            for s in attributes["subject_types"]
        ],
        "tags": [tag],
    }
    row = ImportedRow(place, body)
    if renamed:
        result.renamed.append(f"{place}: {renamed}")
        row.info.append(renamed)
    properties = listed(attributes.get("properties"))
    if properties:
        shown = ", ".join(
            str(p.get("column_name", p)) if isinstance(p, dict) else str(p) for p in properties
        )
        result.not_carried.append(f"{place}: properties {shown}")
    if attributes.get("date_partition_column"):
        result.not_carried.append(
            f"{place}: date_partition_column {attributes['date_partition_column']}"
        )
    return row
