"""The run kind of a rollback: rows from the undone run's created.jsonl.

What it brings to the run routine (run/routine.py): its rows are the undo items (a delete
per created source, a restore per updated one); they are planned by `make_undo_plan` (only
where the server still holds what the run wrote); a delete or restore whose answer was
lost is judged by `judge` (absent now: the delete went through); and its report is
results.csv and summary.json, with the budget and history like any run's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ...catalog.validation import ValidRow
from ...models import ListedSource, SourceContent
from ..plan.existing import by_name
from ..plan.rows import Plan, PlanEntry
from ..plan.settle import Decision
from ..record.finish import Ending, build_report, said_once, write_report
from ..record.folder import RESULTS_FILE, RunRecord
from ..record.journal import JournalState
from ..record.report import write_results
from ..record.results import RowResult, Status
from ..record.summary import Outcome, Requests, RunReport
from ..resources import RunResources
from ..send.signals import StopRequests
from .undo import UndoItem, judge, make_undo_plan
from .unitundo import UnitUndo, undo_unit_types


@dataclass
class Rollback:
    """One invocation of a rollback's run folder."""

    run_dir: Path
    record: RunRecord
    items: list[UndoItem]
    state: JournalState
    tag: str | None  # the undone run's --tag: a source that lost it has changed since
    unit_types: list[str] = field(default_factory=list)  # the undone run created these
    units: UnitUndo | None = None  # what `finish` did with them
    # The undone run's rows that never settled (unknown): a source of theirs may exist, and
    # this rollback can't undo what it doesn't know was made.
    unsettled: str = ""
    _by_key: dict[str, UndoItem] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_key = {item.key: item for item in self.items}

    @property
    def total(self) -> int:
        return len(self.items)

    def rows(self) -> list[ValidRow]:
        return [item.valid_row() for item in self.items]

    async def prepare(self, res: RunResources, stops: StopRequests) -> None:
        return None

    async def finish(self, res: RunResources) -> None:
        """The unit ID types the undone run created, deleted where no source maps them."""
        if self.unit_types:
            self.units = await undo_unit_types(res, self.unit_types)

    def plan(self, listed: list[ListedSource]) -> Plan:
        return make_undo_plan(
            self.items,
            by_name(listed),
            finals=self.state.finals,
            unanswered=self.state.unfinished,
            tag=self.tag,
        )

    def plan_entries(self, plan: Plan) -> list[PlanEntry]:
        return sorted(plan.entries, key=lambda e: e.row)

    def judge(self, row: ValidRow, listed: ListedSource | None) -> Decision:
        """A delete whose answer was lost: absent now means it went through; still there as
        the run left it means send it again."""
        return judge(self._by_key[row.key], listed, sent=True, tag=self.tag)

    def report(
        self,
        outcomes: list[RowResult],
        befores: Mapping[str, SourceContent],
        ending: Ending,
        *,
        write: bool,
    ) -> RunReport:
        results = said_once(outcomes, ending.stop_reason)
        path = self.run_dir / RESULTS_FILE
        report = build_report(
            self.run_dir, self.record, len(self.items), results, ending, failed=path
        )
        remain = self.may_remain(results)
        notes = [report.note, remain_note(remain) if remain else "", self.unsettled]
        if remain or self.unsettled:
            # A report never says "done" while something the run made may remain.
            if report.outcome is Outcome.OK:
                report.outcome = Outcome.ROWS_FAILED
            report.note = "; ".join(n for n in notes if n)
        if self.units is not None:
            report.unit_types = self.units.to_json()
            report.requests = report.requests.plus(Requests(sent=self.units.requests))
        if write:
            write_report(report, [(RESULTS_FILE, lambda: write_results(path, results))])
        return report

    def may_remain(self, results: list[RowResult]) -> list[RowResult]:
        """Rows whose source the undone run made and this rollback did not prove gone."""
        return [
            r
            for r in results
            if r.key in self._by_key
            and self._by_key[r.key].action == "delete"
            and r.status not in (Status.DELETED, Status.GONE)
        ]


SHOWN = 5


def remain_note(rows: list[RowResult]) -> str:
    names = ", ".join(f"{r.name} ({r.status.value})" for r in rows[:SHOWN])
    more = f" and {len(rows) - SHOWN} more" if len(rows) > SHOWN else ""
    what = "1 source" if len(rows) == 1 else f"{len(rows)} sources"
    return f"{what} the run made may remain: {names}{more}; results.csv says why for each"
