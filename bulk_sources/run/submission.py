"""The run kind of a submit, resume or retry: rows from a validated catalog.

What it brings to the run routine (routine.py): its rows are the catalog's valid rows; they
are planned against the listing by `make_plan` (--on-exists decides a name that exists); a
create whose answer was lost is judged by `decide`; and its report adds the rows validation
settled (invalid, duplicate), created.jsonl and the failed rows' catalog.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from ..catalog.problems import unknown_column_dicts, warning_dicts
from ..catalog.reader import Catalog
from ..catalog.validation import ValidationReport, ValidRow
from ..models import ListedSource, SourceContent
from .plan.existing import by_name
from .plan.projectunits import UnitReport, created_by, prepare_unit_types
from .plan.rows import Plan, PlanEntry, all_entries, make_plan
from .plan.settle import Decision, decide
from .record.created import with_sent_content
from .record.finish import (
    Ending,
    build_report,
    said_once,
    static_results,
    with_befores,
    write_report,
)
from .record.folder import CREATED_FILE, JOURNAL_FILE, RESULTS_FILE, RunRecord
from .record.gone import catalog_change, gone_rows
from .record.journal import JournalState
from .record.report import carried_rows, failed_path, write_created, write_failed, write_results
from .record.results import RowResult
from .record.summary import Requests, RunReport
from .resources import RunResources
from .send.signals import StopRequests


@dataclass
class Submission:
    """One invocation of a submit's run folder (a fresh submit: its journal is empty)."""

    run_dir: Path
    record: RunRecord
    catalog: Catalog
    validation: ValidationReport
    state: JournalState
    catalog_sha256: str  # of the catalog as read now (resume follows an edited catalog)
    # row key -> action of a request sent without an answer in the run this one retries
    maybe_sent: Mapping[str, str] | None = None
    units: UnitReport | None = None  # what `prepare` found and did about unit ID types

    @property
    def total(self) -> int:
        return self.validation.total

    def rows(self) -> list[ValidRow]:
        return list(self.validation.valid)

    async def prepare(self, res: RunResources, stops: StopRequests) -> None:
        """The open rows' unit ID types against the project (GETs), and with
        --create-unit-types the missing ones created first (mutations under the budget)."""
        job = asyncio.ensure_future(
            prepare_unit_types(
                res.client,
                res.budget,
                res.journal,
                res.settings,
                self.validation,
                frozenset(self.state.finals),
            )
        )
        self.units = await stops.unless_stopped(job, "listing unit ID types")

    async def finish(self, res: RunResources) -> None:
        return None

    def plan(self, listed: list[ListedSource]) -> Plan:
        unanswered = {k: r["action"] for k, r in self.state.unfinished.items()}
        plan = make_plan(
            self.validation.valid,
            by_name(listed),
            self.record.settings.on_exists,
            finals=self.state.finals,
            maybe_sent={**(self.maybe_sent or {}), **unanswered},
        )
        # The run record is append-only in meaning: what the run settled stays in the
        # report whatever happened to the catalog since.
        plan.kept += gone_rows(self.state, {row.key for row in self.validation.valid})
        return plan

    def plan_entries(self, plan: Plan) -> list[PlanEntry]:
        return all_entries(plan, self.validation)

    def judge(self, row: ValidRow, listed: ListedSource | None) -> Decision:
        return decide(row, listed, self.record.settings.on_exists, sent="create")

    def report(
        self,
        outcomes: list[RowResult],
        befores: Mapping[str, SourceContent],
        ending: Ending,
        *,
        write: bool,
    ) -> RunReport:
        original = self._numbering()
        own = said_once(
            [*static_results(self.validation, original), *with_befores(outcomes, befores)],
            ending.stop_reason,
        )
        # Numbered as the run's own copy of the catalog (failed.csv is cut from it); a retry
        # reports the numbers of the catalog it came from.
        results = [replace(r, row=original(r.row)) for r in own]
        bodies = {row.key: row.body for row in self.validation.valid}
        results = with_sent_content(results, bodies)
        run_dir = self.run_dir
        report = build_report(
            run_dir,
            self.record,
            self.validation.total,
            results,
            ending,
            failed=failed_path(run_dir, self.catalog),
        )
        report.catalog_changed_since_start = self.catalog_sha256 != self.record.catalog_sha256
        report.catalog_change = catalog_change(results)
        # What validation warned about, as `validate` says it (rows as the person numbers them).
        report.warnings = [{**w, "row": original(w["row"])} for w in warning_dicts(self.validation)]
        report.unknown_columns = unknown_column_dicts(self.validation)
        report.catalog_notes = list(self.validation.notes)
        if self.units is not None:
            report.unit_types = self.units.to_json()
            # Every type the folder's invocations made (a resume finds them present).
            report.unit_types["created"] = created_by(run_dir / JOURNAL_FILE)
            report.requests = report.requests.plus(Requests(sent=self.units.requests))
        if write:
            write_report(
                report,
                [
                    (RESULTS_FILE, lambda: write_results(run_dir / RESULTS_FILE, results)),
                    (CREATED_FILE, lambda: write_created(run_dir / CREATED_FILE, results)),
                    (
                        report.failed_rows_file.name,
                        lambda: write_failed(
                            run_dir, self.catalog, [r for r in own if r.row > 0], original
                        ),
                    ),
                ],
            )
        return report

    def _numbering(self) -> Callable[[int], int]:
        """Row numbers as a person knows them: a retry's come from run.json, a failed.csv
        fed back in carries them in its `_row` column; else the catalog's own."""
        if self.record.source_rows is not None:
            return self.record.original_row
        carried = carried_rows(self.catalog)
        return lambda row: carried.get(row, row)
