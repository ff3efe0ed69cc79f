"""The lock watchdog: the monitor that watches the office while the backup
holds or requests a read lock, ends a request that hangs or a held lock whose
backup stopped, and says who is waiting. (The lock itself is taken, timed and
released by :class:`readlock.ReadLock`.)

A global read lock (``FLUSH TABLES WITH READ LOCK``) first waits for running
statements, and while it waits every new write waits too: a long report
query could freeze the office. So a second connection (the monitor) watches
the attempt and kills it after ``lock_timeout`` seconds; the backup then waits
and retries, or gives up with the names of the queries in the way.

While a lock is held (or being taken) the monitor reads the process list
about twice a second and reports which tables are read-only for the office,
how many statements wait and for how long. If those reads fail (its
connection lost), it opens a new one; after ``BLIND_AFTER`` failures in a row
it cannot watch any more: it says so (``LockWatchLost``), ends the lock's
sessions itself, and the backup fails plainly (``readlock.py``) rather than
keep the office read-only unwatched. If odbackup dies, the server drops the
locks with the connection.
"""
from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pymysql
from pymysql.connections import Connection

from ..events import EventSink, LockReleased, LockStatus, LockWatchLost
from .connection import kill_session

POLL_SECONDS = 0.5
BLIND_AFTER = 3
"""Process-list reads failed in a row (its connection tried again after each) after which the
monitor cannot watch the office: about a second and a half."""
WAIT_STATES = ("waiting for global read lock", "waiting for table level lock",
               "waiting for table metadata lock", "waiting for backup lock", "waiting for table flush")
_TABLE_RE = re.compile(
    r"^\s*(?:insert\s+(?:ignore\s+)?(?:into\s+)?|replace\s+(?:into\s+)?|update\s+(?:ignore\s+)?|delete\s+from\s+)"
    r"(?:`?([\w$]+)`?\.)?`?([\w$ ]+?)`?(?:\s|\(|$)", re.IGNORECASE)


@dataclass(frozen=True)
class Waiter:
    """A statement of the office waiting for a lock."""

    seconds: float
    table: str
    state: str


def _time_ms(conn: Connection) -> str:
    """The process list's age of a statement in milliseconds: ``TIME_MS`` on MariaDB (and
    Percona); Oracle MySQL has only ``TIME``, in seconds. Found out once per connection."""
    column = getattr(conn, "_odb_time_ms", None)
    if column is None:
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT TIME_MS FROM information_schema.PROCESSLIST LIMIT 0")
                cur.fetchall()
            column = "TIME_MS"
        except pymysql.err.OperationalError as exc:
            if not exc.args or exc.args[0] != 1054:  # unknown column
                raise
            column = "TIME * 1000"
        conn._odb_time_ms = column  # type: ignore[attr-defined]
    return column


def waiting_statements(conn: Connection, ours: set[int], database: str | None = None) -> list[Waiter]:
    """Other sessions' statements that wait for a lock, from the process list. With ``database``
    (a lock on some of its tables only), only the writes to that database's tables: a statement
    waiting on another database's table of the same name waits for something else."""
    with conn.cursor() as cur:
        cur.execute(f"SELECT ID, {_time_ms(conn)}, STATE, INFO, DB FROM information_schema.PROCESSLIST")
        rows = cur.fetchall()
    found = []
    for pid, time_ms, state, info, session_db in rows:
        if pid in ours or not state or state.lower() not in WAIT_STATES:
            continue
        match = _TABLE_RE.match(info or "")
        if database is not None and (not match or (match.group(1) or session_db) != database):
            continue
        found.append(Waiter(float(time_ms or 0) / 1000, match.group(2) if match else "", state))
    return found


def long_queries(conn: Connection, ours: set[int], older_than: float = 5.0) -> list[str]:
    """Running statements of others older than ``older_than`` seconds (they delay a global lock)."""
    with conn.cursor() as cur:
        cur.execute(f"SELECT ID, USER, HOST, {_time_ms(conn)}, INFO FROM information_schema.PROCESSLIST"
                    " WHERE COMMAND = 'Query' AND INFO IS NOT NULL")
        rows = cur.fetchall()
    return [f"#{pid} {user}@{str(host).split(':')[0]} running {float(ms)/1000:.0f} s: {str(info)[:120]}"
            for pid, user, host, ms, info in rows if pid not in ours and float(ms or 0) / 1000 >= older_than]


def flush_outlives_its_kill(server_version: str) -> bool:
    """Whether a ``FLUSH TABLES WITH READ LOCK`` given up (killed) can leave the office waiting:
    on MySQL, and MariaDB before 10.4, the tables it began to flush stay marked until the
    long query that kept them open ends, and every statement on them waits in "Waiting for
    table flush" meanwhile, reads included. MariaDB 10.4 and later let them go with the
    killed statement (measured here on 10.11: tests/database/test_faults.py)."""
    if "mariadb" not in server_version.lower():
        return True
    numbers = re.match(r"(\d+)\.(\d+)", server_version)
    return numbers is None or (int(numbers[1]), int(numbers[2])) < (10, 4)


