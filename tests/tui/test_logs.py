"""Job logs: written one line per milestone with problems marked, listed and shown."""
from __future__ import annotations

from textual.widgets import OptionList, RichLog
from tuihelpers import SIZE_SMALL, settle

from engine import events as ev
from engine.errors import RepositoryLocked
from tui.app import OdbackupApp
from tui.joblog import JobLog, list_logs, read_log
from tui.screens.logs import LogsScreen


def write_failed_backup() -> str:
    log = JobLog("backup")
    log(ev.BackupStarted("/media/usb/odbackup", ("/srv/OpenDentImages",)))
    log(ev.BackupProgress(1, 10, 5, 50, 10, "x", 0.1))  # progress ticks are not logged
    log(ev.FileSkipped("/srv/OpenDentImages/S/x.jpg", "permission denied"))
    log.error(RepositoryLocked("The repository is in use by odbackup on SERVER (process 12)."))
    return log.path


def test_the_log_marks_problems_and_leaves_out_progress():
    path = write_failed_backup()
    lines = read_log(path)
    assert [line.level for line in lines] == ["INFO", "WARN", "ERROR", "ERROR"]
    assert lines[0].text == "Backing up /srv/OpenDentImages to /media/usb/odbackup"
    assert lines[1].text == "warning: /srv/OpenDentImages/S/x.jpg: permission denied"
    assert lines[2].text.startswith("Repository in use: The repository is in use")
    assert lines[3].text.startswith("What to do: Wait for the other run to finish")
    found = list_logs()
    assert [(f.job, f.errors, f.warnings) for f in found] == [("backup", 2, 1)]


async def test_logs_screen_lists_jobs_and_jumps_to_errors(folder_settings):
    write_failed_backup()
    ok = JobLog("verify")
    ok(ev.VerifyFinished("a" * 64, True, (), "/reports/r.txt", "/reports/r.json"))
    app = OdbackupApp(folder_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LogsScreen)
        listing = screen.query_one(OptionList)
        assert listing.option_count == 2
        labels = sorted(str(listing.get_option_at_index(n).prompt) for n in range(2))
        assert any(label.endswith("backup  2 err") for label in labels), labels
        backup_index = next(n for n in range(2) if "backup" in str(listing.get_option_at_index(n).prompt))
        listing.highlighted = backup_index
        await settle(pilot)
        assert [line.level for line in screen.shown_lines] == ["INFO", "WARN", "ERROR", "ERROR"]
        assert len(screen.query_one(RichLog).lines) >= 4
        await pilot.press("e")
        assert screen._error_cursor == 2
        await pilot.press("e")
        assert screen._error_cursor == 3
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, LogsScreen)
