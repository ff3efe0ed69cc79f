"""Faults during a database backup: a killed connection, tables dropped or altered
meanwhile, a server that is down or refuses us, Ctrl+C under the lock, and the
lock watchdog. Whatever happens: a plain engine error (or an honest incomplete
snapshot), never a half snapshot, never a lock left on the office's server or
on the repository.
"""
from __future__ import annotations

import secrets
import threading
import time

import pytest
from dbhelpers import server_conn, target
from faulthelpers import (
    DEADLINE,
    PATIENT,
    BackgroundBackup,
    EventLog,
    SessionTracker,
    Writer,
    assert_failed_cleanly,
    assert_plain,
    create_big_table,
    is_waiting,
    kill,
    processlist,
    repo_state,
    table_contents,
    wait_until,
    write_completes,
)

from engine.backup import BackupPlan, run_backup
from engine.database import readers
from engine.database.connection import (
    AccessDenied,
    DatabaseError,
    DbTarget,
    MissingPrivilege,
    ServerUnreachable,
    UnknownDatabase,
)
from engine.database.dump import DatabasePlan
from engine.database.restore import restore_database
from engine.errors import Cancelled, OdbackupError
from engine.events import (
    DatabasePreflight,
    LockGaveUp,
    LockReleased,
    LockRequested,
    LockStatus,
    LockTaken,
    LockWithdrawn,
    TableDumped,
    TableProgress,
    TableSkipped,
)


def _plan(db_target: DbTarget, **options) -> BackupPlan:
    return BackupPlan(databases=(DatabasePlan(db_target, **{**PATIENT, **options}),))


def _office_insert(db: str, table: str = "big") -> str:
    return (f"INSERT INTO `{db}`.`{table}` (id, patnum, note, amount, d)"
            f" VALUES ({secrets.randbelow(10**9) + 10**9}, 1, 'after', 2.5, '2024-06-01')")


def _make_office(admin, db: str, *, big: bool = True) -> None:
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
        cur.execute(f"CREATE TABLE `{db}`.appointment (AptNum BIGINT PRIMARY KEY, PatNum BIGINT, Note VARCHAR(40))"
                    " ENGINE=MyISAM")
        cur.execute(f"INSERT INTO `{db}`.appointment VALUES (1, 10, 'cleaning'), (2, 11, 'crown')")
    if big:
        create_big_table(admin, db)


@pytest.fixture
def sessions(monkeypatch):
    return SessionTracker(monkeypatch)


@pytest.fixture
def make_user(admin):
    """Factory of MySQL users with unique names; every one is dropped afterwards."""
    created: list[str] = []

    def make(password: str, *grants: str) -> str:
        name = f"odbt_user_{secrets.token_hex(6)}"
        with admin.cursor() as cur:
            cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (name, password))
            created.append(name)
            for grant in grants:
                cur.execute(f"GRANT {grant} TO '{name}'@'%'")
        return name

    yield make
    with admin.cursor() as cur:
        for name in created:
            cur.execute("DROP USER IF EXISTS %s@'%%'", (name,))


# --- 1. the dump connection killed mid-dump ------------------------------------------------------------


@pytest.mark.parametrize(("mode", "shape"), [("consistent", "paged"), ("per-table", "paged"),
                                             ("consistent", "streamed")])
