"""A run folder: where one submission keeps its settings, journal, lock and report.

reports/20261126T110501Z-example/
    run.json        kind, catalog path and hash, settings (never the key), what it retries
                    or undoes (retry_of, rollback_of)
    plan.csv        the planned action per row, old -> new per changed field
    catalog.csv     the run's own copy of the catalog (or .parquet), read instead of the original
    journal.jsonl   every request about to go, every final outcome
    results.csv     every catalog row once, in catalog order
    failed.csv      the rows to run again, in the catalog's own columns
    created.jsonl   what the API answered for each created or updated row
    summary.json    counts, times, requests, 429s, windows
    report.html     the page: counts, rows to look at, plan, timeline (page.py)
    .lock           held (flock) while a process works on the folder
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ...errors import CatalogError, RunLockedError, UsageError
from ...fileio import atomic_write, write_text
from ..settings import SubmitSettings

RUN_FILE = "run.json"
JOURNAL_FILE = "journal.jsonl"
RESULTS_FILE = "results.csv"
CREATED_FILE = "created.jsonl"
SUMMARY_FILE = "summary.json"
PLAN_FILE = "plan.csv"
LOCK_FILE = ".lock"
# The run's own copy of the catalog: catalog.csv, catalog.parquet, ...
SNAPSHOT_STEM = "catalog"
_COPY_CHUNK = 1 << 20


# What a run's folder name adds to its catalog's name when it works on another run folder.
RETRY_OF = "-retry-of-"
ROLLBACK_OF = "-rollback-of-"
_STAMP = re.compile(r"^(\d{8}T\d{6}Z)-.*?(-\d+)?$")


def run_label(base: str, relation: str, other: Path) -> str:
    """`<base>-retry-of-<stamp of other>`: the folder name says which run it works on."""
    match = _STAMP.match(other.name)
    of = match.group(1) + (match.group(2) or "") if match else other.name
    return f"{base_label(base)}{relation}{of}"


def base_label(label: str) -> str:
    """The catalog's part of a label, without what a retry or rollback added."""
    for mark in (RETRY_OF, ROLLBACK_OF):
        label = label.split(mark, 1)[0]
    # Folders made before the names said what they work on.
    return label.removesuffix("-retry").removesuffix("-rollback")


# Dry runs (a plan.csv each, nothing to resume) go here, out of the way of the real runs.
DRY_RUNS_DIR = "dry-runs"


def new_dry_run_dir(report_dir: Path, label: str) -> Path:
    return new_run_dir(report_dir / DRY_RUNS_DIR, label)


def new_run_dir(report_dir: Path, label: str) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", label)[:60] or "catalog"
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
        for n in range(1000):
            candidate = report_dir / (f"{stamp}-{stem}" + (f"-{n}" if n else ""))
            try:
                candidate.mkdir()
                return candidate
            except FileExistsError:
                continue
    except OSError as exc:
        raise UsageError(
            f"can't make a run folder in {report_dir} ({exc.strerror or exc}); "
            "choose a writable --report-dir"
        ) from None
    raise UsageError(f"could not make a new run folder in {report_dir}")


