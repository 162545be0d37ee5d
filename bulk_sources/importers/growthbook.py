"""GrowthBook's experiment assignment queries -> Statsig assignment sources.

Two shapes are read (docs/import.md shows both): a self-hosted `config.yml`
(`datasources.<id>.settings.queries.exposure[]`, `settings.userIdTypes`) and the REST API's
data sources (`GET /api/v1/data-sources` pages with `dataSources[]`, `GET .../{id}` with
`dataSource`, or one data source). Only the queries and their settings are read: a data
source's `params` (its credentials) are never looked at, so never copied.

GrowthBook's SQL must return the id type's column (named as the id type), `timestamp`,
`experiment_id`, `variation_id`, and `variation_name` with name columns on; those are the
fixed column names the imported source maps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CatalogError, UsageError
from .dialects import checked_dialect, dialect_for
from .files import Loaded, listed, load, text_field
from .handlebars import translate, why_not
from .model import ImportedRow, ImportResult, parse_id_map, unmapped_error
from .naming import Names

DEFAULT_TAG = "imported-from-growthbook"
NON_SQL_TYPES = frozenset({"google_analytics", "mixpanel"})


@dataclass
class Query:
    id: str
    name: str
    description: str
    id_type: str
    sql: str
    name_columns: bool
    dimensions: list[str]


@dataclass
class DataSource:
    file: Path
    id: str
    type: str
    queries: list[Query] = field(default_factory=list)
    identity_joins: int = 0
    legacy_query: bool = False


def _shape_error(path: Path, document: Any) -> CatalogError:
    if isinstance(document, dict) and "data" in document:
        return CatalogError(
            f"{path} looks like a Datadog JSON:API answer, not GrowthBook's; use "
            "`bulk-sources import datadog`"
        )
    return CatalogError(
        f"{path} is neither a GrowthBook config.yml (with `datasources:`) nor a GrowthBook "
        "REST answer (`dataSources[]`, `dataSource`, or one data source with "
        "`assignmentQueries`)"
    )


# The REST API renames config.yml's fields (GrowthBook's docs: userIdType -> identifierType,
# query -> sql, hasNameCol -> includesNameColumns, dimensions -> dimensionColumns); one reader
# takes either spelling so the two shapes cannot drift apart.
_REST_FIELDS = (
    "assignment query",
    "an object",
    "identifierType",
    "sql",
    "includesNameColumns",
    "dimensionColumns",
)
_CONFIG_FIELDS = ("exposure query", "a mapping", "userIdType", "query", "hasNameCol", "dimensions")


def _query(raw: Any, file: Path, where: str, fields: tuple[str, ...]) -> Query:
    what, kind, id_type, sql, name_col, dims = fields
    if not isinstance(raw, dict):
        raise CatalogError(f"{file}: {where}: an {what} is not {kind}")
    qid = str(raw.get("id") or "?")
    place = f"{where}, query {qid}"
    return Query(
        id=qid,
        name=text_field(raw.get("name"), file, place, "name"),
        description=str(raw.get("description") or ""),
        id_type=text_field(raw.get(id_type), file, place, id_type),
        sql=text_field(raw.get(sql), file, place, sql),
        name_columns=raw.get(name_col) is True,
        dimensions=[str(d) for d in listed(raw.get(dims))],
    )


def _rest_query(raw: Any, file: Path, where: str) -> Query:
    return _query(raw, file, where, _REST_FIELDS)


def _config_query(raw: Any, file: Path, where: str) -> Query:
    return _query(raw, file, where, _CONFIG_FIELDS)


def _from_rest(raw: Any, file: Path) -> DataSource:
    if not isinstance(raw, dict):
        raise CatalogError(f"{file}: an entry of `dataSources` is not an object")
    ds_id = str(raw.get("id") or "?")
    where = f"data source {ds_id}"
    queries = raw.get("assignmentQueries") or []
    if not isinstance(queries, list):
        raise CatalogError(f"{file}: {where}: `assignmentQueries` is not a list")
    return DataSource(
        file,
        ds_id,
        str(raw.get("type") or ""),
        [_rest_query(q, file, where) for q in queries],
        identity_joins=len(listed(raw.get("identifierJoinQueries"))),
    )


def _from_config(ds_id: str, raw: Any, file: Path) -> DataSource:
    where = f"data source {ds_id}"
    if not isinstance(raw, dict):
        raise CatalogError(f"{file}: {where} is not a mapping")
    settings = raw.get("settings") or {}
    queries = (settings.get("queries") or {}) if isinstance(settings, dict) else {}
    if not isinstance(queries, dict):
        raise CatalogError(f"{file}: {where}: `settings.queries` is not a mapping")
    exposure = queries.get("exposure") or []
    if not isinstance(exposure, list):
        raise CatalogError(f"{file}: {where}: `settings.queries.exposure` is not a list")
    return DataSource(
        file,
        ds_id,
        str(raw.get("type") or ""),
        [_config_query(q, file, where) for q in exposure],
        identity_joins=len(listed(queries.get("identityJoins"))),
        legacy_query=bool(queries.get("experimentsQuery")),
    )


def data_sources(loaded: Loaded) -> list[DataSource]:
    doc, path = loaded.document, loaded.path
    if isinstance(doc, dict) and isinstance(doc.get("datasources"), dict):
        return [_from_config(str(k), v, path) for k, v in doc["datasources"].items()]
    if isinstance(doc, dict) and isinstance(doc.get("dataSources"), list):
        return [_from_rest(d, path) for d in doc["dataSources"]]
    if isinstance(doc, dict) and isinstance(doc.get("dataSource"), dict):
        return [_from_rest(doc["dataSource"], path)]
    if isinstance(doc, dict) and "assignmentQueries" in doc:
        return [_from_rest(doc, path)]
    raise _shape_error(path, doc)


def _chosen(sources: list[DataSource], datasource: str | None) -> list[DataSource]:
    if datasource is None:
        return sources
    picked = [s for s in sources if s.id == datasource]
    if not picked:
        known = ", ".join(sorted({s.id for s in sources})) or "none"
        raise UsageError(f"--datasource {datasource!r} is not in the file(s) (found: {known})")
    return picked


def read_growthbook(
    paths: Path | str | Sequence[Path | str],
    id_map: str | Mapping[str, str] | Iterable[str] | None = None,
    *,
    datasource: str | None = None,
    prefix: str | None = None,
    tag: str = DEFAULT_TAG,
    environ: Mapping[str, str] | None = None,
    dialect: str | None = None,
) -> ImportResult:
    """Every assignment query of the file(s) as one catalog row; nothing is sent anywhere.

    `prefix` is put before every name; `{datasource}` in it stands for the data source id.
    Each row's `_dialect` is its data source type's sqlglot dialect, or `dialect` when given.
    """
    dialect = checked_dialect(dialect)
    files = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    loaded = [load(p, environ=environ) for p in files]
    result = ImportResult("growthbook", [str(p) for p in files])
    seen: set[tuple[str, str]] = set()
    sources: list[DataSource] = []
    for one in loaded:
        for source in data_sources(one):
            if (source.id, source.type) not in seen:  # the same data source on two pages
                seen.add((source.id, source.type))
                sources.append(source)
    sources = _chosen(sources, datasource)
    mapping = parse_id_map(id_map)
    _check_mapped(sources, mapping)
    unset = sorted({v for one in loaded for v in one.unset})
    names = Names()
    for source in sources:
        before = len(result.rows)
        _add_source(result, source, mapping, names, prefix, tag, unset)
        if source.type not in NON_SQL_TYPES:
            _set_dialect(result, result.rows[before:], source, dialect)
    used = {v for r in result.rows for v in unset if "${" + v + "}" in r.body["sql"]}
    result.unset_variables = [
        f"{v} (used by an imported query)" if v in used else f"{v} (not in any imported query)"
        for v in unset
    ]
    return result


def _set_dialect(
    result: ImportResult, rows: list[ImportedRow], source: DataSource, given: str | None
) -> None:
    """Every row of `source` gets its dialect, and the summary a line saying why."""
    found = dialect_for(source.type) if source.type else None
    if given is not None:
        chosen = given
        why = f"--dialect {given}" + (f" (its type is {source.type})" if source.type else "")
    elif found is not None:
        chosen, why = found, f"from its type {source.type}"
    else:
        chosen = None
        why = (
            f"its type {source.type} has no sqlglot dialect" if source.type else "it has no type"
        ) + ": checked dialect-neutral; import with --dialect NAME to choose one"
    for row in rows:
        row.dialect = chosen
    shown = chosen or "none"
    result.dialect_notes.append(f"data source {source.id}: {shown} ({why})")


def _check_mapped(sources: list[DataSource], mapping: Mapping[str, str]) -> None:
    missing: dict[str, list[str]] = {}
    for source in sources:
        if source.type in NON_SQL_TYPES:
            continue
        if not source.queries:
            hint = (
                " (it has only the old `experimentsQuery`: open it once in GrowthBook to "
                "upgrade it)"
                if source.legacy_query
                else ""
            )
            raise CatalogError(
                f"{source.file}: data source {source.id} has no assignment queries{hint}; "
                "pick another with --datasource"
            )
        for q in source.queries:
            if q.id_type not in mapping:
                missing.setdefault(q.id_type, []).append(f"{source.id}/{q.id}")
    if missing:
        raise unmapped_error(", ".join(sorted({str(s.file) for s in sources})), missing)


def _add_source(
    result: ImportResult,
    source: DataSource,
    mapping: Mapping[str, str],
    names: Names,
    prefix: str | None,
    tag: str,
    unset: list[str],
) -> None:
    if source.type in NON_SQL_TYPES:
        result.skipped.append(f"data source {source.id}: type {source.type} has no SQL queries")
        return
    if source.type:
        result.dialects[source.id] = source.type
    if source.identity_joins:
        result.not_carried.append(
            f"data source {source.id}: {source.identity_joins} identity join(s)"
        )
    for q in source.queries:
        result.rows.append(_row(result, source, q, mapping, names, prefix, tag, unset))


def _row(
    result: ImportResult,
    source: DataSource,
    q: Query,
    mapping: Mapping[str, str],
    names: Names,
    prefix: str | None,
    tag: str,
    unset: list[str],
) -> ImportedRow:
    place = f"{source.id} / {q.id}"
    wanted = (prefix or "").replace("{datasource}", source.id) + q.name
    name, renamed = names.take(wanted)
    done = translate(q.sql)
    body: dict[str, Any] = {
        "name": name,
        "description": q.description or None,
        "sql": done.sql,
        "timestampColumn": "timestamp",
        "experimentIDColumn": "experiment_id",
        "groupIDColumn": "variation_id",
        "groupNameColumn": "variation_name" if q.name_columns else None,
        "idTypeMapping": [{"statsigUnitID": mapping[q.id_type], "column": q.id_type}],
        "tags": [tag],
    }
    row = ImportedRow(place, body)
    if renamed:
        result.renamed.append(f"{place}: {renamed}")
        row.info.append(renamed)
    if done.translated:
        result.translated.extend(f"{place}: {t}" for t in done.translated)
        row.info.append("translated " + ", ".join(done.translated))
    row.info.extend(done.caveats)
    row.edit.extend(why_not(tag_) for tag_ in done.untranslatable)
    row.edit.extend(
        f"${{{v}}} is unset in the environment" for v in unset if "${" + v + "}" in done.sql
    )
    if q.dimensions:
        result.not_carried.append(f"{place}: dimension column(s) {', '.join(q.dimensions)}")
    if q.name_columns:
        result.not_carried.append(f"{place}: the experiment_name column")
    return row