def test_killed_data_connection_fails_plainly_and_leaves_nothing(mode, shape, admin, fresh_db, repo, sessions):
    """``paged``: an integer key and short columns (read in batches of server-built lines);
    ``streamed``: a TEXT column (read row by row through an unbuffered cursor)."""
    db = fresh_db("kill")
    _make_office(admin, db, big=False)
    create_big_table(admin, db, text_note=shape == "streamed")
    before = repo_state(repo)
    log = EventLog()
    run = BackgroundBackup(repo, _plan(target(db), lock_mode=mode), log)
    run.start()
    log.wait_for(TableProgress, lambda e: e.table == "big")

    def reading_big() -> list:  # polled tightly: a batch query may last only milliseconds
        rows = processlist(admin, "DB = %s AND INFO LIKE %s", (db, "%CONCAT_WS%`big`%"))
        return [r for r in rows if r[0] in sessions.ids] or run.finished_at is not None

    found = wait_until(reading_big, interval=0.005, what="the data session's SELECT on `big`")
    assert found is not True, "the table was read completely before the SELECT could be seen and killed"
    with admin.cursor() as cur:
        cur.execute(f"KILL {int(found[0][0])}")

    error = run.failure()
    assert isinstance(error, OdbackupError), f"not an engine error: {error!r}"
    assert isinstance(error, DatabaseError), repr(error)
    assert_plain(error)
    sessions.assert_all_gone(admin)  # (a) nothing of ours left on the server, so no lock
    write_completes(_office_insert(db), within=5.0)  # (b) the office can write
    assert_failed_cleanly(repo, before)  # (c) no repository lock, no snapshot, (d) check is clean
    del error
    assert run.forget() == [], "errors escaped while the failed dump was cleaned up"


# --- 2. tables dropped or altered during the dump ---------------------------------------------------


def _make_three_tables(admin, db: str, middle: str) -> None:
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
        for name in ("a_first", middle, "c_last"):
            cur.execute(f"CREATE TABLE `{db}`.`{name}` (id INT PRIMARY KEY, name VARCHAR(20), qty INT NOT NULL)"
                        " ENGINE=MyISAM")
            cur.execute(f"INSERT INTO `{db}`.`{name}` VALUES (1, 'one', 1), (2, 'two', 2), (3, NULL, 3)")
        cur.execute(f"CREATE TABLE `{db}`.d_inno (id INT PRIMARY KEY, v VARCHAR(10)) ENGINE=InnoDB")
        cur.execute(f"INSERT INTO `{db}`.d_inno VALUES (1, 'x'), (2, 'y')")


def _tables_of(admin, db: str) -> set[str]:
    with admin.cursor() as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (db,))
        return {r[0] for r in cur.fetchall()}


def _meanwhile(mode: str, statements: list[str]):
    """A hook running ``statements`` from another connection in the middle of the dump:
    per-table mode, once ``a_first`` is dumped (its lock still held); consistent mode,
    after the definitions were read and before the global lock is requested."""
    other = server_conn()
    done = []

    def due(event) -> bool:
        if mode == "per-table":
            return isinstance(event, TableDumped) and event.table == "a_first"
        return isinstance(event, DatabasePreflight)

    def hook(event):
        if due(event) and not done:
            done.append(True)
            with other.cursor() as cur:
                for sql in statements:
                    cur.execute(sql)

    return hook, other, done


@pytest.mark.parametrize("mode", ["per-table", "consistent"])
def test_table_dropped_during_the_dump_is_skipped_and_named(mode, admin, fresh_db, repo):
    db, copy = fresh_db("drop"), fresh_db("drop_copy")
    _make_three_tables(admin, db, "b_gone")
    kept = ("a_first", "c_last", "d_inno")
    expected = {t: table_contents(admin, db, t) for t in kept}
    log = EventLog()
    hook, other, done = _meanwhile(mode, [f"DROP TABLE `{db}`.b_gone"])
    log.hooks.append(hook)
    try:
        result = run_backup(repo, _plan(target(db), lock_mode=mode), on_event=log)
    finally:
        other.close()
    assert done, "the table was never dropped"

    assert not result.complete
    assert [(e.database, e.table) for e in log.of(TableSkipped)] == [(db, "b_gone")]
    assert [p for p, _ in result.skipped] == [f"{db}.b_gone"]
    snap = repo.find_snapshot("latest")
    assert snap.snapshot_id == result.snapshot_id and not snap.complete
    outcome = restore_database(repo, snap, target(copy))
    assert outcome.problems == ()
    assert _tables_of(admin, copy) == set(kept)
    for t in kept:
        assert table_contents(admin, copy, t) == expected[t], t


