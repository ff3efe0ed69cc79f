"""The lock monitor's decisions, on a recording stand-in for its connection (the real server
is in tests/database: test_faults, test_busy_office)."""
from __future__ import annotations

import threading

from engine.database.locking import LockMonitor
from engine.events import LockReleased, LockStatus, LockWatchLost


class Recorder:
    """A connection that records what is sent and answers every query with no rows."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.rows: list = []  # what a process-list query answers

    def cursor(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def execute(self, sql, args=None) -> int:
        self.sent.append(sql)
        return 0

    def fetchall(self) -> list:
        return self.rows if self.sent and "COMMAND, STATE" in self.sent[-1] else []


def _monitor(**options) -> tuple[LockMonitor, Recorder, list]:
    conn, events = Recorder(), []
    monitor = LockMonitor(conn, events.append, {1, 2, 3}, lock_conn_id=2, lock_timeout=0.0, holders=(2, 3),
                          **options)
    return monitor, conn, events


def test_a_lock_request_past_its_time_is_killed_once():
    monitor, conn, _ = _monitor()
    monitor.watch("all tables", ("t",), acquiring=True)
    monitor._since -= 1.0  # asked a second ago (the clock may be coarse)
    since = monitor._since
    monitor._poll("all tables", ("t",), since, True)
    monitor._poll("all tables", ("t",), since, True)
    assert [s for s in conn.sent if s.startswith("KILL")] == ["KILL QUERY 2"]


def test_a_lock_granted_meanwhile_is_not_killed():
    """The monitor read 'acquiring', then the lock was granted (held()) before it sent the KILL:
    it must not send it, or the first statement under the lock would be the one killed."""
    monitor, conn, _ = _monitor()
    monitor.watch("all tables", ("t",), acquiring=True)
    monitor._since -= 1.0
    since = monitor._since
    monitor.held()
    monitor._poll("all tables", ("t",), since, True)  # the stale view it read before held()
    assert not [s for s in conn.sent if s.startswith("KILL")]
    assert not monitor.killed_attempt


def test_a_held_lock_whose_backup_stops_moving_is_ended():
    """No beat for longer than stall_timeout and the holders wait for us (the process list
    shows nothing busy): the sessions holding the lock are ended."""
    monitor, conn, events = _monitor(stall_timeout=30.0)
    monitor.watch("all tables", ("t",), acquiring=True)
    monitor.held()
    monitor._poll("all tables", ("t",), monitor._since, False)
    assert monitor._outbox.wait_delivered()
    assert not monitor.stalled and isinstance(events[-1], LockStatus)
    monitor._beat -= 31.0  # no block read for 31 s
    monitor._poll("all tables", ("t",), monitor._since, False)
    assert monitor.stalled
    assert [s for s in conn.sent if s.startswith("KILL")] == ["KILL CONNECTION 2", "KILL CONNECTION 3"]
    assert monitor._outbox.wait_delivered()
    assert isinstance(events[-1], LockReleased) and events[-1].scope == "all tables"
    assert monitor._scope == ""  # no more "read-only" reports for a lock that is gone


def test_a_server_still_sorting_is_not_a_stall():
    """No block for a long time, but a holder is busy on the server (a sort before the first
    row of a big table): that is the server moving, not the backup stuck."""
    monitor, conn, _ = _monitor(stall_timeout=30.0)
    conn.rows = [("Query", "Creating sort index")]
    monitor.watch("all tables", ("t",), acquiring=True)
    monitor.held()
    monitor._beat -= 31.0
    monitor._poll("all tables", ("t",), monitor._since, False)
    assert not monitor.stalled and not [s for s in conn.sent if s.startswith("KILL")]
    conn.rows = [("Query", "Writing to net"), ("Sleep", "")]  # now it waits for us
    monitor._beat -= 31.0
    monitor._poll("all tables", ("t",), monitor._since, False)
    assert monitor.stalled


def test_a_sink_that_blocks_does_not_stop_the_watch():
    """The console stops taking output (a click in a Windows console): the monitor still ends
    a stalled lock; its reports wait, and only the newest status is kept."""
    gate = threading.Event()
    delivered: list = []

    def sink(event) -> None:
        gate.wait(10)
        delivered.append(event)

    conn = Recorder()
    monitor = LockMonitor(conn, sink, {1, 2}, lock_conn_id=2, lock_timeout=10.0, holders=(2,), stall_timeout=30.0)
    monitor.watch("all tables", ("t",), acquiring=True)
    monitor.held()
    for _ in range(5):
        monitor._poll("all tables", ("t",), monitor._since, False)  # each returns at once
    monitor._beat -= 31.0
    monitor._poll("all tables", ("t",), monitor._since, False)
    assert conn.sent.count("KILL CONNECTION 2") == 1
    gate.set()
    assert monitor._outbox.wait_delivered()
    kinds = [type(e) for e in delivered]
    # the first status may already have been in the sink; the four after it became one
    assert kinds[-1] is LockReleased and kinds[:-1] in ([LockStatus], [LockStatus, LockStatus]), kinds


def test_which_servers_keep_a_killed_flush_pending():
    from engine.database.locking import flush_outlives_its_kill

    assert flush_outlives_its_kill("8.0.36")
    assert flush_outlives_its_kill("5.7.44-log")
    assert flush_outlives_its_kill("10.3.39-MariaDB-0+deb10u1")
    assert not flush_outlives_its_kill("10.11.19-MariaDB-0+deb12u1")
    assert not flush_outlives_its_kill("11.4.2-MariaDB")


def test_the_process_list_is_read_on_mysql_too():
    """Oracle MySQL's process list has no TIME_MS (MariaDB's): TIME, in seconds, is used."""
    import pymysql

    from engine.database.locking import long_queries, waiting_statements

    class MySQL(Recorder):
        def execute(self, sql, args=None) -> int:
            if "TIME_MS" in sql:
                raise pymysql.err.OperationalError(1054, "Unknown column 'TIME_MS' in 'field list'")
            return super().execute(sql, args)

    conn = MySQL()
    assert waiting_statements(conn, set()) == [] and long_queries(conn, set()) == []
    assert all("TIME * 1000" in sql for sql in conn.sent if "PROCESSLIST" in sql and "LIMIT 0" not in sql)
    mariadb = Recorder()
    waiting_statements(mariadb, set())
    assert "TIME_MS" in mariadb.sent[-1]


def test_reads_failing_in_a_row_blind_the_watchdog_and_one_that_works_starts_the_count_again():
    """(The real fault, its connection killed again and again: tests/database/test_readlock.py.)
    Here the process list answers with errors while KILL still works: the monitor says it
    cannot watch only after BLIND_AFTER failures in a row, then ends the lock's sessions."""
    import pymysql

    from engine.database.locking import BLIND_AFTER

    class Failing(Recorder):
        failing = True

        def execute(self, sql, args=None) -> int:
            if self.failing and "PROCESSLIST" in sql:
                raise pymysql.err.OperationalError(1205, "Lock wait timeout exceeded")
            return super().execute(sql, args)

    conn, events = Failing(), []
    monitor = LockMonitor(conn, events.append, {1, 2, 3}, lock_conn_id=2, lock_timeout=10.0, holders=(2, 3))
    monitor.watch("all tables", ("t",), acquiring=True)
    monitor.held()
    for _ in range(BLIND_AFTER - 1):
        monitor._look()
    conn.failing = False
    monitor._look()
    conn.failing = True
    for _ in range(BLIND_AFTER - 1):
        monitor._look()
    assert not monitor.blind and not [s for s in conn.sent if s.startswith("KILL")]
    monitor._look()
    assert monitor.blind and monitor.ended_at is not None
    assert [s for s in conn.sent if s.startswith("KILL")] == ["KILL CONNECTION 2", "KILL CONNECTION 3"]
    assert monitor._outbox.wait_delivered()
    lost = [e for e in events if isinstance(e, LockWatchLost)]
    assert lost == [LockWatchLost("all tables", False, BLIND_AFTER, "Lock wait timeout exceeded")]
    monitor._look()  # nothing is watched any more: no more reads, no more warnings
    assert monitor._outbox.wait_delivered() and len([e for e in events if isinstance(e, LockWatchLost)]) == 1
