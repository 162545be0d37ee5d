"""bulk-sources: create many Statsig assignment sources at once, exactly once, within limits.

The public API (everything else is internal and may change)::

    from bulk_sources import SubmitSettings, load_api_key, submit_catalog
    report = submit_catalog("catalog.csv", SubmitSettings(), load_api_key())
    report.outcome, report.counts, report.results_frame()

Names are imported on first use, so `import bulk_sources` (and the CLI's --help) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .version import __version__

if TYPE_CHECKING:
    from .api.apikey import ApiKey, load_api_key
    from .catalog.frame import validate_frame
    from .catalog.validation import ValidationReport, validate_catalog
    from .errors import (
        ApiKeyError,
        AuthRefused,
        BulkSourcesError,
        CatalogError,
        ListingFailed,
        NothingToRetry,
        RollbackRefused,
        RunLockedError,
        RunStopped,
        UsageError,
    )
    from .frames import submit_frame, submit_frame_async
    from .importers import import_datadog, import_growthbook
    from .run.entry import (
        dry_run,
        dry_run_async,
        resume_run,
        resume_run_async,
        retry_run,
        retry_run_async,
        submit_catalog,
        submit_catalog_async,
    )
    from .run.record.results import RowResult, Status
    from .run.record.summary import DryRun, Outcome, RunReport
    from .run.rollback.start import rollback_run, rollback_run_async
    from .run.settings import SubmitSettings
    from .validate import validate

_WHERE = {
    "ApiKey": "api.apikey",
    "load_api_key": "api.apikey",
    "ValidationReport": "catalog.validation",
    "validate_catalog": "catalog.validation",
    "validate": "validate",
    "submit_frame": "frames",
    "submit_frame_async": "frames",
    "validate_frame": "catalog.frame",
    "import_datadog": "importers",
    "import_growthbook": "importers",
    "RowResult": "run.record.results",
    "Status": "run.record.results",
    "dry_run": "run.entry",
    "dry_run_async": "run.entry",
    "resume_run": "run.entry",
    "resume_run_async": "run.entry",
    "retry_run": "run.entry",
    "retry_run_async": "run.entry",
    "submit_catalog": "run.entry",
    "submit_catalog_async": "run.entry",
    "SubmitSettings": "run.settings",
    "rollback_run": "run.rollback.start",
    "rollback_run_async": "run.rollback.start",
    "DryRun": "run.record.summary",
    "Outcome": "run.record.summary",
    "RunReport": "run.record.summary",
    **{
        name: "errors"
        for name in (
            "ApiKeyError",
            "AuthRefused",
            "BulkSourcesError",
            "CatalogError",
            "ListingFailed",
            "NothingToRetry",
            "RollbackRefused",
            "RunLockedError",
            "RunStopped",
            "UsageError",
        )
    },
}

__all__ = [
    "ApiKey",
    "ApiKeyError",
    "AuthRefused",
    "BulkSourcesError",
    "CatalogError",
    "DryRun",
    "ListingFailed",
    "NothingToRetry",
    "Outcome",
    "RollbackRefused",
    "RowResult",
    "RunLockedError",
    "RunReport",
    "RunStopped",
    "Status",
    "SubmitSettings",
    "UsageError",
    "ValidationReport",
    "__version__",
    "dry_run",
    "dry_run_async",
    "import_datadog",
    "import_growthbook",
    "load_api_key",
    "resume_run",
    "resume_run_async",
    "retry_run",
    "retry_run_async",
    "rollback_run",
    "rollback_run_async",
    "submit_catalog",
    "submit_catalog_async",
    "submit_frame",
    "submit_frame_async",
    "validate",
    "validate_catalog",
    "validate_frame",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'bulk_sources' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
