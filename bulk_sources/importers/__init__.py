"""Imports from other experimentation platforms into a catalog (GrowthBook, Datadog).

    from bulk_sources import import_growthbook, validate_frame
    frame = import_growthbook("config.yml", id_map="user_id=userID,anonymous_id=stableID")
    frame.attrs["import_summary"]       # what was carried, translated and left behind
    validate_frame(frame)               # the same rules as a catalog file
    import_growthbook("config.yml", id_map={...}, output="catalog.csv")  # also writes it

Nothing here sends anything: an import only reads files and writes the catalog.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .datadog import DEFAULT_TAG as DATADOG_TAG
from .datadog import read_datadog
from .growthbook import DEFAULT_TAG as GROWTHBOOK_TAG
from .growthbook import read_growthbook
from .model import ImportResult
from .write import write_catalog

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DATADOG_TAG",
    "GROWTHBOOK_TAG",
    "ImportResult",
    "import_datadog",
    "import_growthbook",
    "read_datadog",
    "read_growthbook",
    "write_import",
]

Paths = Path | str | Sequence[Path | str]
IdMap = str | Mapping[str, str] | Iterable[str] | None


def write_import(result: ImportResult, path: Path | str) -> Path:
    """Write the import's catalog by the suffix (.csv, .parquet, .xlsx); never over an input."""
    return write_catalog(result.cells(), Path(path), [Path(p) for p in result.files])


def _done(result: ImportResult, output: Path | str | None) -> pd.DataFrame:
    if output is not None:
        write_import(result, output)
    frame = result.frame()
    frame.attrs["import_summary"] = result.summary()
    return frame


def import_growthbook(
    paths: Paths,
    id_map: IdMap = None,
    *,
    output: Path | str | None = None,
    datasource: str | None = None,
    prefix: str | None = None,
    tag: str | None = None,
    dialect: str | None = None,
) -> pd.DataFrame:
    """GrowthBook's assignment queries (config.yml or REST JSON) as a catalog DataFrame.

    Each row's `_dialect` comes from its data source's type (or `dialect`); validation uses it.
    """
    result = read_growthbook(
        paths,
        id_map,
        datasource=datasource,
        prefix=prefix,
        tag=tag or GROWTHBOOK_TAG,
        dialect=dialect,
    )
    return _done(result, output)


def import_datadog(
    paths: Paths,
    id_map: IdMap = None,
    *,
    output: Path | str | None = None,
    include_archived: bool = False,
    prefix: str | None = None,
    tag: str | None = None,
    dialect: str | None = None,
) -> pd.DataFrame:
    """Datadog's exposure SQL models (JSON:API answers) as a catalog DataFrame (models name no
    warehouse: `dialect` sets every row's `_dialect`)."""
    result = read_datadog(
        paths,
        id_map,
        include_archived=include_archived,
        prefix=prefix,
        tag=tag or DATADOG_TAG,
        dialect=dialect,
    )
    return _done(result, output)
