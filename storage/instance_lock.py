"""The single-instance rule on SQLite: an OS lock (flock) on a file beside the database.

The running instance holds an exclusive flock on `yishi.db.lock`. The kernel releases it when the
process ends, however it ends, so a bot restarted after a crash (kill -9, a container killed)
serves at once, while a second instance started next to a running one is refused. No imports
beyond the standard library: taking the lock costs nothing at start-up.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class InstanceLock:
    """The single-instance lock of a SQLite database: an exclusive flock on `path`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock; False when another process holds it. OSError when the file can be
        neither created nor opened (a missing or read-only folder)."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except PermissionError:
            # A read-only folder with the lock file in it: flock works on a read-only file.
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return True

    def holder(self) -> str:
        """What the running instance wrote into the file (pid and host), if anything."""
        try:
            return self.path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return ""

    def describe(self, text: str) -> None:
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, text.encode(), 0)
        except OSError:
            pass  # read-only: the lock still holds, only the note is missing

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None
