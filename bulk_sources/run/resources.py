"""What one invocation of a run holds open: the HTTP client, the journal, the rate budget.

Opened by the run routine (routine.py) for every kind of run; the dry run, the export and a
rollback's plan open only the client (`open_client`).
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from ..api.apikey import ApiKey
from ..api.client import ConsoleClient, make_session
from ..limits.budget import SharedBudget
from .record.folder import JOURNAL_FILE
from .record.journal import Journal
from .send.history import open_budget
from .settings import SubmitSettings


@contextlib.asynccontextmanager
async def open_client(
    settings: SubmitSettings, api_key: ApiKey, session: aiohttp.ClientSession | None
) -> AsyncIterator[ConsoleClient]:
    """A client over the given session, or over one of our own that is closed after."""
    owned = session is None
    if session is None:
        session = make_session(settings.concurrency, base_url=settings.base_url)
    try:
        yield ConsoleClient(
            session,
            settings.base_url,
            api_key,
            timeout=settings.timeout,
            respect_review_settings=settings.respect_review_settings,
        )
    finally:
        if owned:
            await session.close()


@dataclass
class RunResources:
    settings: SubmitSettings
    client: ConsoleClient
    journal: Journal
    budget: SharedBudget
    jitter_rng: random.Random  # the executor's retry jitter


@contextlib.asynccontextmanager
async def run_resources(
    run_dir: Path,
    settings: SubmitSettings,
    api_key: ApiKey,
    session: aiohttp.ClientSession | None,
) -> AsyncIterator[RunResources]:
    # The run's one random stream (retry jitter), seeded for repeatable tests.
    jitter_rng = random.Random(settings.seed)
    # Closing flushes: on a full or vanished disk that fails, and the writes before it have
    # already stopped the run and said so, so the report still goes out.
    with Journal(run_dir / JOURNAL_FILE) as journal, open_budget(settings, api_key) as budget:
        async with open_client(settings, api_key, session) as client:
            yield RunResources(settings, client, journal, budget, jitter_rng)
