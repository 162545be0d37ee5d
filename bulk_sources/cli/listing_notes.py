"""Progress of a long listing of existing sources, on stderr."""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Iterator
from typing import TextIO

# A listing says nothing for its first pages (most projects list in one or two) and then a
# line at most this often: enough to show it moves, not a flood.
LISTING_QUIET_PAGES = 10
LISTING_NOTE_EVERY = 5.0  # seconds


@contextlib.contextmanager
def listing_notes(*, quiet: bool, stream: TextIO | None = None) -> Iterator[None]:
    """Progress of a long listing on stderr (the library tells api.listing.PAGE_PROGRESS)."""
    from ..api.listing import PAGE_PROGRESS

    if quiet:
        yield
        return
    err = stream or sys.stderr
    last = -math.inf

    def told(pages: int, sources: int) -> None:
        nonlocal last
        now = time.monotonic()
        if pages >= LISTING_QUIET_PAGES and now - last >= LISTING_NOTE_EVERY:
            last = now
            print(f"listing existing sources: {pages} pages, {sources} sources so far", file=err)
            err.flush()

    token = PAGE_PROGRESS.set(told)
    try:
        yield
    finally:
        PAGE_PROGRESS.reset(token)
