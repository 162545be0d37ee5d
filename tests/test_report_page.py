"""report.html: every run folder's page, rendered by a real headless Chromium.

The runs are real (the stand-in as a process, with an unpublished burst window so 429s and
waits happen); the page is checked as the browser leaves it after its scripts ran: the
counts, a failed row, the chart, the target, and that it needs no network.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from catalog_helpers import good, row, write_catalog
from process_helpers import server_process

from bulk_sources.cli.main import main
from bulk_sources.run.record.journal import Journal
from bulk_sources.run.record.timeline import build_timeline, limit_schedule, read_segments

KEY = "console-page-test-secret-0123456789"
TOLD = "40/1s"  # what the client is told; the server also has an unpublished 8/250ms burst
CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with server_process(KEY, [TOLD], "--burst", "8/250ms") as url:
        yield url


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATSIG_API_KEY", KEY)


def _args(url: str, reports: Path) -> list[str]:
    return ["--base-url", url, "--report-dir", str(reports), "--quiet", "--rate-limit", TOLD]


def _last_line(out: str) -> str:
    return out.strip().splitlines()[-1]


def _page_of(out: str) -> Path:
    line = _last_line(out)
    assert line.startswith("report page: "), out
    page = Path(line.removeprefix("report page: "))
    assert page.name == "report.html" and page.is_file()
    return page


def rendered(page: Path, tmp_path: Path, fragment: str = "") -> str:
    """The DOM after the page's scripts ran, as headless Chromium serialises it."""
    if CHROMIUM is None:
        # .ci/run installs it and says so: there a missing browser is a failure, not a skip.
        if os.environ.get("BULK_SOURCES_NEED_CHROMIUM"):
            pytest.fail("chromium is missing although .ci/run was to install it")
        pytest.skip("needs Debian's chromium (apt-get install -y chromium; .ci/run does)")
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",  # CI runs as root, where Chromium refuses its sandbox
            "--disable-gpu",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--dump-dom",
            page.as_uri() + fragment,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def _tile(dom: str, status: str) -> int:
    found = re.search(rf'data-status="{status}"><span class="n">(\d+)</span>', dom)
    assert found, status
    return int(found.group(1))


def _timeline(page_html: str) -> dict[str, object]:
    found = re.search(
        r'<script type="application/json" id="timeline-data">(.*?)</script>', page_html, re.S
    )
    assert found
    data: dict[str, object] = json.loads(found.group(1))
    return data


