"""The Archives screen and the setup's Archives step, driven with Pilot on real repositories and
real folders as drives: reached from the dashboard by ``a`` and left by Escape; adding a drive asks
for the passphrase, refuses a folder holding something else (nothing written) and shows the drive's
recovery key once; copy now copies with the machine's credentials and says "you may unplug it now";
a drive that is not plugged in is a reminder; the dashboard shows each drive's state."""
from __future__ import annotations

import os
from pathlib import Path

from textual.widgets import Button, DataTable, Input
from tuihelpers import PASSPHRASE, SIZE_SMALL, lines_of, open_from_home, settle, text_of

from engine.archive.drives import load_book
from engine.backup import BackupPlan, run_backup
from engine.repository import keys as keymod
from engine.repository.repo import Repository
from engine.settings import Settings, save_settings
from tui.app import OdbackupApp
from tui.screens.archives import ArchivesScreen
from tui.screens.archives_add import AddDriveScreen, DriveKeyScreen
from tui.screens.dashboard import DashboardScreen
from tui.screens.modals import PassphraseScreen
from tui.screens.setup.archives import ArchivesStep
from tui.screens.setup.draft import SetupDraft
from tui.screens.setup.finish import FinishStep


def backup_now(settings: Settings) -> str:
    repo = Repository.open(settings.repository)
    repo.use_machine_credentials()
    return run_backup(repo, BackupPlan(settings.folders)).snapshot_id


def snapshot_ids(path: Path) -> set[str]:
    return set(os.listdir(path / "snapshots"))


async def open_archives(pilot) -> ArchivesScreen:
    return await open_from_home(pilot, "a", ArchivesScreen)


async def fill(pilot, selector: str, text: str) -> None:
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    field.value = text
    await pilot.pause()


def said(screen: ArchivesScreen) -> str:
    return text_of(screen.query_one("#archive-said"))


async def test_open_from_the_dashboard_and_escape_back(folder_settings):
    app = OdbackupApp(folder_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        screen = await open_archives(pilot)
        assert text_of(screen.query_one("#archives-summary")).startswith("No archive drive yet")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert not app.screen.query_one("#archives").display  # no archive drives: no panel


async def test_add_a_drive_then_copy_now_then_unplug_it(folder_settings, tmp_path):
    """Wrong folder (refused, nothing written), the passphrase asked once, the key shown once, the
    copy with the machine's credentials, "you may unplug it now", and a reminder when it is gone."""
    first = backup_now(folder_settings)
    busy = tmp_path / "media" / "PHOTOS"
    busy.mkdir(parents=True)
    (busy / "beach.jpg").write_bytes(b"not a backup")
    drive = tmp_path / "media" / "DRIVE_B" / "odbackup"
    app = OdbackupApp(folder_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        screen = await open_archives(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, AddDriveScreen)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert text_of(app.screen.query_one("#add-problem")).startswith("Type the folder on the drive")
        await fill(pilot, "#drive-path", str(busy))
        await fill(pilot, "#drive-label", "Drive B, kept at home")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, PassphraseScreen)  # asked once, kept for the session
        await fill(pilot, "#secret", PASSPHRASE)
        await pilot.press("enter")
        await settle(pilot)
        add = app.screen
        assert isinstance(add, AddDriveScreen)
        assert "not empty and holds no odbackup repository" in text_of(add.query_one("#add-problem"))
        assert os.listdir(busy) == ["beach.jpg"]
        await fill(pilot, "#drive-path", str(drive))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, DriveKeyScreen)
        assert "recovery key open it: no new key" in text_of(app.screen.query_one("#drive-key"))
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        table = screen.query_one(DataTable)
        assert table.row_count == 1
        row = [str(c) for c in table.get_row_at(0)]
        assert row[:5] == ["Drive B, kept at home", "rotating", "yes", "never", "0"] and row[6] == "DUE"

        await pilot.press("c")
        await settle(pilot)
        words = said(screen)
        assert "1 snapshot(s) copied, 1 held" in words and "you may unplug it now" in words, words
        assert snapshot_ids(drive) == {first}
        copied = [str(c) for c in table.get_row_at(0)]
        assert copied[3] != "never" and copied[3].endswith(("now", "ago")) and copied[4] == "1", copied
        assert app.busy is None

        drive.parent.rename(tmp_path / "at-home")
        (tmp_path / "media" / "DRIVE_B").mkdir()  # its mount point stays behind, empty
        await pilot.press("c")
        await settle(pilot)
        words = said(screen)
        assert "Drive B, kept at home: not plugged in." in words
        assert "SKIPPED: No archive drive is plugged in" in words, words
        assert os.listdir(tmp_path / "media" / "DRIVE_B") == []
        assert [str(c) for c in table.get_row_at(0)][2] == "no"

        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        panel = app.screen.query_one("#archives")
        assert panel.display
        [line] = lines_of(app.screen, "#archives")
        assert line.startswith("Drive B, kept at home: copied ") and ", 1 snapshot(s), " in line, line
        assert line.endswith(" free"), line
    assert load_book().drives[0].snapshots == 1


