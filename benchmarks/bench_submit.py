"""Submit speed under two rate-limit windows, next to the exact limit and a naive aiolimiter pair.

    .venv/bin/python benchmarks/bench_submit.py [--sizes 300 1200 3000] [--quick]

The windows are the real ones scaled by 0.02: 100/10 s -> 100/0.2 s and 900/15 min ->
900/18 s. Every measurement gets a fresh `bulk-sources fake-server` subprocess (strict
sliding windows, `--no-retry-after`), so no two runs share a budget.

- "limit" is `exact_schedule(N, windows)[-1]`: the fastest any client can go without a 429.
- "bulk-sources" is `submit_catalog_async` with the scaled windows; the margin and the 429
  pause are scaled by the same 0.02 (0.1 s -> 0.002 s, 10 s / 900 s -> 0.2 s / 18 s).
- "naive" is what a typical script does: one task per row, `AsyncLimiter(100, 0.2)` and
  `AsyncLimiter(900, 18)` in front of a plain aiohttp POST of the same body; on a 429 it
  sleeps Retry-After (or 0.2 s without one) and tries again.

Time is first to last request *sent*, measured on the client (the stand-in's /__stats gives
window maxima, not its arrival log): from the run summary's first/last_request_at for
bulk-sources, and from time.time() just before each POST for the naive script. Window
maxima are the stand-in's own: the most arrivals (429'd ones included) in any sliding
window of each size.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import aiohttp
from aiolimiter import AsyncLimiter

from bulk_sources.api.apikey import ApiKey
from bulk_sources.api.protocol import API_VERSION
from bulk_sources.api.protocol import SOURCES_PATH as CREATE_PATH
from bulk_sources.catalog.reader import open_catalog
from bulk_sources.catalog.validation import validate_catalog
from bulk_sources.limits.windows import Window, exact_schedule
from bulk_sources.run.entry import submit_catalog_async
from bulk_sources.run.settings import SubmitSettings

SCALE = 0.02
WINDOWS = (Window(100, 10.0 * SCALE), Window(900, 900.0 * SCALE))
MARGIN = 0.0  # drift is 100 ppm of each window, which scales with it by itself
NAIVE_429_SLEEP = 10.0 * SCALE
HEADER = ["name", "sql", "timestampColumn", "experimentIDColumn", "groupIDColumn", "idTypeMapping"]
_AREAS = ["checkout", "search", "onboarding", "pricing", "feed", "ads", "growth", "billing"]


def write_catalog(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for i in range(n):
            area = _AREAS[i % len(_AREAS)]
            writer.writerow(
                [
                    f"bench_{area}_{i}",
                    f"SELECT user_id, ts, experiment, grp FROM {area}.exposures_{i}",
                    "ts",
                    "experiment",
                    "grp",
                    "userID=user_id",
                ]
            )


@dataclass
class Server:
    proc: subprocess.Popen[str]
    url: str
    key: str

    async def stats(self) -> dict[str, Any]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(self.url + "/__stats") as response,
        ):
            response.raise_for_status()
            data: dict[str, Any] = await response.json()
            return data

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_server(log: IO[str]) -> Server:
    command = [sys.executable, "-m", "bulk_sources", "fake-server", "--port", "0"]
    for window in WINDOWS:
        command += ["--rate-limit", str(window)]
    command.append("--no-retry-after")
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
    assert proc.stdout is not None
    found: dict[str, str] = {}
    while len(found) < 2:
        line = proc.stdout.readline()
        if not line:
            proc.wait()
            raise RuntimeError(f"fake-server exited ({proc.returncode}) before url/key")
        label, _, value = line.partition(": ")
        if label in ("url", "key"):
            found[label] = value.strip()
    return Server(proc, found["url"], found["key"])


@dataclass
class Measurement:
    seconds: float
    rate_limited: int  # 429s the client saw
    server_rate_limited: int
    max_arrivals: list[int]
    max_accepted: list[int]
    created: int
    notes: list[str] = field(default_factory=list)


def _windows_of(stats: dict[str, Any]) -> tuple[list[int], list[int]]:
    by_window = {(w["limit"], w["period"]): w for w in stats["windows"]}
    rows = [by_window[(w.count, w.period)] for w in WINDOWS]
    return (
        [int(w["max_arrivals_in_window"]) for w in rows],
        [int(w["max_accepted_in_window"]) for w in rows],
    )


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


async def measure_ours(
    server: Server, catalog: Path, n: int, work: Path, spacing: float | None = None
) -> Measurement:
    settings = SubmitSettings(
        spacing=spacing,
        base_url=server.url,
        windows=WINDOWS,
        report_dir=work / "reports",
        margin=MARGIN,
    )
    report = await submit_catalog_async(catalog, settings, ApiKey(server.key))
    data = report.to_json()
    stats = await server.stats()
    arrivals, accepted = _windows_of(stats)
    notes = []
    if report.outcome != "ok":
        notes.append(f"outcome {report.outcome}, counts {report.counts}")
    if data["requests_sent"] != n:
        notes.append(f"{data['requests_sent']} requests for {n} rows")
    seconds = _epoch(data["last_request_at"]) - _epoch(data["first_request_at"])
    return Measurement(
        seconds,
        int(data["rate_limited_429"]),
        int(stats["rate_limited"]),
        arrivals,
        accepted,
        int(stats["sources_created"]),
        notes,
    )


async def measure_naive(server: Server, catalog: Path) -> Measurement:
    bodies = [row.body for row in validate_catalog(open_catalog(catalog), keep_valid=True).valid]
    short, long = (AsyncLimiter(w.count, w.period) for w in WINDOWS)
    headers = {
        "STATSIG-API-KEY": server.key,
        "STATSIG-API-VERSION": API_VERSION,
        "Content-Type": "application/json",
    }
    url = server.url + CREATE_PATH
    sends: list[float] = []
    statuses: dict[int, int] = {}

    async def post(session: aiohttp.ClientSession, body: dict[str, Any]) -> None:
        while True:
            async with short, long:
                sends.append(time.time())
                async with session.post(url, data=json.dumps(body), headers=headers) as response:
                    await response.read()
                    status = response.status
                    retry_after = response.headers.get("Retry-After")
            statuses[status] = statuses.get(status, 0) + 1
            if status != 429:
                return
            await asyncio.sleep(float(retry_after) if retry_after else NAIVE_429_SLEEP)

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(post(session, body) for body in bodies))
    stats = await server.stats()
    arrivals, accepted = _windows_of(stats)
    other = {s: c for s, c in statuses.items() if s not in (201, 429)}
    return Measurement(
        max(sends) - min(sends),
        statuses.get(429, 0),
        int(stats["rate_limited"]),
        arrivals,
        accepted,
        int(stats["sources_created"]),
        [f"other statuses {other}"] if other else [],
    )


def run_one(
    kind: str, n: int, work: Path, log: IO[str], spacing: float | None = None
) -> Measurement:
    catalog = work / f"catalog_{n}.csv"
    if not catalog.exists():
        write_catalog(catalog, n)
    server = start_server(log)
    try:
        run_dir = Path(tempfile.mkdtemp(prefix=f"{kind}-{n}-", dir=work))
        if kind == "ours":
            got = asyncio.run(measure_ours(server, catalog, n, run_dir, spacing))
        else:
            got = asyncio.run(measure_naive(server, catalog))
    finally:
        server.stop()
    if got.created != n:
        got.notes.append(f"server created {got.created} of {n}")
    if got.rate_limited != got.server_rate_limited:
        got.notes.append(f"server counted {got.server_rate_limited} x 429")
    return got


def _maxima(m: Measurement) -> str:
    return " / ".join(str(a) for a in m.max_arrivals)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[300, 1200, 3000])
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: N = 150 and 300 (about 5 s)"
    )
    parser.add_argument(
        "--spacing",
        type=float,
        default=None,
        metavar="S",
        help="also measure bulk-sources with --spacing S (a 0.105 s pacer scaled by 0.02: 0.0021)",
    )
    args = parser.parse_args()
    sizes: list[int] = [150, 300] if args.quick else args.sizes
    print(
        f"windows {' + '.join(str(w) for w in WINDOWS)}; margin {MARGIN} s; "
        "429 pause learned from the windows; time = first to last request sent (client)\n"
    )
    spaced_columns = " spaced (s) | spaced ratio | spaced 429s |" if args.spacing else ""
    header = (
        "| N | limit (s) | bulk-sources (s) | ratio to limit | 429s | max in 0.2 s window "
        "| max in 18 s window | naive (s) | naive 429s | naive max in windows (0.2 s / 18 s) |"
        + spaced_columns
    )
    print(header)
    print("|" + " ---: |" * header.count(" | ") + (" ---: |" if header else ""), flush=True)
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-submit-") as tmp:
        work = Path(tmp)
        with (work / "fake-server.log").open("w", encoding="utf-8") as log:
            for n in sizes:
                limit = exact_schedule(n, WINDOWS)[-1]
                ours = run_one("ours", n, work, log)
                naive = run_one("naive", n, work, log)
                ratio = ours.seconds / limit if limit > 0 else float("nan")
                spaced_cells = ""
                if args.spacing:
                    spaced = run_one("ours", n, work, log, args.spacing)
                    spaced_cells = (
                        f" {spaced.seconds:.2f} | {spaced.seconds / limit:.3f} "
                        f"| {spaced.rate_limited} |"
                    )
                    notes += [f"N={n} spaced: {x}" for x in spaced.notes]
                print(
                    f"| {n:,} | {limit:.2f} | {ours.seconds:.2f} | {ratio:.3f} "
                    f"| {ours.rate_limited} | {ours.max_arrivals[0]} | {ours.max_arrivals[1]} "
                    f"| {naive.seconds:.2f} | {naive.rate_limited} | {_maxima(naive)} |"
                    + spaced_cells,
                    flush=True,
                )
                target = limit * 1.05 + WINDOWS[0].period
                verdict = "within" if ours.seconds <= target else "OVER"
                notes.append(
                    f"N={n}: bulk-sources {verdict} 5 % + one short window "
                    f"({ours.seconds:.2f} s vs {target:.2f} s); "
                    f"max accepted per window: ours {ours.max_accepted}, "
                    f"naive {naive.max_accepted}"
                )
                notes += [f"N={n} bulk-sources: {x}" for x in ours.notes]
                notes += [f"N={n} naive: {x}" for x in naive.notes]
                for window, most in zip(WINDOWS, ours.max_arrivals, strict=True):
                    if most > window.count:
                        notes.append(f"N={n} bulk-sources: {most} arrivals in one {window}")
    print()
    for note in notes:
        print(f"- {note}")


if __name__ == "__main__":
    main()
