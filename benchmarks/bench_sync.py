"""Mutations spent re-running a catalog in which a tenth of the rows changed.

    .venv/bin/python benchmarks/bench_sync.py [--rows 3000] [--changed 0.1] [--measure-old]

A project already holds every row of a 3,000-row catalog (loaded straight into an
in-process stand-in); 10 % of the rows then get new SQL and the catalog is submitted again
with `--on-exists update`.

- "before the plan" is what the tool did until the plan compared content: a full update
  for every row whose name exists, i.e. one mutation per row. With `--measure-old` it is
  measured too, by submitting a catalog in which every row differs (the same requests).
- "with the plan" is measured: the stand-in's mutation counter across the real submit.

Times: "default windows" is `exact_schedule(n, 100/10 s + 900/15 min)[-1]`, the fastest
any client can send n mutations (zero latency, empty budget); "measured x0.02" is the
submit's wall time against the stand-in with the windows scaled by 0.02 (100/0.2 s,
900/18 s), listing and planning included.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import tempfile
import time
from pathlib import Path
from typing import Any

from bulk_sources.api.apikey import ApiKey
from bulk_sources.fakeapi import FakeApiConfig, FakeApiServer
from bulk_sources.limits.windows import DEFAULT_WINDOWS, Window, exact_schedule
from bulk_sources.run.entry import submit_catalog_async
from bulk_sources.run.settings import SubmitSettings

SCALE = 0.02
SCALED = (Window(100, 10.0 * SCALE), Window(900, 900.0 * SCALE))
KEY = "console-bench-sync"
HEADER = ["name", "sql", "timestampColumn", "experimentIDColumn", "groupIDColumn", "idTypeMapping"]


def body(i: int, sql: str | None = None) -> dict[str, Any]:
    return {
        "name": f"bench_{i:05d}",
        "sql": sql or f"SELECT user_id, ts, exp, grp FROM t{i}",
        "timestampColumn": "ts",
        "experimentIDColumn": "exp",
        "groupIDColumn": "grp",
        "idTypeMapping": [{"statsigUnitID": "userID", "column": "user_id"}],
    }


def write(path: Path, bodies: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for b in bodies:
            mapping = ";".join(f"{m['statsigUnitID']}={m['column']}" for m in b["idTypeMapping"])
            writer.writerow([*(b[h] for h in HEADER[:-1]), mapping])
    return path


def at_default_windows(n: int) -> float:
    return exact_schedule(n, DEFAULT_WINDOWS)[-1] if n else 0.0


async def measure(rows: int, changed: list[dict[str, Any]], folder: Path) -> tuple[int, float]:
    server = FakeApiServer(FakeApiConfig(keys=[KEY], windows=list(SCALED)))
    await server.start()
    try:
        server.state.store.load([{**body(i), "description": "", "tags": []} for i in range(rows)])
        settings = SubmitSettings(
            base_url=server.url,
            windows=SCALED,
            max_wait=3600.0 * SCALE,
            on_exists="update",
            report_dir=folder / "reports",
        )
        before = server.state.stats()["mutations"]
        started = time.monotonic()
        report = await submit_catalog_async(write(folder / "c.csv", changed), settings, ApiKey(KEY))
        took = time.monotonic() - started
        assert report.outcome == "ok", report.counts
        return server.state.stats()["mutations"] - before, took
    finally:
        await server.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--changed", type=float, default=0.1)
    parser.add_argument("--measure-old", action="store_true")
    args = parser.parse_args()
    every = round(1 / args.changed)
    edited = [
        body(i, f"SELECT changed FROM t{i}") if i % every == 0 else body(i)
        for i in range(args.rows)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for sub in ("new", "old"):
            (Path(tmp) / sub).mkdir()
        new_mutations, new_time = await measure(args.rows, edited, Path(tmp) / "new")
        old_mutations, old_time = args.rows, float("nan")
        if args.measure_old:
            all_differ = [body(i, f"SELECT other FROM t{i}") for i in range(args.rows)]
            old_mutations, old_time = await measure(args.rows, all_differ, Path(tmp) / "old")
    print(f"{args.rows} rows, {sum(1 for i in range(args.rows) if i % every == 0)} changed")
    print("| run | mutations | default windows (s) | measured x0.02 (s) |")
    print("| --- | ---: | ---: | ---: |")
    print(
        f"| before the plan (--on-exists update) | {old_mutations:,} | "
        f"{at_default_windows(old_mutations):,.0f} | {old_time:.2f} |"
    )
    print(
        f"| with the plan | {new_mutations:,} | {at_default_windows(new_mutations):,.0f} | "
        f"{new_time:.2f} |"
    )


if __name__ == "__main__":
    asyncio.run(main())