def test_the_page_shows_counts_failed_rows_and_the_timeline_in_a_browser(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "r"
    taken = write_catalog(tmp_path / "first.csv", [row("pg_taken")])
    assert main(["submit", str(taken), *_args(server, reports)]) == 0
    capsys.readouterr()
    rows = [row(f"pg_{n:02d}") for n in range(40)]
    rows.append(row("pg_taken", sql="SELECT * FROM somewhere_else"))  # exists, other content
    rows.append(row("<img src=x onerror=alert(1)>", sql=""))  # invalid, and hostile
    catalog = write_catalog(tmp_path / "c.csv", rows)
    code = main(["submit", str(catalog), *_args(server, reports), "--on-exists", "fail"])
    out = capsys.readouterr().out
    assert code == 1, out
    page = _page_of(out)
    summary = json.loads((page.parent / "summary.json").read_text(encoding="utf-8"))
    assert summary["report_page"] == str(page)
    assert summary["rate_limited_429"] > 0, "the burst window should have answered 429"

    dom = rendered(page, tmp_path)
    assert _tile(dom, "created") == 40
    assert _tile(dom, "failed") == 1
    assert _tile(dom, "invalid") == 1
    assert _tile(dom, "429s") == summary["rate_limited_429"]
    failed = re.search(r'<tr data-status="failed">(.*?)</tr>', dom, re.S)
    assert failed and "pg_taken" in failed.group(1)
    assert html.escape(summary_error(page, "pg_taken"), quote=False) in failed.group(1)
    # The chart: drawn by uPlot after load, one lane per window, every 429 counted.
    assert 'data-chart="drawn"' in dom
    lanes = _timeline(page.read_text(encoding="utf-8"))["lanes"]
    assert dom.count('class="uplot') == len(lanes) >= 1  # type: ignore[arg-type]
    status = re.search(r'id="chart-status"[^>]*>([^<]*)<', dom)
    assert status and f"{summary['rate_limited_429']} 429s" in status.group(1)
    assert f'id="target">{server}<' in dom
    # The table's filter, from a link: only the failed row stays shown.
    only_failed = rendered(page, tmp_path, "#status=failed")
    shown = re.findall(r'<tr data-status="(\w+)"(?! hidden)', only_failed)
    assert shown == ["failed"], shown
    assert "1 of 2 shown" in only_failed
    # Hostile text stays text; nothing is fetched from anywhere.
    text = page.read_text(encoding="utf-8")
    assert "<img src=x" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text
    assert not re.search(r'(src|href)="(https?:)?//', text)
    assert KEY not in text


def summary_error(page: Path, name: str) -> str:
    for line in (page.parent / "results.csv").read_text(encoding="utf-8").splitlines()[1:]:
        if f",{name}," in line:
            return str(line.split(",", 5)[5].rsplit(",", 1)[0]).strip('"')
    raise AssertionError(name)


def test_the_timeline_marks_every_429_the_run_counted(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The journal records each 429 answer; the page marks them where they came, as many
    as the run counted."""
    reports = tmp_path / "r"
    catalog = write_catalog(tmp_path / "c.csv", [row(f"tl_{n:02d}") for n in range(30)])
    assert main(["submit", str(catalog), *_args(server, reports)]) == 0
    page = _page_of(capsys.readouterr().out)
    summary = json.loads((page.parent / "summary.json").read_text(encoding="utf-8"))
    data = _timeline(page.read_text(encoding="utf-8"))
    assert summary["rate_limited_429"] > 0
    lines = (page.parent / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    answers = [r["t"] for r in map(json.loads, lines) if r["event"] == "429"]
    assert len(answers) == summary["rate_limited_429"]
    assert data["rejected"] == [round(t, 3) for t in sorted(answers)]
    assert len(data["x"]) == summary["requests_sent"]  # type: ignore[arg-type]
    # Whether a hold is long enough to be a wait depends on real latency (the wait rule
    # itself is pinned on a written journal below); any wait with a 429 in it says so.
    for start, end, why in data["waits"]:  # type: ignore[attr-defined]
        if any(start <= t < end for t in data["rejected"]):  # type: ignore[attr-defined]
            assert why == "held after a 429", (start, end, why)


def test_each_invocation_is_read_on_its_own(tmp_path: Path) -> None:
    """A resume starts its rows' attempts again: the same attempt number after a `start`
    is not a 429, within one invocation it is; between invocations nothing ran."""
    clock = [1000.0]
    path = tmp_path / "journal.jsonl"
    with Journal(path, clock=lambda: clock[0]) as journal:
        journal.event("start")
        for attempt in (1, 1, 2):  # answered 429, then 500, then none (interrupted)
            journal.sending(rid="r", key="k", row=1, name="a", action="create", attempt=attempt)
            clock[0] += 1.0
        journal.event("stop", reason="interrupted")
        clock[0] += 100.0
        journal.event("start")  # the resume
        journal.sending(rid="s", key="k", row=1, name="a", action="create", attempt=2)
    segments = read_segments(path)
    assert [s.rejected for s in segments] == [[1000.0], []]
    timeline = build_timeline(segments, limit_schedule(None, ["2/10s"]))
    assert timeline.rejected == [1000.0]
    assert timeline.off == [(1003.0, 1103.0)]
    assert timeline.lanes[0].counts == [1, 2, 3, 1]
    assert timeline.lanes[0].limits == [2, 2, 2, 2]


def test_an_invocation_with_429_records_is_read_from_them(tmp_path: Path) -> None:
    """The `429` records are the 429s (where the answer came), not the attempt rule; an
    invocation written before them (the first here) is still read by the rule."""
    clock = [1000.0]
    path = tmp_path / "journal.jsonl"
    with Journal(path, clock=lambda: clock[0]) as journal:
        journal.event("start")  # an old invocation: no 429 record
        for attempt in (1, 1):
            journal.sending(rid="o", key="k", row=1, name="a", action="create", attempt=attempt)
            clock[0] += 1.0
        journal.event("start")
        journal.sending(rid="r1", key="k", row=1, name="a", action="create", attempt=1)
        clock[0] += 0.5
        journal.rate_limited(rid="r1", key="k", row=1, wait=10.0)
        clock[0] += 10.0
        journal.sending(rid="r2", key="k", row=1, name="a", action="create", attempt=1)
        clock[0] += 1.0  # two more sends: the median gap is short, the 10 s gap a wait
        journal.sending(rid="r3", key="j", row=2, name="b", action="create", attempt=1)
        journal.sending(rid="r4", key="j", row=2, name="b", action="create", attempt=2)
    segments = read_segments(path)
    assert [s.rejected for s in segments] == [[1000.0], [1002.5]]
    timeline = build_timeline(segments, limit_schedule(None, ["100/60s"]))
    assert timeline.rejected == [1000.0, 1002.5]
    assert [(w.start, w.end, w.why) for w in timeline.waits] == [
        (1002.0, 1012.5, "held after a 429")
    ]


def test_a_dry_run_page_shows_old_and_new_values(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "r"
    catalog = write_catalog(tmp_path / "c.csv", [row("dr_a"), row("dr_b")])
    assert main(["submit", str(catalog), *_args(server, reports)]) == 0
    write_catalog(catalog, [row("dr_a"), row("dr_b", sql="SELECT * FROM t2")])
    capsys.readouterr()
    argv = ["submit", str(catalog), *_args(server, reports), "--on-exists", "update"]
    assert main([*argv, "--dry-run"]) == 0
    out = capsys.readouterr().out
    page = _page_of(out)
    assert page.parent.name.endswith("-dry-run")
    text = page.read_text(encoding="utf-8")
    change = re.search(
        r"<tr><td[^>]*>2</td><td>dr_b</td><td>update</td><td>sql</td>(.*?)</tr>", text, re.S
    )
    assert change, "row 2's sql change is in the plan table"
    assert "&#34;SELECT * FROM exposures_dr_b&#34;" in change.group(1)
    assert "&#34;SELECT * FROM t2&#34;" in change.group(1)
    # Beside a plan file the user named, no page is written.
    named = tmp_path / "plan.csv"
    assert main([*argv, "--dry-run", "--plan", str(named)]) == 0
    assert not _last_line(capsys.readouterr().out).startswith("report page: ")
    assert not (tmp_path / "report.html").exists()


def test_a_page_lists_the_warnings_and_the_sheet_read(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = openpyxl.Workbook()
    book.active.title = "Read me"
    book.active.append(["This workbook lists our sources."])
    sheet = book.create_sheet("Sources")
    sheet.append([*good(), "description"])
    sheet.append([*good("wb_dated").values(), dt.datetime(2024, 3, 1)])
    book.save(tmp_path / "c.xlsx")
    argv = ["submit", str(tmp_path / "c.xlsx"), *_args(server, tmp_path / "r"), "--dry-run"]
    assert main(argv) == 0
    text = _page_of(capsys.readouterr().out).read_text(encoding="utf-8")
    warnings = re.search(r'<table class="sortable" id="warning-table">(.*?)</table>', text, re.S)
    assert warnings and "wb_dated" in warnings.group(1) and "description" in warnings.group(1)
    assert "is a date or time in the workbook" in warnings.group(1)
    assert re.search(r'<p class="hint">catalog: [^<]*Sources', text)


def test_a_page_that_cannot_be_written_is_a_note_and_the_run_stands(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "r"
    catalog = write_catalog(tmp_path / "c.csv", [row("nw_a")])
    assert main(["submit", str(catalog), *_args(server, reports)]) == 0
    page = _page_of(capsys.readouterr().out)
    page.unlink()
    page.mkdir()  # report.html is now a folder: the page can't go there
    (page / "keep").write_text("x", encoding="utf-8")
    # As a crash before any record reached the disk leaves it: resume does the whole run.
    journal = page.parent / "journal.jsonl"
    journal.write_text(journal.read_text(encoding="utf-8").splitlines()[0] + "\n")
    for name in ("results.csv", "created.jsonl", "summary.json"):  # no report yet either
        (page.parent / name).unlink()
    assert main(["resume", str(page.parent), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "no report page" in out
    assert _last_line(out) == f"run folder: {page.parent}"
    summary = json.loads((page.parent / "summary.json").read_text(encoding="utf-8"))
    assert summary["report_page"] is None and summary["outcome"] == "ok"


def test_a_rollback_folder_gets_its_own_page(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "r"
    catalog = write_catalog(tmp_path / "c.csv", [row("rb_a"), row("rb_b")])
    assert main(["submit", str(catalog), *_args(server, reports)]) == 0
    run_dir = _page_of(capsys.readouterr().out).parent
    assert main(["rollback", str(run_dir), "--dry-run"]) == 0
    planned = _page_of(capsys.readouterr().out)
    assert planned.parent.parent.name == "dry-runs"
    assert f"-c-rollback-of-{run_dir.name[:16]}" in planned.parent.name
    assert '<span class="pill">delete 2</span>' in planned.read_text(encoding="utf-8")
    assert main(["rollback", str(run_dir), "--quiet"]) == 0
    page = _page_of(capsys.readouterr().out)
    assert page.parent != run_dir
    text = page.read_text(encoding="utf-8")
    assert f"rollback of {run_dir.name}" in text
    assert 'data-status="deleted"><span class="n">2</span>' in text


def test_help_imports_no_page_library() -> None:
    probe = (
        "import sys\n"
        "from bulk_sources.cli.main import build_parser\n"
        "import bulk_sources.run.record.finish\n"
        "build_parser().format_help()\n"
        "print(sorted(m for m in ('jinja2', 'markupsafe') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
