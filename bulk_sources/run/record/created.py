"""What created.jsonl records of each row the run made or changed, however the API answered.

A 201 may carry no body, a body that is not JSON, or `data` holding only the name: what the
run wrote is then the content it sent (`written`), so rollback decides from that instead of
"not recorded" or "changed since the run". Rows settled as created without any answer (it
was lost; the name was then found by listing) get what the listing shows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, cast

from ...models import ListedSource
from .results import RowResult, Status

LISTED = "what the API holds comes from the listing"
WROTE = frozenset({Status.CREATED, Status.UPDATED, Status.RESTORED})


def written(sent: Mapping[str, Any], answered: ListedSource | None) -> ListedSource:
    """The answer's data, with the content the run sent for every field it leaves out."""
    content = {k: v for k, v in sent.items() if k != "dryRun"}  # an instruction, not content
    return cast(ListedSource, {**content, **(answered or {})})


def with_sent_content(
    results: Sequence[RowResult], bodies: Mapping[str, Mapping[str, Any]]
) -> list[RowResult]:
    """`results` whose made or changed rows without data carry what was sent (by row key)."""
    return [
        replace(r, data=written(bodies[r.key], None))
        if r.status in WROTE and r.data is None and r.key is not None and r.key in bodies
        else r
        for r in results
    ]


def without_data(results: Iterable[RowResult]) -> list[RowResult]:
    return [r for r in results if r.status is Status.CREATED and r.data is None]


def with_listed_data(
    results: Sequence[RowResult], items: Iterable[ListedSource]
) -> list[RowResult]:
    """`results` with listing data for the created rows that lack it. Their http_status is
    cleared: no answer of ours says "created" (a duplicate answer's 400 is in the note)."""
    by_name = {str(item["name"]): item for item in items if item.get("name") is not None}
    out = []
    for r in results:
        item = by_name.get(r.name or "") if r.status is Status.CREATED and r.data is None else None
        if item is not None:
            r = replace(r, data=item, http_status=None, error=f"{r.error}; {LISTED}")
        out.append(r)
    return out
