"""A busy office: a workstation keeps inserting (autocommit, every 20 ms) into a
big MyISAM table while the backup runs. The backup must say live what the
office feels (read-only tables, waiting statements), no insert may fail or get
lost, and nothing may stay locked afterwards.
"""
from __future__ import annotations

import pytest
from dbhelpers import target
from faulthelpers import (
    DEADLINE,
    PATIENT,
    BackgroundBackup,
    EventLog,
    OfficeWriter,
    SessionTracker,
    Writer,
    count_rows,
    create_big_table,
    kill,
    processlist,
    wait_until,
    write_completes,
)

from engine.backup import BackupPlan, BackupResult, run_backup
from engine.database import locking
from engine.database.dump import GLOBAL_SCOPE, DatabasePlan
from engine.database.preflight import preflight
from engine.events import (
    DatabaseDumped,
    LockGaveUp,
    LockReleased,
    LockRequested,
    LockStatus,
    LockTaken,
    TableDumped,
)

BIG = "procedurelog"
TABLES = ("appointment", BIG, "securitylog")
TOLERANCE_S = 0.1
"""The office's statements are timed in their thread, the backup's locks in its own, on a shared
machine: either may note its end a little late (measured: up to 0.03 s)."""


@pytest.fixture
def sessions(monkeypatch):
    return SessionTracker(monkeypatch)


def _make_office(admin, db: str) -> None:
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
        cur.execute(f"CREATE TABLE `{db}`.appointment (AptNum BIGINT PRIMARY KEY, PatNum BIGINT, Note VARCHAR(40))"
                    " ENGINE=MyISAM")
        cur.execute(f"INSERT INTO `{db}`.appointment VALUES (1, 10, 'cleaning'), (2, 11, 'crown')")
        cur.execute(f"CREATE TABLE `{db}`.securitylog (id INT PRIMARY KEY, what VARCHAR(30)) ENGINE=InnoDB")
        cur.execute(f"INSERT INTO `{db}`.securitylog VALUES (1, 'login')")
    create_big_table(admin, db, BIG)


class Run:
    """One backup with the office writing all along (before, during and after).

    ``hold``: once the big table is read, the backup waits (holding its lock) until
    the monitor has reported what the test looks for (by default the waiting office),
    or at most ``HOLD_S``. The table is read in well under a second, shorter than the
    monitor's poll: without the hold whether a report falls inside the lock window
    would be a matter of luck."""

    HOLD_S = 10.0

    def __init__(self, admin, repo, db: str, mode: str, *, hold: bool = False, until=None) -> None:
        self.until = until or (lambda s: not s.acquiring and s.waiting >= 1 and s.longest_wait > 0)
        self.initial = count_rows(admin, db, BIG)
        self.office = OfficeWriter(db, BIG, first_id=10_000_000)
        self.log = EventLog()
        if hold:
            self.log.hooks.append(self._hold)
        self.office.start()
        try:
            wait_until(lambda: len(self.office.ok) >= 3 or self.office.failed, what="the office to start writing")
            self.result: BackupResult = run_backup(
                repo, BackupPlan(databases=(DatabasePlan(target(db), lock_mode=mode, **PATIENT),)), on_event=self.log)
            done = len(self.office.ok)
            wait_until(lambda: len(self.office.ok) >= done + 3 or self.office.failed,
                       what="the office to go on writing after the backup")
        finally:
            self.office.stop()
        self.final = count_rows(admin, db, BIG)

    def _hold(self, event) -> None:
        if isinstance(event, TableDumped) and event.table == BIG:
            try:
                self.log.wait_for(LockStatus, self.until, timeout=self.HOLD_S)
            except AssertionError:
                pass  # the test's own assertions say what is missing

    def lock_window(self, scope: str) -> tuple[float, float]:
        taken_at, _ = self.log.wait_for(LockTaken, lambda e: e.scope == scope, timeout=0)
        released_at, released = self.log.wait_for(LockReleased, lambda e: e.scope == scope, timeout=0)
        assert released.held > 0
        return taken_at, released_at

    def check_office_unharmed(self) -> None:
        assert self.office.failed == [], f"office inserts failed: {self.office.failed[:3]}"
        assert self.final == self.initial + len(self.office.ok), "office inserts were lost"
        dumped = self.log.of(TableDumped, lambda e: e.table == BIG)
        assert len(dumped) == 1 and self.initial <= dumped[0].rows <= self.final, dumped


