"""The read lock (engine/database/readlock.py) on the real server: taken, released, used as a
context manager, withdrawn on cancel, its office-wait figure; and the watchdog that cannot
watch (its connection to the server killed again and again from another session): it says
so, ends the lock, and the backup fails plainly rather than keep the office read-only."""
from __future__ import annotations

import io
import json
import secrets
import threading
import time
from dataclasses import dataclass

import pytest
from dbhelpers import server_conn, target
from faulthelpers import (
    DEADLINE,
    PATIENT,
    BackgroundBackup,
    EventLog,
    Writer,
    assert_failed_cleanly,
    assert_plain,
    create_big_table,
    is_waiting,
    kill,
    processlist,
    repo_state,
    wait_until,
)

from engine.backup import BackupPlan
from engine.database import locking, readers
from engine.database.connection import DatabaseError, DbTarget, connect
from engine.database.dump import DatabasePlan
from engine.database.locking import LockMonitor
from engine.database.readlock import GLOBAL_SCOPE, LockRules, ReadLock
from engine.errors import Cancelled
from engine.events import (
    LockGaveUp,
    LockReleased,
    LockRequested,
    LockStatus,
    LockTaken,
    LockWatchLost,
    LockWithdrawn,
    to_dict,
)
from tui.printers import JsonPrinter, TextPrinter


@dataclass
class Rig:
    """A ReadLock on the real server, as the dump builds it: a reading session, a meta
    connection, and the watchdog on a connection of its own."""

    lock: ReadLock
    data: object
    watcher: LockMonitor
    log: EventLog
    cancel: threading.Event
    ended: list[float]


@pytest.fixture
def office(admin, fresh_db) -> str:
    db = fresh_db("readlock")
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
        cur.execute(f"CREATE TABLE `{db}`.appointment (AptNum INT PRIMARY KEY, Note VARCHAR(40)) ENGINE=MyISAM")
        cur.execute(f"INSERT INTO `{db}`.appointment VALUES (1, 'cleaning'), (2, 'crown')")
        cur.execute(f"CREATE TABLE `{db}`.report (id INT PRIMARY KEY, v INT) ENGINE=MyISAM")
        cur.execute(f"INSERT INTO `{db}`.report VALUES (1, 0)")
    return db


@pytest.fixture
def rig(admin, office):
    made: list[tuple] = []

    def make(*, reconnect: bool = True, **rules) -> Rig:
        where = target(office)
        data, meta, mon = connect(where, database=office), connect(where, database=office), connect(where)
        log, cancel, ended = EventLog(), threading.Event(), []
        ours = {data.thread_id(), meta.thread_id(), mon.thread_id()}
        rules = LockRules(**{"timeout": PATIENT["lock_timeout"], "retries": PATIENT["lock_retries"],
                             "retry_pause": PATIENT["retry_pause"], **rules})
        watcher = LockMonitor(mon, log, ours, lock_conn_id=data.thread_id(), lock_timeout=rules.timeout,
                              database=office, connect=(lambda: connect(where)) if reconnect else None)
        watcher.start()

        def end_sessions() -> float:  # as the dump does: the session ends on the server at once
            kill(data.thread_id())
            ended.append(time.monotonic())
            return ended[0]

        with meta.cursor() as cur:
            cur.execute("SELECT VERSION()")
            version = cur.fetchone()[0]
        lock = ReadLock(data, watcher, meta=meta, rules=rules, target=where, server_version=version, emit=log,
                        cancel=cancel, end_sessions=end_sessions)
        made.append((watcher, data, meta, mon))
        return Rig(lock, data, watcher, log, cancel, ended)

    yield make
    for watcher, *conns in made:
        watcher.stop()
        for conn in conns:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - a killed connection
                pass


def _office_update(db: str) -> Writer:
    """An office's change to the appointment table (READ LOCAL lets inserts by, not updates)."""
    return Writer().start(f"UPDATE `{db}`.appointment SET Note = 'moved' WHERE AptNum = 1")


def _session_alive(admin, thread_id: int) -> bool:
    return bool(processlist(admin, "ID = %s", (thread_id,)))