async def test_the_setup_step_adds_a_drive_or_is_skipped(folder_settings, tmp_path):
    draft = SetupDraft.from_settings(folder_settings)
    draft.secret = PASSPHRASE
    app = OdbackupApp(folder_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        app.push_screen(ArchivesStep(draft))
        await settle(pilot)
        step = app.screen
        assert str(step.query_one("#next", Button).label) == "Skip"
        step.query_one("#add-drive", Button).press()
        await settle(pilot)
        assert step.problem_text.startswith("Type the folder on the drive")
        (tmp_path / "PHOTOS").mkdir()
        (tmp_path / "PHOTOS" / "beach.jpg").write_bytes(b"not a backup")
        await fill(pilot, "#drive-path", str(tmp_path / "PHOTOS"))
        await fill(pilot, "#drive-label", "Photos")
        step.query_one("#add-drive", Button).press()
        await settle(pilot)
        assert "not empty and holds no odbackup repository" in step.problem_text
        assert app.focused is step.query_one("#drive-path")  # what to fix
        await fill(pilot, "#drive-path", str(tmp_path / "MONTHLY"))
        await fill(pilot, "#drive-label", "Monthly 2026")
        step.query_one("#drive-monthly").value = True
        await pilot.press("enter")  # Enter in the label field adds the drive
        await settle(pilot)
        assert isinstance(app.screen, DriveKeyScreen)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is step
        assert app.focused is step.query_one("#drive-path")  # ready for the next drive
        assert "Monthly 2026 (monthly" in text_of(step.query_one("#drives-added"))
        assert str(step.query_one("#next", Button).label) == "Next"
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, FinishStep)
        assert "Archive drives: Monthly 2026 (monthly)" in text_of(app.screen.query_one("#summary"))
    [drive] = load_book().drives
    assert (drive.label, drive.kind) == ("Monthly 2026", "monthly")
    assert not (tmp_path / "MONTHLY" / "policy").exists()  # a monthly drive keeps everything


