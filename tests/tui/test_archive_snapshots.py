"""SVG snapshots of the archive drives' screens at 80x24 and 120x40: the Archives screen (drives
plugged in or not, due, sealed), a copy that ended with "you may unplug it now", the Add a drive
screen, the setup's Archives step (and with the offsite copy set up; the Online storage dialog
for it; the Finish step listing it), and the dashboard with its Archive drives panel. Fixed data as in
test_snapshots.py (its autouse fixture freezes the clock and the paths)."""
from __future__ import annotations

from dataclasses import replace

from test_snapshots import SIZES, STATUS, app, at, fixed_world, push, setup_app  # noqa: F401  (fixed_world: autouse)
from tuihelpers import settle

from engine import events as ev
from engine.archive.drives import ArchiveBook, ArchiveDrive, Located
from engine.runlog import RunRecord
from tui.screens import archives, dashboard
from tui.screens.common import post_events
from tui.screens.setup.draft import SetupDraft

GIB = 1024**3
DRIVE_A = ArchiveDrive("a" * 32, "Drive A, Tuesdays", hint="/media/office/DRIVE_A/odbackup",
                       last_copy=at(21, day=29), snapshots=31, free_bytes=812 * GIB, total_bytes=1000 * GIB)
DRIVE_B = ArchiveDrive("b" * 32, "Drive B, kept at home", hint="/media/office/DRIVE_B/odbackup",
                       last_copy=at(21, day=21), snapshots=30, free_bytes=790 * GIB, total_bytes=1000 * GIB)
MONTHLY = ArchiveDrive("c" * 32, "Monthly 2025", "monthly", hint="/media/office/ARCHIVE25/odbackup",
                       last_copy=at(9, day=2), snapshots=6, free_bytes=400 * GIB, total_bytes=2000 * GIB,
                       used=((at(9, day=2).replace("-06-", "-04-"), 1600 * GIB), (at(9, day=2), 1940 * GIB)))
BOOK = ArchiveBook(drives=(DRIVE_A, DRIVE_B, MONTHLY))
FOUND = [Located(DRIVE_A, DRIVE_A.hint), Located(DRIVE_B, None), Located(MONTHLY, None)]


def fixed_drives(monkeypatch) -> None:
    monkeypatch.setattr(archives, "load_drives", lambda: (BOOK, FOUND, []))


def open_archives(pilot_keys: tuple[str, ...] = ()):
    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        for key in pilot_keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


@SIZES
def test_archives_screen(snap_compare, size, monkeypatch):
    fixed_drives(monkeypatch)
    assert snap_compare(app(), terminal_size=size, run_before=open_archives())


def fake_copy(screen, settings):
    """The archive job's story: Drive A found, copied, checked; the others not plugged in."""
    send = post_events(screen, "copy")
    send(ev.ArchiveDriveMissing(DRIVE_B.label, DRIVE_B.last_copy))
    send(ev.ArchiveDriveFound(DRIVE_A.label, DRIVE_A.hint, False))
    send(ev.CopyPlanned("/media/usb/odbackup", DRIVE_A.hint, 1, 31, 840, 2_400_000_000, 0))
    send(ev.CopyProgress(840, 840, 2_400_000_000, 2_400_000_000))
    send(ev.ArchiveCopyDone(DRIVE_A.label, DRIVE_A.hint, 1, 31, "809.8 GiB free"))
    record = RunRecord(job="archive", trigger="manual", started=at(18), finished=at(18, 4), result="ok",
                       message="Archive drive copied.", exit_code=0)
    return archives.ArchivesScreen.Copied(record)


@SIZES
def test_archives_copy_done_you_may_unplug(snap_compare, size, monkeypatch):
    fixed_drives(monkeypatch)
    monkeypatch.setattr(archives, "copy_now", fake_copy)
    assert snap_compare(app(), terminal_size=size, run_before=open_archives(("c",)))


@SIZES
def test_archives_add_drive(snap_compare, size, monkeypatch):
    fixed_drives(monkeypatch)
    assert snap_compare(app(), terminal_size=size, run_before=open_archives(("a",)))


@SIZES
def test_setup_archives_step(snap_compare, size):
    from tui.screens.setup.archives import ArchivesStep

    draft = SetupDraft(repository="/media/usb/odbackup", repository_ready="/media/usb/odbackup")
    assert snap_compare(setup_app(), terminal_size=size, run_before=push(lambda: ArchivesStep(draft)))


@SIZES
def test_setup_archives_step_with_the_offsite_copy_set_up(snap_compare, size):
    from engine.offsite.settings import OffsiteSettings
    from tui.screens.setup.archives import ArchivesStep

    draft = SetupDraft(repository="/media/usb/odbackup", repository_ready="/media/usb/odbackup",
                       offsite=OffsiteSettings(enabled=True, location="s3:https://s3.us-west-004.backblazeb2.com/"
                                                                     "practice-backups/offsite"))
    assert snap_compare(setup_app(), terminal_size=size, run_before=push(lambda: ArchivesStep(draft)))


@SIZES
def test_setup_finish_lists_the_offsite_copy(snap_compare, size):
    from engine.offsite.settings import OffsiteSettings
    from tui.screens.setup.finish import FinishStep

    draft = SetupDraft(repository="/media/usb/odbackup", repository_ready="/media/usb/odbackup",
                       images_folder="/srv/OpenDentImages", use_database=False,
                       offsite=OffsiteSettings(enabled=True, location="s3:https://s3.us-west-004.backblazeb2.com/"
                                                                     "practice-backups/offsite"))
    assert snap_compare(setup_app(), terminal_size=size, run_before=push(lambda: FinishStep(draft)))


@SIZES
def test_online_storage_dialog_for_the_offsite_copy(snap_compare, size):
    from tui.screens.setup.online import OnlineStorageDialog

    assert snap_compare(setup_app(), terminal_size=size,
                        run_before=push(lambda: OnlineStorageDialog(purpose="offsite copy")))


@SIZES
def test_dashboard_with_archive_drives(snap_compare, size, monkeypatch):
    status = replace(STATUS, archive_book=BOOK)
    monkeypatch.setattr(dashboard, "load_status", lambda settings, secret=None: status)
    assert snap_compare(app(), terminal_size=size, run_before=settle)

