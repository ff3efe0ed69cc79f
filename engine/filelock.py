"""An operating-system lock on an open file, on Linux and Windows.

``fcntl.flock`` on POSIX, ``msvcrt.locking`` on the file's first byte on
Windows. The system releases it when the process ends, however it ends, so
a run killed with ``kill -9`` or a power cut never leaves it held: used for
one run of a job at a time (``joblock``) and for writers of the settings.
"""
from __future__ import annotations

import os
import sys

if sys.platform == "win32":  # pragma: no cover - Windows
    import msvcrt

    def try_lock(fd: int) -> bool:
        """Take the lock on ``fd`` if it is free (never waits)."""
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def unlock(fd: int) -> None:
        """Release it (closing the file would too; Windows asks for it to be said first)."""
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def try_lock(fd: int) -> bool:
        """Take the lock on ``fd`` if it is free (never waits)."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def unlock(fd: int) -> None:
        """Release it (closing the file would too)."""
        fcntl.flock(fd, fcntl.LOCK_UN)
