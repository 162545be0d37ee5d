"""How catalog rows travel: numbered batches of cell sequences."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

# Rows per batch handed to the decoder. Small on purpose: a batch's rows, bodies and models
# stay below the garbage collector's first threshold (700 new container objects), so they die
# young instead of being promoted and walked again and again by older-generation collections.
# At 8192 rows per batch, a million-row CSV spent about a sixth of its time in the collector.
BATCH_ROWS = 256

# (number of the first row, consecutive rows' cells in header order)
Batches = Iterator[tuple[int, list[Sequence[object]]]]