# --- acquire, release, the context manager ----------------------------------------------------------


def test_a_table_lock_is_taken_and_released_and_its_wait_timed(admin, office, rig):
    r = rig()
    asked = time.monotonic()
    assert r.lock.acquire(("appointment",), table="appointment") is r.lock
    assert r.lock.held and r.lock.scope == "appointment"
    writer = _office_update(office)
    try:
        wait_until(lambda: is_waiting(admin, writer.thread_id), what="the office's change to wait for the lock")
        r.lock.release()
        released_at = time.monotonic()
        writer.wait(10)
    finally:
        writer.close()
    assert not r.lock.held
    kinds = [type(e) for _, e in r.log.events if not isinstance(e, LockStatus)]
    assert kinds == [LockRequested, LockTaken, LockReleased], kinds
    taken, released = r.log.of(LockTaken)[0], r.log.of(LockReleased)[0]
    assert released.scope == "appointment" and taken.tables == ("appointment",)
    assert 0 < released.held <= released.office_wait <= released_at - asked
    assert released.office_wait == pytest.approx(taken.waited + released.held, abs=0.01)
    assert r.lock.office_wait == released.office_wait
    assert writer.finished >= released_at - 0.05, "the office's change went through while the lock was held"


def test_the_global_lock_as_a_context_manager_is_released_at_its_end(admin, office, rig):
    r = rig()
    with r.lock.acquire(("appointment", "report")) as lock:
        assert lock.held and lock.scope == GLOBAL_SCOPE
        writer = Writer().start(f"INSERT INTO `{office}`.report VALUES (2, 0)")
        try:
            wait_until(lambda: is_waiting(admin, writer.thread_id), what="the office's insert to wait")
        except BaseException:
            writer.close()
            raise
    try:
        writer.wait(10)
    finally:
        writer.close()
    assert not r.lock.held and len(r.log.of(LockReleased)) == 1
    assert _session_alive(admin, r.data.thread_id()), "a lock released normally ends no session"
    assert r.lock.office_wait == r.log.of(LockReleased)[0].office_wait


def test_a_failure_under_the_lock_withdraws_it_by_ending_its_session(admin, office, rig):
    r = rig()
    writer = None
    with pytest.raises(RuntimeError, match="the drive is gone"):
        with r.lock.acquire(("appointment",), table="appointment"):
            writer = _office_update(office)
            wait_until(lambda: is_waiting(admin, writer.thread_id), what="the office's change to wait")
            raise RuntimeError("the drive is gone")
    try:
        writer.wait(10)  # the lock went with its session
    finally:
        writer.close()
    assert r.ended and not _session_alive(admin, r.data.thread_id())
    withdrawn = r.log.of(LockWithdrawn)
    assert len(withdrawn) == 1 and withdrawn[0].granted and withdrawn[0].scope == "appointment"
    assert not r.log.of(LockReleased)
    assert r.lock.office_wait == withdrawn[0].office_wait > 0


# --- a request that waits: cancelled, or given up ----------------------------------------------------


def _blocked_report(admin, db: str) -> Writer:
    """A long write on ``report``: a lock on it waits until it ends."""
    blocker = Writer().start(f"UPDATE `{db}`.report SET v = SLEEP(60) WHERE id = 1")
    wait_until(lambda: processlist(admin, "ID = %s AND STATE = 'User sleep'", (blocker.thread_id,)),
               what="the blocking statement to run")
    return blocker


