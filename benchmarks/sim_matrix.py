"""The real-time matrix's cells on the virtual clock (tests/budget_sim.py): seconds, not 25 min.

    PYTHONPATH=.:tests:benchmarks .venv/bin/python benchmarks/sim_matrix.py [-v]

Each cell of budget_matrix.py (told nothing, 16 workers, inbound and answer latency each
uniform in 0..HI) for seeds 0 and 1: time / exact limit, 429s, and the cell's target. It
tracks the real cells closely (docs/ratelimit.md); try a learner change here first.
"""

from __future__ import annotations

import math
import sys

from budget_matrix import BURSTS, LATENCIES, PAGE, ROWS
from budget_sim import limit, simulate

SEEDS = (0, 1)


def main(verbose: bool) -> None:
    met = total = rejected = attempts = 0
    log_ratio = 0.0
    for burst in BURSTS:
        for latency in LATENCIES:
            for rows in ROWS:
                server = [burst, *PAGE]
                exact = limit(rows, server)
                target = 1.25
                if latency > 0.05 * burst.period:
                    target += rows / burst.count * 2 * latency / exact
                for seed in SEEDS:
                    out = simulate(server, PAGE, rows, jitter=(latency, latency), seed=seed)
                    ratio, tried = out.finished / exact, rows + out.rejected
                    ok = ratio <= target and out.rejected <= 0.02 * tried
                    met, total = met + ok, total + 1
                    rejected, attempts = rejected + out.rejected, attempts + tried
                    log_ratio += math.log(ratio)
                    if verbose:
                        name = f"rt-{burst}-0-{latency * 1000:g}ms-{rows} seed {seed}"
                        print(f"{name:34} {ratio:6.2f} (<= {target:.2f}) {out.rejected:3} x 429")
    share = 100 * rejected / attempts
    mean = math.exp(log_ratio / total)
    print(f"met {met} of {total}; 429s {share:.2f} % of attempts; geometric mean ratio {mean:.3f}")


if __name__ == "__main__":
    main("-v" in sys.argv[1:])
