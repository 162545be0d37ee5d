"""report.html: one self-contained page per run folder, for people who would rather look.

It shows the counts, the target, the rows to look at (sortable, filterable), the plan with
`old -> new` per changed field, and the timeline (timeline.py): requests per short and long
window against the limits in force, 429s and waits marked, and where the time went.

Jinja2 renders it (autoescaped: names and error texts come from catalogs and servers), and
uPlot draws the chart; both the library and the page's own CSS and JS are inlined from
`assets/`, so the page opens offline and from any copy of the folder. Jinja2 is imported
only here, when a page is written, never for `--help`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ...fileio import write_text
from .folder import JOURNAL_FILE, PLAN_FILE, RESULTS_FILE, RunRecord
from .planview import plan_context
from .results import DONE, RETRYABLE, UNSETTLED, RowResult, Status
from .summary import DryRun, RunReport
from .timeline import Timeline, build_timeline, limit_schedule, read_segments

PAGE_FILE = "report.html"
# Tables beyond this many rows are cut (every row is in results.csv / plan.csv): a page of
# 100,000 rows would take a browser longer to open than the file it replaces.
MAX_TABLE_ROWS = 5000
_UPLOT_VERSION = re.compile(r"uPlot \(v([\d.]+)\)")


def write_run_page(report: RunReport) -> Path:
    """report.html for a submit, resume, retry or rollback, from its report and folder."""
    run_dir = report.run_dir
    summary = report.to_json()
    timeline = build_timeline(
        read_segments(run_dir / JOURNAL_FILE), limit_schedule(report.budget, report.windows)
    )
    context = {
        **_header(run_dir, report.outcome.value, _kind(report), _target_of(run_dir)),
        "facts": _facts(report),
        "stopped": report.stopped,
        "headline": _headline(timeline, report.requests.sent),
        "counts": _count_tiles(report.counts, summary),
        **_rows_context([r for r in report.results if r.status in RETRYABLE or r.error]),
        **plan_context(run_dir / PLAN_FILE, MAX_TABLE_ROWS),
        "warnings": report.warnings[:MAX_TABLE_ROWS],
        "notes": [f"catalog: {n}" for n in report.catalog_notes],
        **_timeline_context(timeline),
        "budget": _budget_facts(report.budget),
        "budget_changes": _budget_changes((report.budget or {}).get("changes") or []),
        "rows_file": RESULTS_FILE,
    }
    return _write(run_dir / PAGE_FILE, context)


def page_or_note(write: Callable[[], Path]) -> tuple[Path | None, str]:
    """The page, or why not: it only shows what the folder's other files hold, so whatever
    breaks it (a full disk, a bug) costs a note, never the run."""
    try:
        return write(), ""
    except Exception as exc:
        return None, f"no report page ({type(exc).__name__}: {exc})"


def add_dry_run_page(plan: DryRun, base_url: str) -> None:
    """A dry run's page, in the folder it made for its plan (never beside a named file)."""
    plan.page, note = page_or_note(lambda: write_dry_run_page(plan, base_url))
    if note:
        plan.notes.append(note)


def write_dry_run_page(plan: DryRun, base_url: str) -> Path:
    """report.html beside a dry run's plan.csv: what a submit would do, nothing sent."""
    assert plan.plan_file is not None
    folder = plan.plan_file.parent
    tiles = [
        (a, n, "good" if a in ("create", "update", "unchanged") else "bad")
        for a, n in plan.actions.items()
    ]
    context = {
        **_header(folder, "dry run", "nothing sent", _host(base_url)),
        "outcome_class": "dry",
        "facts": [
            ("catalog", str(plan.catalog)),
            ("rows", str(plan.rows)),
            ("requests needed", str(plan.requests)),
            ("windows", ", ".join(plan.windows) + f" (budget: {plan.budget_source})"),
        ],
        "headline": f"{plan.requests} requests under {', '.join(plan.windows)} take at least "
        f"{_duration(plan.estimated_seconds)}.",
        "counts": tiles,
        **_rows_context(plan.problems),
        "no_rows": "None: no row is invalid or would fail.",
        **plan_context(plan.plan_file, MAX_TABLE_ROWS),
        "warnings": plan.warnings[:MAX_TABLE_ROWS],
        "notes": [f"catalog: {n}" for n in plan.catalog_notes] + plan.notes,
        "timeline": None,
        "timeline_json": None,
        "no_chart": "A dry run sends nothing; a submit of this plan draws its timeline here.",
        "rows_file": plan.plan_file.name,
    }
    return _write(folder / PAGE_FILE, context)


def render(context: dict[str, Any]) -> str:
    import jinja2  # here only: `--help` and every import of the run stay free of it

    env = jinja2.Environment(autoescape=True, undefined=jinja2.ChainableUndefined)
    template = env.from_string(_asset("report.html.j2"))
    uplot = _asset("uPlot.iife.min.js")
    found = _UPLOT_VERSION.search(uplot[:200])
    return template.render(
        **context,
        uplot_js=uplot,
        uplot_css=_asset("uPlot.min.css"),
        uplot_version=found.group(1) if found else "",
        page_css=_asset("report.css"),
        page_js=_asset("report.js"),
    )


