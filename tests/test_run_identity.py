"""One run, one project, one writer (issue 18, case 6): resume, retry and rollback refuse a
key of another project and take the run's lock; retry refuses while the run is running."""

from __future__ import annotations

from pathlib import Path

import pytest
from catalog_helpers import row, write_catalog
from fakeapi_fixtures import StartFakeServer
from submit_helpers import settings

from bulk_sources.api.apikey import ApiKey
from bulk_sources.cli.main import main
from bulk_sources.errors import OtherKeyRefused, RollbackRefused, RunLockedError
from bulk_sources.fakeapi import FakeApiConfig
from bulk_sources.fakeapi.config import generate_key
from bulk_sources.run.entry import resume_run_async, retry_run_async, submit_catalog_async
from bulk_sources.run.record.folder import RunLock
from bulk_sources.run.rollback.start import rollback_run_async


async def test_resume_retry_and_rollback_refuse_another_projects_key(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    mine, theirs = generate_key(), generate_key()
    server = await fake_server_factory(
        FakeApiConfig(keys=[mine, theirs], projects={"ours": [mine], "theirs": [theirs]})
    )
    catalog = write_catalog(tmp_path / "c.csv", [row("a"), row("bad", idTypeMapping="userID")])
    first = await submit_catalog_async(catalog, settings(server.url, tmp_path / "r"), ApiKey(mine))
    assert first.run_dir is not None
    requests = server.state.stats()["requests"]["total"]
    for attempt in (
        resume_run_async(first.run_dir, ApiKey(theirs)),
        retry_run_async(first.run_dir, ApiKey(theirs), include_invalid=True),
    ):
        with pytest.raises(OtherKeyRefused, match=r"was run with another key .* split across two"):
            await attempt
    with pytest.raises(RollbackRefused, match="was run with another key"):
        await rollback_run_async(first.run_dir, ApiKey(theirs))
    assert server.state.stats()["requests"]["total"] == requests  # nothing sent
    # The key itself is never in the sentence, only fingerprints.
    with pytest.raises(OtherKeyRefused) as refused:
        await resume_run_async(first.run_dir, ApiKey(theirs))
    assert theirs not in str(refused.value) and mine not in str(refused.value)
    # Forced, for a rotated key of the same project: it goes on.
    again = await resume_run_async(first.run_dir, ApiKey(theirs), force_other_key=True)
    assert again.counts["created"] == 1
    # and the report says what it risked.
    assert "went on with another key than" in again.note and "two projects" in again.note


async def test_retry_refuses_while_the_run_is_in_progress(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await fake_server_factory(FakeApiConfig())
    catalog = write_catalog(tmp_path / "c.csv", [row("a"), row("bad", idTypeMapping="userID")])
    first = await submit_catalog_async(
        catalog, settings(server.url, tmp_path / "r"), ApiKey(server.key)
    )
    assert first.run_dir is not None
    mutations = server.state.stats()["mutations"]
    # A resume of the run holds its lock (as another process would).
    with RunLock(first.run_dir), pytest.raises(RunLockedError, match="is in use by pid"):
        await retry_run_async(first.run_dir, ApiKey(server.key), include_invalid=True)
    assert server.state.stats()["mutations"] == mutations
    assert not list((tmp_path / "r").glob("*-retry"))


def test_the_cli_says_what_force_other_key_risks(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("resume", "retry", "rollback"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        out = " ".join(capsys.readouterr().out.split())
        assert "--force-other-key" in out and "split across two projects" in out
