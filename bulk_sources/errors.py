"""The one exception tree of bulk-sources. Every error a user can cause is a BulkSourcesError.

    BulkSourcesError            the message is one sentence that says how to fix it
    ├── UsageError              a bad option or argument
    ├── CatalogError            the catalog file itself can't be used (missing, empty, corrupt, ...)
    │   └── HeaderRefused       a column is almost a field (or, --strict, not one): nothing sent
    ├── ApiKeyError             no key, or the key file can't be read
    ├── RunLockedError          another process holds the run folder
    ├── OtherKeyRefused         resume or retry with another key than the run's
    ├── NothingToRetry          a retry found no row to send (not a failure in itself)
    ├── RollbackRefused         a rollback that could undo the wrong thing (see run/rollback/)
    └── RunStopped              the run could not go on: auth refused, API unreachable, interrupted
        ├── AuthRefused         the API answered 401/403
        └── ListingFailed       the list of existing sources could not be read

No exit codes or flag names here: the CLI (`bulk_sources.cli.exits`) maps these to both.
"""

from __future__ import annotations


class BulkSourcesError(Exception):
    pass


class UsageError(BulkSourcesError):
    pass


class CatalogError(BulkSourcesError):
    pass


class HeaderRefused(CatalogError):
    """The file is readable, but a submit of it would silently drop a column's values."""


class ApiKeyError(BulkSourcesError):
    pass


class RunLockedError(BulkSourcesError):
    pass


class OtherKeyRefused(BulkSourcesError):
    """resume or retry with another key than the run's (see run/record/identity.py)."""


class NothingToRetry(BulkSourcesError):
    def __init__(self, message: str, *, rows_left: bool) -> None:
        super().__init__(message)
        # True when the run still has rows that need the user (invalid, not included).
        self.rows_left = rows_left


class RollbackRefused(BulkSourcesError):
    """A rollback of a rollback, of a run still running, or with another key."""


class RunStopped(BulkSourcesError):
    pass


class AuthRefused(RunStopped):
    pass


class ListingFailed(RunStopped):
    pass
