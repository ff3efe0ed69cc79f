"""SVG snapshots of every screen at 80x24 and 120x40 (pytest-textual-snapshot).

The screens get fixed data (the loaders are replaced, the clock is frozen, paths are
fixed), so the pictures only change when the layout or the words do. Update them with
``pytest tests/tui/test_snapshots.py --snapshot-update`` and look at the report.
"""
from __future__ import annotations

import os
import threading
from datetime import UTC, datetime

import pytest
from textual.worker import get_current_worker
from tuihelpers import SIZE_LARGE, SIZE_SMALL, settle, settle_layout

from engine import events as ev
from engine.backup import BackupResult
from engine.database.preflight import DatabaseSummary
from engine.errors import RepositoryLocked
from engine.repository.records import DatabaseSource, FolderSource, SnapshotBody, SnapshotStats
from engine.repository.snapshot import Snapshot
from engine.settings import DatabaseSettings, DestinationCheck, Settings
from engine.status import LastBackup, State, Verification
from tui.app import OdbackupApp
from tui.screens import backup as backupmod
from tui.screens import dashboard, logs, preflight, restore, snapshots, verify
from tui.screens.common import post_events
from tui.screens.modals import ErrorScreen
from tui.screens.setup.draft import SetupDraft
from tui.widgets import fmt, live

NOW = datetime(2025, 6, 30, 18, 5, tzinfo=UTC)
SETTINGS = Settings(repository="/media/usb/odbackup", images_folder="/srv/OpenDentImages",
                    database=DatabaseSettings(name="opendental"))
SIZES = pytest.mark.parametrize("size", [SIZE_SMALL, SIZE_LARGE], ids=["80x24", "120x40"])
SNAP_ID = "3f9a2c41" + "0" * 56
TABLES = ("appointment", "claimproc", "patient", "procedurelog", "securitylog")


def at(hour: int, minute: int = 0, day: int = 30) -> str:
    return datetime(2025, 6, day, hour, minute, tzinfo=UTC).isoformat()


STATUS = State(
    "/media/usb/odbackup", snapshots=12,
    last=LastBackup(SNAP_ID, at(16, 5), True, 18_204, 41_900_000_000, 312.0, None),
    last_success=at(16, 5), verification=Verification("a1b2c3d4" + "0" * 56, at(10, day=20), True),
    stored_bytes=9_800_000_000, logical_bytes=480_000_000_000,
    destination=DestinationCheck("/media/usb/odbackup", True, True, True, 380_000_000_000, 1_000_000_000_000, 0),
    expected_lock=42.0, expected_lock_measured=True,
    recent=tuple(LastBackup(f"{n:x}" * 8 + "0" * 56, at(16 - n), n != 2, 18_204 - n, 41_900_000_000, 300.0,
                            True if n == 3 else None) for n in range(1, 7)),
)


@pytest.fixture(autouse=True)
def fixed_world(monkeypatch, tmp_path):
    monkeypatch.setenv("TERM", "xterm-256color")  # the colours of Windows Terminal and most SSH clients
    monkeypatch.setenv("COLORTERM", "truecolor")
    monkeypatch.setattr(fmt, "now", lambda: NOW)
    monkeypatch.setattr(live, "clock", lambda: 1000.0)
    monkeypatch.setattr(dashboard, "load_status", lambda settings, secret=None: STATUS)
    monkeypatch.setattr(logs, "log_dir", lambda: "/var/log/odbackup")


def app() -> OdbackupApp:
    return OdbackupApp(SETTINGS)


def push(screen_factory):
    async def run_before(pilot) -> None:
        await settle(pilot)
        pilot.app.push_screen(screen_factory())
        await settle(pilot)
    return run_before


@SIZES
def test_dashboard(snap_compare, size):
    assert snap_compare(app(), terminal_size=size, run_before=settle)


def test_dashboard_in_16_colours(snap_compare, monkeypatch):
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.delenv("COLORTERM")
    assert snap_compare(app(), terminal_size=SIZE_SMALL, run_before=settle)


@SIZES
def test_help(snap_compare, size):
    assert snap_compare(app(), terminal_size=size, press=["question_mark"], run_before=settle)


@SIZES
def test_error_dialog(snap_compare, size):
    error = RepositoryLocked("The repository is in use by odbackup on FRONTDESK (process 4242), since 18:01.")
    assert snap_compare(app(), terminal_size=size, run_before=push(lambda: ErrorScreen(error)))