async def test_the_restore_screen_lists_and_restores_the_snapshots_only_a_drive_holds(folder_settings, tmp_path):
    from textual.widgets import Select, Tree

    from engine.archive.enroll import add_drive
    from engine.forget import forget
    from engine.repository.copy import copy_snapshots
    from engine.retention import Policy
    from tui.screens.restore import RestoreScreen
    from tui.screens.restore_dialogs import RestoreFilesDialog

    main = Repository.open(folder_settings.repository)
    main.unlock(PASSPHRASE)
    xray = Path(folder_settings.images_folder) / "S" / "SmithJohn0" / "xray1.jpg"
    before = xray.read_bytes()
    first = run_backup(main, BackupPlan(folder_settings.folders)).snapshot_id
    drive = tmp_path / "DRIVE_B" / "odbackup"
    add_drive(str(drive), "Drive B", "rotating", main, PASSPHRASE, None)
    archive = Repository.open(str(drive))
    archive.use_family_keys(main)
    copy_snapshots(main, archive)
    xray.write_bytes(b"changed since")
    second = run_backup(main, BackupPlan(folder_settings.folders)).snapshot_id
    forget(main, Policy(last=1))  # the main repository keeps only the newest
    assert [s.snapshot_id for s in main.snapshots()] == [second]

    app = OdbackupApp(folder_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        app.secret = PASSPHRASE
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RestoreScreen)
        picker = screen.query_one("#snapshot", Select)
        options = [(str(label), value) for label, value in picker._options if value != Select.BLANK]
        assert [value for _label, value in options] == [second, first]
        assert options[1][0].endswith(f"{first[:8]}  (on Drive B)") and "(on" not in options[0][0]
        picker.value = first
        await settle(pilot)
        tree = screen.query_one(Tree)
        assert "(on the archive drive 'Drive B')" in str(tree.root.label)
        assert screen.repo is not None and screen.repo.location == str(drive)
        tree.focus()
        tree.move_cursor(tree.root)
        await pilot.press("f")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, RestoreFilesDialog)
        dialog.query_one("#folder").value = str(tmp_path / "restored")
        await pilot.press("enter")
        await settle(pilot)
        assert lines_of(screen, "#restore-result")[0].startswith("Restored ")
    assert (tmp_path / "restored" / "OpenDentImages" / "S" / "SmithJohn0" / "xray1.jpg").read_bytes() == before


async def test_a_session_opened_with_the_recovery_key_is_asked_for_the_passphrase_to_add_a_drive(images, tmp_path):
    """The recovery key cannot seal the new drive's passphrase key file: the passphrase is asked for
    again, saying why (before, the recovery key stayed the session's secret and every try failed),
    and the drive made then opens with the main recovery key."""
    main, recovery = Repository.init(str(tmp_path / "main"), PASSPHRASE)
    keymod.enroll_machine(main.keys, main.location)
    settings = Settings(repository=main.location, images_folder=images)
    save_settings(settings)
    drive = tmp_path / "media" / "DRIVE_B" / "odbackup"
    app = OdbackupApp(settings)
    app.secret = recovery  # e.g. unlocked with it to restore, earlier in the session
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await open_archives(pilot)
        await pilot.press("a")
        await settle(pilot)
        await fill(pilot, "#drive-path", str(drive))
        await fill(pilot, "#drive-label", "Drive B, kept at home")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, PassphraseScreen)
        assert text_of(app.screen.query_one("#passphrase-problem")).startswith(
            "Adding an archive drive takes the passphrase, not the recovery key.")
        assert not (drive / "config").exists()
        await fill(pilot, "#secret", PASSPHRASE)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DriveKeyScreen), app.screen
        assert app.secret == PASSPHRASE
    Repository.open(str(drive)).unlock(recovery)


async def test_the_setup_step_opened_with_the_recovery_key_takes_the_passphrase_it_asked_for(images, tmp_path):
    """The setup's Encryption step was unlocked with the recovery key (it is the draft's secret):
    adding a drive asks for the passphrase once, then uses it (before, the draft's recovery key was
    taken again and the passphrase was asked for in a loop)."""
    main, recovery = Repository.init(str(tmp_path / "main"), PASSPHRASE)
    keymod.enroll_machine(main.keys, main.location)
    settings = Settings(repository=main.location, images_folder=images)
    save_settings(settings)
    draft = SetupDraft.from_settings(settings)
    draft.secret = recovery
    drive = tmp_path / "media" / "DRIVE_C" / "odbackup"
    app = OdbackupApp(settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        app.push_screen(step := ArchivesStep(draft))
        await settle(pilot)
        await fill(pilot, "#drive-path", str(drive))
        await fill(pilot, "#drive-label", "Drive C")
        step.query_one("#add-drive", Button).press()
        await settle(pilot)
        assert isinstance(app.screen, PassphraseScreen)
        await fill(pilot, "#secret", PASSPHRASE)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DriveKeyScreen), app.screen  # made: not asked again
    Repository.open(str(drive)).unlock(recovery)
    Repository.open(str(drive)).unlock(PASSPHRASE)