def test_a_cancel_withdraws_a_waiting_request_at_once_and_times_it(admin, office, rig):
    r = rig(timeout=30.0)
    blocker = _blocked_report(admin, office)
    failed: list[BaseException] = []

    def take() -> None:
        try:
            r.lock.acquire(("report",), table="report")
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            failed.append(exc)

    taking = threading.Thread(target=take, daemon=True)
    try:
        taking.start()
        requested_at, _ = r.log.wait_for(LockRequested)
        wait_until(lambda: is_waiting(admin, r.data.thread_id()), what="our request to wait")
        r.cancel.set()
        cancelled_at = time.monotonic()
        taking.join(DEADLINE)
        stopped_after = time.monotonic() - cancelled_at
    finally:
        kill(blocker.thread_id, query_only=True)
        blocker.close()
    assert not taking.is_alive()
    assert stopped_after < 1.0, f"the request was withdrawn {stopped_after:.2f} s after the cancel"
    assert len(failed) == 1 and isinstance(failed[0], Cancelled) and "asked for the lock" in str(failed[0])
    assert not _session_alive(admin, r.data.thread_id())
    withdrawn = r.log.of(LockWithdrawn)
    assert len(withdrawn) == 1 and not withdrawn[0].granted, withdrawn
    assert cancelled_at - requested_at <= withdrawn[0].office_wait <= r.ended[0] - requested_at + 0.01
    assert r.lock.office_wait == withdrawn[0].office_wait
    assert not r.log.of(LockTaken)


def test_given_up_requests_count_in_the_office_wait(admin, office, rig):
    r = rig(timeout=1.0, retries=2, retry_pause=0.2)
    blocker = _blocked_report(admin, office)
    try:
        with pytest.raises(DatabaseError, match="Could not lock 'report' within 1 s after 2 tries") as info:
            r.lock.acquire(("report",), table="report")
    finally:
        kill(blocker.thread_id, query_only=True)
        blocker.close()
    assert_plain(info.value)
    gave_up = r.log.of(LockGaveUp)
    assert [g.attempt for g in gave_up] == [1, 2]
    assert all(g.waited >= 1.0 for g in gave_up), gave_up  # the watchdog ends each after the timeout
    assert r.lock.office_wait == pytest.approx(sum(g.waited for g in gave_up))
    assert not r.lock.held and _session_alive(admin, r.data.thread_id()), "a given-up request ends no session"


# --- the watchdog that cannot watch ------------------------------------------------------------------


class MonitorKiller(threading.Thread):
    """Another session that ends the watchdog's connection each time it shows up on the server
    (as a tool that ends idle connections would), ``times`` times."""

    def __init__(self, sessions, times: int) -> None:
        super().__init__(daemon=True, name="test-monitor-killer")
        self.sessions, self.times = sessions, times
        self.killed: list[int] = []
        self._halt = threading.Event()
        self.conn = server_conn()

    def run(self) -> None:
        try:
            while len(self.killed) < self.times and not self._halt.wait(0.01):
                for thread_id in self.sessions(self.conn):
                    if thread_id not in self.killed and len(self.killed) < self.times:
                        with self.conn.cursor() as cur:
                            cur.execute(f"KILL CONNECTION {int(thread_id)}")
                        self.killed.append(thread_id)
        finally:
            self.conn.close()

    def stop(self) -> None:
        self._halt.set()
        self.join(DEADLINE)


def test_a_blind_watchdog_ends_the_lock_it_cannot_watch_and_no_lock_is_taken_again(admin, office, rig):
    r = rig()
    r.lock.acquire(("appointment",), table="appointment")
    writer = _office_update(office)
    killer = MonitorKiller(lambda conn: [r.watcher.conn.thread_id()], locking.BLIND_AFTER)
    try:
        wait_until(lambda: is_waiting(admin, writer.thread_id), what="the office's change to wait")
        killer.start()
        writer.wait(DEADLINE)  # the watchdog ended the lock it could no longer watch
    finally:
        killer.stop()
        writer.close()
    lost = r.log.wait_for(LockWatchLost)[1]
    assert (lost.scope, lost.acquiring, lost.failures) == ("appointment", False, locking.BLIND_AFTER)
    assert lost.reason and r.watcher.blind and r.watcher.ended_at is not None
    assert not _session_alive(admin, r.data.thread_id())
    with pytest.raises(DatabaseError, match="watchdog could not read") as info:
        r.lock.release()  # the backup's thread finds its session gone
    assert_plain(info.value)
    assert f"({lost.reason})" in str(info.value) and "the lock was released at once" in str(info.value)
    assert [w.granted for w in r.log.of(LockWithdrawn)] == [True]
    requests = len(r.log.of(LockRequested))
    with pytest.raises(DatabaseError, match="watchdog could not read.* no lock was asked for"):
        r.lock.acquire(("report",), table="report")
    assert len(r.log.of(LockRequested)) == requests, "a lock was asked for with the watchdog blind"


