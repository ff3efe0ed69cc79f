"""Home screen, help and snapshots: what they say, and their keys."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from tuihelpers import PASSPHRASE, SIZE_SMALL, lines_of, settle, text_of

from engine.backup import BackupPlan, run_backup
from engine.repository.repo import Repository
from engine.runlog import RunRecord
from engine.settings import DatabaseSettings, Settings
from engine.status import LastBackup, State, Verification, alerts
from tui.app import OdbackupApp
from tui.screens.dashboard import DashboardScreen, alert_line
from tui.screens.help import HelpScreen, help_renderable
from tui.screens.modals import ErrorScreen, PassphraseScreen
from tui.screens.snapshots import SnapshotsScreen
from tui.widgets import fmt


def backup_now(settings: Settings) -> str:
    repo = Repository.open(settings.repository)
    repo.unlock(PASSPHRASE)
    return run_backup(repo, BackupPlan(settings.folders)).snapshot_id


async def test_new_repository_says_no_backup_yet(folder_settings):
    app = OdbackupApp(folder_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        assert lines_of(screen, "#last-backup") == ["No backup yet."]
        assert lines_of(screen, "#last-verification") == ["Never verified."]
        assert lines_of(screen, "#repository")[1].startswith("0 snapshots")
        assert any("No backup yet: press b" in line for line in lines_of(screen, "#alerts"))


async def test_after_a_backup_it_shows_when_and_what(folder_settings):
    snap = backup_now(folder_settings)
    app = OdbackupApp(folder_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        last = lines_of(app.screen, "#last-backup")
        assert last[0].startswith("just now (") and last[0].endswith("), complete")
        assert last[1].startswith("9 files")
        assert "1 snapshot" in lines_of(app.screen, "#repository")[1]
        warnings = lines_of(app.screen, "#alerts")
        assert any("has ever been verified" in w for w in warnings), warnings
        assert not any("No backup yet" in w for w in warnings)
        assert app.screen.status.last.snapshot_id == snap


async def test_not_enrolled_asks_for_the_passphrase_on_u(repo_path, images):
    settings = Settings(repository=repo_path, images_folder=images)
    app = OdbackupApp(settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        assert any("not enrolled" in a for a in lines_of(app.screen, "#alerts"))
        await pilot.press("u")
        await pilot.pause()
        assert isinstance(app.screen, PassphraseScreen)
        await pilot.press(*"wrong passphrase", "enter")
        await settle(pilot)
        assert isinstance(app.screen, PassphraseScreen)
        assert "does not unlock" in text_of(app.screen.query_one("#passphrase-problem"))
        await pilot.press(*PASSPHRASE, "enter")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert app.secret == PASSPHRASE
        assert not any("not enrolled" in a for a in lines_of(app.screen, "#alerts"))


async def test_missing_destination_is_an_alert(tmp_path, images):
    settings = Settings(repository=str(tmp_path / "usb" / "odbackup"), images_folder=images)
    app = OdbackupApp(settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        assert any("is not there: connect the USB drive" in a for a in lines_of(app.screen, "#alerts"))


def test_alerts_follow_the_clock_and_name_the_keys():
    """The engine decides the alerts (tests/engine/test_status.py); the dashboard names its keys."""
    now = datetime(2025, 6, 30, 12, tzinfo=UTC)
    settings = Settings(repository="/media/usb/odbackup", database=DatabaseSettings())
    old = (now - timedelta(hours=30)).isoformat()
    status = State("/media/usb/odbackup", snapshots=3,
                   last=LastBackup("a" * 64, old, False, 10, 100, 2.0), last_success=old,
                   verification=Verification("a" * 64, (now - timedelta(days=40)).isoformat(), True),
                   expected_lock=45.0, needs_secret=True)
    assert [alert_line(a) for a in alerts(settings, status, now, tz=UTC)] == [
        ("warning", "This machine is not enrolled, so scheduled backups cannot run: press u to unlock, "
                    "or enroll it in Setup."),
        ("critical", "The backup scheduled for Sun 29 Jun 21:00 did not happen (last successful: a day ago): "
                     "press b to back up now, and see Logs."),
        ("warning", "The last backup is incomplete (some files or tables could not be read): see Logs."),
        ("warning", "Not verified in 30 days (last: a month ago): press v."),
        ("warning", "A backup now makes the office's changes wait about 45 seconds (estimate): back up after "
                    "hours, or choose per-table locking in Setup."),
    ]
    failed_run = RunRecord("backup", "schedule", old, old, "failed", "Repository locked.", 5)
    assert alert_line(alerts(settings, State("/x", runs=(failed_run,), problem="x"), now)[-1]) == (
        "critical", f"The scheduled backup run ({old}) failed: Repository locked: see Logs.")
    empty = State("/x", snapshots=0)
    assert [alert_line(a) for a in alerts(settings, empty, now)] == [("critical", "No backup yet: press b to back up now.")]
    fresh = State("/x", snapshots=1, last=LastBackup("b" * 64, now.isoformat(), True, 1, 1, 1.0),
                  last_success=now.isoformat())
    assert [alert_line(a) for a in alerts(settings, fresh, now)] == [
        ("warning", "No backup has ever been verified: press v to verify the latest.")]
    failed = dataclasses.replace(fresh, verification=Verification("b" * 64, now.isoformat(), False))
    assert [alert_line(a) for a in alerts(settings, failed, now)] == [
        ("critical", "The last verification FAILED (just now): see its report, then back up and verify again.")]


async def test_all_good_is_said_in_green(folder_settings, monkeypatch):
    """With nothing to attend to, the engine's one "All good" alert is the list."""
    from engine.settings import DestinationCheck
    from tui.screens import dashboard
    from tui.widgets.panels import AlertList

    now = datetime.now(UTC).isoformat()
    good = State(folder_settings.repository, snapshots=1, last=LastBackup("c" * 64, now, True, 1, 1, 1.0),
                 last_success=now, verification=Verification("c" * 64, now, True),
                 destination=DestinationCheck(folder_settings.repository, True, True, True, 500, 1000, 0))
    monkeypatch.setattr(dashboard, "load_status", lambda settings, secret=None: good)
    app = OdbackupApp(folder_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        assert lines_of(app.screen, "#alerts") == ["All good: nothing needs attention."]
        assert not app.screen.query_one("#alerts", AlertList).has_class("-alarm")


async def test_every_action_has_a_key_and_help_lists_them(folder_settings):
    app = OdbackupApp(folder_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        keys = {b.key for b in DashboardScreen.BINDINGS}
        assert {"b", "v", "r", "s", "e", "l", "question_mark"} <= keys
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
    from rich.console import Console

    console = Console(width=100, record=True, file=open(os.devnull, "w"))
    console.print(help_renderable())
    text = console.export_text()
    for words in ("Back up", "Cancel backup", "Verify this", "Next error", "Switch lock mode", "Next"):
        assert words in text


async def test_snapshots_list_newest_first(folder_settings):
    first = backup_now(folder_settings)
    with open(os.path.join(folder_settings.images_folder, "new.txt"), "w") as f:
        f.write("changed")
    second = backup_now(folder_settings)
    app = OdbackupApp(folder_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SnapshotsScreen)
        assert [r.snapshot_id for r in screen.rows] == [second, first]
        assert all(r.verified_at is None for r in screen.rows)
        assert "2 snapshots, newest first; 2 never verified" in text_of(screen.query_one("#snapshots-summary"))
        assert screen.selected() == second
        await pilot.press("down")
        assert screen.selected() == first
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)


async def test_unreadable_settings_say_what_to_do(isolated_env):
    from engine.settings import settings_path

    os.makedirs(os.path.dirname(settings_path()), exist_ok=True)
    with open(settings_path(), "w") as f:
        f.write("repository = [unclosed")
    from tui import app as appmod

    settings, problem = None, None
    try:
        settings = appmod.load_settings()
    except appmod.SettingsError as exc:
        problem = exc
    app = OdbackupApp(settings, settings_problem=problem)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ErrorScreen)
        assert "not valid TOML" in text_of(app.screen.query_one("#error-message"))
        assert "Run the setup again" in text_of(app.screen.query_one("#error-hint"))


