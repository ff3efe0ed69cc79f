"""Repository locks: one writing run at a time, readers beside it, and nothing beside a deleting run.

A writer creates ``locks/exclusive`` with O_EXCL (atomic on local disks and
SMB shares). Its content, sealed with the maintenance key (machine
credentials have it too), names the host, process and start time, and is
refreshed while the run goes on. A lock whose process is gone (same host) or
that has not been refreshed for ``STALE_AFTER`` (other host) is stale: a lock
of a dead process on this host is cleared automatically, any stale lock by
``odbackup unlock``. A lock file that cannot be read (empty: being written at
this instant, or cut short by a crash) is judged by its age alone.

Three modes (docs/FORMAT.md section 9):

- ``write`` (a backup): holds ``locks/exclusive``; it only adds files, so
  readers work beside it.
- ``read`` (check, restore, verify, ls): each reader adds its own
  ``locks/shared-<random>``, refreshed in the background while it is held.
- ``delete`` (a run that deletes packs: forget, prune): holds
  ``locks/exclusive`` with ``"mode": "delete"`` and refuses while any fresh
  shared lock exists; a reader refuses while a fresh delete lock is held.
  Each side publishes its own lock first and then looks for the other, so
  of two that start at once at least one sees the other.
"""
from __future__ import annotations

import dataclasses
import errno
import json
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from .. import crypto
from ..errors import RepositoryLocked
from .storage import Backend

EXCLUSIVE = "locks/exclusive"
SHARED_PREFIX = "locks/shared-"
LOCK_KIND = "lock"
REFRESH_EVERY = 300.0
STALE_AFTER = 1800.0
UNREADABLE_STALE_AFTER = 60.0
"""An unreadable lock file younger than this may be one being written right now: it is not stale."""
UNREADABLE = "?"
MODES = ("write", "read", "delete")
READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)
"""Why a reader may be unable to write its lock: a write-protected drive, a share it may only read."""


@dataclass(frozen=True)
class LockInfo:
    """Who holds a lock. ``mode`` is ``write``, ``read`` or ``delete`` (see the module's docstring)."""

    host: str
    pid: int
    started: str
    refreshed: float
    command: str
    mode: str = "write"

    def describe(self) -> str:
        if self.host == UNREADABLE:
            return "another run (its lock file cannot be read yet: it may be being written at this instant)"
        return f"{self.command} on {self.host}, process {self.pid}, started {self.started}"

    def is_stale(self) -> bool:
        if self.host == UNREADABLE:
            return time.time() - self.refreshed > UNREADABLE_STALE_AFTER
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
    doc = dataclasses.asdict(info)
    if info.mode == "write":
        del doc["mode"]  # a writer's lock stays as readers before the modes expect it
    return crypto.seal(maint_key, json.dumps(doc).encode(), LOCK_KIND)


def _decode(maint_key: bytes, sealed: bytes) -> LockInfo:
    doc = json.loads(crypto.unseal(maint_key, sealed, LOCK_KIND))
    known = {f.name for f in dataclasses.fields(LockInfo)}
    return LockInfo(**{k: v for k, v in doc.items() if k in known})


def read_lock(backend: Backend, maint_key: bytes, name: str = EXCLUSIVE) -> LockInfo | None:
    """The lock ``name`` (None when there is none). An unreadable one is dated by its file."""
    try:
        sealed = backend.read(name)
        written = backend.modified(name)
    except FileNotFoundError:
        return None
    try:
        return _decode(maint_key, sealed)
    except (crypto.DecryptionFailed, ValueError, TypeError, AttributeError):
        # Empty or half-written: being written right now, or left by a crash between create and write.
        return LockInfo(UNREADABLE, 0, "unknown", written, "unreadable lock")


def shared_locks(backend: Backend, maint_key: bytes) -> list[tuple[str, LockInfo]]:
    """Every reader's lock as (file name, who holds it)."""
    found = []
    for name, _size in backend.list("locks"):
        if name.startswith(SHARED_PREFIX):
            info = read_lock(backend, maint_key, name)
            if info is not None:
                found.append((name, info))
    return found


