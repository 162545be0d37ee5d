"""`bulk-sources import`: exit codes, one sentence per bad file, nothing written on error, the
`EDIT ME:` rule of the reader, and the round trip import -> validate -> submit -> export."""

from __future__ import annotations

import csv
import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from fakeapi_fixtures import StartFakeServer
from submit_helpers import TEST_WINDOWS, settings

from bulk_sources.api.apikey import ApiKey
from bulk_sources.catalog.reader import open_catalog, write_rows_subset
from bulk_sources.catalog.validation import validate_catalog
from bulk_sources.cli.main import main
from bulk_sources.errors import UsageError
from bulk_sources.fakeapi import FakeApiConfig
from bulk_sources.importers import read_datadog, read_growthbook, write_import
from bulk_sources.run.entry import submit_catalog_async
from bulk_sources.run.export import list_sources

FIXTURES = Path(__file__).parent / "fixtures" / "import"
CONFIG = FIXTURES / "growthbook_config.yml"
PAGES = [FIXTURES / "growthbook_rest_page1.json", FIXTURES / "growthbook_rest_page2.json"]
MODELS = FIXTURES / "datadog_models.json"
DD_MAP = "user_id=userID,account_id=accountID,device_id=stableID"
KEY = "console-import-tests"


def test_import_writes_the_catalog_and_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "c.parquet"
    args = ["import", "growthbook", *map(str, PAGES), "--output", str(out)]
    assert main([*args, "--id-map", "user_id=userID", "--id-map", "device_id=stableID"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("imported 3 assignment sources from growthbook")
    assert "ds_abc123 / exq_1: dimension column(s) browser" in text
    assert "data source ds_abc123: snowflake (from its type snowflake)" in text
    assert validate_catalog(open_catalog(out)).valid_count == 3
    # --prefix alone puts the data source id first.
    assert main([*args, "--id-map", "user_id=userID,device_id=stableID", "--prefix"]) == 0
    assert "(another source already has it)" in capsys.readouterr().out
    names = [r.cells["name"] for r in open_catalog(out).rows()]
    assert names == ["ds_abc123 Users", "ds_abc123 Users (2)", "ds_def456 Checkout assignments"]


def test_rows_to_edit_exit_1_and_json_lists_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LAKE_DATASET", raising=False)
    out = tmp_path / "c.csv"
    args = ["import", "growthbook", str(CONFIG), "--output", str(out), "--json"]
    code = main([*args, "--id-map", "user_id=userID,anonymous_id=stableID,company_id=companyID"])
    document = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [e["from"] for e in document["to_edit"]] == ["lake / user_exp", "lake / company_exp"]
    assert document["output"] == str(out) and out.exists()


def _bad(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


BAD_GROWTHBOOK = [
    ("broken.yml", "datasources:\n  w: [unclosed\n", "is not valid YAML (line 3, column 1"),
    ("broken.json", '{"dataSources": [', "is not valid JSON (line 1, column 18"),
    ("binary.yml", "datasources:\x01\n", "is not valid YAML (character 13: "),
    ("other.yml", "metrics:\n  a: 1\n", "is neither a GrowthBook config.yml"),
    ("dd.json", MODELS.read_text(), "looks like a Datadog JSON:API answer"),
    ("empty_ds.yml", "datasources:\n  w:\n    type: postgres\n", "data source w has no assign"),
    (
        "sql_number.yml",
        "datasources:\n  w:\n    settings:\n      queries:\n        exposure:\n"
        "          - {id: q1, name: Q, userIdType: user_id, query: 42}\n",
        "data source w, query q1: `query` is a number, not text",
    ),
]


@pytest.mark.parametrize(("name", "text", "sentence"), BAD_GROWTHBOOK)
def test_bad_growthbook_input_is_one_sentence_exit_2_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, sentence: str
) -> None:
    path = _bad(tmp_path, name, text)
    out = tmp_path / "c.csv"
    code = main(["import", "growthbook", str(path), "--output", str(out), "--id-map", "user_id=u"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and not out.exists()
    assert err.startswith(f"bulk-sources: {path}") and sentence in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_bad_datadog_input_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "c.csv"
    code = main(["import", "datadog", str(CONFIG), "--output", str(out), "--id-map", DD_MAP])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert f"{CONFIG} is a GrowthBook file, not Datadog's" in err


def test_the_output_is_never_an_input_and_needs_a_catalog_suffix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "page.json"
    page.write_bytes(PAGES[1].read_bytes())
    before = page.read_bytes()
    for output, sentence in ((page, "is one of the inputs"), (tmp_path / "c.txt", "suffix")):
        code = main(["import", "growthbook", str(page), "--output", str(output)])
        assert code == 2 and sentence in capsys.readouterr().err
    assert page.read_bytes() == before
    with pytest.raises(UsageError, match="is one of the inputs"):
        write_import(read_growthbook(PAGES[1], "user_id=userID"), PAGES[1])


def test_a_marked_note_makes_any_catalog_row_invalid_until_the_marker_goes(tmp_path: Path) -> None:
    header = ["name", "sql", "timestampColumn", "experimentIDColumn", "groupIDColumn"]
    base = ["a", "SELECT u, ts, e, g", "ts", "e", "g", "userID=u"]
    path = tmp_path / "c.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*header, "idTypeMapping", "_import_note"])
        writer.writerow([*base, "EDIT ME: {{experimentId}} has no Statsig macro"])
        writer.writerow(["b", *base[1:], "translated '{{startDate}}'"])
    report = validate_catalog(open_catalog(path))
    assert list(report.invalid) == [1] and report.valid_count == 1
    assert "{{experimentId}} has no Statsig macro" in report.invalid[1][0].reason
    # The rows written back (failed.csv) keep the note, so they stay invalid until edited.
    again = tmp_path / "again.csv"
    write_rows_subset(open_catalog(path), [1], again)
    assert list(validate_catalog(open_catalog(again)).invalid) == [1]


def test_help_does_not_load_yaml() -> None:
    probe = (
        "import sys; from bulk_sources.cli.main import build_parser; "
        "build_parser().format_help(); print('yaml' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


async def test_import_validate_submit_export_gives_the_sources_the_import_described(
    fake_server_factory: StartFakeServer, tmp_path: Path
) -> None:
    # The project has the types the Datadog map names (submit checks them before sending).
    config = FakeApiConfig(keys=[KEY], windows=list(TEST_WINDOWS), unit_types=["accountID"])
    server = await fake_server_factory(config)
    growthbook = read_growthbook(PAGES, "user_id=userID,device_id=stableID", prefix="")
    datadog = read_datadog(MODELS, DD_MAP, include_archived=True)
    described = {}
    for result, name in ((growthbook, "gb.csv"), (datadog, "dd.xlsx")):
        catalog = write_import(result, tmp_path / name)
        assert validate_catalog(open_catalog(catalog)).valid_count == len(result.rows)
        run = await submit_catalog_async(catalog, settings(server.url, tmp_path / "r"), ApiKey(KEY))
        assert run.outcome == "ok" and run.counts["created"] == len(result.rows)
        described.update(
            {
                r.body["name"]: {k: v for k, v in r.body.items() if v is not None}
                for r in result.rows
            }
        )
    exported = {
        s["name"]: s for s in await list_sources(settings(server.url, tmp_path), ApiKey(KEY))
    }
    assert sorted(exported) == sorted(described)
    for name, body in described.items():
        assert {k: exported[name].get(k) for k in body} == body, name


def test_the_output_is_written_through_a_symlink_and_streamed_into_a_fifo(
    tmp_path: Path,
) -> None:
    args = [
        "import",
        "growthbook",
        *map(str, PAGES),
        "--id-map",
        "user_id=userID,device_id=stableID",
    ]
    real = tmp_path / "real.csv"
    real.write_text("old\n", encoding="utf-8")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    assert main([*args, "--output", str(link)]) == 0
    assert link.is_symlink() and real.read_text(encoding="utf-8").startswith("name,")

    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    assert main([*args, "--output", str(fifo)]) == 0
    reader.join(timeout=10)
    assert got and got[0].startswith(b"name,") and stat.S_ISFIFO(fifo.stat().st_mode)
