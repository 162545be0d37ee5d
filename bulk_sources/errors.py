"""The one exception tree of bulk-sources. Every error a user can cause is a BulkSourcesError.

    BulkSourcesError            exit_code 2 unless a subclass says otherwise
    ├── UsageError              a bad option or argument
    ├── CatalogError            the catalog file itself can't be used (missing, empty, corrupt, ...)
    ├── ApiKeyError             no key, or the key file can't be read
    ├── RunLockedError          another process holds the run folder
    └── RunStopped              exit_code 3: auth refused, API unreachable, or interrupted
        ├── AuthRefused         the API answered 401/403
        └── ListingFailed       the pre-flight list of existing sources could not be read

The CLI prints `str(error)` (one sentence that says how to fix it) and exits with
`error.exit_code`; it never shows a traceback for these.
"""

from __future__ import annotations


class BulkSourcesError(Exception):
    exit_code = 2


class UsageError(BulkSourcesError):
    pass


class CatalogError(BulkSourcesError):
    pass


class ApiKeyError(BulkSourcesError):
    pass


class RunLockedError(BulkSourcesError):
    pass


class RunStopped(BulkSourcesError):
    exit_code = 3


class AuthRefused(RunStopped):
    pass


class ListingFailed(RunStopped):
    pass
