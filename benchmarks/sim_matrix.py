"""The real-time matrix's cells on the virtual clock (tests/budget_sim.py): seconds, not 25 min.

    PYTHONPATH=.:tests:benchmarks .venv/bin/python benchmarks/sim_matrix.py [-v]

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

SEEDS = (0, 1)


def main(verbose: bool) -> None:
    met = total = safe = rejected = attempts = 0
    log_ratio = 0.0
    for cell in cells():
        if cell.busy:
            continue
        exact = limit(cell.rows, list(cell.windows))
        goal = target(cell, exact)
        told = list(cell.told) if cell.told else list(PAGE)
        for seed in SEEDS:
            jitter = (cell.latency, cell.latency)
            out = simulate(list(cell.windows), told, cell.rows, jitter=jitter, seed=seed)
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


if __name__ == "__main__":
    main("-v" in sys.argv[1:])
