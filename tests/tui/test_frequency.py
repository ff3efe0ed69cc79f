"""The Frequency screen: presets in plain words, editable, validated as the engine validates,
saved through the settings' one path, installed into (a stand-in of) the operating system's
scheduler and read back from it.

Every test points the operating system's folders below ``ODBACKUP_TEST_SCHEDULE_ROOT``
(a "running cron" is a ``proc/<pid>/comm`` file saying ``cron``): nothing touches the real
schedule. In this container neither systemd nor cron runs, which is what the tests without a
``comm`` file see.
"""
from __future__ import annotations

from dataclasses import replace

import pytest
from tuihelpers import SIZE_SMALL, settle, text_of

from engine.runlog import RunRecord
from engine.settings import load_settings, save_settings
from tui.app import OdbackupApp
from tui.screens.dashboard import DashboardScreen
from tui.screens.frequency import FrequencyScreen
from tui.widgets.frequency_form import clock_words, job_lines, pause_words, when_words


@pytest.fixture
def system(tmp_path, monkeypatch):
    root = tmp_path / "system"
    (root / "etc" / "cron.d").mkdir(parents=True)
    (root / "proc").mkdir()
    monkeypatch.setenv("ODBACKUP_TEST_SCHEDULE_ROOT", str(root))
    return root


@pytest.fixture
def saved(folder_settings):
    save_settings(folder_settings)
    return folder_settings


async def open_frequency(pilot) -> FrequencyScreen:
    await settle(pilot)
    assert isinstance(pilot.app.screen, DashboardScreen)
    await pilot.press("f")
    await settle(pilot)
    assert isinstance(pilot.app.screen, FrequencyScreen)
    return pilot.app.screen


def shown(screen, selector: str) -> str:
    return text_of(screen.query_one(selector))


async def type_into(pilot, screen, widget_id: str, text: str) -> None:
    field = screen.query_one(f"#{widget_id}")
    field.value = ""
    field.focus()
    await pilot.press(*text)
    await pilot.pause()


def test_the_presets_in_plain_words(folder_settings):
    lines = job_lines(folder_settings)
    assert lines[0].startswith("Every night at 9:00 pm (every day), after the office closes, before Open Dental's own "
                               "Supplemental backup runs from 10 pm to 4 am.")
    assert folder_settings.images_folder in lines[0]
    assert lines[1] == "Every hour in office hours: off."
    assert lines[2].startswith("Maintenance at 11:30 pm (on Sun)")
    late = replace(folder_settings, schedule=replace(folder_settings.schedule, nightly="23:00",
                                                     intraday="08:00-18:00"))
    assert "inside the window" in job_lines(late)[0]
    assert job_lines(late)[1] == "Also every hour from 8:00 am to 6:00 pm on weekdays, but no database is set up: nothing to back up."
    assert clock_words("00:05") == "12:05 am"


def test_the_pause_comes_from_the_last_measured_run():
    assert "not measured yet" in pause_words([])
    run = RunRecord(job="intraday", trigger="schedule", started="2026-12-01T10:00:00+00:00",
                    finished="2026-12-01T10:00:04+00:00", result="ok", message="", exit_code=0, databases=1,
                    office_wait=0.31)
    assert "about 0.3 s" in pause_words([run])


def test_next_run_in_words():
    from datetime import datetime

    now = datetime(2026, 12, 7, 10, 0).astimezone()
    tonight = now.replace(hour=21).isoformat()
    assert when_words(tonight, now) == "tonight at 9:00 pm"


async def test_open_from_the_dashboard_and_escape_back(saved, system):
    app = OdbackupApp(saved)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        screen = await open_frequency(pilot)
        assert "Every night at 9:00 pm" in shown(screen, "#freq-jobs")
        assert shown(screen, "#freq-retention") == ("Keeps every backup for 48h, 30 daily, 13 weekly, 24 monthly, "
                                                   "7 yearly.")
        assert "backup: not installed" in screen.state_text()
        assert "not measured yet" in shown(screen, "#freq-pause")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)


async def test_wrong_time_is_refused_with_the_engines_words_and_nothing_saved(saved, system):
    app = OdbackupApp(saved)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        screen = await open_frequency(pilot)
        await type_into(pilot, screen, "sched-nightly", "25:00")
        assert "'25:00' is not a time of day" in shown(screen, "#freq-jobs")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert screen.problem_text == "'25:00' is not a time of day: write it like 21:00"
        assert screen.query_one("#freq-problem").region.bottom <= 24  # seen at 80x24
        assert load_settings().schedule.nightly == "21:00"
        await type_into(pilot, screen, "keep-daily", "many")
        await type_into(pilot, screen, "sched-nightly", "20:30")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "is not a whole number" in screen.problem_text
        assert load_settings().schedule.nightly == "21:00"


async def test_save_writes_schedule_and_retention_and_keeps_the_rest(saved, system):
    app = OdbackupApp(saved)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        screen = await open_frequency(pilot)
        await type_into(pilot, screen, "sched-nightly", "20:30")
        await type_into(pilot, screen, "sched-intraday", "08:00-18:00")
        await type_into(pilot, screen, "keep-daily", "14")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert screen.problem_text == ""
    again = load_settings()
    assert (again.schedule.nightly, again.schedule.intraday, again.retention.daily) == ("20:30", "08:00-18:00", 14)
    assert again.repository == saved.repository and again.images_folder == saved.images_folder


async def test_install_without_any_scheduler_says_so_and_shows_the_cron_lines(saved, system):
    app = OdbackupApp(saved)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        screen = await open_frequency(pilot)
        screen.query_one("#install").press()
        await settle(pilot)
        state = screen.state_text()
        assert screen.problem_text.startswith("Not installed: Neither systemd nor cron is running on this machine")
        assert "run backup --scheduled" in state and "0 21 * * *" in state
        assert not list((system / "etc" / "cron.d").iterdir())


async def test_install_then_the_state_read_back_then_remove(saved, system):
    (system / "proc" / "4242").mkdir()
    (system / "proc" / "4242" / "comm").write_text("cron\n")
    app = OdbackupApp(saved)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        screen = await open_frequency(pilot)
        assert "backup: not installed" in screen.state_text()
        screen.query_one("#install").press()
        await settle(pilot)
        state = screen.state_text()
        assert "backup: installed, next run " in state and "at 9:00 pm" in state
        assert "maintenance: installed, next run " in state and "at 11:30 pm" in state
        assert "intraday: not installed (off in the settings)" in state
        assert screen.problem_text == ""
        screen.query_one("#remove").press()
        await settle(pilot)
        assert "backup: not installed" in screen.state_text()


def test_what_the_nightly_backs_up_is_said_for_a_folders_only_setup_too():
    from engine.settings import DatabaseSettings, Settings
    from tui.widgets.frequency_form import job_lines

    folders_only = job_lines(Settings(repository="/r", images_folder="/srv/OpenDentImages"))[0]
    assert folders_only.endswith("It backs up /srv/OpenDentImages.")
    both = job_lines(Settings(repository="/r", images_folder="/srv/OpenDentImages",
                              database=DatabaseSettings(name="opendental")))[0]
    assert both.endswith("It backs up the database opendental and /srv/OpenDentImages.")
