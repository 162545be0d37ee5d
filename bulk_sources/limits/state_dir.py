"""Where the budget memory lives, and one sentence when it cannot live there.

The per-user state directory is `$BULK_SOURCES_STATE_DIR`, else `$XDG_STATE_HOME/bulk-sources`,
else `~/.local/state/bulk-sources`. It is checked before a run makes its folder: a path that is
a file, a FIFO or a device, that cannot be created or written, or a full disk is a usage
problem (exit 2) that names the directory and how to point elsewhere, never an internal error
or a run that hangs reading a FIFO.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from ..errors import UsageError

__all__ = ["ENV_STATE_DIR", "StateDirError", "state_dir", "usable_budgets_dir"]

ENV_STATE_DIR = "BULK_SOURCES_STATE_DIR"


class StateDirError(UsageError):
    """The state directory cannot hold the budget memory."""


def state_dir() -> Path:
    """`$BULK_SOURCES_STATE_DIR`, else `$XDG_STATE_HOME/bulk-sources`, else
    `~/.local/state/bulk-sources`."""
    override = os.environ.get(ENV_STATE_DIR)
    if override:
        return Path(override)
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "state"
    return base / "bulk-sources"


def problem(path: Path, what: str) -> StateDirError:
    return StateDirError(
        f"the state directory {path} {what}: bulk-sources keeps each project's API budget "
        f"there; set {ENV_STATE_DIR} to a writable directory"
    )


def kind_of(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a file"


def usable_budgets_dir(directory: Path | None = None) -> Path:
    """`<state dir>/budgets`, created and proven writable (one byte written and removed);
    StateDirError otherwise."""
    root = directory if directory is not None else state_dir()
    folder = root / "budgets"
    for path in (root, folder):
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise problem(root, f"cannot be read ({exc.strerror})") from None
        if not stat.S_ISDIR(mode):
            raise problem(path, f"is {kind_of(mode)}, not a directory")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".writable-", dir=folder)
        try:
            os.write(fd, b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(name)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise problem(root, "is on a full disk") from None
        raise problem(root, f"cannot be written ({exc.strerror or exc})") from None
    return folder
