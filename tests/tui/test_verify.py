"""Verify-restore from the app: pick, run, per-table results, one verdict, the report."""
from __future__ import annotations

import os

from tuihelpers import PASSPHRASE, SIZE_SMALL, admin_conn, lines_of, settle, text_of

from engine.backup import run_backup
from engine.repository.repo import Repository
from engine.settings import Settings
from tui.app import OdbackupApp
from tui.screens.dashboard import DashboardScreen
from tui.screens.modals import PassphraseScreen
from tui.screens.verify import VerifyScreen, parse_server
from tui.widgets.live import TableList
from tui.widgets.verdict import Verdict, big


def backup(settings: Settings) -> str:
    repo = Repository.open(settings.repository)
    repo.unlock(PASSPHRASE)
    return run_backup(repo, settings.backup_plan()).snapshot_id


async def open_verify(pilot) -> VerifyScreen:
    await settle(pilot)
    await pilot.press("v")
    await settle(pilot)
    assert isinstance(pilot.app.screen, PassphraseScreen)  # contents need the passphrase
    await pilot.press(*PASSPHRASE, "enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, VerifyScreen)
    return screen


async def test_verify_the_latest_passes_with_a_report(db_settings):
    backup(db_settings)
    latest = backup(db_settings)
    app = OdbackupApp(db_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        screen = await open_verify(pilot)
        assert screen.state == "ready"
        assert screen.chosen().snapshot_id == latest
        assert screen.query_one("#server").value == "127.0.0.1:3306"
        scratch = text_of(screen.query_one("#scratch"))
        assert f"odbackup_verify_{latest[:8]}_{db_settings.database.name}_<random>" in scratch
        assert "never an existing one" in scratch
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert screen.state == "done"
        table = screen.query_one(TableList)
        assert table.row_count == 3 and table.bad_rows == 0
        assert ["patient", "50", "50", "same", "OK"] in [[str(c) for c in table.get_row_at(n)] for n in range(3)]
        verdict = screen.query_one(Verdict)
        assert verdict.ok is True
        assert "restores completely and exactly" in text_of(verdict)
        assert "Files: 9 files decrypted" in text_of(screen.query_one("#checked"))
        report = text_of(screen.query_one("#report-path")).removeprefix("Report: ")
        assert os.path.exists(report) and "PASSED" in open(report).read()
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        shown = lines_of(app.screen, "#last-verification")[0]
        assert shown.startswith("PASSED ") and shown.endswith(f"snapshot {latest[:8]}")


async def test_verify_onto_a_server_that_does_not_answer_fails_plainly(db_settings):
    backup(db_settings)
    app = OdbackupApp(db_settings)
    app.secret = PASSPHRASE
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)
        screen = app.screen
        screen.query_one("#server").value = "db1:abc"
        await pilot.press("ctrl+n")
        assert "is not a server: write HOST:PORT" in text_of(screen.query_one("#scratch"))
        assert screen.state == "ready"
        screen.query_one("#server").value = "127.0.0.1:1"
        await pilot.press("ctrl+n")
        await settle(pilot)
        verdict = screen.query_one(Verdict)
        assert verdict.ok is False
        assert "does not answer" in text_of(verdict)


def test_big_words_and_server_parsing():
    assert big("PASSED").splitlines()[0].startswith("█▀█ ▄▀█")
    assert len(big("FAILED").splitlines()) == 2
    target = parse_server("db1:3307", "backup")
    assert (target.host, target.port, target.user) == ("db1", 3307, "backup")
    assert parse_server("db1", "").port == 3306


async def test_stopping_a_verification_asks_then_drops_the_scratch_database(db_settings, monkeypatch):
    import threading

    import engine.database.restore as restoremod
    from tui.screens.modals import ConfirmScreen

    entered, release = threading.Event(), threading.Event()
    original = restoremod.DatabaseRestorer.create_tables

    def gated(self, conn):
        entered.set()
        release.wait(60)
        return original(self, conn)

    monkeypatch.setattr(restoremod.DatabaseRestorer, "create_tables", gated)
    backup(db_settings)
    app = OdbackupApp(db_settings)
    app.secret = PASSPHRASE
    try:
        async with app.run_test(size=SIZE_SMALL) as pilot:
            await settle(pilot)
            await pilot.press("v")
            await settle(pilot)
            screen = app.screen
            await pilot.press("ctrl+n")
            while not entered.is_set():
                await pilot.pause(0.05)
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.click("#yes")
            await pilot.pause()
            assert screen.state == "stopping"
            release.set()
            await settle(pilot)
            assert screen.state == "cancelled"
            assert "the scratch database was deleted" in text_of(screen.query_one("#phase"))
            assert app.busy is None
            # and nothing on screen says otherwise ("the new database is incomplete")
            assert not [n.message for n in app._notifications], "a note contradicts the screen"
    finally:
        release.set()


async def test_a_merge_table_is_a_note_not_a_problem_under_a_passed_verdict(db_settings):
    """A MERGE table is backed up as its definition (its rows are its tables'): once it is
    restored it is no problem, and the screen, the report and the verdict all say the same."""
    live = db_settings.database.name
    conn = admin_conn()
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE `{live}`.patient_all (PatNum BIGINT NOT NULL, LName VARCHAR(100), KEY (PatNum))"
                    f" ENGINE=MRG_MyISAM UNION=(`{live}`.patient) INSERT_METHOD=LAST")
    conn.close()
    backup(db_settings)
    app = OdbackupApp(db_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        screen = await open_verify(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert screen.query_one(Verdict).ok is True
        table = screen.query_one(TableList)
        assert table.row_count == 4 and table.bad_rows == 0
        rows = {str(table.get_row_at(n)[0]): [str(c) for c in table.get_row_at(n)] for n in range(4)}
        assert rows["patient_all"] == ["patient_all", "0", "0", "restored", "definition only"]
        phase = text_of(screen.query_one("#phase"))
        assert "4 tables compared, 0 with problems" in phase and "1 definition only" in phase
        report = open(text_of(screen.query_one("#report-path")).removeprefix("Report: ")).read()
    assert "Verdict:   PASSED" in report
    assert "4 tables compared, 0 with problems, 1 definition only" in report
    assert "BAD" not in report and "Problems:" not in report


async def test_the_table_list_fills_as_tables_are_compared(db_settings, monkeypatch):
    """While one table is still being read, the ones already compared (and CHECKed) are listed."""
    import threading
    import time

    from engine.database import compare

    holding, shown = threading.Event(), threading.Event()
    original = compare._checksum

    def held(raw, table, parts, *, scan, stop):
        if table.name == "patient":
            holding.set()
            shown.wait(15)
        return original(raw, table, parts, scan=scan, stop=stop)

    monkeypatch.setattr(compare, "_checksum", held)
    backup(db_settings)
    app = OdbackupApp(db_settings)
    app.secret = PASSPHRASE
    try:
        async with app.run_test(size=SIZE_SMALL) as pilot:
            await settle(pilot)
            await pilot.press("v")
            await settle(pilot)
            screen = app.screen
            await pilot.press("ctrl+n")
            table = screen.query_one(TableList)
            deadline = time.monotonic() + 15
            while not (holding.is_set() and table.row_count == 2) and time.monotonic() < deadline:
                await pilot.pause(0.05)
            listed = {str(table.get_row_at(n)[0]): [str(c) for c in table.get_row_at(n)]
                      for n in range(table.row_count)}
            assert sorted(listed) == ["newtable", "procedurelog"] and screen.state == "running"
            assert listed["procedurelog"] == ["procedurelog", "50", "50", "same", "OK"]
            shown.set()
            await settle(pilot)
            assert screen.state == "done" and table.row_count == 3 and table.bad_rows == 0
    finally:
        shown.set()


async def test_long_names_the_check_table_column_and_the_report_path_fit_80_columns(db_settings, monkeypatch):
    """At 80x24, beside a long table name and nine-digit row counts, the CHECK TABLE column shows
    (no sideways scrolling), and the report's path is shown whole."""
    from engine import events as ev
    from tui.screens import verify
    from tui.screens.common import post_events

    snap = "3f9a2c41" + "0" * 56
    path = "/home/frontdesk.smithdental/.local/share/odbackup/reports/verify-3f9a2c41-20250630T180500.txt"
    choice = verify.SnapshotChoice(snap, "2025-06-30T16:05:00+00:00", True, (("opendental", "127.0.0.1:3306", "root"),))
    monkeypatch.setattr(verify, "load_choices", lambda settings, secret: [choice])

    def job(screen, settings, snapshot_id, server, password, secret):
        send = post_events(screen, "verify")
        for n, name in enumerate(("appointment", "requiredfieldconditionlonger", "securitylog")):
            send(ev.TableVerified("opendental", name, 123_000_000 * (n + 1), 123_000_000 * (n + 1), True, "OK"))
        send(ev.FilesVerified(18_204, 41_900_000_000, ()))
        return verify.VerifyOutcome(True, (), path, 12)

    monkeypatch.setattr(verify, "verify_job", job)
    app = OdbackupApp(db_settings)
    app.secret = PASSPHRASE
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        screen = app.screen
        table = screen.query_one(TableList)
        assert table.virtual_size.width <= table.scrollable_content_region.width, "CHECK TABLE is cut"
        report = screen.query_one("#report-path")
        shown = "".join(strip.text.strip() for strip in report.render_lines(report.region.reset_offset))
        assert shown == f"Report:{path}"
        assert report.region.bottom <= screen.query_one("Footer").region.y


async def test_missing_patient_files_make_the_verdict_fail_in_plain_words(enrolled, fresh_db, tmp_path):
    """The demo practice with two of its document files deleted: the app's verdict is FAILED and
    says the backup restores, but which patient files the database names are not in it."""
    from engine.opendental.demo import create_demo
    from engine.settings import DatabaseSettings, save_settings

    db, images = fresh_db("demo"), str(tmp_path / "AtoZ" / "OpenDentImages")
    conn = admin_conn()
    try:
        create_demo(conn, db, images, scale=0.05)
    finally:
        conn.close()
    files = sorted(os.path.relpath(os.path.join(d, f), images).replace(os.sep, "/")
                   for d, _s, names in os.walk(images) for f in names)
    for gone in files[:2]:
        os.remove(os.path.join(images, gone))
    settings = Settings(repository=enrolled, images_folder=images,
                        database=DatabaseSettings(name=db, lock_timeout=5.0))
    save_settings(settings)
    backup(settings)
    app = OdbackupApp(settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        screen = await open_verify(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert screen.state == "done"
        assert screen.query_one(TableList).bad_rows == 0  # the tables are fine: the verdict is about the files
        verdict = screen.query_one(Verdict)
        assert verdict.ok is False
        said = " ".join(text_of(verdict).split())
        assert "Restores, but 2 patient files the database names are not in the backup." in said
        assert files[0] in said
        checked = " ".join(text_of(screen.query_one("#checked")).split())
        assert f"{len(files)} patient files the database names checked" in checked and "2 missing" in checked
        report = open(text_of(screen.query_one("#report-path")).removeprefix("Report: ")).read()
    assert "Verdict:   FAILED: restores, but 2 patient files the database names are not in the backup." in report
