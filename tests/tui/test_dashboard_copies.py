"""The dashboard's copies: the supplemental copy's compact line beside the archive drives, and the
archive copies in Next runs once a drive is set up. SVG snapshots at 80x24 and 120x40 with the
fixed data of test_snapshots.py (its autouse fixture freezes the clock and the paths)."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from test_archive_snapshots import BOOK
from test_snapshots import NOW, SETTINGS, SIZES, STATUS, at, fixed_world  # noqa: F401  (fixed_world: autouse)
from textual.binding import Binding
from tuihelpers import lines_of, settle

from engine.archive.drives import update_book
from engine.runlog import RunRecord
from engine.supplemental.alerts import SupplementalState
from engine.supplemental.settings import SupplementalSettings
from tui.app import OdbackupApp
from tui.screens import dashboard
from tui.screens.supplemental import SupplementalScreen

SUPP_ON = replace(SETTINGS, supplemental=SupplementalSettings(enabled=True, path="//nas/backups/odbackup-supp"))
COPIED = SupplementalState(last_copy=at(23, day=29), verified_at=at(10, day=23), verified_ok=True)


def supp_run(result: str, message: str) -> RunRecord:
    return RunRecord("supplemental", "schedule", at(22, day=29), at(23, day=29), result, message,
                     {"ok": 0, "failed": 1}.get(result, 3))


@pytest.mark.parametrize("settings, supp, runs, line", [
    (SETTINGS, COPIED, (), None),
    (SUPP_ON, None, (), "Never copied"),
    (SUPP_ON, COPIED, (supp_run("ok", "Copied."),), "Copied 19 hours ago, verified 7 days ago; last run ok"),
    (SUPP_ON, replace(COPIED, verified_ok=False), (supp_run("failed", "The path is not there."),),
     "Copied 19 hours ago, verified 7 days ago (FAILED); last run failed 20 hours ago"),
    (SUPP_ON, SupplementalState(), (supp_run("incomplete", "Stopped."),), "Never copied; last run incomplete 20 hours ago"),
    (SUPP_ON, None, (supp_run("ok", "Copied."),), "Copied 19 hours ago; last run ok"),
], ids=["off: no line", "never copied", "copied and verified", "failed run, failed verify", "incomplete",
        "not gathered (folders only): the run says"])
def test_the_supplemental_copy_in_one_line(settings, supp, runs, line):
    status = replace(STATUS, supplemental=supp, runs=runs)
    assert [str(x) for x in dashboard.supplemental_lines(settings, status, NOW)] == ([line] if line else [])


async def test_the_panel_is_shown_only_when_supplemental_copies_are_on(monkeypatch):
    status = replace(STATUS, supplemental=COPIED, runs=(supp_run("failed", "The path is not there."),))
    monkeypatch.setattr(dashboard, "load_status", lambda settings, secret=None: status)
    for settings, shown in ((SETTINGS, False), (SUPP_ON, True)):
        app = OdbackupApp(settings)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            panel = app.screen.query_one("#supplemental-copy")
            assert panel.display is shown
            assert lines_of(app.screen, "#supplemental-copy") == (
                ["Copied 19 hours ago, verified 7 days ago; last run failed 20 hours ago"] if shown else [])


@pytest.mark.parametrize("verified_at, asked", [
    (at(10, day=23), False),  # a week ago
    (None, True),  # never
    (datetime(2025, 5, 28, 10, tzinfo=UTC).isoformat(), True),  # over a month ago
], ids=["verified a week ago", "never verified", "verified last month"])
async def test_the_dashboard_asks_for_a_verify_restore_of_the_supplemental_copy_every_month(
        monkeypatch, verified_at, asked):
    status = replace(STATUS, supplemental=replace(COPIED, verified_at=verified_at),
                     runs=(supp_run("ok", "Copied."),))
    monkeypatch.setattr(dashboard, "load_status", lambda settings, secret=None: status)
    app = OdbackupApp(SUPP_ON)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        shown = " ".join(lines_of(app.screen, "#alerts"))
        assert ("not been verified this month" in shown and "press p, then Verify" in shown) is asked, shown
        if asked:  # where the hint leads: the Supplemental screen, whose Verify is ctrl+v
            await pilot.press("p")
            await settle(pilot)
            assert isinstance(app.screen, SupplementalScreen)
            assert ("ctrl+v", "verify", "Verify") in [(b.key, b.action, b.description)
                                                     for b in SupplementalScreen.BINDINGS if isinstance(b, Binding)]


async def test_next_runs_name_the_archive_copies_once_a_drive_is_set_up():
    async with OdbackupApp(SETTINGS).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert "Archive copy:" not in lines_of(pilot.app.screen, "#next-runs")
    update_book(lambda book: BOOK)
    async with OdbackupApp(SETTINGS).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        lines = lines_of(pilot.app.screen, "#next-runs")
        assert lines[lines.index("Archive copy:") + 1] == "tonight at 11:00 pm (not installed)", lines


@SIZES
def test_dashboard_with_both_copies(snap_compare, size, monkeypatch):
    update_book(lambda book: BOOK)  # a drive is set up: the archive copies are in Next runs
    status = replace(STATUS, archive_book=BOOK, supplemental=COPIED, runs=(supp_run("ok", "Copied."),))
    monkeypatch.setattr(dashboard, "load_status", lambda settings, secret=None: status)
    assert snap_compare(OdbackupApp(SUPP_ON), terminal_size=size, run_before=settle)


async def test_more_than_three_jobs_take_one_line_each_at_80x24(monkeypatch):
    update_book(lambda book: BOOK)
    monkeypatch.setattr(dashboard, "load_status", lambda settings, secret=None: STATUS)
    app = OdbackupApp(SUPP_ON)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert lines_of(app.screen, "#next-runs") == ["Backup Mon 9:00pm*", "Maint. Sun 11:30pm*",
                                                      "Arch.  Mon 11:00pm*", "Suppl. Mon 10:00pm*", "* not installed"]
        panel = app.screen.query_one("#next-runs")
        assert panel.region.bottom <= 23  # above the footer
        await pilot.resize_terminal(120, 40)
        await settle(pilot)
        assert lines_of(app.screen, "#next-runs")[:2] == ["Backup:", "tonight at 9:00 pm (not installed)"]
