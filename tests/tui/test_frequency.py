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
from tuihelpers import SIZE_SMALL, open_from_home, settle, text_of

from engine.jobsettings import RetentionSettings
from engine.runlog import RunRecord
from engine.settings import load_settings
from tui.app import OdbackupApp
from tui.screens.dashboard import DashboardScreen
from tui.screens.frequency import FrequencyScreen
from tui.widgets.frequency_form import (
    clock_words,
    job_lines,
    pause_words,
    retention_words,
    when_words,
)

DEFAULT_RETENTION_WORDS = (
    "Keeps every backup for 48 hours, 30 daily, 13 weekly, 24 monthly, 7 yearly. The practice can go back "
    "2 days backup by backup, a month by the day, about 3 months by the week, 2 years by the month and 7 years "
    "by the year. Verification reports are kept 6 years, even after their backup is gone: HIPAA keeps testing "
    "records 6 years.")


@pytest.fixture
def system(tmp_path, monkeypatch):
    root = tmp_path / "system"
    (root / "etc" / "cron.d").mkdir(parents=True)
    (root / "proc").mkdir()
    monkeypatch.setenv("ODBACKUP_TEST_SCHEDULE_ROOT", str(root))
    return root


async def open_frequency(pilot) -> FrequencyScreen:
    return await open_from_home(pilot, "f", FrequencyScreen)


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


@pytest.mark.parametrize(("retention", "words"), [
    (RetentionSettings(), DEFAULT_RETENTION_WORDS),
    (RetentionSettings(within="off", last=3, daily=7, weekly=4, monthly=12, yearly=0, reports_years=10),
     "Keeps the last 3 backups, 7 daily, 4 weekly, 12 monthly. The practice can go back a week by the day, "
     "4 weeks by the week and a year by the month. Verification reports are kept 10 years, even after their "
     "backup is gone: HIPAA keeps testing records 6 years."),
    (RetentionSettings(within="1d", daily=0, weekly=0, monthly=36, yearly=-1),
     "Keeps every backup for 1 day, 36 monthly, all yearly. The practice can go back a day backup by backup, "
     "3 years by the month and to the first backup by the year. Verification reports are kept 6 years, even "
     "after their backup is gone: HIPAA keeps testing records 6 years."),
    (RetentionSettings(within="0", daily=0, weekly=0, monthly=0, yearly=0),
     "No rule: every backup is kept, nothing is removed. Verification reports are kept 6 years, even after "
     "their backup is gone: HIPAA keeps testing records 6 years."),
])
def test_the_retention_and_why_in_plain_words(retention, words):
    assert retention_words(retention) == words


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
        assert shown(screen, "#freq-retention") == DEFAULT_RETENTION_WORDS
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
        await type_into(pilot, screen, "sched-nightly", "25:99")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert screen.problem_text == "'25:99' is not a time of day: write it like 21:00"
        await type_into(pilot, screen, "sched-nightly", "20:30")
        screen.query_one("#sched-nightly_days").value = ""
        await pilot.pause()
        screen.query_one("#install").press()  # Install saves first: refused the same way, nothing installed
        await pilot.pause()
        assert screen.problem_text == "Days are written Mon, Tue, Wed, Thu, Fri, Sat, Sun (got none)"
        assert not list((system / "etc" / "cron.d").iterdir()) and not screen.job_running("install")
        assert load_settings().schedule.nightly == "21:00"
        await type_into(pilot, screen, "sched-nightly_days", "Mon, Tue")
        await type_into(pilot, screen, "keep-daily", "many")
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


# --- what stays in view, the retention preview with the space it frees, the policy stored -------------


