"""Export: every assignment source of the project as a catalog in the tool's own format.

GETs only (the listing), so it spends none of the mutation budget. The columns are `name`
and the creation model's fields (a field added to the model is exported without a change
here); each listed source goes through the creation model, so nested objects keep only
the keys a catalog accepts. Cells use the catalog's own spellings: text as is, booleans
`true`/`false`, numbers as digits, lists and objects as JSON. An empty value is an empty
cell (not sent on submit). Cells are not neutralised for spreadsheets: the file is input
for `submit`, and a leading `=` in SQL must stay.

`export -> submit` to another project recreates the same sources; `export -> submit
--on-exists update` to the same project plans every row `unchanged`.

cli/export.py is the command over it (the same idea one layer up).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import ValidationError

from ..api.apikey import ApiKey
from ..catalog.excel import write_text_workbook
from ..errors import UsageError
from ..fileio import atomic_write
from ..models import AssignmentSourceCreate, ListedSource
from .plan.compare import COMPARED_FIELDS
from .plan.existing import list_existing
from .resources import open_client
from .settings import SubmitSettings

EXPORT_COLUMNS = ("name", *COMPARED_FIELDS)
_PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")


async def list_sources(settings: SubmitSettings, api_key: ApiKey) -> list[ListedSource]:
    async with open_client(settings, api_key, None) as client:
        # A refused key is said as every command says it (exit 2), not as a stopped listing.
        await client.check_key()
        return await list_existing(client, settings)


def _clean(source: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return AssignmentSourceCreate.model_validate(dict(source)).to_body()
    except ValidationError:
        # Something a create would refuse (it came from the server, so rare): exported as
        # listed, and submit names the problem instead of the export hiding the row.
        return {k: v for k, v in source.items() if k in EXPORT_COLUMNS}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    if not value:
        return ""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def catalog_rows(sources: Iterable[Mapping[str, Any]]) -> list[list[str]]:
    rows = []
    for source in sources:
        body = _clean(source)
        rows.append([_cell(body.get(column)) for column in EXPORT_COLUMNS])
    return rows


def write_csv(rows: list[list[str]], handle: IO[str]) -> None:
    writer = csv.writer(handle)
    writer.writerow(EXPORT_COLUMNS)
    writer.writerows(rows)


def write_export(rows: list[list[str]], path: Path) -> Path:
    """CSV, Parquet (.parquet/.pq/.parq) or an Excel workbook (.xlsx) by the name; written
    then renamed."""
    try:
        if path.suffix.lower() == ".xlsx":
            with atomic_write(path, "wb") as binary:
                write_text_workbook(EXPORT_COLUMNS, rows, binary)
        elif path.suffix.lower() in _PARQUET_SUFFIXES:
            columns = {
                c: pa.array([r[i] or None for r in rows], type=pa.string())
                for i, c in enumerate(EXPORT_COLUMNS)
            }
            with atomic_write(path, "wb") as binary:
                pq.write_table(pa.table(columns), binary)
        else:
            with atomic_write(path) as handle:
                write_csv(rows, handle)
    except OSError as exc:
        raise UsageError(
            f"can't write {path} ({exc.strerror or exc}); choose a writable --output"
        ) from None
    return path