class RunLock:
    """An exclusive flock on the run folder; the kernel drops it when a process dies, so a
    crashed run never leaves it stuck."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / LOCK_FILE
        self._handle: IO[str] | None = None

    def __enter__(self) -> RunLock:
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise RunLockedError(
                f"{self.path.parent} is in use by {holder}; wait for it to finish "
                "or stop it, then run the command again"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        self._handle = handle
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


@dataclass
class RunRecord:
    catalog: Path
    catalog_sha256: str
    settings: SubmitSettings
    created_at: float
    version: str
    retry_of: str | None = None
    key_fingerprint: str | None = None
    label: str = ""  # what the run folder is named after
    # A retry's rows are a subset of another catalog (`catalog`): the row number there of
    # each row of this run's own copy, in order. None when the copy is the whole catalog.
    source_rows: list[int] | None = None
    # A rollback run: the run folder it undoes (its `catalog` is that run's created.jsonl).
    rollback_of: str | None = None

    def original_row(self, row: int) -> int:
        """The row number a person sees in `catalog` for row `row` of the run's copy."""
        if self.source_rows is None or not 0 < row <= len(self.source_rows):
            return row
        return self.source_rows[row - 1]

    @property
    def kind(self) -> str:
        """What the run is: submit, retry (of `retry_of`) or rollback (of `rollback_of`)."""
        if self.rollback_of is not None:
            return "rollback"
        return "retry" if self.retry_of is not None else "submit"

    def save(self, run_dir: Path) -> None:
        data: dict[str, Any] = {
            "kind": self.kind,
            "catalog": str(self.catalog),
            "catalog_sha256": self.catalog_sha256,
            "settings": self.settings.to_json(),
            "created_at": self.created_at,
            "version": self.version,
            "retry_of": self.retry_of,
            "key_fingerprint": self.key_fingerprint,
            "label": self.label,
            "source_rows": self.source_rows,
            "rollback_of": self.rollback_of,
        }
        write_text(run_dir / RUN_FILE, json.dumps(data, indent=2) + "\n")

    @classmethod
    def load(cls, run_dir: Path) -> RunRecord:
        path = run_dir / RUN_FILE
        if not path.is_file():
            raise UsageError(
                f"{run_dir} is not a run folder (no {RUN_FILE}); give the folder that "
                "`bulk-sources submit` printed last"
            )
        damaged = f"{path} is damaged"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise UsageError("not a JSON object")
            return cls(
                catalog=Path(_text(data, "catalog")),
                catalog_sha256=_text(data, "catalog_sha256"),
                settings=SubmitSettings.from_json(data["settings"]),
                created_at=float(data["created_at"]),
                version=str(data.get("version", "")),
                retry_of=_text(data, "retry_of", optional=True),
                key_fingerprint=_text(data, "key_fingerprint", optional=True),
                label=_text(data, "label", optional=True) or Path(_text(data, "catalog")).stem,
                source_rows=_rows(data.get("source_rows")),
                rollback_of=_text(data, "rollback_of", optional=True),
            )
        except UsageError as exc:
            raise UsageError(f"{damaged} ({exc}); start a new run with submit") from None
        except KeyError as exc:
            raise UsageError(f"{damaged} (no {exc}); start a new run with submit") from None
        except (ValueError, TypeError, RecursionError, OSError) as exc:
            # OSError: unreadable; ValueError: not JSON, not UTF-8, created_at not a number.
            reason = type(exc).__name__ if isinstance(exc, RecursionError) else str(exc)
            raise UsageError(f"{damaged} ({reason}); start a new run with submit") from None


def _text(data: dict[str, Any], name: str, *, optional: bool = False) -> Any:
    value = data.get(name) if optional else data[name]
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise UsageError(f"{name} is not a text")
    return value


def _rows(value: Any) -> list[int] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(n, int) for n in value):
        raise TypeError("source_rows is not a list of row numbers")
    return value


def snapshot_catalog(source: Path, run_dir: Path) -> tuple[Path, str]:
    """Copy the catalog into the run folder, hashing it on the way: the run reads the copy,
    so the original can change or vanish mid-run without harm. Returns (copy, sha256)."""
    target = run_dir / (SNAPSHOT_STEM + source.suffix.lower())
    digest = hashlib.sha256()
    try:
        with source.open("rb") as src, atomic_write(target, "wb", own_copy=True) as dst:
            while chunk := src.read(_COPY_CHUNK):
                digest.update(chunk)
                dst.write(chunk)
    except OSError as exc:
        raise CatalogError(
            f"can't copy the catalog {source} into the run folder {run_dir} "
            f"({exc.strerror or exc}); check both paths"
        ) from None
    return target, digest.hexdigest()


def find_snapshot(run_dir: Path) -> Path | None:
    copies = sorted(run_dir.glob(SNAPSHOT_STEM + ".*"))
    return copies[0] if copies else None
