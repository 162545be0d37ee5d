"""`--halt-after N|PCT%`: stop a run whose rows keep failing, like GNU parallel's
`--halt soon,fail=N|PCT%`.

Only permanent failures count (a row the API refused, status `failed`): a row that would
work on a second try is retried by the executor and never reaches this count. "Soon"
means requests in flight are let answer; no new row is taken. A percentage is of the rows
settled so far in this invocation, and waits for MIN_SETTLED of them so the first row's
failure is not 100 %. The count starts again with each invocation: `resume` of a halted
run sends the rest, and halts again if they fail the same way.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..errors import UsageError

MIN_SETTLED = 10
FAILED = "failed"  # record.results.Status.FAILED, which sits above this module
_FORM = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$")
HELP = "a whole number of failed rows (5) or a percentage of the rows settled (20%)"


@dataclass(frozen=True)
class HaltAfter:
    count: int | None = None
    percent: float | None = None

    def reached(self, failed: int, settled: int) -> bool:
        if self.count is not None:
            return failed >= self.count
        assert self.percent is not None
        return settled >= MIN_SETTLED and failed * 100 >= self.percent * settled

    def __str__(self) -> str:
        return f"{self.percent:g}%" if self.percent is not None else str(self.count)


def parse_halt_after(text: object) -> HaltAfter:
    """'5' or '20%'; anything else (0, -1, 1.5, 150%, 'soon') is a UsageError sentence."""
    match = _FORM.match(text) if isinstance(text, str) else None
    why = f"--halt-after must be {HELP}, got {text!r}"
    if match is None:
        raise UsageError(why)
    number, percent = float(match.group(1)), bool(match.group(2))
    if percent:
        if not 0 < number <= 100 or not math.isfinite(number):
            raise UsageError(f"{why}: a percentage is above 0 and at most 100")
        return HaltAfter(percent=number)
    if not number.is_integer() or number < 1:
        raise UsageError(f"{why}: a count is a whole number, 1 or more")
    return HaltAfter(count=int(number))


@dataclass
class HaltCount:
    """The executor's tally against the rule (None: never halts)."""

    rule: HaltAfter | None
    failed: int = 0
    settled: int = 0

    @classmethod
    def of(cls, rule: HaltAfter | None) -> HaltCount:
        return cls(rule)

    def note(self, status: str) -> str | None:
        """Count one settled row (its status); the stop reason once the rule is reached."""
        if self.rule is None:
            return None
        self.settled += 1
        if status != FAILED:
            return None
        self.failed += 1
        if not self.rule.reached(self.failed, self.settled):
            return None
        return (
            f"halted after {self.failed} failed of {self.settled} rows settled "
            f"(--halt-after {self.rule}); results.csv says why each failed"
        )