def _write(path: Path, context: dict[str, Any]) -> Path:
    from ...version import __version__

    context = {
        "version": __version__,
        "written": _when(time.time()),
        "folder": str(path.parent),
        **context,
    }
    write_text(path, render(context))
    return path


def _asset(name: str) -> str:
    return (resources.files(__package__) / "assets" / name).read_text(encoding="utf-8")


# -- the header ------------------------------------------------------------------------------


def _header(folder: Path, outcome: str, kind: str, target: str) -> dict[str, Any]:
    return {
        "title": folder.name,
        "outcome": outcome.replace("_", " "),
        "outcome_class": outcome,
        "kind": kind,
        "target": target,
    }


def _kind(report: RunReport) -> str:
    if report.rollback_of:
        kind = f"rollback of {Path(report.rollback_of).name}"
    elif report.retry_of:
        kind = f"retry of {Path(report.retry_of).name}"
    else:
        kind = "submit"
    return kind + (", resumed" if report.resumed else "")


def _target_of(run_dir: Path) -> str:
    try:
        return _host(RunRecord.load(run_dir).settings.base_url)
    except Exception:  # a damaged run.json costs the page its target line, nothing more
        return ""


def _host(url: str) -> str:
    """scheme://host[:port]/path: never a user, password or query, whatever the URL held."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}".rstrip("/")


def _facts(report: RunReport) -> list[tuple[str, str]]:
    r = report.requests
    facts = [
        ("catalog", str(report.catalog)),
        ("started", _when(report.started_at)),
        ("ended", _when(report.ended_at)),
        ("duration", _duration(report.duration_s)),
        ("requests", f"{r.sent} sent, {r.rate_limited_429} answered 429, {r.retries} retries"),
        ("windows", ", ".join(report.windows)),
    ]
    if report.catalog_changed_since_start:
        facts.append(("catalog", "changed since the run started; the run used its own copy"))
    return facts


def _count_tiles(counts: dict[str, int], summary: dict[str, Any]) -> list[tuple[str, int, str]]:
    tiles = []
    for status in Status:
        n = counts.get(status.value, 0)
        if not n and status not in (Status.CREATED, Status.FAILED):
            continue
        kind = "good" if status in DONE else "warn" if status in UNSETTLED else "bad"
        tiles.append((status.value, n, kind if n else "zero"))
    tiles.append(("requests", int(summary.get("requests_sent", 0)), ""))
    n429 = int(summary.get("rate_limited_429", 0))
    tiles.append(("429s", n429, "bad" if n429 else "zero"))
    return tiles


# -- rows and plan ---------------------------------------------------------------------------


def _rows_context(results: Sequence[RowResult]) -> dict[str, Any]:
    rows = [
        {
            "row": r.row,
            "name": r.name or "",
            "status": r.status.value,
            "http": "" if r.http_status is None else str(r.http_status),
            "attempts": r.attempts,
            "error": r.error,
        }
        for r in results[:MAX_TABLE_ROWS]
    ]
    return {
        "rows": rows,
        "rows_total": len(results),
        "row_statuses": sorted({r.status.value for r in results}),
    }


# -- timeline and budget ---------------------------------------------------------------------


def _timeline_context(tl: Timeline) -> dict[str, Any]:
    if not tl.times:
        return {"timeline": None, "timeline_json": None, "no_chart": "No request was sent."}
    busy = tl.busy or 1.0
    start = tl.times[0]
    waits = sorted(tl.waits, key=lambda w: -w.seconds)
    return {
        "timeline": True,
        "timeline_json": tl.to_json(),
        "breakdown": [(why, f"{s:.1f}", f"{s / busy:.0%}") for why, s in tl.breakdown()],
        "waits": [
            {
                "at": f"{_when(w.start)} (+{w.start - start:.1f} s)",
                "seconds": f"{w.seconds:.1f}",
                "why": w.why,
            }
            for w in waits[:MAX_TABLE_ROWS]
        ],
    }


def _headline(tl: Timeline, sent: int) -> str:
    if not tl.times:
        return ""
    parts = [f"{_duration(s)} {why}" for why, s in tl.breakdown()[:3] if s >= 0.05]
    return f"{sent} requests in {_duration(tl.busy)}: " + "; ".join(parts) + "."


def _budget_facts(budget: dict[str, Any] | None) -> list[tuple[str, str]]:
    if not budget:
        return []
    learned = budget.get("learned_from") or {}
    facts = [
        ("in force at the end", ", ".join(budget.get("in_force") or [])),
        ("ceilings", ", ".join(budget.get("ceilings") or [])),
        ("source", str(budget.get("source", ""))),
        ("429s this invocation", str(budget.get("rate_limited", 0))),
    ]
    if learned:
        facts.append(
            (
                "started from",
                f"{', '.join(learned.get('windows') or [])} "
                f"({learned.get('why') or 'learned earlier'})",
            )
        )
    return facts


def _budget_changes(changes: Iterable[Any]) -> list[dict[str, str]]:
    return [
        {
            "at": _when(float(c.get("at", 0.0))),
            "before": ", ".join(c.get("before") or []),
            "after": ", ".join(c.get("after") or []),
            "reason": str(c.get("reason", "")),
        }
        for c in changes
        if isinstance(c, dict)
    ]


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 10)}Z"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {sec:02d} s"
