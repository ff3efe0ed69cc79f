"""Back up now: preflight, live progress, the lock banner with a real blocked writer, cancel."""
from __future__ import annotations

import threading
import time

import pytest
from textual.worker import get_current_worker
from tuihelpers import PASSPHRASE, SIZE_SMALL, admin_conn, lines_of, settle, text_of

import engine.database.readers as readers
from engine.repository.repo import Repository
from tui.app import OdbackupApp
from tui.joblog import list_logs, read_log
from tui.screens.backup import BackupScreen
from tui.screens.dashboard import DashboardScreen
from tui.screens.modals import ConfirmScreen
from tui.screens.preflight import PreflightScreen
from tui.widgets.live import LockBanner, TableList


async def wait_for(pilot, predicate, timeout: float = 30.0, what: str = "") -> None:
    """Poll the app (handling its messages) until ``predicate()`` holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await pilot.pause(0.05)


@pytest.fixture
def gate(monkeypatch):
    """Holds the database backup while it reads the patient table (under its lock) until released.

    The tests lock per table: a global read lock waits for every running statement on the
    shared test server, whoever runs it, so it would make them depend on other jobs."""
    entered, release = threading.Event(), threading.Event()
    original = readers.TableReaders._store

    def gated(self, conn, state, part):
        if state.table.name == "patient":
            entered.set()
            release.wait(60)
        return original(self, conn, state, part)

    monkeypatch.setattr(readers.TableReaders, "_store", gated)
    yield entered, release
    release.set()


def snapshot_count(path: str) -> int:
    repo = Repository.open(path)
    repo.unlock(PASSPHRASE)
    return len(repo.snapshots())


async def test_folder_backup_shows_the_result_and_writes_a_log(folder_settings):
    app = OdbackupApp(folder_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BackupScreen)
        assert screen.state == "done"
        result = lines_of(screen, "#result")
        assert result[0].startswith("Backup saved: snapshot ")
        assert result[1] == "Folders: 9 files, 18.5 KiB."
        assert "Nothing was skipped." in result
        assert app.busy is None
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert app.screen.status.snapshots == 1
    log = list_logs()[0]
    assert log.job == "backup" and log.errors == 0
    assert any("Snapshot" in line.text and "saved" in line.text for line in read_log(log.path))


async def test_preflight_says_what_will_be_locked_and_switches_mode(db_settings):
    app = OdbackupApp(db_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PreflightScreen)
        text = text_of(screen.query_one("#preflight-text"))
        assert f"Database {db_settings.database.name} on 127.0.0.1:3306: 3 tables" in text
        assert "2 MyISAM tables: locked while they are read" in text
        assert "1 InnoDB table: never block anyone" in text
        assert ("Consistent locking (chosen): every table on this server (this database's and every other "
                "database's) is read-only for the office for about") in text
        assert "first-run guess" in text
        await pilot.press("p")
        assert screen.lock_mode == "per-table"
        assert "Per-table locking (chosen)" in text_of(screen.query_one("#preflight-text"))
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
    assert snapshot_count(db_settings.repository) == 0


async def test_database_backup_fills_in_the_tables(db_settings):
    app = OdbackupApp(db_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        await pilot.press("p", "enter")  # per-table, continue
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BackupScreen)
        assert screen.lock_mode == "per-table" and screen.state == "done"
        tables = screen.query_one(TableList)
        assert [str(tables.get_row_at(n)[0]) for n in range(tables.row_count)] == [
            "newtable", "patient", "procedurelog"]
        assert str(tables.get_row_at(1)[1]) == "50"
        result = lines_of(screen, "#result")
        assert result[1].startswith(f"Database {db_settings.database.name}: 3 tables, 101 rows, ")
        assert result[2] == "Folders: 9 files, 18.5 KiB."
        assert not screen.query_one(LockBanner).shown
    assert snapshot_count(db_settings.repository) == 1


async def test_lock_banner_shows_a_blocked_writer_and_goes_away(db_settings, gate):
    entered, release = gate
    db = db_settings.database.name
    app = OdbackupApp(db_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        await pilot.press("p", "enter")  # per-table locking
        screen = app.screen
        banner = screen.query_one(LockBanner)
        await wait_for(pilot, lambda: entered.is_set() and banner.shown and not banner.acquiring, what="the lock")
        assert "READ-ONLY FOR THE OFFICE NOW: table patient" in banner.text().plain
        writer_done = threading.Event()

        def writer() -> None:
            conn = admin_conn()
            with conn.cursor() as cur:
                cur.execute(f"UPDATE `{db}`.patient SET LName = 'Waiting' WHERE PatNum = 1")
            conn.close()
            writer_done.set()

        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        await wait_for(pilot, lambda: banner.waiting >= 1, what="the blocked writer in the banner")
        assert not writer_done.is_set()  # really blocked by our lock
        text = banner.text().plain
        assert "1 statement of the office waiting on patient" in text
        assert "Lock held" in text
        await pilot.press("ctrl+q")  # keys answer at once while the lock is held; quitting asks first
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen) and "A backup is running" in text_of(
            app.screen.query_one("#confirm-text"))
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        release.set()
        await wait_for(pilot, lambda: not banner.shown, what="the banner to go")
        await wait_for(pilot, writer_done.is_set, what="the writer to go on")
        await settle(pilot)
        assert screen.state == "done"
        assert "Lock released after" in text_of(screen.query_one("#current")) or screen.state == "done"
    thread.join(5)


async def test_cancel_asks_once_then_stops_and_releases_the_lock(db_settings, gate):
    entered, release = gate
    db = db_settings.database.name
    app = OdbackupApp(db_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        await pilot.press("p", "enter")
        screen = app.screen
        banner = screen.query_one(LockBanner)
        await wait_for(pilot, lambda: entered.is_set() and banner.shown, what="the lock")
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")  # keep going
        await pilot.pause()
        assert app.screen is screen and screen.state == "running"
        await pilot.press("c")
        await pilot.pause()
        await pilot.click("#yes")
        await pilot.pause()
        assert screen.state == "stopping"
        assert "Stopping" in text_of(screen.query_one("#phase"))
        release.set()
        await wait_for(pilot, lambda: screen.state == "cancelled", what="the backup to stop")
        assert not banner.shown
        result = lines_of(screen, "#result")
        assert result[0] == "Backup cancelled."
        assert result[1].startswith("The database lock was released ") and " after you asked to stop" in result[1]
        assert app.busy is None
        conn = admin_conn()  # the office can write at once
        with conn.cursor() as cur:
            cur.execute("SET SESSION lock_wait_timeout = 3")
            cur.execute(f"UPDATE `{db}`.patient SET LName = 'After cancel' WHERE PatNum = 2")
        conn.close()
    assert snapshot_count(db_settings.repository) == 0


async def test_stored_tables_are_shown_in_batches_not_one_redraw_each():
    """Each row drawn as its event arrived cost the UI thread milliseconds taken from the engine
    while the office's tables were locked (379 tables: a 1.8 s lock window in the app against
    0.23 s on the command line). Rows wait for the periodic flush, or for the job's end."""
    from textual.app import App

    from engine import events as ev

    class One(App):
        def compose(self):
            yield TableList(id="tables")

    app = One()
    async with app.run_test() as pilot:
        tables = app.query_one(TableList)
        for name in ("a", "b", "c"):
            tables.done(ev.TableDumped("db", name, 1, 10, 0.0, False))
        assert tables.row_count == 0
        tables.flush()
        assert [str(tables.get_row_at(n)[0]) for n in range(tables.row_count)] == ["a", "b", "c"]
        assert tables.cursor_row == 2
        tables.skipped(ev.TableSkipped("db", "d", "dropped"))
        await wait_for(pilot, lambda: tables.row_count == 4, timeout=5, what="the periodic flush")


