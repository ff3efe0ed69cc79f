"""The read lock the backup takes on the live database: asked for, withdrawn,
timed and released here.

Which lock (``dump.py`` decides when): in consistent mode, for a database with
MyISAM (or other non-transactional) tables, one global read lock
(``FLUSH TABLES WITH READ LOCK``) freezes them while they are read, and every
InnoDB snapshot is opened under it; in per-table mode each such table is
locked on its own (``LOCK TABLES t READ LOCAL``) while it is read. A database
of InnoDB tables alone is never locked.

A request is sent from a thread of its own while the backup's thread looks at
the cancel token: a cancel (the app) or Ctrl+C withdraws it at once by ending
its session. One not granted within the lock timeout is ended by the watchdog
(``locking.LockMonitor``) and asked for again after a pause. The office's
writes wait from each request until its release or withdrawal (a request that
waits blocks them as a granted lock does): the sum of those waits, given-up
requests included, is :attr:`ReadLock.office_wait` (the snapshot's
``lock_window``).

A lock is released with ``UNLOCK TABLES`` when its work is done; on any
failure or cancel under it, by ending the sessions that hold it (the lock goes
with them). It is never kept unwatched: when the watchdog cannot read the
process list any more it ends the lock itself, no new lock is asked for, and
the backup fails saying so.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pymysql
from pymysql.connections import Connection

from ..errors import Cancelled
from ..events import EventSink, LockGaveUp, LockReleased, LockRequested, LockTaken, LockWithdrawn
from . import locking
from .connection import DatabaseError, DbTarget, MissingPrivilege
from .schema import quote_ident

GLOBAL_SCOPE = "all tables (global read lock)"
ANSWER_POLL = 0.05
"""While a lock request waits, how often the backup's thread looks whether it was cancelled."""
DENIED = (1044, 1045, 1142, 1227)
"""The server's "access denied" answers to a lock request."""
NOT_GRANTED = (1317, 1205)
"""A request interrupted by the watchdog, or ended by the server's lock wait timeout."""


@dataclass(frozen=True)
class LockRules:
    """How long a request may wait, how many are made, and the pause between them."""

    timeout: float = 10.0
    retries: int = 3
    retry_pause: float = 5.0


