"""One run of a job at a time, on this machine.

The lock is the operating system's lock on an open file (:mod:`engine.filelock`),
not a file's existence: the system
releases it when the process ends however it ends, so a run killed with
``kill -9``, a crash or a power cut never leaves the job stuck. The file holds
the holder's process ID and start time, only to say who holds it.
"""
from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import IO

from .filelock import try_lock, unlock


class JobBusy(Exception):
    """The previous run of this job is still going."""

    def __init__(self, job: str, holder: str) -> None:
        super().__init__(f"the previous run of {job} is still going ({holder})")
        self.job = job
        self.holder = holder


class JobLock:
    """Held while one run of ``job`` goes on; ``with JobLock(path, job):`` or acquire/release."""

    def __init__(self, path: str, job: str) -> None:
        self.path = path
        self.job = job
        self._file: IO[bytes] | None = None

    def acquire(self) -> JobLock:
        """Take the lock, or raise :class:`JobBusy` at once (a scheduled run never waits)."""
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        # Byte 0 is the one locked on Windows; the holder's note starts after it, so it can
        # be read while the lock is held (a locked byte cannot be read on Windows).
        f = open(self.path, "a+b")  # noqa: SIM115 - held open for the whole run
        if not try_lock(f.fileno()):
            f.close()
            raise JobBusy(self.job, self._holder())
        f.seek(0)
        f.truncate()
        f.write(f"\n{os.getpid()} {datetime.now(UTC).isoformat(timespec='seconds')}\n".encode())
        f.flush()
        self._file = f
        return self

    def release(self) -> None:
        """Let the next run go (also done by the system when the process ends)."""
        if self._file is None:
            return
        try:
            unlock(self._file.fileno())
        finally:
            self._file.close()
            self._file = None

    def _holder(self) -> str:
        try:
            with open(self.path, "rb") as f:
                f.seek(1)
                pid, _, started = f.read(200).decode("ascii", "replace").strip().partition(" ")
        except OSError:
            return "another process"
        return f"process {pid}, started {started}" if pid else "another process"

    def __enter__(self) -> JobLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
