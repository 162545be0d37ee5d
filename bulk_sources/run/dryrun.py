"""A dry run: validate, list, plan, and estimate the time under the windows; send nothing."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from ..api.apikey import ApiKey
from ..catalog.reader import open_catalog
from ..catalog.validation import validate_catalog
from .execute import open_client
from .finish import static_results
from .history import limit_memory, past_stamps
from .listing import list_existing, names_of
from .plan import estimate_seconds, make_plan
from .results import RETRYABLE, Status
from .settings import SubmitSettings
from .signals import StopRequests, raising_on_signals
from .summary import DryRun, count_statuses


async def dry_run_async(path: Path, settings: SubmitSettings, api_key: ApiKey) -> DryRun:
    catalog = open_catalog(Path(path), settings.encoding)
    with raising_on_signals("reading the catalog"):
        validation = validate_catalog(catalog, keep_valid=True)
    existing: set[str] = set()
    if validation.valid:
        async with open_client(settings, api_key, None) as client:
            with StopRequests() as stops:
                listing = asyncio.ensure_future(list_existing(client, settings))
                existing = names_of(await stops.unless_stopped(listing, "listing"))
    plan = make_plan(validation.valid, existing, settings.on_exists)
    memory = limit_memory(settings, api_key)
    try:
        history = past_stamps(memory, settings)
    finally:
        memory.close()
    requests = len(plan.tasks)
    settled = static_results(validation) + plan.decided
    counts = count_statuses(settled)
    return DryRun(
        catalog=catalog.path,
        rows=validation.total,
        would_create=plan.count("create"),
        would_update=plan.count("update"),
        would_skip_existing=counts[Status.EXISTS.value],
        would_fail_existing=counts[Status.FAILED.value],
        invalid=counts[Status.INVALID.value],
        duplicates=counts[Status.DUPLICATE.value],
        requests=requests,
        estimated_seconds=estimate_seconds(requests, settings.windows, history, now=time.time()),
        windows=[str(w) for w in settings.windows],
        problems=sorted((r for r in settled if r.status in RETRYABLE), key=lambda r: r.row),
    )