@SIZES
def test_snapshots(snap_compare, size, monkeypatch):
    rows = [snapshots.SnapshotRow(f"{n:x}" * 8, at(16 - n), complete=n != 2, files=18_000 + n,
                                  bytes=41_900_000_000, bytes_added=10_000_000,
                                  verified_at=at(17 - n) if n % 3 == 0 else None,
                                  verified_ok=True if n % 3 == 0 else None)
            for n in range(1, 9)]
    monkeypatch.setattr(snapshots, "load_snapshots", lambda settings, secret: rows)

    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)

    assert snap_compare(app(), terminal_size=size, run_before=run_before)


PREFLIGHT = preflight.PreflightInfo(ev.DatabasePreflight(
    database="opendental", server="127.0.0.1:3306", tables=408, non_transactional=tuple(f"t{n}" for n in range(402)),
    transactional=6, data_bytes=6_400_000_000, lock_mode="consistent",
    connections=("od@FRONTDESK (opendental)", "od@HYGIENE1 (opendental)", "od@DRJONES (opendental)"),
    long_queries=("#812 od@BILLING running 95 s: SELECT * FROM claimproc JOIN ...",),
    estimated_lock_seconds=42.0, sees_all_connections=True), 10.0)


@SIZES
def test_preflight(snap_compare, size, monkeypatch):
    monkeypatch.setattr(preflight, "run_preflight", lambda settings, secret: PREFLIGHT)

    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)

    assert snap_compare(app(), terminal_size=size, run_before=run_before)


def fake_backup(until_lock: bool):
    """A backup job that sends a fixed story of events (and, mid-lock, waits to be photographed)."""

    def job(screen, settings, lock_mode, secret):
        send = post_events(screen, "backup")
        send(ev.BackupStarted("/media/usb/odbackup", ("/srv/OpenDentImages", "mysql://root@127.0.0.1:3306/opendental")))
        send(ev.DatabasePreflight("opendental", "127.0.0.1:3306", 5, TABLES, 0, 900_000_000, "consistent", (), (),
                                  42.0, True))
        send(ev.LockRequested("all tables (global read lock)", TABLES))
        send(ev.LockTaken("all tables (global read lock)", TABLES, 0.02))
        for name, rows in zip(TABLES[:3], (120_000, 480_000, 22_000), strict=True):
            send(ev.TableDumped("opendental", name, rows, rows * 180, 2.5, False))
        send(ev.LockStatus("all tables (global read lock)", TABLES, 3, 4.2, ("procedurelog", "securitylog"), 9.5,
                           False))
        if until_lock:
            get_current_worker().cancelled_event.wait(30)
            raise backupmod.Cancelled()
        send(ev.TableDumped("opendental", "procedurelog", 2_100_000, 380_000_000, 20.1, False))
        send(ev.TableSkipped("opendental", "securitylog", "the table was dropped during the backup"))
        send(ev.LockReleased("all tables (global read lock)", 31.4))
        send(ev.DatabaseDumped("opendental", 4, 2_722_000, 512_000_000, 31.4, 35.0))
        send(ev.BackupProgress(18_204, 41_900_000_000, 18_204, 41_900_000_000, 120_000_000, "", 280.0))
        send(ev.FileSkipped("/srv/OpenDentImages/S/SmithJohn1234/scan.pdf", "permission denied"))
        return BackupResult(SNAP_ID, False, 18_204, 41_900_000_000, 130_000_000, 120_000_000, 312.0), \
            "/var/log/odbackup/20250630-180500-backup.log"

    return job


@SIZES
def test_backup_while_the_lock_is_held(snap_compare, size, monkeypatch):
    monkeypatch.setattr(preflight, "run_preflight", lambda settings, secret: PREFLIGHT)
    monkeypatch.setattr(backupmod, "backup_job", fake_backup(until_lock=True))

    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        await pilot.press("enter")
        for _ in range(200):
            await pilot.pause(0.02)
            banner = pilot.app.screen.query(live.LockBanner)
            if banner and banner.first().waiting:
                break

    assert snap_compare(app(), terminal_size=size, run_before=run_before)


@SIZES
def test_backup_result(snap_compare, size, monkeypatch):
    monkeypatch.setattr(preflight, "run_preflight", lambda settings, secret: PREFLIGHT)
    monkeypatch.setattr(backupmod, "backup_job", fake_backup(until_lock=False))

    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await settle_layout(pilot)  # the result panel grows and the table above it lays out again: let it settle

    assert snap_compare(app(), terminal_size=size, run_before=run_before)


