"""The lock monitor's decisions, on a recording stand-in for its connection (the real server
is in tests/database: test_faults, test_busy_office)."""
from __future__ import annotations

import time

from engine.database.locking import LockMonitor
from engine.events import LockReleased, LockStatus


class Recorder:
    """A connection that records what is sent and answers every query with no rows."""

    def __init__(self) -> None:
        self.sent: list[str] = []

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
        return []


def _monitor(**options) -> tuple[LockMonitor, Recorder, list]:
    conn, events = Recorder(), []
    monitor = LockMonitor(conn, events.append, {1, 2, 3}, lock_conn_id=2, lock_timeout=0.0, holders=(2, 3),
                          **options)
    return monitor, conn, events


def test_a_lock_request_past_its_time_is_killed_once():
    monitor, conn, _ = _monitor()
    monitor.watch("all tables", ("t",), acquiring=True)
    since = monitor._since
    monitor._poll("all tables", ("t",), since, True)
    monitor._poll("all tables", ("t",), since, True)
    assert [s for s in conn.sent if s.startswith("KILL")] == ["KILL QUERY 2"]


def test_a_lock_granted_meanwhile_is_not_killed():
    """The monitor read 'acquiring', then the lock was granted (held()) before it sent the KILL:
    it must not send it, or the first statement under the lock would be the one killed."""
    monitor, conn, _ = _monitor()
    monitor.watch("all tables", ("t",), acquiring=True)
    since = monitor._since
    monitor.held()
    monitor._poll("all tables", ("t",), since, True)  # the stale view it read before held()
    assert not [s for s in conn.sent if s.startswith("KILL")]
    assert not monitor.killed_attempt


def test_a_held_lock_whose_backup_stops_moving_is_ended():
    monitor, conn, events = _monitor(stall_timeout=0.05)
    monitor.watch("all tables", ("t",), acquiring=True)
    monitor.held()
    monitor.beat()
    monitor._poll("all tables", ("t",), monitor._since, False)
    assert not monitor.stalled and isinstance(events[-1], LockStatus)
    time.sleep(0.1)
    monitor._poll("all tables", ("t",), monitor._since, False)
    assert monitor.stalled
    assert [s for s in conn.sent if s.startswith("KILL")] == ["KILL CONNECTION 2", "KILL CONNECTION 3"]
    assert isinstance(events[-1], LockReleased) and events[-1].scope == "all tables"
    assert monitor._scope == ""  # no more "read-only" reports for a lock that is gone


def test_which_servers_keep_a_killed_flush_pending():
    from engine.database.locking import flush_outlives_its_kill

    assert flush_outlives_its_kill("8.0.36")
    assert flush_outlives_its_kill("5.7.44-log")
    assert flush_outlives_its_kill("10.3.39-MariaDB-0+deb10u1")
    assert not flush_outlives_its_kill("10.11.19-MariaDB-0+deb12u1")
    assert not flush_outlives_its_kill("11.4.2-MariaDB")