async def test_a_16_colour_terminal_gets_the_terminals_own_colours(folder_settings, monkeypatch):
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.delenv("COLORTERM", raising=False)
    monkeypatch.delenv("TEXTUAL_COLOR_SYSTEM", raising=False)
    app = OdbackupApp(folder_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        assert app.theme == "ansi-dark"


def test_expected_lock_window_comes_from_the_last_backup_when_the_server_is_away(db_settings):
    """The dashboard still knows how long a backup locks the office out when the server cannot be asked."""
    from tui.screens.dashboard import load_status

    repo = Repository.open(db_settings.repository)
    repo.unlock(PASSPHRASE)
    run_backup(repo, db_settings.backup_plan())
    [snap] = repo.snapshots()
    away = dataclasses.replace(db_settings, database=dataclasses.replace(db_settings.database, port=1))
    status = load_status(away, PASSPHRASE)
    assert status.database_problem
    assert status.expected_lock == snap.stats.lock_window and status.expected_lock_measured
    texts = [a.text for a in alerts(away, status, datetime.now(UTC))]
    assert any(t.startswith("The database cannot be reached") for t in texts)
    big = dataclasses.replace(status, expected_lock=95.0)
    assert any("wait about 1 minute" in t and "(last backup)" in t for t in (a.text for a in alerts(away, big, datetime.now(UTC))))


async def test_sizes_include_the_database_as_the_cli_shows_them_and_the_ratio_shows(db_settings):
    """The dashboard's last backup, the Snapshots screen and ``odbackup snapshots`` give one size
    (folders and database), and the deduplication ratio shows with a database configured."""
    repo = Repository.open(db_settings.repository)
    repo.unlock(PASSPHRASE)
    run_backup(repo, db_settings.backup_plan())
    run_backup(repo, db_settings.backup_plan())
    stats = repo.snapshots()[-1].stats
    assert stats.db_bytes is not None and stats.db_bytes > 0
    whole = fmt.size(stats.bytes + stats.db_bytes)
    cli = subprocess.run([sys.executable, "-m", "tui.cli", "snapshots", "--repo", db_settings.repository],
                         capture_output=True, text=True, env={**os.environ, "ODBACKUP_PASSPHRASE": PASSPHRASE})
    assert cli.returncode == 0, cli.stderr
    assert whole in cli.stdout.splitlines()[-1]
    app = OdbackupApp(db_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        last = lines_of(app.screen, "#last-backup")[1]
        assert f"9 files and 1 database, {whole}, took" in last
        assert "deduplication" in lines_of(app.screen, "#repository")[1]
        await pilot.press("s")
        await settle(pilot)
        table = app.screen.query_one("#snapshots")
        assert [str(cell) for cell in table.get_row_at(0)][3] == whole


def fake_system(tmp_path, monkeypatch, scheduler: str | None):
    """The operating system's folders below ``tmp_path`` (tests/cli/test_schedule_cli.py): a
    process called ``scheduler`` runs there (None: no scheduler at all)."""
    root = tmp_path / "system"
    (root / "etc" / "cron.d").mkdir(parents=True)
    (root / "proc" / "7").mkdir(parents=True)
    (root / "proc" / "7" / "comm").write_text(f"{scheduler or 'bash'}\n")
    monkeypatch.setenv("ODBACKUP_TEST_SCHEDULE_ROOT", str(root))
    return root


async def test_next_runs_from_the_settings_say_not_installed_when_no_scheduler_runs(folder_settings, tmp_path,
                                                                                   monkeypatch):
    fake_system(tmp_path, monkeypatch, None)
    app = OdbackupApp(folder_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        lines = lines_of(app.screen, "#next-runs")
        assert lines[0::2] == ["Backup:", "Maintenance:"]
        assert all(line.endswith("(not installed)") for line in lines[1::2]), lines
        assert any("schedule could not be read: Neither systemd nor cron is running" in a
                   for a in lines_of(app.screen, "#alerts"))


@pytest.mark.skipif(os.geteuid() != 0, reason="the cron schedule goes into /etc/cron.d as root")
async def test_next_runs_as_the_operating_system_has_them(folder_settings, tmp_path, monkeypatch):
    from engine.schedule import install, install_cron

    fake_system(tmp_path, monkeypatch, "cron")
    install_cron.install(install.scheduled_jobs(folder_settings.schedule.calendars()))
    app = OdbackupApp(folder_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        lines = lines_of(app.screen, "#next-runs")
        assert lines[0::2] == ["Backup:", "Maintenance:"]
        assert not any("installed" in line for line in lines), lines
        assert lines[1].endswith("at 9:00 pm")
        assert not any("schedule" in a for a in lines_of(app.screen, "#alerts"))
