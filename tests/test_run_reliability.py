"""Nothing lost, nothing misreported (issue 18): names the URL path can't carry, answers
read for what they prove, listings that end in minutes."""

from __future__ import annotations

from pathlib import Path

from catalog_helpers import good, write_csv
from submit_helpers import read_results, settings

from bulk_sources.api.apikey import ApiKey
from bulk_sources.api.names import URL_PATH_LIMIT
from bulk_sources.catalog.reader import open_catalog
from bulk_sources.catalog.validation import validate_catalog
from bulk_sources.fakeapi import FakeApiServer
from bulk_sources.run.entry import submit_catalog_async


def test_names_the_url_path_cannot_carry_are_invalid_with_why(tmp_path: Path) -> None:
    names = [".", "..", " .. ", "a\x01b", "x" * URL_PATH_LIMIT, "ok.name", "ünïcode ok"]
    catalog = write_csv(tmp_path / "c.csv", [good(n) for n in names])
    report = validate_catalog(open_catalog(catalog))
    reasons = {
        row: [e.reason for e in errors if e.field == "name"]
        for row, errors in report.invalid.items()
    }
    assert sorted(reasons) == [1, 2, 3, 5]  # a control character is percent-encoded exactly
    assert "dot segment" in reasons[1][0] and "the list itself" in reasons[1][0]
    assert "dot segment" in reasons[2][0] and "the folder above" in reasons[2][0]
    assert (
        f"at most {URL_PATH_LIMIT - len('/console/v1/experiments/assignment_source/')}"
        in reasons[5][0]
    )


async def test_dot_names_are_never_sent(tmp_path: Path, fake_server: FakeApiServer) -> None:
    catalog = write_csv(tmp_path / "c.csv", [good("."), good(".."), good("fine")])
    report = await submit_catalog_async(
        catalog, settings(fake_server.url, tmp_path / "r"), ApiKey(fake_server.key)
    )
    assert report.run_dir is not None
    statuses = {r["name"]: r["status"] for r in read_results(report.run_dir)}
    assert statuses == {".": "invalid", "..": "invalid", "fine": "created"}
    assert list(fake_server.state.sources) == ["fine"]
