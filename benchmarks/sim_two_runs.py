"""Two runs on one budget on the virtual clock (tests/test_limits_two_runs.py): 10 s.

    PYTHONPATH=.:tests:benchmarks .venv/bin/python benchmarks/sim_two_runs.py [--seeds N] [-v]

Real scale: the page's 1800/15m plus 20/1s burst protection, the tool told only the quota,
two runs of 300 rows on one key and state directory, 16 workers each. Cases: the second
run sending 0.3 s late (0-50 ms inbound, answers at once; both opened the memory at t=0),
and both together at 0-50 and 0-200 ms each way. Per case over the seeds: median and worst
time / exact limit, runs over 1.5x, and the most 429s in one run. The real-time twins are
budget_matrix.py's `rt-two-*` cells.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from test_limits_two_runs import PAGE, exact, two_runs

from bulk_sources.limits.windows import Window

SERVER = [Window(20, 1.0), *PAGE]
# (late, latency, planning): both runs open the memory at t=0 in the late case, so what
# the first learns reaches the second as news, not as an earlier run's windows.
CASES = {
    "second 0.3 s late, 0-50 ms in": (0.3, (0.05, 0.0), 0.3),
    "together, 0-50 ms each way": (0.0, (0.05, 0.05), 0.0),
    "together, 0-200 ms each way": (0.0, (0.2, 0.2), 0.0),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("-v", action="store_true", help="every run, with the windows learned")
    args = parser.parse_args()
    print("| case | runs | median | worst | over 1.5x | most 429s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, (late, latency, planning) in CASES.items():
        ratios, most = [], 0
        for seed in range(args.seeds):
            with tempfile.TemporaryDirectory() as tmp:
                finished, refused, learned = two_runs(
                    Path(tmp),
                    SERVER,
                    PAGE,
                    rows=300,
                    seed=seed,
                    late=late,
                    latency=latency,
                    planning=planning,
                )
            ratio = finished / exact(SERVER, 300, late)
            ratios.append(ratio)
            most = max(most, refused)
            if args.v:
                print(f"  {name} seed {seed}: {ratio:.2f}x, {refused} x 429, {learned}")
        ratios.sort()
        over = sum(r > 1.5 for r in ratios)
        median = ratios[len(ratios) // 2]
        print(f"| {name} | {len(ratios)} | {median:.2f} | {ratios[-1]:.2f} | {over} | {most} |")


if __name__ == "__main__":
    main()
