"""Validation speed and peak memory, next to raw pydantic validation of the same rows.

    .venv/bin/python benchmarks/bench_validate.py [--sizes 100000 1000000]
    .venv/bin/python benchmarks/bench_validate.py --sql   # the SQL check on and off

Each measurement runs in its own subprocess so its peak RSS (VmHWM) is its own, and times
CPU seconds of that process (`time.process_time`: all its threads, so pyarrow's reader
threads count too), which other work on a shared machine disturbs less than wall time.
"raw pydantic" is `AssignmentSourceCreate.model_validate` on ready dicts, timed alone
(the dicts are built in chunks outside the timer). The catalog runs time `open_catalog`
(which decodes the whole CSV once to check its encoding) plus `validate_catalog`.
Runs are interleaved raw, CSV, Parquet; the table keeps each one's best rate and also shows
the lowest and highest ratio of a run to the raw run just before it.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

HEADER = [
    "name",
    "description",
    "sql",
    "timestampColumn",
    "experimentIDColumn",
    "groupIDColumn",
    "idTypeMapping",
    "tags",
    "isVerified",
    "owner.ownerID",
]
_AREAS = ["checkout", "search", "onboarding", "pricing", "feed", "ads", "growth", "billing"]


def row(i: int, distinct: int | None = None) -> list[str]:
    area = _AREAS[i % len(_AREAS)]
    mapping = "userID=user_id;stableID=stable_id" if i % 3 else "companyID=company_id"
    return [
        f"exposures_{area}_{i}",
        f"Exposures for {area}, batch {i // 1000}" if i % 4 == 0 else "",
        f"SELECT user_id, stable_id, company_id, ts, experiment, grp FROM {area}.exposures_"
        f"{i if distinct is None else i % distinct}",
        "ts",
        "experiment",
        "grp",
        mapping,
        f"{area};generated" if i % 5 == 0 else "",
        "true" if i % 7 == 0 else "",
        f"owner{i % 50}" if i % 10 == 0 else "",
    ]


def body(i: int) -> dict[str, Any]:
    """The dict a perfect reader would hand to pydantic for row(i)."""
    cells = row(i)
    out: dict[str, Any] = {k: v for k, v in zip(HEADER[:6], cells[:6], strict=True) if v}
    out["idTypeMapping"] = [
        {"statsigUnitID": u, "column": c}
        for u, c in (pair.split("=") for pair in cells[6].split(";"))
    ]
    if cells[7]:
        out["tags"] = cells[7].split(";")
    if cells[8]:
        out["isVerified"] = True
    if cells[9]:
        out["owner"] = {"ownerID": cells[9]}
    return out


def write_csv(path: Path, n: int, distinct: int | None = None) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(row(i, distinct) for i in range(n))


def write_parquet(path: Path, n: int) -> None:
    schema = pa.schema([(c, pa.string()) for c in HEADER])
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, n, 100_000):
            rows = [row(i) for i in range(start, min(n, start + 100_000))]
            columns = [pa.array(list(col), pa.string()) for col in zip(*rows, strict=True)]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema))


def _peak_mib() -> float:
    # VmHWM, not ru_maxrss: ru_maxrss survives exec, so a child would report the parent's
    # peak (the parent holds the generated rows while writing the files).
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child_validate(path: Path, check_sql: bool = True) -> dict[str, float]:
    from bulk_sources.catalog.reader import open_catalog
    from bulk_sources.catalog.validation import validate_catalog

    start = time.process_time()
    report = validate_catalog(open_catalog(path), check_sql=check_sql)
    seconds = time.process_time() - start
    assert report.valid_count == report.total, report.invalid and next(iter(report.invalid))
    return {"rows": report.total, "seconds": seconds, "peak_mib": _peak_mib()}


def _chunks(n: int, size: int = 10_000) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, n, size):
        yield [body(i) for i in range(start, min(n, start + size))]


def child_raw(n: int) -> dict[str, float]:
    from bulk_sources.models import AssignmentSourceCreate

    validate = AssignmentSourceCreate.model_validate
    seconds = 0.0
    for chunk in _chunks(n):
        start = time.process_time()
        for item in chunk:
            validate(item)
        seconds += time.process_time() - start
    return {"rows": n, "seconds": seconds, "peak_mib": _peak_mib()}


def _run_child(*args: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def _best(runs: list[dict[str, float]]) -> tuple[float, float]:
    """Best rate (the machine may be busy with other work) and the highest peak."""
    return max(_rate(r) for r in runs), max(r["peak_mib"] for r in runs)


def _rate(run: dict[str, float]) -> float:
    return run["rows"] / run["seconds"]


def _spread(runs: list[dict[str, float]], raw: list[dict[str, float]]) -> str:
    """Lowest and highest ratio of a run to the raw run just before it: how steady it was."""
    ratios = [_rate(r) / _rate(b) for r, b in zip(runs, raw, strict=True)]
    return f"{min(ratios):.2f}-{max(ratios):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement, best kept")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--sql", action="store_true", help="time the SQL check on and off")
    args = parser.parse_args()
    if args.child:
        kind, arg = args.child
        if kind == "raw":
            result = child_raw(int(arg))
        else:
            result = child_validate(Path(arg), check_sql=kind == "validate")
        print(json.dumps(result))
        return
    if args.sql:
        sql_table(args.repeat)
        return
    print("| rows | input | rows/s | vs raw pydantic | run by run | peak RSS |")
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            paths = {"csv": Path(tmp) / f"c{n}.csv", "parquet": Path(tmp) / f"c{n}.parquet"}
            write_csv(paths["csv"], n)
            write_parquet(paths["parquet"], n)
            runs: dict[str, list[dict[str, float]]] = {"raw": [], "csv": [], "parquet": []}
            # Interleaved, so a burst of load elsewhere hits all three alike.
            for _ in range(args.repeat):
                runs["raw"].append(_run_child("raw", str(n)))
                for fmt, path in paths.items():
                    runs[fmt].append(_run_child("validate", str(path)))
            raw_rate, raw_peak = _best(runs["raw"])
            print(f"| {n:,} | raw pydantic | {raw_rate:,.0f} | 1.00 | | {raw_peak:,.0f} MiB |")
            for fmt in paths:
                rate, peak = _best(runs[fmt])
                spread = _spread(runs[fmt], runs["raw"])
                print(
                    f"| {n:,} | {fmt} | {rate:,.0f} | {rate / raw_rate:.2f} | {spread} "
                    f"| {peak:,.0f} MiB |",
                    flush=True,
                )
            for path in paths.values():
                path.unlink()


def sql_table(repeat: int) -> None:
    """CSV validation with the SQL check on and off, interleaved; best rate of each kept."""
    print("| rows | distinct SQL texts | check off rows/s | check on rows/s | time on / off |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as tmp:
        for n, distinct in ((100_000, 1_000), (10_000, 10_000)):
            path = Path(tmp) / f"s{n}.csv"
            write_csv(path, n, distinct)
            runs: dict[str, list[dict[str, float]]] = {"off": [], "on": []}
            for _ in range(repeat):
                runs["off"].append(_run_child("validate-nosql", str(path)))
                runs["on"].append(_run_child("validate", str(path)))
            off, on = _best(runs["off"])[0], _best(runs["on"])[0]
            print(f"| {n:,} | {distinct:,} | {off:,.0f} | {on:,.0f} | {off / on:.2f} |", flush=True)


if __name__ == "__main__":
    main()