class ReadLock:
    """The read lock of one backup's reading session; see the module. Reused: one lock at a
    time, asked for as often as the backup needs (each table in per-table mode).

    ``end_sessions`` ends the session asking for or holding the lock, and those reading under
    it, at once on the server, and returns when it first did so (None: it could not).
    ``meta`` is another connection, for the process list when a request is not granted."""

    def __init__(self, session: Connection, watcher: locking.LockMonitor, *, meta: Connection, rules: LockRules,
                 target: DbTarget, server_version: str, emit: EventSink, cancel: threading.Event,
                 end_sessions: Callable[[], float | None]) -> None:
        self.session, self.watcher, self.meta, self.rules = session, watcher, meta, rules
        self.target, self.server_version = target, server_version
        self.emit, self.cancel, self._end_sessions = emit, cancel, end_sessions
        self.scope = ""
        self.office_wait = 0.0
        """Seconds the office's writes were or could have been blocked: from each request sent
        to its release or withdrawal, given-up requests included."""
        self._asked: float | None = None  # when the lock now requested or held was asked for
        self._granted: float | None = None  # when the lock now held was granted

    @property
    def held(self) -> bool:
        return self._granted is not None

    # --- taking -------------------------------------------------------------------------------------

    def acquire(self, tables: tuple[str, ...], *, table: str | None = None) -> ReadLock:
        """Take the global read lock (``table`` None) or ``table``'s own; ``tables`` are those
        it makes read-only for the office. Returns the lock, to be used in a ``with``."""
        sql, scope = (("FLUSH TABLES WITH READ LOCK", GLOBAL_SCOPE) if table is None
                      else (f"LOCK TABLES {quote_ident(table)} READ LOCAL", table))
        for attempt in range(1, self.rules.retries + 1):
            self._check_cancel("The backup was cancelled; locks were released and no snapshot was saved.")
            self._check_watched()
            if scope == GLOBAL_SCOPE and self._behind_long_query(attempt):
                continue
            if self._request(sql, scope, tables, attempt):
                return self
        raise DatabaseError(
            f"Could not lock '{scope}' within {self.rules.timeout:g} s after {self.rules.retries} tries: "
            "long-running queries or other locks are in the way.",
            hint="Run the backup when the office is quieter, raise the lock timeout, or use per-table mode.",
        )

    def _behind_long_query(self, attempt: int) -> bool:
        """On servers where a given-up global lock request still leaves the office waiting
        behind a long query (``locking.flush_outlives_its_kill``), do not ask while one runs."""
        if not locking.flush_outlives_its_kill(self.server_version):
            return False
        long = tuple(locking.long_queries(self.meta, self.watcher.ours, older_than=self.rules.timeout))
        if not long:
            return False
        self.emit(LockGaveUp(GLOBAL_SCOPE, attempt, "not asked for: a query has been running longer than "
                             f"{self.rules.timeout:g} s, and on this server the office would wait behind it", long))
        self._pause()
        return True

    def _request(self, sql: str, scope: str, tables: tuple[str, ...], attempt: int) -> bool:
        """One request: True when granted, False when given up (retry after the pause)."""
        self.watcher.watch(scope, tables, acquiring=True)
        self.emit(LockRequested(scope, tables))
        self._asked, self.scope = time.monotonic(), scope
        try:
            self._ask(sql)
        except pymysql.err.MySQLError as exc:
            if self.watcher.blind:  # the watchdog ended the request's session
                self._stopped()
            waited = self._not_granted()
            code = exc.args[0] if exc.args else 0
            if code in DENIED:
                raise _privilege_error(sql, self.target) from None
            if code not in NOT_GRANTED:
                raise
            blockers = tuple(locking.long_queries(self.meta, self.watcher.ours, older_than=0.0))
            self.emit(LockGaveUp(scope, attempt, f"the lock was not granted within {self.rules.timeout:g} s; "
                                 "released so the office can work", blockers, waited))
            self._pause()
            return False
        try:
            self._granted_now(tables)
        except BaseException:
            self._stopped()
            raise
        return True

    def _ask(self, sql: str) -> None:
        """Send a lock request and wait for its answer, cancellable: the request is sent from a
        thread of its own while this one looks at the cancel token, so a cancel (the app) or
        Ctrl+C (a KeyboardInterrupt, which on Windows never interrupts a socket read) withdraws
        it at once, by ending its session, instead of when the watchdog gives it up."""
        failed: list[BaseException] = []

        def send() -> None:
            try:
                _execute(self.session, sql)
            except BaseException as exc:  # noqa: BLE001 - raised again in the backup's thread
                failed.append(exc)

        asking = threading.Thread(target=send, daemon=True, name="odbackup-lock-request")
        asking.start()
        try:
            while asking.is_alive():
                self._check_cancel("The backup was cancelled while it asked for the lock; the request was "
                                   "withdrawn and no snapshot was saved.")
                self._check_watched()
                asking.join(ANSWER_POLL)
        except BaseException:
            self._end_sessions()  # the request goes with its session
            asking.join(5.0)  # the session is gone: its answer (an error) comes at once
            self._stopped()
            raise
        if failed:
            raise failed[0]

    def _granted_now(self, tables: tuple[str, ...]) -> None:
        self.watcher.held()
        if self.watcher.killed_attempt:
            # granted just as the watchdog gave up: its KILL QUERY found the session idle.
            # MariaDB forgets it; a server that would apply it to the next statement gets
            # this harmless one
            try:
                _execute(self.session, "DO 0")
            except pymysql.err.MySQLError as exc:
                if not exc.args or exc.args[0] != 1317:
                    raise
        self._granted = time.monotonic()
        self.emit(LockTaken(self.scope, tables, self._granted - (self._asked or self._granted)))

    def _not_granted(self) -> float:
        """The request ended without the lock: count its wait (the office's writes waited too)."""
        self.watcher.idle()
        waited = time.monotonic() - (self._asked or time.monotonic())
        self.office_wait += waited
        self._asked = None
        return waited

    def _pause(self) -> None:
        if self.cancel.wait(self.rules.retry_pause):
            raise Cancelled("The backup was cancelled while waiting to retry the lock.")

    def _check_cancel(self, message: str) -> None:
        if self.cancel.is_set():
            raise Cancelled(message)

    def _check_watched(self) -> None:
        """No lock is asked for (or waited for) while the watchdog cannot watch."""
        if self.watcher.blind:
            raise self._unwatched_error("the lock request was withdrawn at once" if self._asked is not None
                                        else "no lock was asked for")

    # --- releasing ------------------------------------------------------------------------------------

    def release(self) -> None:
        """The work under the lock is done: release it; the office writes again."""
        try:
            _execute(self.session, "UNLOCK TABLES")
        except BaseException:
            self._stopped()
            raise
        now = time.monotonic()
        self.watcher.idle()
        held = now - (self._granted or now)
        office_wait = now - (self._asked or now)
        self.office_wait += office_wait
        self._asked = self._granted = None
        self.emit(LockReleased(self.scope, held, office_wait))
        if self.watcher.blind:  # it went blind too late to end this lock (or could not): the backup stops all the same
            raise self._unwatched_error("the lock was released")

    def withdraw(self) -> None:
        """The backup stops with the lock requested or held: end the sessions asking for or
        holding it at once and say so, with how long the office's writes could wait (unless
        the watchdog ended a stalled lock and said so itself)."""
        if self._asked is None:
            return
        ended = self._end_sessions() or time.monotonic()
        if not self.watcher.stalled:
            ended = min(ended, self.watcher.ended_at or ended)
            office_wait = max(0.0, ended - self._asked)
            self.office_wait += office_wait
            self.emit(LockWithdrawn(self.scope, self.held, office_wait))
        self._asked = self._granted = None

    def _stopped(self) -> None:
        """The backup stops under this lock (or its request): withdraw it; if the watchdog had
        ended it (a stalled backup, a watchdog that cannot watch), fail saying so."""
        ended = "the lock was released at once" if self.held else "the lock request was withdrawn at once"
        self.withdraw()
        if self.watcher.stalled:
            raise DatabaseError(
                f"The backup stopped moving for {self.watcher.stall_timeout:g} s while the office's tables were "
                "read-only, so the lock was released at once; no snapshot was saved.",
                hint="Check that the backup drive or network share answers, then run the backup again.",
            ) from None
        if self.watcher.blind:
            raise self._unwatched_error(ended) from None

    def _unwatched_error(self, what_happened: str) -> DatabaseError:
        lost = self.watcher.lost
        why = f" ({lost.reason})" if lost is not None and lost.reason else ""
        return DatabaseError(
            f"The lock watchdog could not read the database server's list of connections "
            f"{locking.BLIND_AFTER} times in a row{why}: it could not see the office waiting, nor end a lock "
            f"that hangs. Rather than keep the office's tables read-only unwatched, {what_happened}; "
            "no snapshot was saved.",
            hint="Check the network to the database server, and that no tool ends odbackup's connections "
                 "to it; then run the backup again.",
        )

    def __enter__(self) -> ReadLock:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if kind is None:
            self.release()
        else:
            self._stopped()


def _privilege_error(sql: str, target: DbTarget) -> MissingPrivilege:
    """The server's "access denied" names no privilege for LOCK TABLES: we know which one it was."""
    if sql.startswith("FLUSH"):
        name, scope = "RELOAD", "*.*"
    else:
        name, scope = "LOCK TABLES", f"{quote_ident(target.database or '')}.*"
    return MissingPrivilege(
        f"The user '{target.user}' lacks the {name} privilege, needed to lock tables for a consistent copy.",
        hint=f"GRANT {name} ON {scope} TO '{target.user}'@'%'; or use per-table mode"
             + (" (which needs LOCK TABLES instead)." if name == "RELOAD" else "."),
    )


def _execute(conn: Connection, sql: str) -> None:
    with conn.cursor() as cur:
        cur.execute(sql)