def test_a_request_the_watchdog_cannot_watch_is_withdrawn(admin, office, rig):
    """The watchdog goes blind while a request waits (behind a long write): it ends the
    request's session, and the backup's thread stops asking and says why."""
    r = rig(timeout=30.0)
    blocker = _blocked_report(admin, office)
    killer = MonitorKiller(lambda conn: [r.watcher.conn.thread_id()], locking.BLIND_AFTER)
    failed: list[BaseException] = []

    def take() -> None:
        try:
            r.lock.acquire(("report",), table="report")
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            failed.append(exc)

    taking = threading.Thread(target=take, daemon=True)
    try:
        taking.start()
        wait_until(lambda: is_waiting(admin, r.data.thread_id()), what="our request to wait")
        killer.start()
        taking.join(DEADLINE)
    finally:
        killer.stop()
        kill(blocker.thread_id, query_only=True)
        blocker.close()
    assert not taking.is_alive()
    assert len(failed) == 1 and type(failed[0]) is DatabaseError, failed
    assert "watchdog could not read" in str(failed[0]) and "the lock request was withdrawn at once" in str(failed[0])
    lost = r.log.wait_for(LockWatchLost)[1]
    assert (lost.scope, lost.acquiring, lost.failures) == ("report", True, locking.BLIND_AFTER)
    withdrawn = r.log.of(LockWithdrawn)
    assert len(withdrawn) == 1 and not withdrawn[0].granted and not r.log.of(LockTaken)
    assert not _session_alive(admin, r.data.thread_id())
    assert len(r.log.of(LockRequested)) == 1, "the request was made again unwatched"


def test_a_watchdog_blind_too_late_to_end_the_lock_stops_the_backup_at_its_release(admin, office, rig):
    """Its connection lost for good (it cannot connect again) while a lock is held: it cannot end
    the lock itself; the backup releases it when its work is done and stops there."""
    r = rig(reconnect=False)
    r.lock.acquire(("appointment",), table="appointment")
    kill(r.watcher.conn.thread_id())
    wait_until(lambda: r.watcher.blind, what="the watchdog to give up")
    assert _session_alive(admin, r.data.thread_id()) and r.watcher.ended_at is None
    with pytest.raises(DatabaseError, match="watchdog could not read.*unwatched, the lock was released; no snapshot"):
        r.lock.release()
    assert len(r.log.of(LockReleased)) == 1 and not r.lock.held
    assert r.log.wait_for(LockWatchLost)[1].failures == locking.BLIND_AFTER
    write = Writer().start(f"UPDATE `{office}`.appointment SET Note = 'moved' WHERE AptNum = 1")
    try:
        write.wait(10)  # released: the office writes
    finally:
        write.close()


def test_a_single_lost_watchdog_connection_is_made_again(admin, office, rig):
    """One KILL of the watchdog's connection (a tool ending idle connections): it connects
    again and goes on watching; nothing is ended."""
    r = rig()
    with r.lock.acquire(("appointment",), table="appointment"):
        first = r.watcher.conn.thread_id()
        kill(first)
        wait_until(lambda: r.watcher.conn.thread_id() != first and r.watcher.error is not None,
                   what="the watchdog to connect again")
        seen = len(r.log.of(LockStatus))
        wait_until(lambda: len(r.log.of(LockStatus)) > seen + 1, what="the watchdog to report again")
    assert not r.watcher.blind and not r.log.of(LockWatchLost) and r.log.of(LockReleased)
    assert r.watcher.conn.thread_id() in r.watcher.ours