def test_consistent_backup_while_the_office_writes(admin, fresh_db, repo, sessions):
    db = fresh_db("busy")
    _make_office(admin, db)
    run = Run(admin, repo, db, "consistent", hold=True)

    assert run.result.complete
    run.check_office_unharmed()
    taken_at, released_at = run.lock_window(GLOBAL_SCOPE)
    held = [s for s in run.log.of(LockStatus) if not s.acquiring]
    assert held, "no LockStatus while the global read lock was held"
    for status in held:
        assert status.scope == GLOBAL_SCOPE
        assert set(status.read_only_tables) == set(TABLES)  # consistent mode: every table
    seen = [s for s in held if s.waiting >= 1 and s.longest_wait > 0]
    assert seen, f"the waiting office was never reported: {held}"
    assert any(BIG in s.waiting_tables for s in seen), [s.waiting_tables for s in seen]
    # The office really waited for the lock (that is why it was reported) ...
    assert max(took for _, took in run.office.ok) > 0.2
    # ... and none of its inserts got through while the lock was held.
    assert not [t for t, _ in run.office.ok if taken_at + 0.05 < t < released_at - 0.3]

    sessions.assert_all_gone(admin)
    write_completes(f"INSERT INTO `{db}`.`{BIG}` (id, patnum, note, amount, d)"
                    " VALUES (999999999, 1, 'after', 0, '2024-06-01')", within=2.0)


def test_per_table_backup_lets_the_office_insert_concurrently(admin, fresh_db, repo, sessions):
    db = fresh_db("busy_pt")
    _make_office(admin, db)
    # held until the monitor has reported the table read-only (and the office kept appending)
    run = Run(admin, repo, db, "per-table", hold=True, until=lambda s: not s.acquiring and s.scope == BIG)

    assert run.result.complete
    run.check_office_unharmed()
    taken_at, released_at = run.lock_window(BIG)
    held = [s for s in run.log.of(LockStatus) if not s.acquiring and s.scope == BIG]
    assert held, "no LockStatus while the big table was locked"
    assert {s.read_only_tables for s in held} == {(BIG,)}
    for status in run.log.of(LockStatus):
        assert status.read_only_tables == (status.scope,)  # never more than the table being read
    # READ LOCAL: MyISAM lets the office append rows while the table is read.
    during = [t for t, _ in run.office.ok if taken_at < t < released_at]
    assert len(during) >= 3, (
        f"only {len(during)} office inserts completed during the {released_at - taken_at:.2f} s the table was locked")

    sessions.assert_all_gone(admin)
    write_completes(f"INSERT INTO `{db}`.`{BIG}` (id, patnum, note, amount, d)"
                    " VALUES (999999999, 1, 'after', 0, '2024-06-01')", within=2.0)


# --- what the office waited, against what the backup says ------------------------------------------------


def _make_commlog_office(admin, db: str) -> None:
    """``commlog`` (the office writes to it) and ``report`` (a long statement holds it)."""
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
    create_big_table(admin, db, "commlog", rows=100)
    with admin.cursor() as cur:
        cur.execute(f"CREATE TABLE `{db}`.report (id INT PRIMARY KEY, v INT) ENGINE=MyISAM")
        cur.execute(f"INSERT INTO `{db}`.report VALUES (1, 0), (2, 0)")


def _our_lock_request_waits(admin, sessions) -> bool:
    rows = processlist(admin, "INFO LIKE 'FLUSH TABLES WITH READ LOCK%%'")
    return any(r[0] in sessions.ids and (r[3] or "").lower().startswith("waiting") for r in rows)


def _reported(log: EventLog) -> float:
    dumped = log.of(DatabaseDumped)
    assert len(dumped) == 1
    return dumped[0].lock_window


def _same_figure_everywhere(reported: float, log: EventLog, result: BackupResult, repo, db: str) -> None:
    """The lock events add up to it; the result, the snapshot's header and the next preflight say it."""
    offered = sum(e.office_wait for e in log.of(LockReleased)) + sum(e.waited for e in log.of(LockGaveUp))
    assert offered == pytest.approx(reported, abs=0.002), (log.of(LockReleased), log.of(LockGaveUp))
    assert result.lock_window == pytest.approx(reported, abs=0.002)
    snap = repo.snapshots()[-1]
    assert snap.stats.lock_window == pytest.approx(reported, abs=0.002)
    estimate = preflight(target(db), repo=repo).estimated_lock_seconds
    assert estimate == pytest.approx(reported, abs=0.002), "the next preflight's estimate is another figure"


