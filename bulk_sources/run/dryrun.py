"""A dry run: validate, list, plan, and estimate the time under the windows; send nothing.

The plan (one line per row: action and the fields that differ) goes to `plan_file` when
given, else to `plan.csv` in a new `<time>-<catalog>-dry-run` folder under the report
directory; nothing else is written there and nothing can be resumed from it.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

from ..api.apikey import ApiKey
from ..api.protocol import target_host
from ..catalog.problems import unknown_column_dicts, warning_dicts
from ..catalog.reader import Catalog, open_catalog
from ..catalog.validation import ValidationReport
from ..errors import UsageError
from ..models import ListedSource
from .plan.existing import by_name, list_existing
from .plan.planfile import PLAN_FILE, write_plan
from .plan.rows import Plan, PlanEntry, all_entries, estimate_seconds, make_plan
from .plan.tagging import with_tag
from .record.finish import static_results
from .record.folder import new_run_dir
from .record.results import RETRYABLE
from .record.summary import DryRun
from .resources import open_client
from .send.history import planned_budget
from .send.signals import StopRequests, raising_on_signals
from .settings import SubmitSettings
from .validating import validate_for_run

EXAMPLES_PER_ACTION = 5


async def dry_run_async(
    path: Path, settings: SubmitSettings, api_key: ApiKey, *, plan_file: Path | None = None
) -> DryRun:
    catalog, validation, plan, entries = await fresh_plan(path, settings, api_key)
    if plan_file is None:
        plan_file = new_run_dir(settings.report_dir, f"{catalog.path.stem}-dry-run") / PLAN_FILE
    try:
        write_plan(plan_file, entries)
    except OSError as exc:
        raise UsageError(
            f"can't write the plan to {plan_file} ({exc.strerror or exc}); "
            "give a writable --plan FILE or --report-dir"
        ) from None
    windows, history, source = planned_budget(settings, api_key)
    requests = len(plan.tasks)
    return DryRun(
        catalog=catalog.path,
        rows=validation.total,
        actions=dict(Counter(e.action for e in entries)),
        requests=requests,
        estimated_seconds=estimate_seconds(requests, windows, history, now=time.time()),
        windows=[str(w) for w in windows],
        budget_source=source,
        examples=_examples(entries),
        plan_file=plan_file,
        target=target_host(settings.base_url),
        warnings=warning_dicts(validation),
        unknown_columns=unknown_column_dicts(validation),
        catalog_notes=list(validation.notes),
        problems=sorted(
            (r for r in static_results(validation) + plan.decided if r.status in RETRYABLE),
            key=lambda r: r.row,
        ),
    )


async def fresh_plan(
    path: Path, settings: SubmitSettings, api_key: ApiKey
) -> tuple[Catalog, ValidationReport, Plan, list[PlanEntry]]:
    """Validate, list and plan, as a submit would now; writes nothing."""
    catalog = open_catalog(Path(path), settings.encoding, sheet=settings.sheet)
    with raising_on_signals("reading the catalog"):
        validation = with_tag(validate_for_run(catalog, settings), settings.tag)
    existing: dict[str, ListedSource] = {}
    if validation.valid:
        async with open_client(settings, api_key, None) as client:
            with StopRequests() as stops:
                listing = asyncio.ensure_future(list_existing(client, settings))
                existing = by_name(await stops.unless_stopped(listing, "listing"))
    plan = make_plan(validation.valid, existing, settings.on_exists)
    return catalog, validation, plan, all_entries(plan, validation)


def _examples(entries: list[PlanEntry]) -> dict[str, list[PlanEntry]]:
    out: dict[str, list[PlanEntry]] = {}
    for entry in entries:
        shown = out.setdefault(entry.action, [])
        if len(shown) < EXAMPLES_PER_ACTION:
            shown.append(entry)
    return out