@SIZES
def test_verify_result(snap_compare, size, monkeypatch):
    choice = verify.SnapshotChoice(SNAP_ID, at(16, 5), True, (("opendental", "127.0.0.1:3306", "root"),))
    monkeypatch.setattr(verify, "load_choices", lambda settings, secret: [choice])

    def job(screen, settings, snapshot_id, server, password, secret):
        send = post_events(screen, "verify")
        send(ev.VerifyStarted(SNAP_ID, ("odbackup_verify_3f9a2c41_opendental_*",)))
        for n, name in enumerate(TABLES):
            send(ev.TableVerified("opendental", name, 1000 * (n + 1), 1000 * (n + 1), True, "OK"))
        send(ev.FilesVerified(18_204, 41_900_000_000, ()))
        return verify.VerifyOutcome(True, (), "/var/lib/odbackup/reports/verify-3f9a2c41-20250630T180500.txt", 12)

    monkeypatch.setattr(verify, "verify_job", job)

    async def run_before(pilot) -> None:
        await push(verify.VerifyScreen)(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)

    assert snap_compare(app(), terminal_size=size, run_before=run_before)


class FakeRepo:
    """Just enough of a repository for the browser (its contents are fixed)."""

    def require_full_key(self) -> None:
        return None

    def find_snapshot(self, ref: str) -> None:
        return None


@SIZES
def test_restore_browser(snap_compare, size, monkeypatch):
    snaps = []
    for n, when in enumerate((at(16, 5), at(12), at(16, 5, day=29))):
        snap = Snapshot(f"{n + 3:x}" * 64, when, "SERVER", True, SnapshotStats(0, 0, 0, 0, 0.0, 0), b"", b"", b"")
        snap.body = SnapshotBody("odbackup", (
            DatabaseSource("opendental", "127.0.0.1:3306", "10.11", "00", "consistent", 0.0, 408, 2_722_000,
                           6_400_000_000, user="root"),
            FolderSource("OpenDentImages", "/srv/OpenDentImages", "00", 0o755, 0)))
        snaps.append(snap)
    monkeypatch.setattr(restore, "load", lambda settings, secret: (FakeRepo(), snaps))

    async def run_before(pilot) -> None:
        await push(restore.RestoreScreen)(pilot)
        await pilot.press("down", "down")

    assert snap_compare(app(), terminal_size=size, run_before=run_before)


@SIZES
def test_logs(snap_compare, size, monkeypatch):
    from tui.joblog import LogFile, LogLine

    files = [LogFile(f"/var/log/odbackup/{n}.log", job, datetime(2025, 6, 30 - n, 18, 5), errors, 0)
             for n, (job, errors) in enumerate((("backup", 0), ("verify", 0), ("backup", 2), ("restore", 0)))]
    lines = [LogLine("2025-06-28 18:05:01", "INFO", "Backing up /srv/OpenDentImages, mysql://root@127.0.0.1:3306"
                     "/opendental to /media/usb/odbackup"),
             LogLine("2025-06-28 18:05:02", "WARN", "warning: /srv/OpenDentImages/S/SmithJohn1234/scan.pdf: "
                     "permission denied"),
             LogLine("2025-06-28 18:05:40", "ERROR", "Repository in use: The repository is in use by odbackup on "
                     "FRONTDESK (process 4242)."),
             LogLine("2025-06-28 18:05:40", "ERROR", "What to do: Wait for the other run to finish.")]
    monkeypatch.setattr(logs, "list_logs", lambda: files)
    monkeypatch.setattr(logs, "read_log", lambda path: lines if path.endswith("2.log") else lines[:1])

    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        await pilot.press("down", "down")
        await settle(pilot)

    assert snap_compare(app(), terminal_size=size, run_before=run_before)


def setup_app() -> OdbackupApp:
    return OdbackupApp(None)


@SIZES
def test_setup_welcome(snap_compare, size):
    assert snap_compare(setup_app(), terminal_size=size)


@SIZES
def test_setup_server(snap_compare, size):
    from tui.screens.setup.server import ServerStep

    assert snap_compare(setup_app(), terminal_size=size, run_before=push(lambda: ServerStep(SetupDraft())))


DATABASES = [DatabaseSummary("mysql_test", 0, 0, 0, 0, ()),
             DatabaseSummary("opendental", 408, 6_400_000_000, 402, 6_300_000_000, (("MyISAM", 402), ("InnoDB", 6)),
                             2_500_000_000),
             DatabaseSummary("opendental_old", 379, 3_100_000_000, 379, 3_100_000_000, (("MyISAM", 379),),
                             1_200_000_000)]