async def test_no_time_left_until_it_is_known_and_then_the_folders_own_rate(folder_settings, monkeypatch):
    """A backup whose database took 2.5 s said "about 8 minutes left" for folders read in 3 s:
    the rate counted the database's time. Now: nothing while the total is unknown or barely
    measured, then the folders' own rate."""
    import tui.screens.backup as backupmod
    from engine import events as ev
    from tui.screens.common import post_events

    mb, sent, look = 1_000_000, threading.Event(), threading.Event()
    story = [(1 * mb, 0, 1.0), (2 * mb, 50 * mb, 2.6), (4 * mb, 50 * mb, 2.9),  # said "about 8 minutes"
             (20 * mb, 50 * mb, 7.0), (30 * mb, 50 * mb, 10.6)]  # 28 MB in 8 s since the total was known

    def job(screen, settings, lock_mode, secret):
        send = post_events(screen, "backup")
        for n, (done, total, elapsed) in enumerate(story):
            send(ev.BackupProgress(n, done, 0, total, 0, "S/SmithJohn0/xray0.jpg", elapsed))
            sent.set()
            look.wait(10)
            look.clear()
        get_current_worker().cancelled_event.wait(10)
        raise backupmod.Cancelled()

    monkeypatch.setattr(backupmod, "backup_job", job)
    app = OdbackupApp(folder_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        app.push_screen(BackupScreen(None))
        shown = []
        for _ in story:
            await wait_for(pilot, sent.is_set, timeout=10, what="a progress event")
            sent.clear()
            await pilot.pause()
            shown.append(text_of(app.screen.query_one("#counters")))
            look.set()
        for worker in app.workers:
            worker.cancelled_event.set()
        await settle(pilot)
    assert not any("left" in line for line in shown[:4]), shown
    assert shown[4].endswith("about 5 seconds left"), shown  # 20 MB at 3.5 MB/s


def _requests_of_others(conn, sql_start: str) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute("SELECT ID, STATE FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID()"
                    " AND INFO LIKE %s", (sql_start + "%",))
        return list(cur.fetchall())


async def test_cancel_while_the_lock_is_asked_for_withdraws_it_within_a_second(db_settings):
    """A long UPDATE holds the patient table: the backup's lock request waits behind it (and the
    office's changes with it). The banner says so live; a cancel withdraws the request within a
    second (not at the 5 s lock timeout), and the result says what happened, as measured."""
    db = db_settings.database.name
    blocker = admin_conn()
    blocker_id = blocker.thread_id()
    blocking = threading.Thread(target=lambda: _run_quietly(
        blocker, f"UPDATE `{db}`.patient SET LName = CONCAT(LName, SLEEP(30)) WHERE PatNum = 1"), daemon=True)
    blocking.start()
    watcher = admin_conn()
    app = OdbackupApp(db_settings)
    try:
        async with app.run_test(size=SIZE_SMALL) as pilot:
            await settle(pilot)
            await pilot.press("b")
            await settle(pilot)
            await pilot.press("p", "enter")  # per-table locking: LOCK TABLES `patient` READ LOCAL waits
            screen = app.screen
            banner = screen.query_one(LockBanner)
            await wait_for(pilot, lambda: banner.shown and banner.acquiring and banner.scope == "patient",
                           what="the lock request")
            await wait_for(pilot, lambda: _requests_of_others(watcher, "LOCK TABLES `patient`"),
                           what="the request on the server")
            await wait_for(pilot, lambda: max(banner.reported_age, 0) >= 1.0, what="a tick of the wait")
            said = banner.text().plain
            assert "ASKING FOR THE LOCK: the office's changes to table patient wait now, 1." in said, said
            await pilot.press("c")
            await pilot.pause()
            await pilot.click("#yes")
            confirmed = time.monotonic()
            while _requests_of_others(watcher, "LOCK TABLES `patient`") and time.monotonic() - confirmed < 10:
                await pilot.pause(0.02)
            gone_after = time.monotonic() - confirmed
            await wait_for(pilot, lambda: screen.state == "cancelled", what="the backup to stop")
            result = lines_of(screen, "#result")
            assert text_of(screen.query_one("#phase")) == "Backup stopped."
    finally:
        _run_quietly(watcher, f"KILL QUERY {blocker_id}")
        blocking.join(10)
        blocker.close()
        watcher.close()

    assert gone_after < 1.0, f"the lock request stayed {gone_after:.1f} s after the stop was confirmed"
    assert result[0] == "Backup cancelled."
    assert result[1].startswith("The lock request was withdrawn ") and "after you asked to stop; it was never " \
        "granted. The office's changes could wait " in result[1], result
    assert not any("released at once" in line for line in result), result
    assert snapshot_count(db_settings.repository) == 0


def _run_quietly(conn, sql: str) -> None:
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    except Exception:  # noqa: BLE001 - the blocker is killed at the end
        pass


async def test_ctrl_c_during_a_backup_offers_to_stop_it(db_settings, gate):
    entered, release = gate
    app = OdbackupApp(db_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        await pilot.press("p", "enter")
        screen = app.screen
        await wait_for(pilot, entered.is_set, what="the backup to read the patient table")
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen), app.screen
        assert app.screen.title_text == "Stop the backup?"
        assert not [n for n in app._notifications if "quit" in n.title.lower()], "Textual's quit hint was shown"
        await pilot.click("#yes")
        await pilot.pause()
        assert screen.state == "stopping"
        release.set()
        await wait_for(pilot, lambda: screen.state == "cancelled", what="the backup to stop")
        result = lines_of(screen, "#result")
        assert result[1].startswith("The database lock was released "), result
    assert snapshot_count(db_settings.repository) == 0


async def test_consistent_mode_says_every_table_on_this_server():
    """The global read lock blocks every database's writes (another database's CREATE DATABASE
    waited): the banner, asking and holding, and the preflight say so."""
    from textual.app import App

    from engine import events as ev
    from tui.screens.preflight import PreflightInfo, describe

    scope = "all tables (global read lock)"
    tables = ("appointment", "commlog", "patient")

    class One(App):
        def compose(self):
            yield LockBanner(id="banner")

    app = One()
    async with app.run_test() as pilot:
        banner = app.query_one(LockBanner)
        banner.requested(ev.LockRequested(scope, tables), 10.0)
        await pilot.pause()
        assert "the office's changes to every table on this server wait now" in banner.text().plain
        banner.taken(ev.LockTaken(scope, tables, 0.1))
        assert ("READ-ONLY FOR THE OFFICE NOW: EVERY table on this server (the 3 of this database and every other "
                "database's)") in banner.text().plain
    found = ev.DatabasePreflight("opendental", "127.0.0.1:3306", 3, tables, 0, 1000, "consistent", (), (), 0.4, True)
    said = describe(PreflightInfo(found, 10.0), "consistent").plain
    assert "every table on this server (this database's and every other database's) is read-only" in said, said
    assert "every table on this server" not in describe(PreflightInfo(found, 10.0), "per-table").plain


async def test_a_watchdog_that_cannot_watch_is_said_in_plain_words(folder_settings):
    """The lock watchdog's warning (engine/database/locking.py; the real fault is in
    tests/database/test_readlock.py) as the backup screen shows it."""
    from engine.events import LockWatchLost

    app = OdbackupApp(folder_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BackupScreen)
        screen.show_lock_watch_lost(LockWatchLost("patient", False, 3, "Lost connection to server during query"))
        await settle(pilot)
        shown = [n for n in app._notifications if n.title == "Lock watchdog lost"]
        assert len(shown) == 1 and shown[0].severity == "warning"
        assert shown[0].message.startswith("The lock watchdog cannot watch the office any more: 3 looks")
        assert "(Lost connection to server during query)" in shown[0].message
        assert "the lock is ended now and this backup stops" in shown[0].message


def test_the_preflight_names_patient_files_missing_today():
    """The note on the files the database names that the images folder lacks today."""
    from engine import events as ev
    from tui.screens.preflight import PreflightInfo, describe

    found = ev.DatabasePreflight("opendental", "127.0.0.1:3306", 3, ("patient",), 0, 1000, "consistent", (), (),
                                 0.4, True)
    missing = tuple(f"S/SmithJohn{n}/x.jpg" for n in range(7))
    files = ev.PatientFilesChecked("opendental", "checked", "/srv/OpenDentImages", True, checked=900,
                                   missing=missing, missing_total=12)
    said = describe(PreflightInfo(found, 10.0, files), "consistent").plain
    assert ("12 patient files the database names are missing from the images folder today: S/SmithJohn0/x.jpg, "
            "S/SmithJohn1/x.jpg, S/SmithJohn2/x.jpg, S/SmithJohn3/x.jpg, S/SmithJohn4/x.jpg and 7 more.") in said
    fine = ev.PatientFilesChecked("opendental", "checked", "/srv/OpenDentImages", True, checked=900)
    assert "900 patient files the database names checked against today's images folder: all there." in describe(
        PreflightInfo(found, 10.0, fine), "consistent").plain
    assert "patient file" not in describe(PreflightInfo(found, 10.0), "consistent").plain
