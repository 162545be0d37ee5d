"""bulk-sources: create many Statsig assignment sources at once, exactly once, within limits.

The public API (everything else is internal and may change)::

    from bulk_sources import SubmitSettings, load_api_key, submit_catalog
    report = submit_catalog("catalog.csv", SubmitSettings(), load_api_key())
    report.outcome, report.counts, report.results_frame()

Names are imported on first use, so `import bulk_sources` (and the CLI's --help) stays cheap.
"""

# ruff: noqa: I001 - re-exports read `from .x import A as A, B as B`: one list of names
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .version import __version__ as __version__

if TYPE_CHECKING:
    from .api.apikey import ApiKey as ApiKey, load_api_key as load_api_key
    from .catalog.frame import validate_frame as validate_frame
    from .catalog.validation import (
        ValidationReport as ValidationReport,
        validate_catalog as validate_catalog,
    )
    from .errors import (
        ApiKeyError as ApiKeyError,
        AuthRefused as AuthRefused,
        BulkSourcesError as BulkSourcesError,
        CatalogError as CatalogError,
        ListingFailed as ListingFailed,
        NothingToRetry as NothingToRetry,
        OtherKeyRefused as OtherKeyRefused,
        RollbackRefused as RollbackRefused,
        RunLockedError as RunLockedError,
        RunStopped as RunStopped,
        UsageError as UsageError,
    )
    from .frames import submit_frame as submit_frame, submit_frame_async as submit_frame_async
    from .importers import import_datadog as import_datadog, import_growthbook as import_growthbook
    from .run.entry import (
        dry_run as dry_run,
        dry_run_async as dry_run_async,
        resume_run as resume_run,
        resume_run_async as resume_run_async,
        retry_run as retry_run,
        retry_run_async as retry_run_async,
        submit_catalog as submit_catalog,
        submit_catalog_async as submit_catalog_async,
    )
    from .run.record.results import RowResult as RowResult, Status as Status
    from .run.record.summary import DryRun as DryRun, Outcome as Outcome, RunReport as RunReport
    from .run.rollback.start import (
        rollback_run as rollback_run,
        rollback_run_async as rollback_run_async,
    )
    from .run.settings import SubmitSettings as SubmitSettings
    from .validate import validate as validate


def _lazy_map() -> dict[str, str]:
    """Public name -> its module, read from the TYPE_CHECKING block above: that block is the
    one list of public names (mypy reads it as the re-exports, this as the lazy map)."""
    import ast

    with open(__file__, encoding="utf-8") as source:
        tree = ast.parse(source.read())
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    )
    return {
        alias.asname or alias.name: "." * node.level + (node.module or "")
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }


_WHERE = _lazy_map()
__all__ = sorted([*_WHERE, "__version__"])


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'bulk_sources' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
