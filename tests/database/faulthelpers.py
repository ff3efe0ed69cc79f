"""Helpers for the fault and busy-office tests (the real MariaDB on 127.0.0.1:3306).

The machine is small and shared: nothing here sleeps a fixed time to "let
something happen"; it polls with generous deadlines instead.
"""
from __future__ import annotations

import gc
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pymysql
import pytest
from dbhelpers import server_conn

from engine.backup import BackupPlan, BackupResult, run_backup
from engine.check import check
from engine.repository.repo import Repository

DEADLINE = 120.0  # "something must happen": generous, the machine and the server are shared
# Other jobs on the shared server run long writes that hold up a global read lock
# (and take global locks themselves): tests that need the lock wait them out.
PATIENT = {"lock_timeout": 10.0, "lock_retries": 8, "retry_pause": 1.0}
BIG_ROWS = 300_000
WAIT_STATES = ("waiting for global read lock", "waiting for table level lock", "waiting for table metadata lock",
               "waiting for backup lock", "waiting for table flush")


def wait_until(predicate: Callable[[], object], *, timeout: float = DEADLINE, interval: float = 0.05,
               what: str = "a condition") -> object:
    """Poll ``predicate`` until it gives something true; fail after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}{server_activity()}")
        time.sleep(interval)


def server_activity() -> str:
    """What the (shared) server is doing: appended to timeouts, since other jobs'
    global locks on the same server can hold up any test."""
    try:
        conn = server_conn()
    except BaseException:  # noqa: BLE001 - only a diagnostic
        return ""
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT ID, DB, COMMAND, TIME, STATE, LEFT(INFO, 100) FROM information_schema.PROCESSLIST"
                        " WHERE ID <> CONNECTION_ID() AND COMMAND <> 'Sleep'")
            rows = cur.fetchall()
    finally:
        conn.close()
    return "\nserver activity:\n" + "\n".join(f"  {r}" for r in rows)


# --- test data --------------------------------------------------------------------------------------


def create_big_table(conn, db: str, table: str = "big", rows: int = BIG_ROWS, *, text_note: bool = False) -> None:
    """A MyISAM table with Open Dental-like columns, made fast by the Sequence engine.
    ``text_note``: the note is a TEXT column (such tables are read row by row, unbuffered)."""
    note = "TEXT" if text_note else "VARCHAR(60)"
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE `{db}`.`{table}` (id INT PRIMARY KEY, patnum INT NOT NULL,"
                    f" note {note} NOT NULL, amount DOUBLE NOT NULL, d DATE NOT NULL) ENGINE=MyISAM")
        cur.execute(f"INSERT INTO `{db}`.`{table}` SELECT seq, seq % 997,"
                    " CONCAT('procedure note ', seq, ' ', REPEAT('x', seq % 20)), seq * 0.25,"
                    f" '2024-01-01' + INTERVAL (seq % 365) DAY FROM `{db}`.seq_1_to_{int(rows)}")


def count_rows(conn, db: str, table: str) -> int:
    with conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM `{db}`.`{table}`")
        return int(cur.fetchone()[0])


def table_contents(conn, db: str, table: str) -> tuple[tuple, list[tuple]]:
    """(column names and types, all rows in key order) as the server shows them now."""
    with conn.cursor() as cur:
        cur.execute("SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s"
                    " AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION", (db, table))
        columns = tuple(cur.fetchall())
        cur.execute(f"SELECT * FROM `{db}`.`{table}` ORDER BY 1")
        return columns, list(cur.fetchall())


# --- events -------------------------------------------------------------------------------------------


class EventLog:
    """A thread-safe event sink. ``hooks`` run in the emitting thread (the dump's
    own, or its lock monitor's), so a hook can hold the dump at a precise point."""

    def __init__(self) -> None:
        self.events: list[tuple[float, object]] = []
        self.hooks: list[Callable[[object], None]] = []
        self._cond = threading.Condition()

    def __call__(self, event: object) -> None:
        with self._cond:
            self.events.append((time.monotonic(), event))
            self._cond.notify_all()
        for hook in list(self.hooks):
            hook(event)

    def of(self, kind: type, where: Callable[[object], bool] = lambda e: True) -> list:
        with self._cond:
            return [e for _, e in self.events if isinstance(e, kind) and where(e)]

    def timed(self, kind: type, where: Callable[[object], bool] = lambda e: True) -> list[tuple[float, object]]:
        with self._cond:
            return [(t, e) for t, e in self.events if isinstance(e, kind) and where(e)]

    def wait_for(self, kind: type, where: Callable[[object], bool] = lambda e: True, *,
                 timeout: float = DEADLINE) -> tuple[float, object]:
        """The first such event (waiting for it if need be): (monotonic time, event)."""
        end = time.monotonic() + timeout
        with self._cond:
            while True:
                for t, e in self.events:
                    if isinstance(e, kind) and where(e):
                        return t, e
                left = end - time.monotonic()
                if left <= 0:
                    names = [type(e).__name__ for _, e in self.events]
                    raise AssertionError(f"no {kind.__name__} event within {timeout:g} s; got {names}"
                                         f"{server_activity()}")
                self._cond.wait(min(left, 0.5))


# --- a backup in the background ------------------------------------------------------------------------


class BackgroundBackup(threading.Thread):
    """``run_backup`` in a thread; keeps its result or the exception it raised."""

    def __init__(self, repo: Repository, plan: BackupPlan, log: EventLog,
                 cancel: threading.Event | None = None) -> None:
        super().__init__(daemon=True, name="test-backup")
        self.repo, self.plan, self.log = repo, plan, log
        self.cancel = cancel or threading.Event()
        self.result: BackupResult | None = None
        self.error: BaseException | None = None
        self.finished_at: float | None = None

    def start(self) -> None:
        with unraisable_exceptions():  # earlier tests' garbage is not this backup's
            gc.collect()
        super().start()

    def run(self) -> None:
        try:
            self.result = run_backup(self.repo, self.plan, on_event=self.log, cancel=self.cancel)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            self.error = exc
        finally:
            self.finished_at = time.monotonic()

    def outcome(self, timeout: float = DEADLINE) -> tuple[BackupResult | None, BaseException | None]:
        self.join(timeout)
        assert not self.is_alive(), f"the backup did not end within {timeout:g} s{server_activity()}"
        return self.result, self.error

    def forget(self) -> list[str]:
        """Drop the result and exception (and so the dump's frames and cursors);
        returns what raised while they were destroyed ("Exception ignored in ...",
        which a person would see printed after the error)."""
        with unraisable_exceptions() as leaked:
            self.result = self.error = None
            gc.collect()
        return leaked

    def failure(self, timeout: float = DEADLINE) -> BaseException:
        result, error = self.outcome(timeout)
        assert error is not None, f"the backup should have failed but saved {result}"
        return error


@contextmanager
def unraisable_exceptions() -> Iterator[list[str]]:
    caught: list[str] = []
    old = sys.unraisablehook
    sys.unraisablehook = lambda u: caught.append(f"{u.exc_type.__name__}: {u.exc_value} (in {u.object!r})")
    try:
        yield caught
    finally:
        gc.collect()
        sys.unraisablehook = old


# --- our sessions on the server --------------------------------------------------------------------------


class SessionTracker:
    """Records the server thread IDs of every connection the dump opens."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import engine.database.dump as dump

        self.ids: list[int] = []
        real = dump.connect

        def tracking(*args, **kwargs):
            conn = real(*args, **kwargs)
            self.ids.append(conn.thread_id())
            return conn

        monkeypatch.setattr(dump, "connect", tracking)

    def alive(self, admin) -> list[tuple]:
        if not self.ids:
            return []
        with admin.cursor() as cur:
            cur.execute("SELECT ID, COMMAND, STATE, INFO FROM information_schema.PROCESSLIST WHERE ID IN ("
                        + ", ".join(str(int(i)) for i in self.ids) + ")")
            return list(cur.fetchall())

    def assert_all_gone(self, admin, timeout: float = 10.0) -> None:
        """None of the dump's sessions is left on the server (so none holds a lock)."""
        left: list = []

        def gone() -> bool:
            left[:] = self.alive(admin)
            return not left

        try:
            wait_until(gone, timeout=timeout, interval=0.1, what="the backup's sessions to end")
        except AssertionError as exc:
            raise AssertionError(f"sessions of the backup are still on the server: {left}") from exc


def processlist(admin, where: str = "1", args: tuple = ()) -> list[tuple]:
    """(ID, DB, COMMAND, STATE, INFO, TIME_MS) of others' sessions matching ``where``."""
    with admin.cursor() as cur:
        cur.execute("SELECT ID, DB, COMMAND, STATE, INFO, TIME_MS FROM information_schema.PROCESSLIST"
                    f" WHERE ID <> CONNECTION_ID() AND ({where})", args)
        return list(cur.fetchall())


def is_waiting(admin, thread_id: int) -> bool:
    rows = processlist(admin, "ID = %s", (thread_id,))
    return bool(rows) and (rows[0][3] or "").lower() in WAIT_STATES


# --- writes from another connection ------------------------------------------------------------------------


class Writer:
    """A connection of the office: runs statements in its own thread, so a test
    can see that one waits, and gives up (killing it) after a deadline."""

    def __init__(self, lock_wait_timeout: int = 60) -> None:
        self.conn = server_conn()
        self.thread_id = self.conn.thread_id()
        with self.conn.cursor() as cur:
            cur.execute(f"SET SESSION lock_wait_timeout = {int(lock_wait_timeout)}")
        self._thread: threading.Thread | None = None
        self.started = self.finished = 0.0
        self.error: BaseException | None = None

    def start(self, sql: str) -> Writer:
        def go() -> None:
            try:
                with self.conn.cursor() as cur:
                    cur.execute(sql)
            except BaseException as exc:  # noqa: BLE001
                self.error = exc
            finally:
                self.finished = time.monotonic()

        self.started = time.monotonic()
        self._thread = threading.Thread(target=go, daemon=True, name="test-writer")
        self._thread.start()
        return self

    @property
    def done(self) -> bool:
        return self._thread is not None and not self._thread.is_alive()

    def wait(self, timeout: float) -> float:
        """Seconds the statement took; fails (and kills it) if it is not done within ``timeout``."""
        assert self._thread is not None
        self._thread.join(timeout)
        if self._thread.is_alive():
            activity = server_activity()
            kill(self.thread_id)
            self._thread.join(10)
            raise AssertionError(f"a write from another connection did not complete within {timeout:g} s{activity}")
        if self.error is not None:
            raise AssertionError(f"a write from another connection failed: {self.error!r}")
        return self.finished - self.started

    def close(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            kill(self.thread_id)
            self._thread.join(10)
        try:
            self.conn.close()
        except Exception:  # noqa: BLE001 - a killed connection
            pass


def kill(thread_id: int, query_only: bool = False) -> None:
    conn = server_conn()
    try:
        with conn.cursor() as cur:
            cur.execute(f"KILL {'QUERY ' if query_only else ''}{int(thread_id)}")
    except pymysql.err.MySQLError:
        pass  # already gone
    finally:
        conn.close()


def write_completes(sql: str, within: float) -> float:
    """Run one write from a new connection; it must complete within ``within`` seconds."""
    writer = Writer(lock_wait_timeout=max(1, int(within) + 1))
    try:
        return writer.start(sql).wait(within)
    finally:
        writer.close()


class OfficeWriter(threading.Thread):
    """An office workstation inserting rows every ``every`` seconds (autocommit),
    recording each INSERT's outcome and when it finished."""

    def __init__(self, db: str, table: str, first_id: int, every: float = 0.02) -> None:
        super().__init__(daemon=True, name="test-office-writer")
        self.db, self.table, self.first_id, self.every = db, table, first_id, every
        self.ok: list[tuple[float, float]] = []  # (finished at, seconds taken)
        self.failed: list[BaseException] = []
        self._halt = threading.Event()
        self.conn = server_conn()
        self.thread_id = self.conn.thread_id()

    def run(self) -> None:
        next_id = self.first_id
        with self.conn.cursor() as cur:
            while not self._halt.wait(self.every):
                started = time.monotonic()
                try:
                    cur.execute(f"INSERT INTO `{self.db}`.`{self.table}` (id, patnum, note, amount, d)"
                                " VALUES (%s, 1, 'office insert', 1.5, '2024-06-01')", (next_id,))
                    self.ok.append((time.monotonic(), time.monotonic() - started))
                except BaseException as exc:  # noqa: BLE001
                    self.failed.append(exc)
                next_id += 1

    def stop(self) -> None:
        self._halt.set()
        self.join(DEADLINE)
        if self.is_alive():  # stuck on a lock: end the statement so the test can finish
            kill(self.thread_id)
            self.join(10)
        self.conn.close()

    @property
    def attempts(self) -> int:
        return len(self.ok) + len(self.failed)

    def waited(self, more_than: float, since: float = 0.0) -> float:
        """Seconds the inserts begun after ``since`` that took longer than ``more_than`` took, in
        all (one insert at a time: a blocked one waits out the rest of what blocks it)."""
        return sum(took for finished, took in self.ok if took > more_than and finished - took >= since)


# --- the repository --------------------------------------------------------------------------------------


def snapshot_files(repo: Repository) -> list[str]:
    return sorted(os.listdir(os.path.join(repo.location, "snapshots")))


def repo_state(repo: Repository) -> tuple[list[str], list[str]]:
    return [s.snapshot_id for s in repo.snapshots()], snapshot_files(repo)


def assert_failed_cleanly(repo: Repository, before: tuple[list[str], list[str]]) -> None:
    """No new snapshot, no repository lock left, and the repository checks clean."""
    assert repo_state(repo) == before, "a snapshot was written by a failed backup"
    assert not os.path.exists(os.path.join(repo.location, "locks", "exclusive")), "the repository lock was left"
    result = check(repo)
    assert result.errors == [], result.errors


def assert_plain(exc: BaseException, *secrets: str) -> None:
    """A person-readable engine error: no traceback or library names, no secrets anywhere."""
    text = str(exc)
    assert text and "Traceback" not in text and "pymysql" not in text.lower(), text
    shown = "".join(traceback.format_exception(exc)) + repr(exc) + str(getattr(exc, "hint", "") or "")
    for secret in secrets:
        assert secret not in shown, "a password appears in the error"
