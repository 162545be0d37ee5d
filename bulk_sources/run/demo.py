"""The demo: the embedded stand-in on a free loopback port, with the real windows and a few
faults, and a submit of the example catalog against it. Nothing leaves the machine.
cli/demo.py is the command over it (the same idea one layer up)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..api.apikey import ApiKey
from ..fakeapi import FakeApiConfig, FakeApiServer, FaultConfig
from ..limits.windows import DEFAULT_WINDOWS, STAND_IN_WINDOWS
from .entry import submit_catalog_async
from .record.summary import RunReport
from .send.progress import ProgressFactory, no_progress
from .settings import SubmitSettings

# The demo project has the unit ID type the example catalog maps besides the built-ins, so
# its invalid rows are the ones broken on purpose, not rows of a project it wasn't made for.
DEMO_UNIT_TYPES = ("companyID",)
DEMO_FAULTS = FaultConfig(
    error_rate=0.03, reset_rate=0.02, create_then_drop_rate=0.01, latency=(0.005, 0.03), seed=7
)


def default_demo_catalog() -> Path:
    """inputs/demo.csv of the working directory, else of the source tree."""
    here = Path("inputs/demo.csv")
    if here.exists():
        return here
    return Path(__file__).resolve().parent.parent / "inputs" / "demo.csv"


@dataclass
class DemoOutcome:
    report: RunReport
    server_stats: dict[str, Any]


async def run_demo(
    catalog: Path, report_dir: Path, *, progress: ProgressFactory = no_progress
) -> DemoOutcome:
    config = FakeApiConfig(
        windows=list(STAND_IN_WINDOWS), faults=DEMO_FAULTS, unit_types=list(DEMO_UNIT_TYPES)
    )
    async with FakeApiServer(config) as server:
        settings = SubmitSettings(
            base_url=server.url,
            windows=DEFAULT_WINDOWS,
            report_dir=report_dir,
            # The demo's faults are frequent; keep its retries quick.
            retry_base=0.2,
            retry_cap=2.0,
            timeout=10.0,
        )
        report = await submit_catalog_async(
            catalog, settings, ApiKey(server.key), progress=progress
        )
        return DemoOutcome(report, server.state.stats())
