"""Names the API takes but people trip on (issue 19: "created without a word: names with
spaces"): a space, other white space or an invisible character is a warning on the row's
`name`, and an error under --strict."""

from __future__ import annotations

from pathlib import Path

import pytest
from catalog_helpers import row, write_catalog

from bulk_sources.catalog.reader import open_catalog
from bulk_sources.catalog.validation import validate_catalog


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("checkout exposures", "holds a space"),
        ("tab\there", "white space (U+0009)"),
        ("zero\u200bwidth", "invisible character (U+200B, ZERO WIDTH SPACE)"),
        ("bidi\u202emark", "invisible character (U+202E"),
    ],
)
def test_an_odd_name_is_a_warning_and_an_error_under_strict(
    name: str, said: str, tmp_path: Path
) -> None:
    catalog = write_catalog(tmp_path / "c.csv", [row(name), row("plain_name-2")])
    report = validate_catalog(open_catalog(catalog))
    assert report.valid_count == 2
    assert [(w.row, w.field) for w in report.warnings] == [(1, "name")]
    assert said in report.warnings[0].reason
    strict = validate_catalog(open_catalog(catalog), strict=True)
    assert strict.valid_count == 1 and list(strict.invalid) == [1]
