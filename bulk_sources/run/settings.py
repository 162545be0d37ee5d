"""SubmitSettings: every knob of a submission, recorded in the run folder so `resume` can reuse it.

The API key is deliberately not a setting: it is read again on every run and never stored.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, TypeGuard

from ..api.protocol import check_base_url, default_base_url
from ..errors import UsageError
from ..limits.windows import DEFAULT_WINDOWS, Window, parse_window
from .halt import HaltAfter, parse_halt_after

OnExists = Literal["skip", "update", "fail"]


# The rules for option values, shared by the parser (exit 2 before any run folder exists)
# and by SubmitSettings (a library caller, or a damaged run.json). None means fine.
def seconds_above_zero(value: object) -> str | None:
    if not _number(value) or not math.isfinite(value) or value <= 0:
        return f"must be a number of seconds above 0, got {value!r}"
    return None


def seconds_at_least_zero(value: object) -> str | None:
    if not _number(value) or not math.isfinite(value) or value < 0:
        return f"must be a number of seconds, 0 or more, got {value!r}"
    return None


def count_at_least_one(value: object) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        return f"must be a whole number, 1 or more, got {value!r}"
    return None


def _number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


# Setting name -> (option shown in the message, rule); spacing may also be None.
_RULES: dict[str, tuple[str, Callable[[object], str | None]]] = {
    "concurrency": ("--concurrency", count_at_least_one),
    "max_attempts": ("--max-attempts", count_at_least_one),
    "timeout": ("--timeout", seconds_above_zero),
    "margin": ("--margin", seconds_at_least_zero),
    "spacing": ("--spacing", seconds_above_zero),
    "retry_base": ("retry_base", seconds_above_zero),
    "retry_cap": ("retry_cap", seconds_above_zero),
    "max_wait": ("--max-wait", seconds_above_zero),
    "stop_grace": ("stop_grace", seconds_at_least_zero),
}
_FLAGS = ("respect_review_settings", "strict", "create_unit_types")


@dataclass(frozen=True)
class SubmitSettings:
    base_url: str = field(default_factory=default_base_url)
    windows: tuple[Window, ...] = DEFAULT_WINDOWS
    concurrency: int = 16
    max_attempts: int = 5
    timeout: float = 30.0
    on_exists: OnExists = "skip"
    respect_review_settings: bool = False
    report_dir: Path = Path("reports")
    encoding: str | None = None
    sheet: str | None = None  # of an .xlsx catalog; None: the first
    # Seconds added to every window beyond the drift pad the limiter always keeps (100 ppm of
    # each period, limits/windows.py DRIFT), e.g. for a server whose clock is known to run fast.
    margin: float = 0.0
    # Minimum gap between requests (aiolimiter pacer); None sends a window's budget at once.
    spacing: float | None = None
    retry_base: float = 0.5
    retry_cap: float = 30.0
    # The run's patience: with no request accepted for this long, it stops (exit 3).
    max_wait: float = 3600.0
    # The budget identity: runs on one project share its budget memory, whatever their key
    # (None: the key's fingerprint).
    project: str | None = None
    # How long Ctrl-C waits for requests already in flight before giving up on them.
    stop_grace: float = 10.0
    seed: int | None = None
    # submit --tag: added to every created or updated source's tags (part of the body).
    tag: str | None = None
    # The catalog SQL's dialect (catalog/sql/); None: a check every dialect would agree with.
    dialect: str | None = None
    # Create the unit ID types valid rows map and the project lacks, before any row.
    create_unit_types: bool = False
    # --strict: every validation warning is an error; --ignore-column: unknown columns meant.
    strict: bool = False
    ignore_columns: tuple[str, ...] = ()
    # --halt-after N|PCT% (send/halt.py): stop after that many permanent failures.
    halt_after: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.base_url, str):
            raise UsageError(f"--base-url must be a URL, got {self.base_url!r}")
        check_base_url(self.base_url)
        if not self.windows:
            raise UsageError("at least one --rate-limit is needed")
        for name, (option, rule) in _RULES.items():
            value = getattr(self, name)
            problem = None if name == "spacing" and value is None else rule(value)
            if problem:
                raise UsageError(f"{option} {problem}")
        if self.project is not None and (not isinstance(self.project, str) or not self.project):
            raise UsageError(f"--project must be a name, got {self.project!r}")
        if self.on_exists not in ("skip", "update", "fail"):
            raise UsageError("--on-exists must be skip, update or fail")
        for name in _FLAGS:
            if not isinstance(getattr(self, name), bool):
                raise UsageError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if self.tag is not None and (not isinstance(self.tag, str) or not self.tag.strip()):
            raise UsageError(f"--tag must be a text, got {self.tag!r}")
        if self.encoding is not None and not isinstance(self.encoding, str):
            raise UsageError(f"--encoding must be a name, got {self.encoding!r}")
        if self.sheet is not None and not isinstance(self.sheet, str):
            raise UsageError(f"--sheet must be a sheet's name, got {self.sheet!r}")
        if self.dialect is not None:
            _check_dialect(self.dialect)
        if not isinstance(self.ignore_columns, tuple) or not all(
            isinstance(c, str) and c.strip() for c in self.ignore_columns
        ):
            raise UsageError(f"--ignore-column must name columns, got {self.ignore_columns!r}")
        if self.halt_after is not None:
            parse_halt_after(self.halt_after)
        if self.seed is not None and not (
            isinstance(self.seed, int) and not isinstance(self.seed, bool)
        ):
            raise UsageError(f"seed must be a whole number, got {self.seed!r}")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["windows"] = [str(w) for w in self.windows]
        data["report_dir"] = str(self.report_dir)
        data["ignore_columns"] = list(self.ignore_columns)
        return data

    @classmethod
    def from_json(cls, data: Any) -> SubmitSettings:
        """Settings as `to_json` wrote them; anything else is a UsageError sentence."""
        if not isinstance(data, dict):
            raise UsageError("the settings are not a JSON object")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        windows = values.get("windows", [])
        if not isinstance(windows, list) or not all(isinstance(w, str) for w in windows):
            raise UsageError("the windows are not a list of COUNT/PERIOD texts")
        values["windows"] = tuple(parse_window(w) for w in windows)
        report_dir = values.get("report_dir", "reports")
        if not isinstance(report_dir, str):
            raise UsageError("report_dir is not a path")
        values["report_dir"] = Path(report_dir)
        ignored = values.get("ignore_columns", [])
        if not isinstance(ignored, list | tuple):
            raise UsageError("ignore_columns is not a list of column names")
        values["ignore_columns"] = tuple(ignored)
        return cls(**values)

    @property
    def halt_rule(self) -> HaltAfter | None:
        return None if self.halt_after is None else parse_halt_after(self.halt_after)

    def with_changes(self, **changes: Any) -> SubmitSettings:
        return replace(self, **changes)


def _check_dialect(name: object) -> None:
    from ..catalog.sql.parse import check_dialect  # sqlglot: only when a dialect is named

    if not isinstance(name, str):
        raise UsageError(f"--dialect must be a name, got {name!r}")
    try:
        check_dialect(name)
    except ValueError as exc:
        raise UsageError(f"--dialect: {exc}") from None