class RepoLock:
    """A held lock; use as a context manager so it is always released."""

    def __init__(self, backend: Backend, maint_key: bytes, name: str, info: LockInfo) -> None:
        self._backend, self._key, self.name, self.info = backend, maint_key, name, info
        self._last_refresh = time.monotonic()
        self._stop = threading.Event()
        self._refresher: threading.Thread | None = None
        self.held = True
        """False for a reader on a repository it cannot write (see :meth:`_acquire_shared`)."""
        self.on_release: Callable[[], None] = lambda: None
        """Called when the lock is released, held or not (a reader's: stop reading trees ahead)."""

    @classmethod
    def acquire(
        cls, backend: Backend, maint_key: bytes, command: str, *, mode: str = "write"
    ) -> tuple[RepoLock, LockInfo | None]:
        """Take the lock in ``mode``. Returns it and the stale lock it replaced, if any.

        Raises :class:`RepositoryLocked` when a run the mode cannot share the
        repository with holds it. A ``read`` lock keeps itself fresh in the
        background; a ``write`` or ``delete`` run calls :meth:`refresh` from its loops.
        """
        if mode not in MODES:
            raise ValueError(f"unknown lock mode {mode!r}")
        info = LockInfo(socket.gethostname(), os.getpid(), datetime.now(UTC).isoformat(timespec="seconds"),
                        time.time(), command, mode)
        if mode == "read":
            return cls._acquire_shared(backend, maint_key, info), None
        lock, replaced = cls._acquire_exclusive(backend, maint_key, info)
        if mode == "delete":
            lock._refuse_beside_readers()
        return lock, replaced

    @classmethod
    def _acquire_shared(cls, backend: Backend, maint_key: bytes, info: LockInfo) -> RepoLock:
        lock = cls(backend, maint_key, f"{SHARED_PREFIX}{os.urandom(8).hex()}", info)
        try:
            backend.write_atomic(lock.name, [_encode(maint_key, info)])
        except OSError as exc:
            # A repository this process may only read (a write-protected drive, a read-only share,
            # as in a disaster recovery) is still restored from: this process cannot delete
            # anything there either. The reader goes on without a lock file of its own.
            if exc.errno not in READ_ONLY:
                raise
            lock.held = False
        holder = read_lock(backend, maint_key)
        if holder is not None and holder.mode == "delete" and not holder.is_stale():
            lock.release()
            raise RepositoryLocked(
                f"The repository is being cleaned up by {holder.describe()}; it cannot be read meanwhile.",
                hint="Wait for that run to finish, then try again.",
            )
        if lock.held:
            lock._start_refresher()
        return lock

    @classmethod
    def _acquire_exclusive(cls, backend: Backend, maint_key: bytes, info: LockInfo) -> tuple[RepoLock, LockInfo | None]:
        replaced = None
        for _attempt in range(2):
            if backend.create_exclusive(EXCLUSIVE, _encode(maint_key, info)):
                return cls(backend, maint_key, EXCLUSIVE, info), replaced
            holder = read_lock(backend, maint_key)
            if holder is None:
                continue
            if holder.host in (socket.gethostname(), UNREADABLE) and holder.is_stale():
                _remove(backend, EXCLUSIVE)
                replaced = holder
                continue
            raise RepositoryLocked(f"The repository is in use by {holder.describe()}.")
        raise RepositoryLocked("The repository lock could not be taken.")

    def _refuse_beside_readers(self) -> None:
        """A deleting run: clear readers' stale locks; refuse (releasing the lock) while a fresh one exists."""
        for name, reader in shared_locks(self._backend, self._key):
            if reader.is_stale():
                _remove(self._backend, name)
                continue
            self.release()
            raise RepositoryLocked(
                f"The repository is being read by {reader.describe()}; nothing can be deleted meanwhile.",
                hint="Wait for that run to finish, then try again.",
            )

    def _start_refresher(self) -> None:
        def keep_fresh() -> None:
            while not self._stop.wait(REFRESH_EVERY):
                self._rewrite()

        self._refresher = threading.Thread(target=keep_fresh, name="odbackup-lock-refresh", daemon=True)
        self._refresher.start()

    def refresh(self) -> None:
        """Rewrite the lock's time if due (called from long loops)."""
        if time.monotonic() - self._last_refresh >= REFRESH_EVERY:
            self._rewrite()

    def _rewrite(self) -> None:
        self.info = dataclasses.replace(self.info, refreshed=time.time())
        self._backend.write_atomic(self.name, [_encode(self._key, self.info)])
        self._last_refresh = time.monotonic()

    def release(self) -> None:
        self.on_release()
        self.on_release = lambda: None
        if not self.held:
            return
        self._stop.set()
        if self._refresher is not None and self._refresher is not threading.current_thread():
            self._refresher.join()
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
