"""The run folder's report files against the stand-in: failed.csv fixable in place and fed
straight back in, created.jsonl complete, summary.json across resumes, retry row numbers,
a refused key said once."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from catalog_helpers import names, row, write_catalog
from fakeapi_fixtures import StartFakeServer
from submit_helpers import read_results, settings

from bulk_sources.api.apikey import ApiKey
from bulk_sources.catalog.reader import open_catalog
from bulk_sources.fakeapi import FakeApiConfig, FakeApiServer, FaultConfig
from bulk_sources.limits.windows import Window
from bulk_sources.run.entry import resume_run_async, retry_run_async, submit_catalog_async
from bulk_sources.run.record.results import Status
from bulk_sources.run.send.progress import Estimate, NoProgress, Progress


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle))


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


async def test_failed_csv_carries_why_and_is_submitted_again_as_it_is(
    fake_server: FakeApiServer, tmp_path: Path
) -> None:
    rows = [row("good"), row("bad_sql", sql=" "), row("bad_map", idTypeMapping="userID")]
    catalog = write_catalog(tmp_path / "c.csv", rows)
    key = ApiKey(fake_server.key)
    first = await submit_catalog_async(catalog, settings(fake_server.url, tmp_path / "r"), key)
    failed_path = first.run_dir / "failed.csv"
    failed = _read_csv(failed_path)
    header = _header(failed_path)
    assert header == [*rows[0].keys(), "_row", "_status", "_field", "_error", "_errors"]
    assert [(r["name"], r["_row"], r["_status"]) for r in failed] == [
        ("bad_sql", "2", "invalid"),
        ("bad_map", "3", "invalid"),
    ]
    assert (failed[0]["_field"], failed[0]["_error"]) == ("sql", "is required but empty")
    assert failed[1]["_field"] == "idTypeMapping"
    assert failed[0]["_errors"] == failed[1]["_errors"] == ""  # one problem each
    # The catalog's own cells are untouched.
    assert {k: v for k, v in failed[0].items() if not k.startswith("_")} == rows[1]
    assert open_catalog(failed_path).unknown_columns == []

    # Fixed in place in a spreadsheet, report columns left as they are, and submitted.
    for record in failed:
        record["sql"] = "SELECT * FROM fixed"
        record["idTypeMapping"] = "userID=user_id"
    with failed_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, header)
        writer.writeheader()
        writer.writerows(failed)
    second = await submit_catalog_async(failed_path, settings(fake_server.url, tmp_path / "r"), key)
    assert second.outcome == "ok"
    assert [(r.name, r.status) for r in second.results] == [
        ("bad_sql", Status.CREATED),
        ("bad_map", Status.CREATED),
    ]
    sent = fake_server.state.sources["bad_sql"]
    assert not any(k.startswith("_") for k in sent)
    # Its own failed.csv is empty and does not double the report columns.
    assert _header(second.run_dir / "failed.csv") == header


async def test_retry_keeps_the_original_row_numbers(
    fake_server: FakeApiServer, tmp_path: Path
) -> None:
    rows = [row(n) for n in names(6)]
    rows[3] = row("fix_me", sql="")
    rows[5] = row("fix_me_too", sql="")
    catalog = write_catalog(tmp_path / "c.csv", rows)
    key = ApiKey(fake_server.key)
    first = await submit_catalog_async(catalog, settings(fake_server.url, tmp_path / "r"), key)
    assert [r.row for r in first.results if r.status is Status.INVALID] == [4, 6]
    rows[3] = row("fix_me")
    rows[5] = row("fix_me_too", sql="  ")  # still broken
    write_catalog(catalog, rows)
    retried = await retry_run_async(first.run_dir, key, include_invalid=True)
    assert [(r.row, r.name, r.status) for r in retried.results] == [
        (4, "fix_me", Status.CREATED),
        (6, "fix_me_too", Status.INVALID),
    ]
    assert [r["row"] for r in read_results(retried.run_dir)] == ["4", "6"]
    assert [r["_row"] for r in _read_csv(retried.run_dir / "failed.csv")] == ["6"]
    assert retried.catalog == catalog.resolve()
    assert f"-c-retry-of-{first.run_dir.name[:16]}" in retried.run_dir.name
    # A retry of the retry reads the original catalog, with its numbers.
    rows[5] = row("fix_me_too")
    write_catalog(catalog, rows)
    again = await retry_run_async(retried.run_dir, key, include_invalid=True)
    assert [(r.row, r.status) for r in again.results] == [(6, Status.CREATED)]
    # Resuming the retry run goes on from its own copy, not the whole catalog.
    before = fake_server.state.stats()["mutations"]
    resumed = await resume_run_async(retried.run_dir, key)
    assert fake_server.state.stats()["mutations"] == before
    assert [r.row for r in resumed.results] == [4, 6]


async def test_summary_adds_up_across_resumes_and_a_no_op_resume_leaves_it(
    fake_server: FakeApiServer, tmp_path: Path
) -> None:
    catalog = write_catalog(tmp_path / "c.csv", [row(n) for n in names(8)])
    key = ApiKey(fake_server.key)
    stopper = _StopAfter(3)
    first = await submit_catalog_async(
        catalog, settings(fake_server.url, tmp_path / "r", concurrency=1), key, progress=stopper
    )
    assert first.outcome == "stopped"
    sent_first = first.requests.sent
    assert 3 <= sent_first < 8
    summary = first.run_dir / "summary.json"
    second = await resume_run_async(first.run_dir, key)
    assert second.outcome == "ok"
    data = json.loads(summary.read_text())
    assert data["requests_sent"] == fake_server.state.stats()["mutations"] == 8
    assert data["resumed"] is True
    assert data["counts"]["created"] == 8
    assert data["started_at"] <= json.loads(summary.read_text())["first_request_at"]
    before = summary.read_bytes()
    third = await resume_run_async(first.run_dir, key)
    assert third.note.startswith("nothing to resume")
    assert summary.read_bytes() == before


class _StopAfter:
    """A progress that asks the run to stop (as Ctrl-C does) after n rows finished."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __call__(self, total: int, estimate: Estimate) -> Progress:
        import os
        import signal

        outer = self

        class _P(NoProgress):
            done = 0

            def advance(self, status: Status) -> None:
                self.done += 1
                if self.done == outer.n:
                    os.kill(os.getpid(), signal.SIGINT)

        return _P()


