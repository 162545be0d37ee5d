"""What a run checks and settles before its folder exists: the key (the first listing page),
the session the check and the run share, and whether the catalog is a run's own failed.csv
(then the new run retries that run)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from ..api.client import make_session
from ..errors import RunStopped, UsageError
from .record.folder import RETRY_OF, RUN_FILE, RunRecord, run_label
from .resources import open_client
from .routine import Access
from .send.signals import Interrupted, StopRequests, raising_on_signals
from .settings import SubmitSettings


async def own_session(
    stack: contextlib.AsyncExitStack, access: Access, settings: SubmitSettings
) -> Access:
    """One session for the key check and the run: a session of the check's own, collected
    later mid-validation, would swallow a Ctrl-C in its finaliser."""
    if access.session is not None:
        return access
    own = make_session(settings.concurrency, base_url=settings.base_url)
    return replace(access, session=await stack.enter_async_context(own))


async def check_key(settings: SubmitSettings, access: Access) -> None:
    """The key against the first listing page; a signal meanwhile stops with one sentence."""
    async with open_client(settings, access.api_key, access.session) as client:
        with StopRequests() as stops:
            try:
                await stops.unless_stopped(
                    asyncio.ensure_future(client.check_key()), "checking the key"
                )
            except Interrupted as exc:
                raise RunStopped(f"{exc}; nothing was sent") from None


def fixes_of(path: Path) -> tuple[str | None, str | None]:
    """A run's own failed.csv submitted again (fixed in place) retries that run: its
    folder and run.json say so. (retry_of, label), or (None, None) for any other file."""
    parent = path.resolve().parent
    if not path.name.startswith("failed.") or not (parent / RUN_FILE).is_file():
        return None, None
    try:
        earlier = RunRecord.load(parent)
    except UsageError:
        return None, None  # a damaged run.json: the file is just a catalog then
    return str(parent), run_label(earlier.label, RETRY_OF, parent)


@contextlib.contextmanager
def nothing_sent_yet(run_dir: Path | None) -> Iterator[None]:
    """A signal while the run is being prepared: one sentence, and no half-made folder.
    Once run.json is written the folder is a run (saved atomically, so its presence says
    so): it stays, and the sentence says how to start it again."""
    try:
        with raising_on_signals("reading the catalog"):
            yield
    except Interrupted as exc:
        if run_dir is not None and (run_dir / RUN_FILE).is_file():
            again = f"`bulk-sources resume {run_dir}` starts it again"
            raise RunStopped(f"{exc}; nothing was sent. {again}") from None
        if run_dir is not None:
            shutil.rmtree(run_dir, ignore_errors=True)
        raise RunStopped(f"{exc}; nothing was sent") from None
