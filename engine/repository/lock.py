"""The repository lock: one writing run at a time.

A writer creates ``locks/exclusive`` with O_EXCL (atomic on local disks and
SMB shares). Its content, sealed with the maintenance key, names the host,
process and start time, and is refreshed while the run goes on. A lock whose
process is gone (same host) or that has not been refreshed for
``STALE_AFTER`` (other host) is stale: a lock of a dead process on this host
is cleared automatically, any stale lock by ``odbackup unlock``.
Readers (restore, check) add ``locks/shared-<random>`` files so that a future
space-reclaiming run can refuse to delete packs they are reading.
"""
from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from .. import crypto
from ..errors import RepositoryLocked
from .storage import Backend

EXCLUSIVE = "locks/exclusive"
LOCK_KIND = "lock"
REFRESH_EVERY = 300.0
STALE_AFTER = 1800.0


@dataclass(frozen=True)
class LockInfo:
    """Who holds a lock."""

    host: str
    pid: int
    started: str
    refreshed: float
    command: str

    def describe(self) -> str:
        return f"{self.command} on {self.host}, process {self.pid}, started {self.started}"

    def is_stale(self) -> bool:
        if self.host == socket.gethostname():
            return not pid_alive(self.pid)
        return time.time() - self.refreshed > STALE_AFTER


def pid_alive(pid: int) -> bool:
    """Is a process with this ID running on this machine? (Windows has no kill(pid, 0).)"""
    if os.name == "nt":
        return _pid_alive_windows(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _pid_alive_windows(pid: int) -> bool:
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return kernel32.GetLastError() == 5  # access denied: it exists
    try:
        code = ctypes.c_ulong()
        kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def _encode(maint_key: bytes, info: LockInfo) -> bytes:
    return crypto.seal(maint_key, json.dumps(info.__dict__).encode(), LOCK_KIND)


def read_lock(backend: Backend, maint_key: bytes, name: str = EXCLUSIVE) -> LockInfo | None:
    try:
        sealed = backend.read(name)
    except FileNotFoundError:
        return None
    try:
        return LockInfo(**json.loads(crypto.unseal(maint_key, sealed, LOCK_KIND)))
    except (crypto.DecryptionFailed, ValueError, TypeError):
        # Half-written by a crash between create and write: treat as stale.
        return LockInfo("?", 0, "unknown", 0.0, "unreadable lock")


class RepoLock:
    """A held lock; use as a context manager so it is always released."""

    def __init__(self, backend: Backend, maint_key: bytes, name: str, info: LockInfo) -> None:
        self._backend, self._key, self.name, self.info = backend, maint_key, name, info
        self._last_refresh = time.monotonic()

    @classmethod
    def acquire(
        cls, backend: Backend, maint_key: bytes, command: str, *, exclusive: bool = True
    ) -> tuple[RepoLock, LockInfo | None]:
        """Take the lock. Returns it and the stale lock it replaced, if any."""
        info = LockInfo(
            socket.gethostname(), os.getpid(), datetime.now(UTC).isoformat(timespec="seconds"), time.time(), command
        )
        if not exclusive:
            name = f"locks/shared-{os.urandom(8).hex()}"
            backend.write_atomic(name, [_encode(maint_key, info)])
            return cls(backend, maint_key, name, info), None
        replaced = None
        for _attempt in range(2):
            if backend.create_exclusive(EXCLUSIVE, _encode(maint_key, info)):
                return cls(backend, maint_key, EXCLUSIVE, info), replaced
            holder = read_lock(backend, maint_key)
            if holder is None:
                continue
            if holder.host in (socket.gethostname(), "?") and holder.is_stale():
                _remove(backend, EXCLUSIVE)
                replaced = holder
                continue
            raise RepositoryLocked(f"The repository is in use by {holder.describe()}.")
        raise RepositoryLocked("The repository lock could not be taken.")

    def refresh(self) -> None:
        """Rewrite the lock's time if due (called from long loops)."""
        if time.monotonic() - self._last_refresh < REFRESH_EVERY:
            return
        self.info = LockInfo(**{**self.info.__dict__, "refreshed": time.time()})
        self._backend.write_atomic(self.name, [_encode(self._key, self.info)])
        self._last_refresh = time.monotonic()

    def release(self) -> None:
        _remove(self._backend, self.name)

    def __enter__(self) -> RepoLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _remove(backend: Backend, name: str) -> None:
    try:
        backend.remove(name)
    except FileNotFoundError:
        pass


def clear_stale(backend: Backend, maint_key: bytes, *, force: bool = False) -> LockInfo | None:
    """Remove the exclusive lock if it is stale (or ``force``); returns who held it.

    Raises :class:`RepositoryLocked` when the holder still looks alive.
    """
    holder = read_lock(backend, maint_key)
    if holder is None:
        return None
    if not (force or holder.is_stale()):
        raise RepositoryLocked(
            f"The lock is held by {holder.describe()}, which still looks alive.",
            hint="If you are sure it is not running, use 'odbackup unlock --force'.",
        )
    _remove(backend, EXCLUSIVE)
    return holder
