"""The one way bulk-sources writes a file: `atomic_write`.

What the target is decides how it is written, because a user names outputs and the name
can be anything:

- a regular file (or no file yet): a temporary file in the same folder, fsync'd, renamed
  over the target, then the folder fsync'd; a crash leaves the old file or the new one,
  never half of one, and a failure removes the temporary file. An existing file keeps its
  permission bits (mkstemp would make it 0600).
- a symlink: written through to the file it points at (atomically there), so the link stays.
- a FIFO, a character or block device: opened and written as a stream, never replaced (a
  reader waiting on the FIFO gets the data; /dev/stdout works).
- the catalog the tool is reading (registered with `guard_input`): refused with a sentence,
  because the tool never overwrites its own input.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .errors import UsageError

# (st_dev, st_ino) of every input this process reads: the same file under any name.
_INPUTS: dict[tuple[int, int], Path] = {}


class OutputIsInput(UsageError):
    """An output path names a file the tool is reading."""


def guard_input(path: Path) -> None:
    """Remember `path` as an input: `atomic_write` refuses it (by identity, so a hard link,
    a symlink or `./x` for `x` are caught too)."""
    with contextlib.suppress(OSError):
        info = os.stat(path)
        _INPUTS[(info.st_dev, info.st_ino)] = Path(path)


def check_output(path: Path) -> None:
    """Raise OutputIsInput when `path` is (or points at) a guarded input."""
    try:
        info = os.stat(path)
    except OSError:
        return
    source = _INPUTS.get((info.st_dev, info.st_ino))
    if source is not None and _same(source, info):
        raise OutputIsInput(
            f"{path} is the catalog being read ({source}); the tool never overwrites its "
            "input, so name another file for the output"
        )


def _same(source: Path, info: os.stat_result) -> bool:
    # The input must still be there: a deleted file's inode can be reused by a new one.
    try:
        now = os.stat(source)
    except OSError:
        return False
    return (now.st_dev, now.st_ino) == (info.st_dev, info.st_ino)


def atomic_write(
    path: Path,
    mode: str = "w",
    *,
    encoding: str = "utf-8",
    own_copy: bool = False,
    inputs_checked: bool = False,
) -> contextlib.AbstractContextManager[IO[Any]]:
    """A handle to write `path` with ("w" text, "wb" bytes); see the module docstring for
    what happens on close. Text mode writes with newline="" (csv writes its own line ends).
    `own_copy`: `path` is the run folder's copy of the catalog, refreshed on purpose.
    `inputs_checked`: the caller refused its own inputs already (an import's files), so a
    catalog an earlier call in this process read is not held against the output."""
    if not (own_copy or inputs_checked):
        check_output(Path(path))
    return _write(Path(path), mode, encoding)


@contextlib.contextmanager
def _write(path: Path, mode: str, encoding: str) -> Iterator[IO[Any]]:
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    kind = _kind(target)
    text = "b" not in mode
    if kind == "stream":
        with _open_stream(target, text, encoding) as handle:
            yield handle
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with (
            os.fdopen(fd, "w", encoding=encoding, newline="")
            if text
            else os.fdopen(fd, "wb") as handle
        ):
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _mode_for(target))
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(target.parent)


def _open_stream(target: Path, text: bool, encoding: str) -> IO[Any]:
    if text:
        return target.open("w", encoding=encoding, newline="")
    return target.open("wb")


def _kind(target: Path) -> str:
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return "file"
    if stat.S_ISFIFO(info.st_mode) or stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode):
        return "stream"
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(21, "Is a directory", str(target))
    return "file"


def _mode_for(target: Path) -> int:
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def fsync_dir(folder: Path) -> None:
    """fsync a folder so a rename in it survives a power cut (best effort: some file
    systems refuse to open a folder for that)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_text(path: Path, text: str, *, encoding: str = "utf-8") -> None:
    with atomic_write(path, encoding=encoding) as handle:
        handle.write(text)
