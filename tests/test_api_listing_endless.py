"""An endless listing without totalItems ends in minutes (issue 18, case 12): the stand-in
misbehaving (ListingFaults.endless), the run's own pacing, on the virtual clock."""

from __future__ import annotations

import io
from pathlib import Path

import aiohttp
import pytest
from fakeapi_fixtures import StartFakeServer
from submit_helpers import settings
from virtual_clock import virtual_clock

from bulk_sources.api.apikey import ApiKey
from bulk_sources.api.client import ConsoleClient
from bulk_sources.api.listing import DEFAULT_MAX_PAGES, PAGES_PER_SECOND
from bulk_sources.cli.listing_notes import listing_notes
from bulk_sources.errors import ListingFailed
from bulk_sources.fakeapi import FakeApiConfig, ListingFaults
from bulk_sources.run.plan.existing import list_existing


async def test_an_endless_listing_without_total_items_ends_in_minutes(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await fake_server_factory(FakeApiConfig(listing=ListingFaults(endless=True)))
    notes = io.StringIO()
    async with aiohttp.ClientSession() as session:
        client = ConsoleClient(session, server.url, ApiKey(server.key), timeout=5)
        with (
            virtual_clock(io_grace=0.001) as clock,
            listing_notes(quiet=False, stream=notes),
            pytest.raises(ListingFailed, match=f"past {DEFAULT_MAX_PAGES} pages"),
        ):
            await list_existing(client, settings(server.url, tmp_path))
        took = clock.elapsed
    assert server.state.stats()["requests"]["total"] == DEFAULT_MAX_PAGES
    # At the run's own pace the cap is reached in minutes (it was ~33 min before).
    assert DEFAULT_MAX_PAGES / PAGES_PER_SECOND - 2 <= took <= 5 * 60
    first = notes.getvalue().splitlines()[0]
    assert first == "listing existing sources: 10 pages, 1000 sources so far"


def test_a_short_listing_or_quiet_says_nothing() -> None:
    from bulk_sources.api.listing import PAGE_PROGRESS

    notes = io.StringIO()
    with listing_notes(quiet=False, stream=notes):
        told = PAGE_PROGRESS.get()
        assert told is not None
        for page in range(1, 10):
            told(page, page * 100)
    with listing_notes(quiet=True, stream=notes):
        assert PAGE_PROGRESS.get() is None
    assert notes.getvalue() == "" and PAGE_PROGRESS.get() is None