@pytest.fixture
def backup_user(admin, office):
    """A user of its own for the backup (so its sessions can be told from everyone else's)."""
    name, password = f"odbt_user_{secrets.token_hex(6)}", f"Pw-{secrets.token_hex(8)}"
    with admin.cursor() as cur:
        cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (name, password))
        cur.execute(f"GRANT SELECT, LOCK TABLES, RELOAD, PROCESS, SHOW VIEW, TRIGGER, EVENT ON *.* TO '{name}'@'%'")
    yield DbTarget(host="127.0.0.1", port=3306, user=name, database=office, password=password)
    with admin.cursor() as cur:
        cur.execute("DROP USER IF EXISTS %s@'%%'", (name,))


def test_a_backup_whose_watchdog_goes_blind_under_the_global_lock_ends_it_and_fails_plainly(
        admin, office, repo, backup_user, monkeypatch):
    """The watchdog's connection is ended from another session each time it connects again
    (its the backup user's only session without a default database), while the backup holds
    the global read lock and its drive hangs: the watchdog says it cannot watch, ends the lock
    at once (the office's waiting insert goes through while the backup is still stuck), and
    the backup fails plainly; nothing of it is left on the server or in the repository."""
    create_big_table(admin, office)
    before = repo_state(repo)
    drive = threading.Event()  # set: the drive answers again
    real = readers.TableReaders._store

    def hung(self, conn, state, part):
        drive.wait(DEADLINE)
        return real(self, conn, state, part)

    monkeypatch.setattr(readers.TableReaders, "_store", hung)

    def watchdog_sessions(conn) -> list[int]:
        with conn.cursor() as cur:
            cur.execute("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = %s AND DB IS NULL",
                        (backup_user.user,))
            return [row[0] for row in cur.fetchall()]

    log = EventLog()
    run = BackgroundBackup(repo, BackupPlan(databases=(DatabasePlan(backup_user, **PATIENT),)), log)
    killer = MonitorKiller(watchdog_sessions, locking.BLIND_AFTER)
    writer = None
    try:
        run.start()
        log.wait_for(LockTaken)
        writer = Writer().start(f"INSERT INTO `{office}`.appointment VALUES (70, 'walk-in')")
        wait_until(lambda: is_waiting(admin, writer.thread_id), what="the office's insert to wait")
        killer.start()
        killing_from = time.monotonic()
        writer.wait(30)  # the lock is ended while the backup is still stuck on its drive
        office_went_on = time.monotonic()
        print(f"the watchdog's connection killed: the office went on {office_went_on - killing_from:.2f} s later")
        lost_at, lost = log.wait_for(LockWatchLost)
    finally:
        killer.stop()
        drive.set()
        if writer is not None:
            writer.close()
    error = run.failure()

    assert (lost.scope, lost.acquiring, lost.failures) == (GLOBAL_SCOPE, False, locking.BLIND_AFTER)
    assert office_went_on - lost_at < 5.0
    assert type(error) is DatabaseError and "watchdog could not read" in str(error), repr(error)
    assert f"({lost.reason})" in str(error) and "the lock was released at once; no snapshot was saved" in str(error)
    print(f"the error: {error}")
    assert_plain(error, backup_user.password)
    withdrawn = log.of(LockWithdrawn)
    assert [w.granted for w in withdrawn] == [True] and not log.of(LockReleased), withdrawn
    wait_until(lambda: not processlist(admin, "USER = %s", (backup_user.user,)), timeout=10.0,
               what="the backup user's sessions to end")
    assert_failed_cleanly(repo, before)
    del error
    assert run.forget() == [], "errors escaped while the failed dump was cleaned up"


def test_the_warning_is_said_in_plain_words_and_in_json():
    lost = LockWatchLost(GLOBAL_SCOPE, False, 3, "Lost connection to server during query")
    out, err = io.StringIO(), io.StringIO()
    TextPrinter(out, err)(lost)
    said = err.getvalue()
    assert said.startswith("warning: the lock watchdog cannot watch the office any more: 3 looks")
    assert "Lost connection to server during query" in said and "the lock is ended now" in said
    JsonPrinter(out)(lost)
    doc = json.loads(out.getvalue())
    assert doc == to_dict(lost) == {"event": "lock_watch_lost", "scope": GLOBAL_SCOPE, "acquiring": False,
                                    "failures": 3, "reason": "Lost connection to server during query"}