ALTERATIONS = {
    "add-column": ["ALTER TABLE `{db}`.b_alter ADD COLUMN note VARCHAR(20) NOT NULL DEFAULT 'added'",
                   "INSERT INTO `{db}`.b_alter VALUES (100, 'after', 7, 'set after alter')"],
    "drop-column": ["ALTER TABLE `{db}`.b_alter DROP COLUMN qty",
                    "INSERT INTO `{db}`.b_alter VALUES (100, 'after')"],
    "change-type": ["ALTER TABLE `{db}`.b_alter MODIFY qty VARCHAR(10) NOT NULL",
                    "UPDATE `{db}`.b_alter SET qty = 'seven' WHERE id = 1"],
}


@pytest.mark.parametrize("alteration", sorted(ALTERATIONS))
@pytest.mark.parametrize("mode", ["per-table", "consistent"])
def test_table_altered_during_the_dump_is_never_restored_wrong(mode, alteration, admin, fresh_db, repo):
    db, copy = fresh_db("alter"), fresh_db("alter_copy")
    _make_three_tables(admin, db, "b_alter")
    log = EventLog()
    hook, other, done = _meanwhile(mode, [sql.format(db=db) for sql in ALTERATIONS[alteration]])
    log.hooks.append(hook)
    try:
        result = run_backup(repo, _plan(target(db), lock_mode=mode), on_event=log)
    finally:
        other.close()
    assert done, "the alteration never ran"
    now = {t: table_contents(admin, db, t) for t in ("a_first", "b_alter", "c_last", "d_inno")}

    outcome = restore_database(repo, repo.find_snapshot("latest"), target(copy))
    assert outcome.problems == ()
    skipped = [e.table for e in log.of(TableSkipped)]
    if skipped:  # skipped and named: honest
        assert skipped == ["b_alter"] and not result.complete
        assert "b_alter" not in _tables_of(admin, copy)
    else:  # read with its new definition: the restore shows what the server shows
        assert result.complete
        assert table_contents(admin, copy, "b_alter") == now["b_alter"], (
            "the altered table was backed up with its old definition and restores differently from the server,"
            " yet the snapshot says it is complete")
    for t in ("a_first", "c_last", "d_inno"):
        assert table_contents(admin, copy, t) == now[t], t


# --- 3. the server down, or refusing us -------------------------------------------------------------------


def _fails(repo, plan: BackupPlan, kind: type[DatabaseError]) -> DatabaseError:
    before = repo_state(repo)
    with pytest.raises(DatabaseError) as info:
        run_backup(repo, plan)
    assert type(info.value) is kind, repr(info.value)
    assert_failed_cleanly(repo, before)
    return info.value


def test_server_unreachable(repo, sessions):
    nowhere = DbTarget(host="127.0.0.1", port=1, user="root", database="opendental", password="")
    error = _fails(repo, _plan(nowhere), ServerUnreachable)
    assert "127.0.0.1:1" in str(error)
    assert_plain(error)
    assert sessions.ids == []


def test_wrong_password_is_access_denied_and_never_shown(admin, fresh_db, repo, make_user):
    db = fresh_db("pw")
    _make_office(admin, db, big=False)
    right, wrong = f"Right-{secrets.token_hex(8)}", f"Wr0ng-{secrets.token_hex(8)}"
    user = make_user(right, f"SELECT, LOCK TABLES ON `{db}`.*")
    error = _fails(repo, _plan(DbTarget(user=user, database=db, password=wrong)), AccessDenied)
    assert user in str(error)
    assert_plain(error, wrong, right)


def test_unknown_database(admin, fresh_db, repo):
    missing = fresh_db("absent")  # never created
    error = _fails(repo, _plan(target(missing)), UnknownDatabase)
    assert missing in str(error)
    assert_plain(error)


@pytest.mark.parametrize(("mode", "privilege"), [("consistent", "RELOAD"), ("per-table", "LOCK TABLES")])
def test_missing_privilege_is_named(mode, privilege, admin, fresh_db, repo, make_user, sessions):
    db = fresh_db("priv")
    _make_office(admin, db, big=False)
    password = f"Pw-{secrets.token_hex(8)}"
    user = make_user(password, f"SELECT ON `{db}`.*")  # no RELOAD, no LOCK TABLES
    error = _fails(repo, _plan(DbTarget(user=user, database=db, password=password), lock_mode=mode),
                   MissingPrivilege)
    assert_plain(error, password)
    shown = f"{error} {error.hint or ''}"
    assert privilege in shown, f"the missing privilege {privilege} is not named: {shown!r}"
    assert sessions.ids, "the backup never connected"
    sessions.assert_all_gone(admin)
    write_completes(f"INSERT INTO `{db}`.appointment VALUES (3, 12, 'exam')", within=3.0)


