"""The DataFrame door and the public API: a frame in, the stand-in, a results frame out."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
from submit_helpers import settings

import bulk_sources
from bulk_sources import ApiKey, Outcome, submit_frame_async, validate_frame
from bulk_sources.fakeapi import FakeApiServer


def _frame(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "name": [f"frame_{i:03d}" for i in range(n)],
            "sql": [f"SELECT * FROM t{i}" for i in range(n)],
            "timestampColumn": ["ts"] * n,
            "experimentIDColumn": ["exp"] * n,
            "groupIDColumn": ["grp"] * n,
            "idTypeMapping": ["userID=user_id"] * n,
            "tags": [["frames", f"t{i % 3}"] for i in range(n)],
            "isVerified": [i % 2 == 0 for i in range(n)],
        },
        index=range(100, 100 + n),  # row numbers are positions, not the index
    )


async def test_a_frame_round_trips_through_the_stand_in(
    fake_server: FakeApiServer, tmp_path: Path
) -> None:
    frame = _frame(30)
    frame.loc[104, "sql"] = "  "  # the fifth row: invalid, reported as row 5
    report = await submit_frame_async(
        frame, settings(fake_server.url, tmp_path / "r"), ApiKey(fake_server.key), name="notebook"
    )
    results = report.results_frame()
    assert len(results) == len(frame)
    assert list(results["row"]) == list(range(1, 31))
    assert list(results["name"]) == list(frame["name"])
    assert results.loc[4, "status"] == "invalid"
    assert (results.drop(index=4)["status"] == "created").all()
    assert report.outcome is Outcome.ROWS_FAILED
    assert report.run_dir.name.endswith("-notebook")
    held = fake_server.state.sources
    assert held["frame_000"]["tags"] == ["frames", "t0"]
    assert held["frame_001"]["isVerified"] is False
    assert len(held) == 29
    # The frame's copy stays in the run folder (resume needs it); no temporary file is left.
    assert (report.run_dir / "catalog.parquet").is_file()
    assert not list((tmp_path / "r").glob(".frame-*"))


def test_validate_frame_numbers_rows_by_position() -> None:
    frame = _frame(3)
    frame.loc[101, "timestampColumn"] = None
    report = validate_frame(frame)
    assert report.total == 3
    assert report.valid_count == 2
    assert [(e.row, e.field) for e in report.invalid[2]] == [(2, "timestampColumn")]


def test_every_public_name_imports() -> None:
    for name in bulk_sources.__all__:
        assert getattr(bulk_sources, name) is not None, name


def test_import_and_help_load_no_heavy_library() -> None:
    # --help must stay fast: the network, data and server stacks load only for a command.
    code = (
        "import sys, bulk_sources; from bulk_sources.cli.main import build_parser; "
        "build_parser(); print(sorted(m for m in ('aiohttp', 'pandas', 'pyarrow', 'tqdm', "
        "'sqlglot') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