@SIZES
def test_setup_database(snap_compare, size):
    from tui.screens.setup.database import DatabaseStep

    assert snap_compare(setup_app(), terminal_size=size,
                        run_before=push(lambda: DatabaseStep(SetupDraft(), DATABASES)))


@SIZES
def test_setup_folders(snap_compare, size):
    from tui.screens.setup.folders import FoldersStep

    draft = SetupDraft(images_folder="/nowhere/OpenDentImages")
    assert snap_compare(setup_app(), terminal_size=size, run_before=push(lambda: FoldersStep(draft)))


@SIZES
def test_setup_encryption(snap_compare, size):
    from tui.screens.setup.encryption import EncryptionStep

    draft = SetupDraft(repository="/media/usb/odbackup")
    assert snap_compare(setup_app(), terminal_size=size,
                        run_before=push(lambda: EncryptionStep(draft, existing=False)))


@SIZES
def test_setup_encryption_once_the_repository_exists(snap_compare, size, monkeypatch):
    """Back from the last step after the repository was created: no passphrase to choose any
    more, the enrolment as it is, the actions that apply at once."""
    from tui.screens.setup import encryption

    monkeypatch.setattr(encryption, "machine_enrolled", lambda location: False)
    draft = SetupDraft(repository="/media/usb/odbackup", repository_ready="/media/usb/odbackup",
                       repository_how="created")
    assert snap_compare(setup_app(), terminal_size=size,
                        run_before=push(lambda: encryption.EncryptionStep(draft, existing=True)))


@SIZES
def test_setup_recovery_key(snap_compare, size):
    from tui.screens.setup.recovery import RecoveryStep

    key = "RK-7QK2M-0HV9D-X4T1C-8WNZE-BF3P6-J5RAY-M2G0Q-KS8HT"
    assert snap_compare(setup_app(), terminal_size=size,
                        run_before=push(lambda: RecoveryStep(SetupDraft(), key, asked=(2, 5))))


@SIZES
def test_setup_finish(snap_compare, size):
    from tui.screens.setup.finish import FinishStep

    draft = SetupDraft(database="opendental", database_bytes=6_400_000_000, images_folder="/srv/OpenDentImages",
                       images_bytes=40_000_000_000, extra_folders=["/srv/OfficeDocs"],
                       repository="/media/usb/odbackup", enrolled=True)
    assert snap_compare(setup_app(), terminal_size=size, run_before=push(lambda: FinishStep(draft)))


