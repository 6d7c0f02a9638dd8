"""The single-instance rule on SQLite: an OS lock (flock) on a file beside the database.

The running instance holds an exclusive flock on `yishi.db.lock`. The kernel releases it when the
process ends, however it ends, so a bot restarted after a crash (kill -9, a container killed)
serves at once, while a second instance started next to a running one is refused. No imports
beyond the standard library: taking the lock costs nothing at start-up.

`yishi serve` takes it before anything touches the database (a second instance must not run its
migrations under the running one) and also holds a flock on the database file itself: a hard
link gives the same file another name, and so another lock file, but the same inode. That
descriptor is closed only after SQLite's connections are (closing any descriptor of a file drops
the process's POSIX locks on it, which SQLite uses); flock and SQLite's POSIX locks do not
interact on a local file system. The heartbeat is handed the lock `serve` took.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

# How often a lock file taken away under us is opened again before giving up.
RETRIES = 5
# What a restore writes into the lock file it holds (its process id follows).
RESTORING = "yishi restore"


def _flocked(fd: int) -> bool:
    """Take an exclusive flock on `fd` without waiting; False (the descriptor closed) when another
    process holds it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    except BaseException:
        os.close(fd)
        raise
    return True


class InstanceLock:
    """The single-instance lock of a SQLite database: an exclusive flock on `path` and, given
    `database`, on the database file too."""

    def __init__(self, path: Path, database: Path | None = None) -> None:
        self.path = path
        self.database = database
        self._fd: int | None = None
        self._file: tuple[int, tuple[int, int]] | None = None  # descriptor, (device, inode)

    def acquire(self) -> bool:
        """Take the lock; False when another process holds it. OSError when the file can be
        neither created nor opened (a missing or read-only folder)."""
        for _ in range(RETRIES):
            fd = self._open()
            if not _flocked(fd):
                return False
            if self._named(fd):
                break
            # Taken away by its holder (a restore removes the lock file it made) between our
            # open and our flock: the lock is on the file the name has now.
            os.close(fd)
        else:
            return False
        self._fd = fd
        if not self.cover():
            self.release()
            return False
        return True

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except PermissionError:
            # A read-only folder with the lock file in it: flock works on a read-only file.
            return os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)

    def _named(self, fd: int) -> bool:
        """Whether `fd` is still the file `path` names."""
        try:
            named = os.stat(self.path)
        except FileNotFoundError:
            return False
        held = os.fstat(fd)
        return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)

    def cover(self) -> bool:
        """Hold the database file itself too (its inode, whatever its name); call again after
        the file was replaced (a new database's first schema is built beside it and renamed over
        it). False when another process holds it: a hard link to a served database."""
        if self.database is None:
            return True
        try:
            named = os.stat(self.database)
            if self._file is not None and self._file[1] == (named.st_dev, named.st_ino):
                return True
            fd = os.open(self.database, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return True  # not made yet: covered once the migrations have made it
        if not _flocked(fd):
            return False
        st = os.fstat(fd)
        previous, self._file = self._file, (fd, (st.st_dev, st.st_ino))
        if previous is not None:
            os.close(previous[0])  # the replaced file's: nothing of SQLite's is on it
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
        """Drop the lock: after the database is closed (see the module's note)."""
        if self._file is not None:
            os.close(self._file[0])
            self._file = None
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None