def unattended_backups(settings, n: int) -> None:
    """``n`` backups of the images folder with this machine's write-only credentials, each with a
    scan of its own (added before it, deleted after it), as the nightly job would make them."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "ODBACKUP_PASSPHRASE"}
    for i in range(n):
        if i:
            os.remove(os.path.join(settings.images_folder, f"scan-{i - 1}.jpg"))
        with open(os.path.join(settings.images_folder, f"scan-{i}.jpg"), "wb") as f:
            f.write(os.urandom(60_000 + 10_000 * i))
        subprocess.run([sys.executable, "-m", "tui.cli", "backup", "--repo", settings.repository,
                        "--path", settings.images_folder], env=env, check=True, capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=120)


def machine_repo(location: str):
    from engine import credentials

    return credentials.open_repository(location, credentials.Sources.here(session=None), full=False)


async def test_the_essentials_are_in_view_at_80x24_without_scrolling(saved, system):
    (system / "proc" / "4242").mkdir()
    (system / "proc" / "4242" / "comm").write_text("cron\n")
    app = OdbackupApp(saved)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        screen = await open_frequency(pilot)
        assert screen.headline_text() == "Not installed: no backup runs by itself yet."
        screen.action_install()
        assert screen.headline_text() == "Schedule: installing the schedule..."
        screen.action_install()  # a second press while the first runs starts nothing
        screen.action_remove()
        assert [w.name for w in screen.workers if w.name in ("install", "remove") and not w.is_finished] \
            == ["install"]
        await settle(pilot)
        headline = screen.headline_text()  # "tonight" before 9 pm, "tomorrow" after
        assert headline in ("Installed: next backup tonight at 9:00 pm.",
                            "Installed: next backup tomorrow at 9:00 pm."), headline
        for selector in ("#freq-headline", "#freq-preview", "#install", "#remove"):
            region = screen.query_one(selector).region
            assert region.height and region.bottom <= 23, selector  # above the footer, no scrolling
        assert screen.query_one("#freq-body").scroll_y > 0  # the answer job by job, scrolled into view
        assert "backup: installed, next run" in screen.state_text()


async def test_tab_goes_through_the_fields_in_order_then_the_buttons(saved, system):
    app = OdbackupApp(saved)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        screen = await open_frequency(pilot)
        seen = [screen.focused.id]
        for _ in range(15):
            await pilot.press("tab")
            seen.append(screen.focused.id)
        assert seen[:11] == ["sched-nightly", "sched-nightly_days", "sched-intraday", "sched-intraday_days",
                             "sched-maintenance", "sched-maintenance_days", "keep-within", "keep-daily",
                             "keep-weekly", "keep-monthly", "keep-yearly"]
        assert seen[11:15] == ["back", "save", "install", "remove"]
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)


async def test_the_preview_says_what_it_keeps_removes_and_frees_with_machine_credentials(saved, system):
    from engine.forget import decide
    from engine.jobsettings import RetentionSettings
    from engine.repository.prune import estimate_freed
    from engine.words import size

    unattended_backups(saved, 5)
    app = OdbackupApp(saved)  # no passphrase in this session: the machine's credentials only
    async with app.run_test(size=SIZE_SMALL) as pilot:
        screen = await open_frequency(pilot)
        assert screen.preview_text().startswith("Applied now it keeps all 5 backup(s), removes none.")
        assert "Not in the repository yet: Save stores it" in screen.preview_text()
        await type_into(pilot, screen, "keep-within", "off")
        await type_into(pilot, screen, "keep-daily", "1")
        await pilot.pause(screen.PREVIEW_DELAY + 0.2)
        await settle(pilot)
        retention = RetentionSettings(within="off", daily=1)
        repo = machine_repo(saved.repository)
        decision = decide(repo, retention.policy())
        assert len(decision.remove) >= 2
        freed = estimate_freed(repo, [c.snapshot_id for c in decision.remove]).bytes_freed
        assert freed > 60_000 * 2
        assert screen.preview_text().startswith(
            f"Applied now it keeps {len(decision.keep)} backup(s), removes {len(decision.remove)} and would "
            f"free about {size(freed)}.")
        await type_into(pilot, screen, "keep-daily", "x")
        await pilot.pause(screen.PREVIEW_DELAY + 0.2)
        assert screen.preview_text() == "What it would keep and remove now: correct the retention above first."
    assert len(machine_repo(saved.repository).snapshots()) == 5  # nothing was removed


async def test_save_stores_the_retention_in_the_repository_with_the_passphrase(saved, system):
    from textual.widgets import Input
    from tuihelpers import PASSPHRASE

    from engine.forget import stored_policy
    from tui.screens.modals import PassphraseScreen

    app = OdbackupApp(saved)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        screen = await open_frequency(pilot)
        await type_into(pilot, screen, "keep-daily", "14")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, PassphraseScreen)  # only the passphrase holder sets the policy
        await pilot.press("escape")
        await settle(pilot)
        assert screen.problem_text == ("Saved in the settings only, without the passphrase: scheduled maintenance "
                                       "keeps the retention stored in the repository. Save again to store it.")
        assert stored_policy(machine_repo(saved.repository)) is None
        assert load_settings().retention.daily == 14
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, PassphraseScreen)
        app.screen.query_one("#secret", Input).value = PASSPHRASE
        await pilot.press("enter")
        await settle(pilot)
        await settle(pilot)
        assert app.screen is screen
        stored = stored_policy(machine_repo(saved.repository))
        assert stored is not None and stored.policy == load_settings().retention.policy()
        assert stored.policy.daily == 14
        assert "Not in the repository yet" not in screen.preview_text()


def test_the_schedule_in_one_line():
    from datetime import datetime

    from engine.schedule.install import JobState
    from tui.widgets.frequency_form import schedule_headline

    now = datetime(2026, 12, 7, 10, 0).astimezone()
    tonight = now.replace(hour=21).isoformat()
    sunday = now.replace(day=13, hour=23, minute=30).isoformat()
    calendars = {"backup": object(), "maintenance": object()}
    both = [JobState("backup", True, True, tonight), JobState("intraday", False, False),
            JobState("maintenance", True, True, sunday)]
    assert schedule_headline(both, calendars, now) == "Installed: next backup tonight at 9:00 pm."
    none = [JobState(j, False, False) for j in ("backup", "intraday", "maintenance")]
    assert schedule_headline(none, calendars, now) == "Not installed: no backup runs by itself yet."
    part = [JobState("backup", True, False, tonight, "inactive"), JobState("maintenance", False, False)]
    assert schedule_headline(part, calendars, now) == ("Partly installed: maintenance not installed; backup NOT "
                                                       "enabled. Install schedule again.")
    only_maintenance = [JobState("maintenance", True, True, sunday)]
    assert schedule_headline(only_maintenance, {"maintenance": object()}, now) == \
        "Installed: next maintenance Sun 13 Dec at 11:30 pm."
    assert schedule_headline(none, {}, now) == "Nothing is scheduled: every job is off in the settings."


def test_the_preview_in_words():
    from datetime import UTC, datetime

    from engine.repository.prune import SpaceEstimate
    from engine.retention import Candidate, Decision, Policy
    from tui.widgets.frequency_form import preview_words

    snaps = [Candidate(f"{i:064x}", datetime(2026, 12, i + 1, tzinfo=UTC), True, False) for i in range(3)]
    decision = Decision((snaps[2],), (snaps[1], snaps[0]), {snaps[2].snapshot_id: ("last snapshot",)})
    policy = Policy(last=1)
    estimate = SpaceEstimate(2, 10, 3 * 1024 * 1024, 0, 9 * 1024 * 1024)
    assert preview_words(decision, estimate, policy, policy) == ("Applied now it keeps 1 backup(s), removes 2 and "
                                                                 "would free about 3.0 MiB.")
    assert preview_words(decision, estimate, policy, Policy(last=2)).endswith(
        " Until Save, maintenance keeps the stored 2 latest.")
    assert preview_words(Decision(tuple(snaps), (), {}), None, policy, None) == (
        "Applied now it keeps all 3 backup(s), removes none. Not in the repository yet: Save stores it (passphrase).")
