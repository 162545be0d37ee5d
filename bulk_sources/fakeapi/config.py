"""What a fake server is told to be: its keys, windows, faults and where it keeps its state."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from ..limits.windows import STAND_IN_WINDOWS, Window


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
    # Seconds, uniform(lo, hi), between counting a request and its answer leaving: a real
    # server does work after counting (the real one checks the body), and jitter here
    # reorders the answers the client sees.
    answer_latency: tuple[float, float] = (0.0, 0.0)
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("error_rate", "reset_rate", "create_then_drop_rate", "stall_rate"):
            rate = getattr(self, name)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {rate}")
        for name in ("latency", "answer_latency"):
            lo, hi = getattr(self, name)
            if lo < 0 or hi < lo:
                raise ValueError(f"{name} must be (lo, hi) with 0 <= lo <= hi, got {(lo, hi)}")
        if self.stall_seconds < 0:
            raise ValueError(f"stall_seconds must be >= 0, got {self.stall_seconds}")


CREATE_ANSWERS = ("full", "empty", "text", "name")


@dataclass
class ListingFaults:
    """How the listing (and what it is relied on for) misbehaves on demand."""

    # No totalItems, and every page brings new sources and a next page, forever.
    endless: bool = False
    # Sources younger than this many seconds are not listed yet (a lagging index).
    lag: float = 0.0
    # What a 201 to a create carries: "full" (the source, as documented), "empty" (no body),
    # "text" (not JSON), "name" (data holding only the name). Not the listing's, but what
    # makes a run depend on the listing to know what it made.
    create_answer: str = "full"
    # Names never listed, though they exist (an offset listing that skips an item when
    # another is deleted concurrently); updates and DELETE still find them.
    hidden: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.lag < 0:
            raise ValueError(f"lag must be >= 0, got {self.lag}")
        if self.create_answer not in CREATE_ANSWERS:
            raise ValueError(f"create_answer must be one of {CREATE_ANSWERS}")
        self.hidden = frozenset(self.hidden)


DEFAULT_PROJECT = "default"


@dataclass
class FakeApiConfig:
    """The current Console API page by default: mutations share windows per project across
    all its keys, a 429'd attempt counts too, and no Retry-After is sent.

    `projects` maps a project name to its keys (keys not listed belong to DEFAULT_PROJECT);
    `project_windows` gives a project other windows than `windows`; `burst`, if set, is one
    more window every project has (burst protection the client is not told about).
    """

    keys: list[str] = field(default_factory=lambda: [generate_key()])
    windows: list[Window] = field(default_factory=lambda: list(STAND_IN_WINDOWS))
    retry_after: bool = False
    count_rejected: bool = True
    projects: dict[str, list[str]] = field(default_factory=dict)
    project_windows: dict[str, list[Window]] = field(default_factory=dict)
    burst: Window | None = None
    faults: FaultConfig = field(default_factory=FaultConfig)
    listing: ListingFaults = field(default_factory=ListingFaults)
    state_file: Path | None = None
    max_page_limit: int = 100
    default_page_limit: int = 100
    # The 400 message for a name in use; `{name}` is replaced. Real wording is undocumented.
    duplicate_message: str = "Name is already in use: {name}"
    # Unit ID types every project has besides the built-in userID and stableID.
    unit_types: list[str] = field(default_factory=list)
    # Refuse a source mapping a unit ID type its project lacks (400 with an `errors` list).
    strict_unit_types: bool = True
    # Answer every /console/v1/unit_id_types request with this status instead (404: a
    # project or API version without the endpoint; 403: a key not allowed to read it).
    unit_types_status: int | None = None

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("a fake server needs at least one key")
        if self.max_page_limit < 1:
            raise ValueError("max_page_limit must be at least 1")
        for name, keys in self.projects.items():
            for key in keys:
                if key not in self.keys:
                    self.keys.append(key)
                if self.project_of(key) != name:
                    raise ValueError(f"key {key[:12]}... is in two projects")
        for name in self.unit_types:
            if not name.strip() or any(c.isspace() for c in name):
                raise ValueError(f"unit ID type {name!r} must be one word, like accountID")
        for name in self.project_windows:
            if name not in self.projects and name != DEFAULT_PROJECT:
                raise ValueError(f"windows for project {name!r}, which has no keys")

    def project_of(self, key: str) -> str:
        for name, keys in self.projects.items():
            if key in keys:
                return name
        return DEFAULT_PROJECT

    def windows_of(self, project: str) -> list[Window]:
        windows = list(self.project_windows.get(project, self.windows))
        return [*windows, self.burst] if self.burst is not None else windows