# --- 4. Ctrl+C while the global read lock is held -----------------------------------------------------------


@pytest.mark.parametrize(("moment", "shape"), [("lock-taken", "paged"), ("mid-table", "paged"),
                                               ("mid-table", "streamed")])
def test_cancel_under_the_lock_releases_it_at_once(moment, shape, admin, fresh_db, repo, sessions):
    db = fresh_db("cancel")
    _make_office(admin, db, big=False)
    create_big_table(admin, db, text_note=shape == "streamed")
    before = repo_state(repo)
    log, cancel = EventLog(), threading.Event()
    run = BackgroundBackup(repo, _plan(target(db)), log, cancel)
    run.start()
    if moment == "lock-taken":
        log.wait_for(LockTaken)
    else:
        log.wait_for(TableProgress, lambda e: e.table == "big")
    cancel.set()
    cancelled_at = time.monotonic()
    writer = Writer().start(_office_insert(db))  # waits while the global read lock is still held
    try:
        writer.wait(DEADLINE)
    finally:
        writer.close()
    error = run.failure()

    print(f"cancel -> Cancelled raised {run.finished_at - cancelled_at:.2f} s,"
          f" -> the office's INSERT done {writer.finished - cancelled_at:.2f} s")
    assert isinstance(error, Cancelled), repr(error)
    assert_plain(error)
    assert run.finished_at - cancelled_at < 5.0, f"cancel took {run.finished_at - cancelled_at:.1f} s"
    sessions.assert_all_gone(admin)
    assert writer.finished - cancelled_at < 4.0, (
        f"the office's INSERT waited {writer.finished - cancelled_at:.1f} s after the cancel")
    assert_failed_cleanly(repo, before)
    del error
    assert run.forget() == [], "errors escaped while the cancelled dump was cleaned up"


# --- 4a. cancel while the lock is asked for ------------------------------------------------------------------


def _our_lock_requests(admin, sessions) -> list[tuple]:
    rows = processlist(admin, "INFO LIKE 'FLUSH TABLES WITH READ LOCK%%'")
    return [r for r in rows if r[0] in sessions.ids]


