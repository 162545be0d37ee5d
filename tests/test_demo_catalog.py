"""The README's first command submits inputs/demo.csv to the demo's stand-in project: its
rows must fit that project, so its only invalid rows are the ones broken on purpose (with a
unit ID type the demo project lacked, 61 more rows were invalid and nobody saw it)."""

from __future__ import annotations

from pathlib import Path

from bulk_sources.catalog.reader import open_catalog
from bulk_sources.catalog.unitcheck import BUILT_IN, mapped_types
from bulk_sources.catalog.validation import validate_catalog
from bulk_sources.run.demo import DEMO_UNIT_TYPES

DEMO = Path(__file__).resolve().parent.parent / "inputs" / "demo.csv"


def test_every_unit_type_the_demo_catalog_maps_is_in_the_demo_project() -> None:
    report = validate_catalog(open_catalog(DEMO), keep_valid=True)
    mapped = {t for row in report.valid for t in mapped_types(row.body)}
    assert mapped, "the demo catalog maps unit ID types"
    assert mapped <= set(BUILT_IN) | set(DEMO_UNIT_TYPES)
