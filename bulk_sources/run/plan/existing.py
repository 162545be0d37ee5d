"""What the project already holds: the pre-flight listing (GETs, outside the mutation quota)."""

from __future__ import annotations

from aiolimiter import AsyncLimiter

from ...api.client import ConsoleClient
from ...api.listing import PAGES_PER_SECOND
from ...models import ListedSource
from ..settings import SubmitSettings


async def list_existing(client: ConsoleClient, settings: SubmitSettings) -> list[ListedSource]:
    pacer = AsyncLimiter(PAGES_PER_SECOND, 1)
    return await client.list_all(
        pace=pacer.acquire,
        max_attempts=settings.max_attempts,
        retry_base=settings.retry_base,
        retry_cap=settings.retry_cap,
        # A Retry-After on the listing is bounded by the same patience as the sending.
        max_wait=settings.max_wait,
    )


def by_name(items: list[ListedSource]) -> dict[str, ListedSource]:
    """The listed sources by name (what the plan compares each row with)."""
    return {str(item["name"]): item for item in items if item.get("name") is not None}