async def test_created_jsonl_has_every_created_row_even_when_answers_were_lost(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await fake_server_factory(
        FakeApiConfig(
            windows=[Window(1000, 1.0)],
            faults=FaultConfig(create_then_drop_rate=0.5, seed=3),
        )
    )
    catalog = write_catalog(tmp_path / "c.csv", [row(n) for n in names(12)])
    report = await submit_catalog_async(
        catalog, settings(server.url, tmp_path / "r", max_attempts=8), ApiKey(server.key)
    )
    assert report.counts["created"] == 12
    lost = [r for r in report.results if "answer was lost" in r.error]
    assert lost, "the seed should lose some answers"
    for r in lost:
        assert r.http_status is None
        assert r.error.endswith("what the API holds comes from the listing")
    lines = (report.run_dir / "created.jsonl").read_text().splitlines()
    created = {json.loads(line)["name"]: json.loads(line)["data"] for line in lines}
    assert set(created) == set(names(12))
    assert all(created[name] == server.state.sources[name] for name in created)


async def test_a_refused_key_is_said_once(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    server = await fake_server_factory(FakeApiConfig(windows=[Window(1000, 1.0)]))
    catalog = write_catalog(tmp_path / "c.csv", [row(n) for n in names(10)])

    def revoke_after_two(total: int, estimate: Estimate) -> Progress:
        class _P(NoProgress):
            done = 0

            def advance(self, status: Status) -> None:
                self.done += 1
                if self.done == 2:
                    server.state.revoke_key(server.key)

        return _P()

    report = await submit_catalog_async(
        catalog,
        settings(server.url, tmp_path / "r", concurrency=1),
        ApiKey(server.key),
        progress=revoke_after_two,
    )
    assert report.outcome == "stopped"
    assert report.stopped is not None and report.stopped.startswith("the API refused the key")
    left = [r for r in report.results if r.status is Status.NOT_ATTEMPTED]
    # The row whose request was refused says "not done", the rows behind it "not sent".
    assert left and {r.error for r in left} <= {
        "not sent: the API refused the key",
        "not done: the API refused the key",
    }
