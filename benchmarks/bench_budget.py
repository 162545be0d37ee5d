"""Know the real budget (issue 9): the tool on its defaults against servers whose windows differ.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_budget.py [--sizes 1200 3000] [--only NAME]

Windows scaled by 0.02 (10 s -> 0.2 s, 15 min -> 18 s), the stand-in counts rejected attempts
and sends no Retry-After (its defaults: the current Console API page). Every measurement gets
a fresh stand-in (in this process, so its arrival log is exact) and a fresh state directory
for the tool's budget memory; the "again" row is a second, identical run right after, on the
same stand-in and state directory. The tool is `bulk-sources submit` as a user runs it (a
subprocess), told its default ceiling scaled, the page's quota alone: `--rate-limit 1800/18s`,
everything else default (`--max-wait` scaled too: 72s). Every short window is learned.

- time / limit: from the run's first arrival at the server to its last accepted one, over
  the fastest schedule any client could keep on the server's real windows from that first
  arrival, given everything the server already counted (for "again": what is left).
- 429s: arrivals of the run answered 429, and their share of the run's requests.
- learned: the windows in force at the end of the run (summary.json "budget").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bulk_sources.api.protocol import KEY_HEADER, SOURCES_PATH
from bulk_sources.fakeapi import FakeApiConfig, FakeApiServer
from bulk_sources.fakeapi.serverstate import key_label
from bulk_sources.limits.windows import DEFAULT_WINDOWS, STAND_IN_WINDOWS, Window, exact_schedule

SCALE = 0.02
KEY, OTHER = "console-bench-ours-0001", "console-bench-other-0002"
HEADER = "name,sql,timestampColumn,experimentIDColumn,groupIDColumn,idTypeMapping\n"


def scaled(*windows: Window) -> list[Window]:
    return [Window(w.count, w.period * SCALE) for w in windows]


TOLD = scaled(*DEFAULT_WINDOWS)
SERVERS: dict[str, tuple[list[Window], Window | None, str]] = {
    "page": (scaled(Window(100, 10), Window(1800, 900)), None, "<= 1.50x, 429s <= 2 %"),
    "earlier": (scaled(Window(100, 10), Window(900, 900)), None, "<= 1.10x, 429s <= 2 %"),
    "stricter": (scaled(Window(50, 10), Window(450, 900)), None, "<= 1.10x, 429s <= 2 %"),
    "burst": (scaled(Window(1800, 900)), scaled(Window(20, 2))[0], "<= 1.15x, 429s <= 2 %"),
}
# Cases beside one run per server: two runs on one key (together, or the second 0.5 s late;
# at 0.5 s the first has sent 3 of the 12 bursts, so the exact limit is the same), and
# another client using 30 % of the budget.
EXTRA = ("two", "two-late", "other")
SERVER_LABEL = {
    "page": "100/10s + 1800/15m (the page)",
    "earlier": "100/10s + 900/15m (earlier page)",
    "stricter": "50/10s + 450/15m (stricter project)",
    "burst": "1800/15m + burst 20/2s (unknown)",
}


@dataclass
class Row:
    server: str
    n: int
    run: str
    ratio: float
    rejected: int
    requests: int
    created: int
    learned: str
    target: str
    exit_code: int


def write_catalog(path: Path, prefix: str, n: int) -> Path:
    lines = [
        # The SQL returns every mapped column (the SQL check refuses one that does not).
        f'{prefix}_{i},"SELECT user_id, ts, experiment, grp FROM t.exposures_{i}",'
        "ts,experiment,grp,userID=user_id\n"
        for i in range(n)
    ]
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


async def submit(
    url: str,
    catalog: Path,
    work: Path,
    state: Path,
    told: list[Window] | None = TOLD,
    max_wait: float | None = 3600 * SCALE,
) -> tuple[int, dict[str, Any]]:
    """Run the tool; `told` None or `max_wait` None leave it on its real defaults."""
    keyfile = work / "key.txt"
    keyfile.write_text(KEY)
    reports = work / f"reports-{catalog.stem}"
    command = [sys.executable, "-m", "bulk_sources", "submit", str(catalog)]
    command += ["--base-url", url, "--api-key-file", str(keyfile), "--quiet"]
    command += ["--report-dir", str(reports)]
    if max_wait is not None:
        command += ["--max-wait", f"{max_wait:g}s"]
    for window in told or []:
        command += ["--rate-limit", str(window)]
    env = {**os.environ, "BULK_SOURCES_STATE_DIR": str(state)}
    proc = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, err = await proc.communicate()
    summaries = sorted(reports.glob("**/summary.json"), key=lambda p: p.stat().st_mtime)
    if not summaries:
        raise RuntimeError(f"no summary (exit {proc.returncode}): {err.decode()[-2000:]}")
    return proc.returncode or 0, json.loads(summaries[-1].read_text())


def measure(
    server: FakeApiServer, windows: list[Window], since: int, n_rows: int
) -> tuple[float, int, int]:
    """(time / limit, 429s, requests) of our arrivals from index `since` on."""
    arrivals = server.state.arrivals
    ours = [a for a in arrivals[since:] if a.key == key_label(KEY)]
    if not ours:
        return float("nan"), 0, 0
    first = ours[0].time
    last = max(a.time for a in ours if a.accepted)
    history = [a.time for a in arrivals[:since]] + [
        a.time for a in arrivals[since:] if a.key != key_label(KEY) and a.time < first
    ]
    limit = exact_schedule(n_rows, windows, history, start=first)[-1] - first
    rejected = sum(not a.accepted for a in ours)
    return (last - first) / limit if limit > 0 else float("inf"), rejected, len(ours)


def learned_of(summary: dict[str, Any]) -> str:
    budget = summary.get("budget") or {}
    return " + ".join(budget.get("in_force", []))


async def one_server(name: str, n: int, work: Path) -> list[Row]:
    windows, burst, target = SERVERS[name]
    config = FakeApiConfig(keys=[KEY], windows=windows, burst=burst)
    state = work / "state"
    rows = []
    async with FakeApiServer(config) as server:
        all_windows = [*windows, *([burst] if burst else [])]
        for run, target_text in (("first", target), ("again", "<= 1.02x of what is left, 0")):
            since = len(server.state.arrivals)
            catalog = write_catalog(work / f"{name}-{run}.csv", f"{name}_{run}", n)
            code, summary = await submit(server.url, catalog, work, state)
            ratio, rejected, requests = measure(server, all_windows, since, n)
            created = summary["counts"].get("created", 0)
            rows.append(
                Row(
                    SERVER_LABEL[name],
                    n,
                    run,
                    ratio,
                    rejected,
                    requests,
                    created,
                    learned_of(summary),
                    target_text,
                    code,
                )
            )
    return rows


async def two_processes(work: Path, late: float = 0.0) -> Row:
    """Two runs of 600 rows on one key, the second started `late` seconds after the first
    (0.5 s is 25 s unscaled: into the first one's learning)."""
    windows = scaled(*STAND_IN_WINDOWS)
    async with FakeApiServer(FakeApiConfig(keys=[KEY], windows=windows)) as server:
        state = work / "state"
        catalogs = [write_catalog(work / f"two-{p}.csv", f"two_{p}", 600) for p in "ab"]

        async def one(catalog: Path, start: float) -> tuple[int, dict[str, Any]]:
            await asyncio.sleep(start)
            return await submit(server.url, catalog, work, state)

        results = await asyncio.gather(one(catalogs[0], 0.0), one(catalogs[1], late))
        ratio, rejected, requests = measure(server, windows, 0, 1200)
        created = sum(s["counts"].get("created", 0) for _, s in results)
        code = max(c for c, _ in results)
        return Row(
            "page, two processes x 600 rows",
            1200,
            f"second {late:g} s late" if late else "together",
            ratio,
            rejected,
            requests,
            created,
            learned_of(results[0][1]),
            "<= 1.50x, 429s <= 2 %",
            code,
        )


async def other_client(work: Path, n: int) -> Row:
    windows = scaled(*STAND_IN_WINDOWS)
    config = FakeApiConfig(keys=[KEY, OTHER], windows=windows, projects={"p": [KEY, OTHER]})
    async with FakeApiServer(config) as server:
        catalog = write_catalog(work / "other.csv", "other", n)
        job = asyncio.ensure_future(submit(server.url, catalog, work, work / "state"))
        # Another client of the same project: 30 % of the long window's budget, evenly, blind.
        interval = windows[1].period / (0.3 * windows[1].count)
        async with aiohttp.ClientSession(headers={KEY_HEADER: OTHER}) as session:
            i = 0
            while not job.done():
                body = {
                    "name": f"theirs_{i}",
                    "sql": "select 1",
                    "timestampColumn": "ts",
                    "experimentIDColumn": "e",
                    "groupIDColumn": "g",
                    "idTypeMapping": [{"statsigUnitID": "userID", "column": "u"}],
                }
                async with session.post(server.url + SOURCES_PATH, json=body) as response:
                    await response.read()
                i += 1
                await asyncio.sleep(interval)
        code, summary = await job
        ratio, rejected, requests = measure(server, windows, 0, n)
        return Row(
            "page, another client using 30 %",
            n,
            "first",
            ratio,
            rejected,
            requests,
            summary["counts"].get("created", 0),
            learned_of(summary),
            "all created, 429s <= 2 %",
            code,
        )


def table(rows: list[Row]) -> str:
    out = [
        "| server's real windows | N | run | time / limit | 429s | 429s / requests | created "
        "| exit | learned (in force at the end) | target |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for r in rows:
        share = 100.0 * r.rejected / r.requests if r.requests else 0.0
        out.append(
            f"| {r.server} | {r.n} | {r.run} | {r.ratio:.3f} | {r.rejected} | {share:.1f} % "
            f"| {r.created} | {r.exit_code} | {r.learned} | {r.target} |"
        )
    return "\n".join(out)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1200, 3000])
    parser.add_argument(
        "--only",
        action="append",
        help=f"lab cases: one of {', '.join([*SERVERS, *EXTRA])}; with --matrix: "
        "cells whose name contains it, e.g. 20/1s-0-200ms or busy",
    )
    parser.add_argument(
        "--matrix",
        action="store_true",
        help="the real-time matrix and the compressed latency/busy cases (budget_matrix.py)",
    )
    parser.add_argument(
        "--busy",
        action="store_true",
        help="with --matrix: every chosen cell with CPU-bound processes beside it",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="with --matrix: run every chosen cell this many times (timing varies run to run)",
    )
    args = parser.parse_args()
    if args.matrix:
        from budget_matrix import run_matrix

        await run_matrix(args.only or [], busy=args.busy, repeat=args.repeat)
        return
    unknown = set(args.only or []) - {*SERVERS, *EXTRA}
    if unknown:
        parser.error(f"unknown case(s): {', '.join(sorted(unknown))}")
    wanted = args.only or [*SERVERS, *EXTRA]
    rows: list[Row] = []
    started = time.time()
    for n in args.sizes:
        for name in SERVERS:
            if name in wanted:
                with tempfile.TemporaryDirectory() as tmp:
                    rows += await one_server(name, n, Path(tmp))
                print(table(rows[-2:]).splitlines()[-2:][0], file=sys.stderr, flush=True)
    for name, late in (("two", 0.0), ("two-late", 0.5)):
        if name in wanted:
            with tempfile.TemporaryDirectory() as tmp:
                rows.append(await two_processes(Path(tmp), late))
    if "other" in wanted:
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(await other_client(Path(tmp), 1200))
    print(table(rows))
    print(f"\n({time.time() - started:.0f} s in all)")


if __name__ == "__main__":
    asyncio.run(main())
