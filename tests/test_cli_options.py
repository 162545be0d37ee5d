"""Hostile options, key files, run.json and pipes: exit 2 with one sentence, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from catalog_helpers import good, row, write_catalog, write_csv
from process_helpers import tool

from bulk_sources.api.apikey import ApiKey, load_api_key
from bulk_sources.cli.main import build_parser, main
from bulk_sources.cli.options import settings_from
from bulk_sources.errors import ApiKeyError, UsageError
from bulk_sources.run.record.folder import RunRecord
from bulk_sources.run.settings import SubmitSettings

KEY = "console-options-test-0123456789"


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--spacing", "0"),
        ("--spacing", "-1"),
        ("--spacing", "nan"),
        ("--margin", "-5"),
        ("--margin", "nan"),
        ("--margin", "inf"),
        ("--timeout", "inf"),
        ("--timeout", "nan"),
        ("--timeout", "0"),
        ("--concurrency", "0"),
        ("--concurrency", "1.5"),
        ("--max-attempts", "0"),
        ("--max-attempts", "-3"),
    ],
)
def test_a_bad_option_value_is_exit_2_before_any_run_folder(
    option: str, value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = write_csv(tmp_path / "c.csv", [good()])
    reports = tmp_path / "reports"
    with pytest.raises(SystemExit) as info:
        main(["submit", str(catalog), "--report-dir", str(reports), option, value])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}: must be" in err
    assert "Traceback" not in err
    assert not reports.exists()


def test_good_option_values_still_parse(tmp_path: Path) -> None:
    args = build_parser().parse_args(
        [
            *("submit", "c.csv", "--spacing", "0.1", "--margin", "0", "--timeout", "2.5"),
            *("--concurrency", "1", "--max-attempts", "1"),
        ]
    )
    settings = settings_from(args)
    assert (settings.spacing, settings.margin, settings.timeout) == (0.1, 0.0, 2.5)
    assert (settings.concurrency, settings.max_attempts) == (1, 1)


def _run_dir(tmp_path: Path, settings: object) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    record = {
        "catalog": str(tmp_path / "c.csv"),
        "catalog_sha256": "0" * 64,
        "settings": settings,
        "created_at": time.time(),
        "version": "0",
    }
    (run / "run.json").write_text(json.dumps(record), encoding="utf-8")
    return run


GOOD = SubmitSettings().to_json()


@pytest.mark.parametrize(
    "settings",
    [
        [1, 2],
        "fast",
        None,
        {**GOOD, "timeout": float("nan")},
        {**GOOD, "timeout": "30"},
        {**GOOD, "spacing": 0},
        {**GOOD, "margin": -1},
        {**GOOD, "concurrency": True},
        {**GOOD, "concurrency": 2.5},
        {**GOOD, "windows": "100/10s"},
        {**GOOD, "windows": [100]},
        {**GOOD, "windows": ["100 per 10s"]},
        {**GOOD, "respect_review_settings": "no"},
        {**GOOD, "base_url": 5},
        {**GOOD, "report_dir": ["x"]},
        {**GOOD, "on_exists": "explode"},
        {**GOOD, "unknown_future_setting": 1},  # ignored: a newer version's run.json
    ],
)
def test_a_damaged_run_json_is_one_sentence(
    settings: object,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = _run_dir(tmp_path, settings)
    if isinstance(settings, dict) and "unknown_future_setting" in settings:
        assert RunRecord.load(run).settings == SubmitSettings()
        return
    with pytest.raises(UsageError, match=r"run\.json is damaged"):
        RunRecord.load(run)
    monkeypatch.setenv("STATSIG_API_KEY", KEY)
    assert main(["resume", str(run)]) == 2
    err = capsys.readouterr().err
    assert "is damaged" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("text", ["[1]", "{", '{"catalog": 5}', "[" * 100_000, "\xff"])
def test_a_run_json_that_is_not_a_record_is_one_sentence(tmp_path: Path, text: str) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_bytes(text.encode("latin-1"))
    with pytest.raises(UsageError, match=r"run\.json is damaged"):
        RunRecord.load(run)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (f"{KEY}\nconsole-another-key-0000\n", "has more than one line"),
        (f"{KEY}\r\n\r\nsecond", "has more than one line"),
        (f"{KEY[:10]}\x1b[2J{KEY[10:]}", "holds control characters"),
        (f"{KEY}\x00", "holds control characters"),
        (f"console- {KEY}", "holds spaces"),
        (f"{KEY}é", "not plain ASCII"),
        ("x" * 5000, "too large"),
    ],
)
def test_a_key_file_that_holds_more_than_a_key_is_one_sentence(
    content: str, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(content, encoding="utf-8")
    with pytest.raises(ApiKeyError, match=says):
        load_api_key(key_file)
    catalog = write_csv(tmp_path / "c.csv", [good()])
    code = main(["submit", str(catalog), "--api-key-file", str(key_file)])
    err = capsys.readouterr().err
    assert code == 2
    assert says in err and "Traceback" not in err
    assert KEY not in err


def test_a_key_with_a_trailing_newline_is_fine(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(f"  {KEY}\n", encoding="utf-8")
    assert load_api_key(key_file) == ApiKey(KEY)
    with pytest.raises(ApiKeyError, match=r"\$STATSIG_API_KEY has more than one line"):
        load_api_key(environ={"STATSIG_API_KEY": f"{KEY}\nx"})


@pytest.mark.parametrize(("rows", "code"), [(1, 0), (300, 1)])
def test_a_closed_stdout_is_quiet_and_the_exit_code_stays(
    rows: int, code: int, tmp_path: Path
) -> None:
    """`bulk-sources validate c.csv | head -1`, with the reader gone before anything came."""
    broken = [good(f"n{i}", timestampColumn="") for i in range(rows)] if rows > 1 else [good()]
    catalog = write_csv(tmp_path / "c.csv", broken)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            tool("validate", str(catalog)), stdout=write_end, stderr=subprocess.PIPE, text=True
        )
    finally:
        os.close(write_end)
    assert done.returncode == code
    assert done.stderr == ""


def test_a_bug_is_one_sentence_and_exit_4_never_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import bulk_sources.run.entry as session

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("something the tool did not expect\x1b[2J")

    monkeypatch.setattr(session, "submit_catalog", broken)
    monkeypatch.setenv("STATSIG_API_KEY", "console-bug")
    catalog = write_catalog(tmp_path / "c.csv", [row("a")])
    assert main(["submit", str(catalog), "--base-url", "http://127.0.0.1:9"]) == 4
    err = capsys.readouterr().err
    assert "internal error (RuntimeError: something the tool did not expect)" in err
    assert "Traceback" not in err and "\x1b" not in err
