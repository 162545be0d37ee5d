"""The one map from what happened to an exit code.

0 every row done; 1 some row invalid or failed (fix and retry); 2 a usage or file problem,
nothing sent; 3 the run stopped early (key refused, API unreachable, interrupted): resume it;
4 a bug in the tool (one sentence, never a traceback).
"""

from __future__ import annotations

from ..errors import BulkSourcesError, HeaderRefused, NothingToRetry, RollbackRefused, RunStopped
from ..run.record.summary import Outcome

EXIT_OK = 0
EXIT_ROWS_FAILED = 1
EXIT_USAGE = 2
EXIT_STOPPED = 3
EXIT_BUG = 4  # an exception the tool did not expect: a bug to report

_BY_OUTCOME = {
    Outcome.OK: EXIT_OK,
    Outcome.ROWS_FAILED: EXIT_ROWS_FAILED,
    Outcome.STOPPED: EXIT_STOPPED,
}


def for_outcome(outcome: Outcome) -> int:
    return _BY_OUTCOME[outcome]


def for_error(error: BulkSourcesError) -> int:
    if isinstance(error, NothingToRetry):
        return EXIT_ROWS_FAILED if error.rows_left else EXIT_OK
    if isinstance(error, RunStopped):
        return EXIT_STOPPED
    if isinstance(error, HeaderRefused):
        return EXIT_ROWS_FAILED  # the rows are the user's to fix, as for an invalid row
    if isinstance(error, RollbackRefused):
        return EXIT_USAGE  # nothing was sent; the sentence says what to do instead
    return EXIT_USAGE