CLIENT_WAIT_STATES = frozenset({"writing to net", "sending to client"})
"""A statement's state while the server waits for the client to take rows (MariaDB; MySQL 8)."""


class _Outbox(threading.Thread):
    """Hands the monitor's events to the sink on a thread of its own: a sink that blocks (a
    console frozen by a click in it, a stalled pipe) must never stop the watchdogs. Status
    reports that pile up meanwhile are dropped (only the newest matters); the rest wait."""

    def __init__(self, sink: EventSink) -> None:
        super().__init__(daemon=True, name="odbackup-lock-events")
        self.sink = sink
        self._items: list = []
        self._ready = threading.Condition()
        self._closed = False
        self._busy = False
        self.start()

    def post(self, event) -> None:
        with self._ready:
            if isinstance(event, LockStatus):
                self.drop_status()
            self._items.append(event)
            self._ready.notify_all()

    def drop_status(self) -> None:
        """Forget status reports not delivered yet (the lock they describe is over)."""
        with self._ready:
            self._items = [e for e in self._items if not isinstance(e, LockStatus)]

    def wait_delivered(self, timeout: float = 5.0) -> bool:
        """Wait until every event posted so far went to the sink."""
        with self._ready:
            return self._ready.wait_for(lambda: not self._items and not self._busy, timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is left (waiting at most ``timeout`` for a blocked sink), then stop."""
        with self._ready:
            self._closed = True
            self._ready.notify()
        self.join(timeout)

    def run(self) -> None:
        while True:
            with self._ready:
                while not self._items and not self._closed:
                    self._ready.wait()
                if not self._items:
                    return
                event = self._items.pop(0)
                self._busy = True
            try:
                self.sink(event)
            except Exception:  # noqa: BLE001  (a sink's failure is not the monitor's)
                pass
            finally:
                with self._ready:
                    self._busy = False
                    self._ready.notify_all()


class LockMonitor(threading.Thread):
    """Watches the office while we hold (or request) a lock; kills a lock request that hangs,
    and ends a held lock whose backup has stopped moving.

    A held lock is only as short as the reading under it. If the backup stops reading (the
    backup drive or network share stops answering and the readers wait on it), the office
    would stay read-only for as long as that lasts. The readers :meth:`beat` at every block;
    when no beat comes for ``stall_timeout`` seconds while a lock is held, the sessions in
    ``holders`` (the ones holding the lock) are ended on the server: the lock goes with them,
    :attr:`stalled` is set, and the backup fails saying why.

    A watchdog that cannot read the process list can do neither. A failed read is tried again
    on a new connection; after ``BLIND_AFTER`` in a row :attr:`blind` is set, a
    :class:`LockWatchLost` warning sent, and the sessions in ``holders`` ended (through a new
    connection if its own does not answer): the backup fails saying why and
    asks for no lock again (``readlock.ReadLock``). :attr:`conn` is then another connection:
    the caller closes the one it has at the end."""

    def __init__(self, conn: Connection, on_event: EventSink, ours: set[int], *, lock_conn_id: int,
                 lock_timeout: float, holders: tuple[int, ...] = (), stall_timeout: float = 60.0,
                 database: str | None = None, connect: Callable[[], Connection] | None = None) -> None:
        super().__init__(daemon=True, name="odbackup-lock-monitor")
        self.conn, self.on_event, self.ours = conn, on_event, ours
        self.lock_conn_id, self.lock_timeout = lock_conn_id, lock_timeout
        self.holders = holders or (lock_conn_id,)
        self.stall_timeout = stall_timeout
        self.database = database
        """The database whose tables a per-table lock covers (a global lock blocks every one)."""
        self._state_lock = threading.Lock()
        self._scope = ""
        self._tables: tuple[str, ...] = ()
        self._since = 0.0
        self._asked = 0.0
        self._acquiring = False
        self._beat = 0.0
        self._halt = threading.Event()
        self._outbox = _Outbox(on_event)
        self._connect = connect
        self.killed_attempt = False
        self.stalled = False
        self.blind = False
        """The process list could not be read ``BLIND_AFTER`` times in a row: the lock was ended."""
        self.lost: LockWatchLost | None = None
        """What the monitor said when it went blind."""
        self.ended_at: float | None = None
        """When this monitor ended the lock's sessions itself (stalled or blind)."""
        self.error: Exception | None = None
        self._failures = 0

    def beat(self) -> None:
        """The backup moved (a block read, a table stored): called from any thread, often."""
        self._beat = time.monotonic()

    def watch(self, scope: str, tables: tuple[str, ...], *, acquiring: bool) -> None:
        with self._state_lock:
            self._scope, self._tables, self._acquiring = scope, tables, acquiring
            self._since = self._asked = time.monotonic()
            self.killed_attempt = False

    def held(self) -> None:
        with self._state_lock:
            self._acquiring = False
            self._since = self._beat = time.monotonic()

    def idle(self) -> None:
        with self._state_lock:
            self._scope = ""
        self._outbox.drop_status()

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)

    def run(self) -> None:
        while not self._halt.wait(POLL_SECONDS):
            self._look()
        self._outbox.close()

    def _look(self) -> None:
        """One look at the office, while a lock is requested or held."""
        with self._state_lock:
            scope, tables, since, acquiring = self._scope, self._tables, self._since, self._acquiring
        if not scope:
            return
        try:
            self._poll(scope, tables, since, acquiring)
        except Exception as exc:  # noqa: BLE001 - counted; the backup hears of it when it cannot watch
            self._poll_failed(scope, acquiring, exc)
        else:
            self._failures = 0

    def _poll_failed(self, scope: str, acquiring: bool, exc: Exception) -> None:
        """A process-list read failed: connect again for the next one; after ``BLIND_AFTER``
        in a row, stop pretending to watch."""
        self.error = exc
        self._failures += 1
        if self._failures < BLIND_AFTER:
            self._reconnect()
        elif not self.blind:
            self._give_up_watching(scope, acquiring, exc)

    def _reconnect(self) -> bool:
        """A new connection in place of ours (lost, or answering with errors); it is ours too:
        left out of the office's lists."""
        if self._connect is None:
            return False
        try:
            conn = self._connect()
        except Exception:  # noqa: BLE001 - the next read fails and is counted
            return False
        old, self.conn = self.conn, conn
        self.ours.add(conn.thread_id())
        try:
            old.close()
        except Exception:  # noqa: BLE001 - a lost connection is closed either way
            pass
        return True

    def _give_up_watching(self, scope: str, acquiring: bool, exc: Exception) -> None:
        """The office cannot be watched: say so and end the lock's sessions (when a lock is
        still requested or held; otherwise no new one will be asked for)."""
        with self._state_lock:
            self.blind = True  # read by the backup's thread before it asks for a lock, and when it fails
            current = self._scope == scope
            if current:
                self._scope = ""
        reason = str(exc.args[1]) if len(exc.args) > 1 and exc.args[1] else (str(exc) or type(exc).__name__)
        self.lost = LockWatchLost(scope, acquiring, self._failures, reason)
        self._outbox.post(self.lost)
        if current:
            self._end_holders()

    def _end_holders(self) -> None:
        """End the sessions holding (or asking for) the lock: through our connection, or a new
        one if it does not answer."""
        for _ in range(2):
            if all(kill_session(self.conn, i) for i in self.holders):
                self.ended_at = time.monotonic()
                return
            if not self._reconnect():
                return

    def _poll(self, scope: str, tables: tuple[str, ...], since: float, acquiring: bool) -> None:
        now = time.monotonic()
        age = now - since
        if acquiring and age > self.lock_timeout and not self.killed_attempt:
            with self._state_lock:
                # still waiting for the same lock? (held() takes this lock too, so the lock cannot
                # be granted and the next statement begin while the KILL is on its way: a KILL
                # QUERY that finds the session idle is forgotten at its next statement)
                if self._acquiring and self._scope == scope and self._since == since:
                    self.killed_attempt = True
                    with self.conn.cursor() as cur:
                        cur.execute(f"KILL QUERY {int(self.lock_conn_id)}")
        if not acquiring and not self.stalled and now - self._beat > self.stall_timeout:
            if self._server_working():
                self._beat = now  # a long sort or scan before the first row: the server moves
            else:
                self._end_held_lock(scope, age)
                return
        everywhere = scope.startswith("all tables")  # a global read lock blocks every database's writes
        waiters = waiting_statements(self.conn, self.ours, None if everywhere else self.database)
        self._outbox.post(LockStatus(
            scope=scope,
            read_only_tables=tables,
            waiting=len(waiters),
            longest_wait=max((w.seconds for w in waiters), default=0.0),
            waiting_tables=tuple(sorted({w.table for w in waiters if w.table})),
            lock_age=age,
            acquiring=acquiring,
        ))

    def _server_working(self) -> bool:
        """Is a session holding the lock busy on the server (sorting, scanning), rather than
        waiting for us (idle between statements, or blocked sending rows nobody takes)? When
        the process list cannot be read, assume it is: never end a lock on a guess."""
        ids = ", ".join(str(int(i)) for i in self.holders)
        try:
            with self.conn.cursor() as cur:
                cur.execute(f"SELECT COMMAND, STATE FROM information_schema.PROCESSLIST WHERE ID IN ({ids})")
                rows = cur.fetchall()
        except pymysql.err.MySQLError:
            return True
        return any(str(command) == "Query" and str(state or "").lower() not in CLIENT_WAIT_STATES
                   for command, state in rows)

    def _end_held_lock(self, scope: str, age: float) -> None:
        """The backup stopped moving with the lock held: end the sessions that hold it."""
        self.stalled = True  # read first by the backup's thread when its reading fails
        for thread_id in self.holders:
            kill_session(self.conn, thread_id)
        self.ended_at = time.monotonic()
        with self._state_lock:
            self._scope = ""
        self._outbox.post(LockReleased(scope, age, time.monotonic() - self._asked))