@SIZES
def test_setup_finish_after_installing_the_schedule(snap_compare, size, monkeypatch):
    from tui.screens.frequency import ScheduleReport
    from tui.screens.setup import finish

    monkeypatch.setattr(finish, "save", lambda draft: SETTINGS)
    monkeypatch.setattr(finish, "install_schedule", lambda settings: ScheduleReport((
        "Wrote /etc/cron.d/odbackup (2 job(s)).", "The schedule in the operating system (cron):",
        "backup: installed, next run tonight at 9:00 pm", "intraday: not installed (off in the settings)",
        "maintenance: installed, next run Sun 06 Jul at 11:30 pm"), headline="Installed: next backup tonight at 9:00 pm."))
    draft = SetupDraft(database="opendental", images_folder="/srv/OpenDentImages", repository="/media/usb/odbackup",
                       enrolled=True)

    async def run_before(pilot) -> None:
        await push(lambda: finish.FinishStep(draft))(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        await settle_layout(pilot)  # the answer is scrolled into view once it is laid out

    assert snap_compare(setup_app(), terminal_size=size, run_before=run_before)


def test_snapshot_inputs_do_not_depend_on_this_machine():
    assert not os.path.exists("/media/usb/odbackup")  # the fixed paths above are only words
    assert threading.current_thread() is threading.main_thread()


@SIZES
def test_passphrase_dialog(snap_compare, size):
    from tui.screens.modals import PassphraseScreen

    assert snap_compare(app(), terminal_size=size, run_before=push(lambda: PassphraseScreen("/media/usb/odbackup")))


@SIZES
def test_restore_database_dialog(snap_compare, size):
    from tui.screens.restore_dialogs import RestoreDatabaseDialog

    dialog = lambda: RestoreDatabaseDialog("opendental", "127.0.0.1:3306", "root", at(16, 5),  # noqa: E731
                                           ("127.0.0.1:3306", "opendental"))
    assert snap_compare(app(), terminal_size=size, run_before=push(dialog))


@SIZES
@pytest.mark.parametrize("found", [True, False], ids=["replace", "new"])
def test_restore_database_dialog_confirmation(snap_compare, size, found):
    """What will happen, in place of the fields: replacing the live database (its name to type),
    or the exact name of the new database; the buttons in view at 80x24."""
    from engine.database.connection import DbTarget
    from tui.screens.restore_dialogs import RestoreDatabaseDialog

    name = "opendental" if found else "opendental_restored_20250630_1605"
    existing = DatabaseSummary("opendental", 408, 6_400_000_000, 300, 10, ()) if found else None

    async def run_before(pilot) -> None:
        await push(lambda: RestoreDatabaseDialog("opendental", "127.0.0.1:3306", "root", at(16, 5),
                                                 ("127.0.0.1:3306", "opendental")))(pilot)
        dialog = pilot.app.screen
        dialog.target = DbTarget(host="127.0.0.1", port=3306, user="root", database=name)
        dialog.checked(existing)
        await settle(pilot)

    assert snap_compare(app(), terminal_size=size, run_before=run_before)


@SIZES
def test_setup_destination(snap_compare, size):
    from tui.screens.setup.destination import DestinationStep

    draft = SetupDraft(repository="/media/usb/odbackup", database_bytes=6_400_000_000)
    assert snap_compare(setup_app(), terminal_size=size, run_before=push(lambda: DestinationStep(draft)))


@SIZES
def test_setup_demo(snap_compare, size, monkeypatch):
    from tui.screens.setup import demo

    monkeypatch.setenv("XDG_DATA_HOME", "/home/office/.local/share")
    monkeypatch.setattr(demo, "free_database_name", lambda draft: "opendental_demo")
    assert snap_compare(setup_app(), terminal_size=size, run_before=push(lambda: demo.DemoStep(SetupDraft())))


@SIZES
def test_restore_files_back_in_place_warning(snap_compare, size):
    """The files dialog after choosing "back in place": exactly what would be replaced, and the path to type."""
    from engine.folders.restore import RestorePreview
    from tui.screens.restore_dialogs import RestoreFilesDialog

    found = RestorePreview(destinations=("D:\\OpenDentImages",), live=("D:\\OpenDentImages",), new_files=12,
                           new_bytes=4_100_000, replaced=("OpenDentImages/S/SmithJohn1234/xray_2024-03-01_12.jpg",
                                                          "OpenDentImages/S/SmithJohn1234/scan_1.pdf",
                                                          "OpenDentImages/T/TaylorAnn77/xray_2023-11-09_03.jpg",
                                                          "OpenDentImages/T/TaylorAnn77/notes.txt"),
                           replaced_bytes=1_900_000, unchanged=18_190, problems=())
    dialog = lambda: RestoreFilesDialog((), at(16, 5), ("D:\\OpenDentImages",),  # noqa: E731
                                        lambda folder, original: found)

    async def run_before(pilot) -> None:
        await push(dialog)(pilot)
        pilot.app.screen.query_one("#original").value = True
        await pilot.pause()
        pilot.app.screen.submit()
        await settle(pilot)
        await settle_layout(pilot)  # the dialog scrolls to the warning once it is laid out

    assert snap_compare(app(), terminal_size=size, run_before=run_before)


@SIZES
def test_frequency(snap_compare, size, monkeypatch):
    from tui.screens import frequency

    monkeypatch.setattr(frequency, "read_schedule", lambda calendars: frequency.ScheduleReport((
        "The schedule in the operating system (cron):", "backup: installed, next run tonight at 9:00 pm",
        "intraday: not installed (off in the settings)", "maintenance: installed, next run Sun 06 Jul at 11:30 pm"),
        headline="Installed: next backup tonight at 9:00 pm."))
    monkeypatch.setattr(frequency, "retention_preview", lambda settings, retention, secret:
                        "Applied now it keeps 12 backup(s), removes 3 and would free about 1.2 GiB.")
    assert snap_compare(app(), terminal_size=size, run_before=push(frequency.FrequencyScreen))


@SIZES
def test_setup_frequency(snap_compare, size):
    from tui.screens.setup.frequency import FrequencyStep

    draft = SetupDraft(repository="/media/usb/odbackup", database="opendental", images_folder="/srv/OpenDentImages")
    assert snap_compare(setup_app(), terminal_size=size, run_before=push(lambda: FrequencyStep(draft)))