def test_the_reported_wait_covers_the_office_waiting_behind_a_lock_request(admin, fresh_db, repo, sessions):
    """A report (a long UPDATE) runs; the backup's FLUSH TABLES WITH READ LOCK waits behind it,
    and every write of the office waits from then on (measured: an office UPDATE waited 7.6 s
    while the backup said "writes could wait for 0.98 s"). What the backup reports counts
    from the request to the release: at least what the office measured, and close to it."""
    db = fresh_db("officewait")
    _make_commlog_office(admin, db)
    blocker = Writer().start(f"UPDATE `{db}`.report SET v = SLEEP(3) WHERE id = 1")
    office = None
    try:
        wait_until(lambda: processlist(admin, "ID = %s AND STATE = 'User sleep'", (blocker.thread_id,)),
                   what="the report to run")
        log = EventLog()
        run = BackgroundBackup(repo, BackupPlan(databases=(DatabasePlan(target(db), **PATIENT),)), log)
        run.start()
        wait_until(lambda: _our_lock_request_waits(admin, sessions), what="our lock request to wait")
        office = Writer().start(f"UPDATE `{db}`.commlog SET note = 'rescheduled' WHERE id = 1")
        measured = office.wait(DEADLINE)
        result, error = run.outcome()
        blocker.wait(DEADLINE)
    finally:
        blocker.close()
        if office is not None:
            office.close()

    assert error is None and result is not None and result.complete, error
    reported = _reported(log)
    print(f"the office's UPDATE waited {measured:.2f} s; the backup reported {reported:.2f} s")
    assert measured > 1.0, "the office did not wait: the test did not test anything"
    assert reported >= measured - TOLERANCE_S, f"reported {reported:.2f} s, the office waited {measured:.2f} s"
    assert reported - measured < 1.0, f"reported {reported:.2f} s, the office waited {measured:.2f} s"
    _same_figure_everywhere(reported, log, result, repo, db)
    sessions.assert_all_gone(admin)


def test_the_reported_wait_counts_the_lock_requests_given_up(admin, fresh_db, repo, sessions):
    """The first request waits behind a long UPDATE until the watchdog gives it up (the office
    waits all that time); the report then ends and the second request is granted. The office
    writes all along; its waits add up to what the backup reports."""
    db = fresh_db("officegaveup")
    _make_commlog_office(admin, db)
    blocker = Writer().start(f"UPDATE `{db}`.report SET v = SLEEP(60) WHERE id = 1")
    office = OfficeWriter(db, "commlog", first_id=10_000_000)
    try:
        wait_until(lambda: processlist(admin, "ID = %s AND STATE = 'User sleep'", (blocker.thread_id,)),
                   what="the report to run")
        log = EventLog()
        log.hooks.append(lambda e: kill(blocker.thread_id, query_only=True) if isinstance(e, LockGaveUp) else None)
        office.start()
        wait_until(lambda: len(office.ok) >= 3 or office.failed, what="the office to start writing")
        plan = DatabasePlan(target(db), lock_timeout=1.5, lock_retries=3, retry_pause=0.5)
        run = BackgroundBackup(repo, BackupPlan(databases=(plan,)), log)
        run.start()
        result, error = run.outcome()
        done = len(office.ok)
        wait_until(lambda: len(office.ok) >= done + 3 or office.failed, what="the office to go on writing")
    finally:
        office.stop()
        blocker.close()

    assert error is None and result is not None and result.complete, error
    assert office.failed == [], office.failed[:3]
    assert len(log.of(LockGaveUp)) == 1
    reported = _reported(log)
    # from the first request on (an insert slowed before it, by the shared server, is not ours)
    measured = office.waited(more_than=0.05, since=log.wait_for(LockRequested)[0])
    print(f"the office's inserts waited {measured:.2f} s in all; the backup reported {reported:.2f} s")
    assert measured > 1.4, "the office did not wait for the given-up request"
    assert reported >= measured - TOLERANCE_S, f"reported {reported:.2f} s, the office waited {measured:.2f} s"
    assert reported - measured < 1.0, f"reported {reported:.2f} s, the office waited {measured:.2f} s"
    _same_figure_everywhere(reported, log, result, repo, db)
    sessions.assert_all_gone(admin)


def test_a_table_lock_counts_only_the_writes_to_its_own_database(admin, fresh_db):
    """Per table, the monitor counts the office's writes waiting on the locked table of the
    database backed up; a write waiting on another database's table of the same name waits for
    something else (another job's lock), and is left out. A global lock blocks them all."""
    ours, other = fresh_db("ours"), fresh_db("other")
    for db in (ours, other):
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{db}`")
            cur.execute(f"CREATE TABLE `{db}`.patient (PatNum INT PRIMARY KEY, LName VARCHAR(20)) ENGINE=MyISAM")
    holder = Writer()
    writers = []
    try:
        with holder.conn.cursor() as cur:
            cur.execute(f"LOCK TABLES `{ours}`.patient READ, `{other}`.patient READ")
        for db in (ours, other):
            writer = Writer().start(f"UPDATE `{db}`.patient SET LName = 'x' WHERE PatNum = 1")
            writers.append(writer)
            wait_until(lambda w=writer: processlist(admin, "ID = %s AND STATE LIKE 'Waiting%%'", (w.thread_id,)),
                       what="the write to wait")
        ids = {admin.thread_id(), holder.thread_id}
        mine = locking.waiting_statements(admin, ids, database=ours)
        everyone = locking.waiting_statements(admin, ids)
    finally:
        with holder.conn.cursor() as cur:
            cur.execute("UNLOCK TABLES")
        for writer in writers:
            writer.wait(DEADLINE)
            writer.close()
        holder.close()

    assert [w.table for w in mine] == ["patient"]
    assert len([w for w in everyone if w.table == "patient"]) >= 2