def test_cancel_while_the_lock_is_asked_for_withdraws_the_request_at_once(admin, fresh_db, repo, sessions):
    """The request waits behind a long UPDATE (and the office's writes wait behind the request):
    a cancel withdraws it within a second, not when the watchdog would have given it up, and
    the backup says what happened: never granted, and how long the office could wait."""
    db = fresh_db("cancelask")
    _make_office(admin, db, big=False)
    with admin.cursor() as cur:
        cur.execute(f"CREATE TABLE `{db}`.report (id INT PRIMARY KEY, v INT) ENGINE=MyISAM")
        cur.execute(f"INSERT INTO `{db}`.report VALUES (1, 0)")
    before = repo_state(repo)
    blocker = Writer().start(f"UPDATE `{db}`.report SET v = SLEEP(60) WHERE id = 1")
    office = None
    try:
        wait_until(lambda: processlist(admin, "ID = %s AND STATE = 'User sleep'", (blocker.thread_id,)),
                   what="the blocking statement to run")
        log, cancel = EventLog(), threading.Event()
        run = BackgroundBackup(repo, _plan(target(db), lock_timeout=30.0), log, cancel)
        run.start()
        requested_at, _ = log.wait_for(LockRequested)
        wait_until(lambda: any((r[3] or "").lower().startswith("waiting") for r in _our_lock_requests(admin, sessions)),
                   what="our lock request to wait")
        office = Writer().start(f"INSERT INTO `{db}`.appointment VALUES (70, 1, 'walk-in')")
        wait_until(lambda: is_waiting(admin, office.thread_id), what="the office's INSERT to wait")
        cancel.set()
        cancelled_at = time.monotonic()
        wait_until(lambda: not _our_lock_requests(admin, sessions), timeout=10.0, interval=0.02,
                   what="our lock request to leave the process list")
        gone_after = time.monotonic() - cancelled_at
        office.wait(DEADLINE)
        error = run.failure()
    finally:
        kill(blocker.thread_id, query_only=True)
        blocker.close()
        if office is not None:
            office.close()

    print(f"cancel -> the request gone after {gone_after:.2f} s, the office's INSERT done after "
          f"{office.finished - cancelled_at:.2f} s")
    assert gone_after < 1.0, f"the lock request stayed {gone_after:.1f} s after the cancel"
    assert office.finished - cancelled_at < 1.0, "the office's INSERT stayed blocked after the cancel"
    assert isinstance(error, Cancelled) and "asked for the lock" in str(error), repr(error)
    assert_plain(error)
    assert not log.of(LockTaken) and not log.of(LockReleased)
    withdrawn = log.of(LockWithdrawn)
    assert len(withdrawn) == 1 and not withdrawn[0].granted, withdrawn
    assert cancelled_at - requested_at <= withdrawn[0].office_wait <= office.finished - requested_at + 0.05
    sessions.assert_all_gone(admin)
    assert_failed_cleanly(repo, before)
    del error
    assert run.forget() == [], "errors escaped while the cancelled dump was cleaned up"


# --- 4b. the backup stops moving under the lock ----------------------------------------------------------


def test_a_backup_that_stops_moving_under_the_lock_lets_the_office_go_on(admin, fresh_db, repo, sessions,
                                                                            monkeypatch):
    """The backup drive stops answering while the global read lock is held (the readers wait
    on it and read nothing): after ``stall_timeout`` the lock is ended on the server, the
    office's waiting write completes, and once the drive answers the backup fails plainly."""
    db = fresh_db("stall")
    _make_office(admin, db)
    before = repo_state(repo)
    drive = threading.Event()  # set: the drive answers again
    real = readers.TableReaders._store

    def hung(self, conn, state, part):
        drive.wait(DEADLINE)
        return real(self, conn, state, part)

    monkeypatch.setattr(readers.TableReaders, "_store", hung)
    log = EventLog()
    run = BackgroundBackup(repo, _plan(target(db), stall_timeout=1.5), log)
    run.start()
    taken_at, _ = log.wait_for(LockTaken)
    writer = Writer().start(_office_insert(db))  # waits: the global read lock is held
    try:
        writer.wait(DEADLINE)
    finally:
        writer.close()
    released_at, released = log.wait_for(LockReleased)
    drive.set()
    error = run.failure()

    assert writer.finished - taken_at < 1.5 + 3.0, f"the office waited {writer.finished - taken_at:.1f} s"
    assert released.held >= 1.5 and released_at <= writer.finished + 0.5
    assert type(error) is DatabaseError and "stopped moving for 1.5 s" in str(error), repr(error)
    assert_plain(error)
    sessions.assert_all_gone(admin)
    assert_failed_cleanly(repo, before)
    del error
    assert run.forget() == [], "errors escaped while the stalled dump was cleaned up"


# --- 5. the lock watchdog ------------------------------------------------------------------------------------


