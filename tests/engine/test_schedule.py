"""The schedule model (engine.schedule): next_runs table by table, across
daylight-saving changes, and the units, cron lines and task XML we generate
agreeing with it (systemd-analyze and cronsim as the oracles)."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine.schedule import cron, systemd, windows
from engine.schedule.model import (
    EVERY_DAY,
    WEEKDAYS,
    Calendar,
    ScheduledJob,
    ScheduleError,
    next_runs,
)

NY = ZoneInfo("America/New_York")
NIGHTLY = Calendar.daily(time(21, 0))
OFFICE_HOURS = Calendar.hourly(8, 18)
SUNDAY_NIGHT = Calendar.daily(time(23, 30), frozenset({6}))
AT_2_30 = Calendar(frozenset({5, 6}), (2,), 30)  # falls in the spring-forward gap
AT_1_30 = Calendar(frozenset({6}), (1,), 30)  # happens twice when clocks go back
CALENDARS = [NIGHTLY, OFFICE_HOURS, SUNDAY_NIGHT, AT_2_30, AT_1_30,
             Calendar(frozenset({0, 2, 4}), (7, 12, 19), 45)]


def ny(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=NY)


@pytest.mark.parametrize("calendar, after, expected", [
    (NIGHTLY, "2026-12-07T20:59", ["2026-12-07T21:00", "2026-12-08T21:00"]),
    (NIGHTLY, "2026-12-07T21:00", ["2026-12-08T21:00", "2026-12-09T21:00"]),  # strictly after
    (OFFICE_HOURS, "2026-12-11T17:30", ["2026-12-11T18:00", "2026-12-14T08:00", "2026-12-14T09:00"]),
    (SUNDAY_NIGHT, "2026-12-07T00:00", ["2026-12-13T23:30", "2026-12-20T23:30"]),
    # 2:30 does not exist on 8 March 2026 in New York: skipped, as systemd does
    (AT_2_30, "2026-03-06T00:00", ["2026-03-07T02:30", "2026-03-14T02:30", "2026-03-15T02:30"]),
    # 1:30 happens twice on 1 November 2026: once, the first time (EDT)
    (AT_1_30, "2026-10-31T00:00", ["2026-11-01T01:30", "2026-11-08T01:30"]),
    # the nightly goes on at 9 pm local across both changes
    (NIGHTLY, "2026-03-07T22:00", ["2026-03-08T21:00", "2026-03-09T21:00"]),
    (NIGHTLY, "2026-10-31T22:00", ["2026-11-01T21:00"]),
])
def test_next_runs(calendar, after, expected):
    runs = next_runs(calendar, ny(after), len(expected), tz=NY)
    assert [r.replace(tzinfo=None).isoformat(timespec="minutes") for r in runs] == expected
    assert all(r.tzinfo is NY for r in runs)


def test_the_first_of_two_1_30s_is_the_one_in_summer_time():
    (run,) = next_runs(AT_1_30, ny("2026-10-31T00:00"), 1, tz=NY)
    assert run.astimezone(UTC) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


def test_the_nightly_is_24_hours_apart_except_across_a_change():
    runs = next_runs(NIGHTLY, ny("2026-03-06T22:00"), 3, tz=NY)
    gaps = [(b.astimezone(UTC) - a.astimezone(UTC)) for a, b in zip(runs, runs[1:], strict=False)]
    assert gaps == [timedelta(hours=23), timedelta(hours=24)]


def test_a_time_without_a_zone_is_refused():
    with pytest.raises(ScheduleError, match="zone"):
        next_runs(NIGHTLY, datetime(2026, 12, 7), 1, tz=NY)


@pytest.mark.parametrize("make", [
    lambda: Calendar(frozenset(), (21,)),
    lambda: Calendar(EVERY_DAY, ()),
    lambda: Calendar(EVERY_DAY, (24,)),
    lambda: Calendar(EVERY_DAY, (21,), 60),
    lambda: Calendar(frozenset({7}), (21,)),
    lambda: Calendar(EVERY_DAY, (9, 8)),
    lambda: Calendar.hourly(18, 8),
])
def test_calendars_that_cannot_be_used_are_refused(make):
    with pytest.raises(ScheduleError):
        make()


@pytest.mark.parametrize("calendar, words", [
    (NIGHTLY, "every day at 9:00 pm"),
    (OFFICE_HOURS, "every hour from 8:00 am to 6:00 pm, Mon-Fri"),
    (SUNDAY_NIGHT, "at 11:30 pm, Sun"),
    (Calendar(frozenset({0, 2, 4}), (0, 12), 5), "at 12:05 am, 12:05 pm, Mon, Wed, Fri"),
])
def test_calendars_in_plain_words(calendar, words):
    assert calendar.describe() == words


def job(calendar: Calendar, name: str = "backup", command: tuple[str, ...] | None = None) -> ScheduledJob:
    return ScheduledJob(name, calendar, "database and every folder", timedelta(hours=12),
                        command or (sys.executable, "-m", "tui.cli", "run", name))


# --- systemd -----------------------------------------------------------------------------

needs_systemd = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                   reason="systemd-analyze not installed (Debian package systemd)")


def systemd_elapses(expression: str, after: datetime, n: int) -> list[datetime]:
    base = after.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    out = subprocess.run(
        ["systemd-analyze", "calendar", f"--iterations={n}", f"--base-time={base}", expression],
        env={"TZ": "America/New_York", "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, check=True,
    ).stdout
    stamps = re.findall(r"\(in UTC\): \w{3} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", out)
    return [datetime.fromisoformat(s).replace(tzinfo=UTC) for s in stamps]


@needs_systemd
@pytest.mark.parametrize("calendar", CALENDARS, ids=lambda c: systemd.on_calendar(c))
@pytest.mark.parametrize("after", ["2026-03-05T12:00", "2026-10-29T12:00", "2026-12-24T23:00"])
def test_systemd_agrees_with_next_runs(calendar, after):
    start = ny(after)
    ours = [r.astimezone(UTC) for r in next_runs(calendar, start, 12, tz=NY)]
    assert systemd_elapses(systemd.on_calendar(calendar), start, 12) == ours


@needs_systemd
@pytest.mark.parametrize("calendar", CALENDARS[:3])
def test_systemd_accepts_the_units(tmp_path, calendar):
    files = systemd.units(job(calendar))
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    out = subprocess.run(["systemd-analyze", "verify", "--man=no", *(str(tmp_path / n) for n in files)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""


def test_the_timer_catches_up_a_missed_run_and_the_service_runs_once():
    files = systemd.units(job(NIGHTLY))
    assert "Persistent=true" in files["odbackup-backup.timer"]
    assert "Type=oneshot" in files["odbackup-backup.service"]
    assert "TimeoutStartSec=43200" in files["odbackup-backup.service"]


@pytest.mark.parametrize("argv, expected", [
    (("/usr/bin/odbackup", "run", "backup"), '"/usr/bin/odbackup" "run" "backup"'),
    (("/opt/my tools/odbackup", "run", "x"), '"/opt/my tools/odbackup" "run" "x"'),
    (("/o", 'a"b', "50%", "$HOME", "a\\b"), '"/o" "a\\"b" "50%%" "$$HOME" "a\\\\b"'),
])
def test_exec_start_quoting(argv, expected):
    assert systemd.quote_exec(argv) == expected


# --- cron ---------------------------------------------------------------------------------

@pytest.mark.parametrize("calendar", [c for c in CALENDARS if c not in (AT_2_30, AT_1_30)],
                         ids=cron.schedule_fields)
@pytest.mark.parametrize("after", ["2026-03-05T12:00", "2026-10-29T12:00", "2026-12-24T23:00"])
def test_cron_agrees_with_next_runs(calendar, after):
    cronsim = pytest.importorskip("cronsim")
    start = ny(after)
    it = cronsim.CronSim(cron.schedule_fields(calendar), start)
    theirs = [next(it).astimezone(UTC) for _ in range(12)]
    assert theirs == [r.astimezone(UTC) for r in next_runs(calendar, start, 12, tz=NY)]


@pytest.mark.parametrize("calendar, fields", [
    (NIGHTLY, "0 21 * * *"), (OFFICE_HOURS, "0 8-18 * * 1-5"), (SUNDAY_NIGHT, "30 23 * * 0"),
    (Calendar(frozenset({0, 6}), (7, 19), 5), "5 7,19 * * 0,1"),
])
def test_cron_fields(calendar, fields):
    assert cron.schedule_fields(calendar) == fields


def test_cron_lines_quote_for_the_shell_and_escape_percent():
    line = cron.cron_line(job(NIGHTLY, command=("/opt/my tools/odbackup", "run", "50%")), user="root")
    assert line == "0 21 * * * root '/opt/my tools/odbackup' run 50\\%"
    text = cron.cron_file([job(NIGHTLY), job(OFFICE_HOURS, "intraday")])
    assert text.count("\n# odbackup-") == 2 and text.endswith("\n")


# --- Windows Task Scheduler ---------------------------------------------------------------

NS = {"t": windows.NAMESPACE}


def parsed_task(calendar: Calendar, command: tuple[str, ...] = ("C:\\odbackup\\odbackup.exe", "run", "backup")):
    xml = windows.task_xml(job(calendar, command=command), date(2026, 12, 7))
    return ET.fromstring(xml.split("\n", 1)[1])


def test_task_settings_for_a_server_on_a_ups():
    task = parsed_task(NIGHTLY)
    settings = {el.tag.split("}")[1]: el.text for el in task.find("t:Settings", NS)}
    assert settings["StartWhenAvailable"] == "true"
    assert settings["DisallowStartIfOnBatteries"] == "false"
    assert settings["StopIfGoingOnBatteries"] == "false"
    assert settings["MultipleInstancesPolicy"] == "IgnoreNew"
    assert settings["ExecutionTimeLimit"] == "PT12H"
    assert task.find("t:Principals/t:Principal/t:UserId", NS).text == "S-1-5-18"


def test_task_triggers_are_one_per_hour_on_the_chosen_days():
    task = parsed_task(OFFICE_HOURS)
    triggers = task.findall("t:Triggers/t:CalendarTrigger", NS)
    assert [t.find("t:StartBoundary", NS).text for t in triggers] == \
        [f"2026-12-07T{h:02d}:00:00" for h in range(8, 19)]
    days = [d.tag.split("}")[1] for d in triggers[0].find("t:ScheduleByWeek/t:DaysOfWeek", NS)]
    assert days == ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
    assert all(t.find("t:ScheduleByWeek/t:WeeksInterval", NS).text == "1" for t in triggers)


def test_task_action_quotes_arguments_as_windows_splits_them():
    task = parsed_task(NIGHTLY, ("C:\\Program Files\\odbackup\\odbackup.exe", "run", "my job", 'say "hi"', "C:\\x\\"))
    exec_ = task.find("t:Actions/t:Exec", NS)
    assert exec_.find("t:Command", NS).text == "C:\\Program Files\\odbackup\\odbackup.exe"
    assert exec_.find("t:Arguments", NS).text == 'run "my job" "say \\"hi\\"" C:\\x\\'


@pytest.mark.parametrize("span, text", [
    (timedelta(hours=12), "PT12H"), (timedelta(minutes=90), "PT1H30M"), (timedelta(minutes=45), "PT45M"),
])
def test_task_durations(span, text):
    assert windows.duration(span) == text


def test_every_day_and_weekdays_constants():
    assert len(EVERY_DAY) == 7 and WEEKDAYS == frozenset(range(5))
