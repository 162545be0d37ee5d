"""SubmitSettings: every knob of a submission, recorded in the run folder so `resume` can reuse it.

The API key is deliberately not a setting: it is read again on every run and never stored.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

from ..api.protocol import DEFAULT_BASE_URL, check_base_url
from ..errors import UsageError
from ..limits.windows import DEFAULT_WINDOWS, Window, parse_window

OnExists = Literal["skip", "update", "fail"]


@dataclass(frozen=True)
class SubmitSettings:
    base_url: str = DEFAULT_BASE_URL
    windows: tuple[Window, ...] = DEFAULT_WINDOWS
    concurrency: int = 16
    max_attempts: int = 5
    timeout: float = 30.0
    on_exists: OnExists = "skip"
    respect_review_settings: bool = False
    report_dir: Path = Path("reports")
    encoding: str | None = None
    # Seconds added to every window: clock drift between us and the server (~100 ppm).
    margin: float = 0.1
    # Minimum gap between requests (aiolimiter pacer); None sends a window's budget at once.
    spacing: float | None = None
    retry_base: float = 0.5
    retry_cap: float = 30.0
    pause_base: float = 10.0
    pause_cap: float = 900.0
    # How long Ctrl-C waits for requests already in flight before giving up on them.
    stop_grace: float = 10.0
    seed: int | None = None

    def __post_init__(self) -> None:
        check_base_url(self.base_url)
        if not self.windows:
            raise UsageError("at least one --rate-limit is needed")
        if self.concurrency < 1:
            raise UsageError("--concurrency must be at least 1")
        if self.max_attempts < 1:
            raise UsageError("--max-attempts must be at least 1")
        if self.timeout <= 0:
            raise UsageError("--timeout must be above 0 seconds")
        if self.on_exists not in ("skip", "update", "fail"):
            raise UsageError("--on-exists must be skip, update or fail")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["windows"] = [str(w) for w in self.windows]
        data["report_dir"] = str(self.report_dir)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SubmitSettings:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["windows"] = tuple(parse_window(w) for w in values.get("windows", []))
        values["report_dir"] = Path(values.get("report_dir", "reports"))
        return cls(**values)

    def with_changes(self, **changes: Any) -> SubmitSettings:
        return replace(self, **changes)
