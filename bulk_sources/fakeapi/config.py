"""What a fake server is told to be: its keys, windows, faults and where it keeps its state."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from ..limits.windows import DEFAULT_WINDOWS, Window


def generate_key() -> str:
    """A fresh key in the real keys' shape, so clients that check the `console-` prefix pass."""
    return f"console-fake-{secrets.token_hex(12)}"


@dataclass
class FaultConfig:
    """Rates (0..1) of each fault per mutation; all drawn from one `random.Random(seed)`."""

    error_rate: float = 0.0
    reset_rate: float = 0.0
    create_then_drop_rate: float = 0.0
    stall_rate: float = 0.0
    stall_seconds: float = 30.0
    latency: tuple[float, float] = (0.0, 0.0)  # seconds, uniform(lo, hi) before arrival
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("error_rate", "reset_rate", "create_then_drop_rate", "stall_rate"):
            rate = getattr(self, name)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {rate}")
        lo, hi = self.latency
        if lo < 0 or hi < lo:
            raise ValueError(f"latency must be (lo, hi) with 0 <= lo <= hi, got {self.latency}")
        if self.stall_seconds < 0:
            raise ValueError(f"stall_seconds must be >= 0, got {self.stall_seconds}")


@dataclass
class FakeApiConfig:
    keys: list[str] = field(default_factory=lambda: [generate_key()])
    windows: list[Window] = field(default_factory=lambda: list(DEFAULT_WINDOWS))
    retry_after: bool = True
    # Statsig's newer docs say rejected attempts count against the quota; older ones are silent.
    count_rejected: bool = False
    faults: FaultConfig = field(default_factory=FaultConfig)
    state_file: Path | None = None
    max_page_limit: int = 100
    default_page_limit: int = 100
    # The 400 message for a name in use; `{name}` is replaced. Real wording is undocumented.
    duplicate_message: str = "Name is already in use: {name}"

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("a fake server needs at least one key")
        if self.max_page_limit < 1:
            raise ValueError("max_page_limit must be at least 1")