def test_lock_watchdog_gives_up_and_the_office_goes_on(admin, fresh_db, repo, sessions):
    db = fresh_db("watchdog")
    _make_office(admin, db, big=False)
    with admin.cursor() as cur:
        cur.execute(f"CREATE TABLE `{db}`.report (id INT PRIMARY KEY, v INT) ENGINE=MyISAM")
        cur.execute(f"INSERT INTO `{db}`.report VALUES (1, 0), (2, 0)")
    before = repo_state(repo)
    # A long write statement: FLUSH TABLES WITH READ LOCK must wait for it.
    blocker = Writer().start(f"UPDATE `{db}`.report SET v = SLEEP(30) WHERE id = 1")
    office = None
    try:
        wait_until(lambda: processlist(admin, "ID = %s AND STATE = 'User sleep'", (blocker.thread_id,)),
                   what="the blocking statement to run")
        log = EventLog()
        run = BackgroundBackup(repo, _plan(target(db), lock_timeout=1.5, lock_retries=2, retry_pause=0.5), log)
        run.start()
        log.wait_for(LockRequested)

        def our_flush_waits() -> bool:
            rows = processlist(admin, "INFO LIKE 'FLUSH TABLES WITH READ LOCK%%'")
            return any(r[0] in sessions.ids and (r[3] or "").lower().startswith("waiting") for r in rows)

        wait_until(our_flush_waits, what="our lock request to wait")
        office = Writer().start(f"INSERT INTO `{db}`.appointment VALUES (50, 1, 'walk-in')")
        seen_waiting = wait_until(lambda: "waiting" if is_waiting(admin, office.thread_id) else office.done,
                                  what="the office's INSERT to wait or finish")
        assert seen_waiting == "waiting", "the office's INSERT was not blocked while our lock request waited"
        gave_up_at, _ = log.wait_for(LockGaveUp)
        office.wait(DEADLINE)
        assert office.finished - gave_up_at < 3.0, "the office's INSERT stayed blocked after we gave up"
        error = run.failure()
    finally:
        kill(blocker.thread_id, query_only=True)
        blocker.close()
        if office is not None:
            office.close()

    assert type(error) is DatabaseError, repr(error)
    assert "could not lock" in str(error).lower()
    assert_plain(error)
    assert len(log.of(LockRequested)) == 2
    gave_up = log.of(LockGaveUp)
    assert [g.attempt for g in gave_up] == [1, 2]
    for g in gave_up:
        assert any(q.startswith(f"#{blocker.thread_id} ") and "SLEEP(30)" in q for q in g.blocking_queries), (
            g.blocking_queries)
    assert not log.of(LockTaken)
    assert any(s.acquiring and s.waiting >= 1 for s in log.of(LockStatus)), (
        "the monitor never reported the waiting office while our lock was requested")
    sessions.assert_all_gone(admin)
    write_completes(f"INSERT INTO `{db}`.appointment VALUES (51, 1, 'after')", within=3.0)
    assert_failed_cleanly(repo, before)


def test_on_servers_where_a_killed_flush_stays_pending_a_long_query_is_waited_out(admin, fresh_db, repo, sessions,
                                                                                 monkeypatch):
    """(MySQL, MariaDB before 10.4: played here by saying so.) A report has run longer than the
    lock timeout: the global lock is not even asked for (the office would wait behind the report
    even after giving up), the office writes on, and the backup fails naming the query."""
    from engine.database import locking

    monkeypatch.setattr(locking, "flush_outlives_its_kill", lambda version: True)
    db = fresh_db("longreport")
    _make_office(admin, db, big=False)
    before = repo_state(repo)
    report = Writer().start(f"SELECT SLEEP(30) FROM `{db}`.appointment LIMIT 1")
    try:
        wait_until(lambda: processlist(admin, "ID = %s AND TIME_MS > 1200", (report.thread_id,)),
                   what="the report to run for over a second")
        log = EventLog()
        run = BackgroundBackup(repo, _plan(target(db), lock_timeout=1.0, lock_retries=2, retry_pause=0.3), log)
        run.start()
        error = run.failure()
        write_completes(f"INSERT INTO `{db}`.appointment VALUES (60, 1, 'walk-in')", within=2.0)
    finally:
        kill(report.thread_id, query_only=True)
        report.close()

    assert type(error) is DatabaseError and "Could not lock" in str(error), repr(error)
    gave_up = log.of(LockGaveUp)
    assert len(gave_up) == 2 and all("not asked for" in e.reason for e in gave_up), gave_up
    assert any("SLEEP(30)" in q for q in gave_up[0].blocking_queries), gave_up[0].blocking_queries
    assert not log.of(LockRequested), "the lock was asked for behind the long query"
    sessions.assert_all_gone(admin)
    assert_failed_cleanly(repo, before)
