"""Review, then apply: the dry run shows `old -> new` values, `submit --plan PLAN` applies
that plan or refuses (exit 2, naming the rows) when the server or the catalog changed."""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from catalog_helpers import row, write_catalog
from process_helpers import server_process, server_stats

from bulk_sources.cli.main import build_parser, main

KEY = "console-apply-test-secret-0123456789"
WINDOWS = ["50/500ms"]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with server_process(KEY, WINDOWS) as url:
        yield url


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATSIG_API_KEY", KEY)


def _args(url: str, reports: Path) -> list[str]:
    return ["--base-url", url, "--report-dir", str(reports), "--quiet", "--rate-limit", WINDOWS[0]]


def _plan_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _folders(reports: Path) -> list[Path]:
    return sorted(p for p in reports.rglob("*") if p.is_dir()) if reports.exists() else []


def test_the_plan_shows_old_and_new_values_and_a_dropped_tag(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "r"
    catalog = write_catalog(tmp_path / "c.csv", [row("ov_a"), row("ov_b")])
    assert main(["submit", str(catalog), *_args(server, reports), "--tag", "mig"]) == 0
    # The same catalog without --tag, and row 2's SQL edited.
    write_catalog(catalog, [row("ov_a"), row("ov_b", sql="SELECT * FROM t2")])
    plan = tmp_path / "plan.csv"
    argv = ["submit", str(catalog), *_args(server, reports), "--on-exists", "update"]
    capsys.readouterr()
    assert main([*argv, "--dry-run", "--plan", str(plan)]) == 0
    out = capsys.readouterr().out
    assert "      row 1 (ov_a):\n          tags: -mig\n" in out
    assert (
        "      row 2 (ov_b):\n"
        "          tags: -mig\n"
        '          sql: "SELECT * FROM exposures_ov_b" -> "SELECT * FROM t2"\n'
    ) in out
    rows = _plan_rows(plan)
    assert json.loads(rows[1]["changes"]) == [
        "tags: -mig",
        'sql: "SELECT * FROM exposures_ov_b" -> "SELECT * FROM t2"',
    ]
    assert main([*argv, "--dry-run", "--plan", str(plan), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["examples"]["update"][0]["changes"] == ["tags: -mig"]


def test_an_unchanged_plan_is_applied(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "r"
    catalog = write_catalog(tmp_path / "c.csv", [row("ap_a"), row("ap_b")])
    plan = tmp_path / "plan.csv"
    assert (
        main(["submit", str(catalog), *_args(server, reports), "--dry-run", "--plan", str(plan)])
        == 0
    )
    assert main(["submit", str(catalog), *_args(server, reports), "--plan", str(plan)]) == 0
    assert "  created             2" in capsys.readouterr().out


def test_a_plan_made_with_on_exists_update_is_applied_with_it(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "r"
    catalog = write_catalog(tmp_path / "c.csv", [row("oe_a"), row("oe_b")])
    assert main(["submit", str(catalog), *_args(server, reports)]) == 0
    write_catalog(catalog, [row("oe_a"), row("oe_b", sql="SELECT * FROM t3")])
    plan = tmp_path / "plan.csv"
    dry = ["submit", str(catalog), *_args(server, reports), "--dry-run", "--plan", str(plan)]
    assert main([*dry, "--on-exists", "update"]) == 0
    capsys.readouterr()
    # Applied without repeating --on-exists: the plan says what was reviewed.
    assert main(["submit", str(catalog), *_args(server, reports), "--plan", str(plan)]) == 0
    out, err = capsys.readouterr()
    assert "applying the plan with --on-exists update, as it was made" in err
    assert "  updated             1" in out


def test_a_plan_the_server_outdated_is_refused_then_replanned(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "r"
    catalog = write_catalog(tmp_path / "c.csv", [row("sv_a"), row("sv_b"), row("sv_c")])
    plan = tmp_path / "plan.csv"
    assert (
        main(["submit", str(catalog), *_args(server, reports), "--dry-run", "--plan", str(plan)])
        == 0
    )
    # Someone else creates row 2 before the plan is applied.
    other = write_catalog(tmp_path / "other.csv", [row("sv_b", sql="SELECT * FROM t9")])
    assert main(["submit", str(other), *_args(server, tmp_path / "elsewhere")]) == 0
    capsys.readouterr()
    before = server_stats(server)["mutations"]
    code = main(["submit", str(catalog), *_args(server, reports), "--plan", str(plan)])
    err = capsys.readouterr().err
    assert code == 2
    assert err == (
        f"bulk-sources: the plan {plan} no longer holds for 1 row(s): row 2 (sv_b): planned "
        "create, now skip. Nothing was sent: review a new `--dry-run`, or pass --replan to "
        "apply today's plan\n"
    )
    assert server_stats(server)["mutations"] == before
    assert [p.name for p in _folders(reports)] == []  # the dry run wrote to --plan FILE
    argv = ["submit", str(catalog), *_args(server, reports), "--plan", str(plan), "--replan"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "replanned: row 2 (sv_b): planned create, now skip\n" in captured.err
    assert "  created             2" in captured.out


def test_a_plan_whose_catalog_row_was_edited_is_refused(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "r"
    catalog = write_catalog(tmp_path / "c.csv", [row("cv_a"), row("cv_b")])
    plan = tmp_path / "plan.csv"
    assert (
        main(["submit", str(catalog), *_args(server, reports), "--dry-run", "--plan", str(plan)])
        == 0
    )
    write_catalog(catalog, [row("cv_a", sql="SELECT * FROM t3"), row("cv_b")])
    capsys.readouterr()
    assert main(["submit", str(catalog), *_args(server, reports), "--plan", str(plan)]) == 2
    assert "row 1 (cv_a): the catalog row changed. Nothing was sent" in capsys.readouterr().err


def test_replan_without_a_plan_and_a_file_that_is_no_plan_are_usage_errors(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = write_catalog(tmp_path / "c.csv", [row("np_a")])
    args = ["submit", str(catalog), *_args(server, tmp_path / "r")]
    assert main([*args, "--replan"]) == 2
    assert capsys.readouterr().err == (
        "bulk-sources: --replan goes with --plan FILE (the plan to apply)\n"
    )
    assert main([*args, "--plan", str(catalog)]) == 2
    assert capsys.readouterr().err == (
        f"bulk-sources: {catalog} is not a plan written by `submit --dry-run` (columns row, "
        "name, action, fields, note expected)\n"
    )


def test_every_catalog_argument_names_xlsx() -> None:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    catalogs = {
        name: action.help
        for name, sub in subparsers.choices.items()
        for action in sub._actions
        if action.dest == "catalog"
    }
    assert set(catalogs) >= {"submit", "validate", "demo"}
    for name, text in catalogs.items():
        assert "xlsx" in (text or ""), f"{name}'s catalog help does not name xlsx: {text}"
