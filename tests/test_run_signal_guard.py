"""The guard around a run's synchronous preparation: a signal at any instant of it is one
sentence, and the folder is removed only while it is not yet a run."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from bulk_sources.errors import RunStopped
from bulk_sources.run.preflight import nothing_sent_yet
from bulk_sources.run.record.folder import RUN_FILE


def _signal_inside(run_dir: Path | None, sig: signal.Signals) -> str:
    with pytest.raises(RunStopped) as caught, nothing_sent_yet(run_dir):
        os.kill(os.getpid(), sig)
        signal.sigtimedwait([], 0)  # a bytecode boundary: the handler runs by now
        raise AssertionError("the signal did not stop the work")
    return str(caught.value)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_half_made_folder_is_removed(tmp_path: Path, sig: signal.Signals) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "catalog.csv").write_text("name\n")
    text = _signal_inside(run_dir, sig)
    assert text == f"interrupted by {sig.name} while reading the catalog; nothing was sent"
    assert not run_dir.exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_folder_with_its_run_record_stays_and_says_resume(
    tmp_path: Path, sig: signal.Signals
) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / RUN_FILE).write_text("{}")
    text = _signal_inside(run_dir, sig)
    assert text == (
        f"interrupted by {sig.name} while reading the catalog; nothing was sent. "
        f"`bulk-sources resume {run_dir}` starts it again"
    )
    assert (run_dir / RUN_FILE).is_file()


def test_the_previous_handlers_come_back(tmp_path: Path) -> None:
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    _signal_inside(None, signal.SIGINT)
    assert {sig: signal.getsignal(sig) for sig in before} == before
