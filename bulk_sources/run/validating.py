"""The one way a run validates its catalog: as `validate` would with the run's settings.

Submit, its dry run, resume and retry all come here, so they find (and record) exactly the
problems and warnings `validate` finds with the same options, and a header that would drop a
column's values stops them before any request.
"""

from __future__ import annotations

from ..catalog.reader import CatalogSource
from ..catalog.validation import ValidationReport, check_header, validate_catalog
from .settings import SubmitSettings


def refuse_header(catalog: CatalogSource, settings: SubmitSettings) -> None:
    """HeaderRefused when a column is almost a field (or, --strict, not one)."""
    check_header(catalog, strict=settings.strict, ignore_columns=settings.ignore_columns)


def validate_for_run(catalog: CatalogSource, settings: SubmitSettings) -> ValidationReport:
    refuse_header(catalog, settings)
    return validate_catalog(
        catalog,
        keep_valid=True,
        dialect=settings.dialect,
        strict=settings.strict,
        ignore_columns=settings.ignore_columns,
    )
