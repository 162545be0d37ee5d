"""The real-time matrix's cells on the virtual clock (tests/budget_sim.py): seconds, not 25 min.

    PYTHONPATH=.:tests:benchmarks .venv/bin/python benchmarks/sim_matrix.py [-v] [--low-quota]
        [--grid]

Each cell of budget_matrix.py (16 workers, inbound and answer latency each uniform in
0..HI, told what the real cell tells the tool) for seeds 0 and 1: time / exact limit, 429s,
and the cell's target. The busy cells are their quiet twins here (the virtual clock has no
CPU to share). It tracks the real cells closely (docs/ratelimit.md); try a change here first.
"""

from __future__ import annotations

import math
import sys

from budget_matrix import PAGE, cells, target
from budget_sim import limit, simulate

from bulk_sources.limits.windows import Window

SEEDS = (0, 1)
# Projects whose quota is far below the page's 1800/15m, told only the page's: (server, rows).
# A first 429 that finds the quota takes a place in it for 15 minutes, so a learner not
# told the quota needs one cycle more than the exact schedule for rows that fill whole
# quotas: 300 rows of 100/15m take 2,700 s against 1,804 s (1.50x), 60 of 30/15m 1.99x.
LOW_QUOTA = [
    ((Window(20, 1.0), Window(100, 900.0)), 300),
    ((Window(10, 10.0), Window(30, 900.0)), 60),
    ((Window(50, 1.0), Window(200, 900.0)), 400),
]
LOW_SEEDS = range(6)
# Burst protection off the matrix's round 1 s and 2 s (the page publishes neither count nor
# period): every count with every period, beside the page's 1800/15m, told the quota alone.
GRID_COUNTS = (5, 15, 30, 100)
GRID_PERIODS = (0.5, 1.5, 3.0, 5.0, 30.0)


def main(verbose: bool) -> None:
    met = total = safe = rejected = attempts = 0
    log_ratio = 0.0
    for cell in cells():
        if cell.busy or cell.late is not None:
            continue  # two-run cells: sim_two_runs.py
        exact = limit(cell.rows, list(cell.windows))
        goal = target(cell, exact)
        told = list(cell.told) if cell.told else list(PAGE)
        for seed in SEEDS:
            out = simulate(list(cell.windows), told, cell.rows, jitter=cell.jitter, seed=seed)
            ratio, tried = out.finished / exact, cell.rows + out.rejected
            allowed = 0 if cell.name.startswith("told") else 0.02 * tried
            ok = ratio <= goal and out.rejected <= allowed
            met, total = met + ok, total + 1
            safe += out.rejected <= allowed
            rejected, attempts = rejected + out.rejected, attempts + tried
            log_ratio += math.log(ratio)
            if verbose:
                name = f"{cell.name} seed {seed}"
                print(f"{name:40} {ratio:6.2f} (<= {goal:.2f}) {out.rejected:3} x 429")
    share = 100 * rejected / attempts
    mean = math.exp(log_ratio / total)
    print(f"met {met} of {total} ({safe} within the 429 share); 429s {share:.2f} % of attempts;")
    print(f"geometric mean ratio {mean:.3f}")


def low_quota() -> None:
    """Each LOW_QUOTA server at 0-5, 0-50 and 0-200 ms for LOW_SEEDS: time / limit and 429s."""
    print("low quota (told 1800/15m): time / limit / 429s per seed")
    for server, rows in LOW_QUOTA:
        exact = limit(rows, list(server))
        for latency in (0.005, 0.05, 0.2):
            runs = []
            for seed in LOW_SEEDS:
                jitter = (latency, latency)
                out = simulate(list(server), list(PAGE), rows, jitter=jitter, seed=seed)
                runs.append(f"{out.finished / exact:.2f}/{out.rejected}")
            name = f"{'+'.join(map(str, server))} {rows} rows 0-{latency * 1000:g}ms"
            print(f"{name:38} {' '.join(runs)}")


def grid() -> None:
    """Each GRID burst window at 300 and 1200 rows, 0-5 and 0-50 ms, seed 0: time / limit,
    429s / attempts in %, and the burst window in force at the end."""
    print("burst windows off the matrix (+ 1800/15m, told the quota alone), seed 0")
    print("| burst | 300 rows, 0-5 ms | 0-50 ms | 1200 rows, 0-5 ms | 0-50 ms |")
    print("| --- | --- | --- | --- | --- |")
    for count in GRID_COUNTS:
        for period in GRID_PERIODS:
            server = [Window(count, period), *PAGE]
            cols = []
            for rows in (300, 1200):
                exact = limit(rows, server)
                for latency in (0.005, 0.05):
                    out = simulate(server, list(PAGE), rows, jitter=(latency, latency))
                    share = 100 * out.rejected / (rows + out.rejected)
                    learned = [str(w) for w in out.windows if w.period < PAGE[0].period]
                    cols.append(
                        f"{out.finished / exact:.2f}x {share:.1f} % {' '.join(learned) or '-'}"
                    )
            print(f"| {Window(count, period)} | {' | '.join(cols)} |", flush=True)


if __name__ == "__main__":
    main("-v" in sys.argv[1:])
    if "--low-quota" in sys.argv[1:]:
        low_quota()
    if "--grid" in sys.argv[1:]:
        grid()
