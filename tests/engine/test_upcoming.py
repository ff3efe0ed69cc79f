"""The next run of each job in plain words: the operating system's time when it has the job,
else the settings' time marked "not installed"."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.jobsettings import ScheduleSettings
from engine.schedule.install import JobState
from engine.settings import Settings
from engine.upcoming import NextRun, time_words, upcoming

NOW = datetime(2025, 6, 30, 12, tzinfo=UTC)  # a Monday, noon


@pytest.mark.parametrize(("at", "words"), [
    (datetime(2025, 6, 30, 21, tzinfo=UTC), "tonight at 9:00 pm"),
    (datetime(2025, 6, 30, 14, 30, tzinfo=UTC), "today at 2:30 pm"),
    (datetime(2025, 7, 1, 8, tzinfo=UTC), "tomorrow at 8:00 am"),
    (datetime(2025, 7, 6, 23, 30, tzinfo=UTC), "on Sunday at 11:30 pm"),
    (datetime(2025, 7, 12, 0, 5, tzinfo=UTC), "on Sat 12 Jul at 12:05 am"),
])
def test_time_words(at, words):
    assert time_words(at, NOW, UTC) == words


def test_the_operating_system_s_time_wins_and_a_job_it_lacks_is_marked():
    settings = Settings(repository="/x", schedule=ScheduleSettings(intraday="08:00-17:00"))
    schedule = (JobState("backup", True, True, "2025-06-30T21:15+00:00"), JobState("intraday", True, False),
                JobState("maintenance", False, False))
    found = upcoming(settings, schedule, NOW, tz=UTC)
    assert found == [NextRun("backup", datetime(2025, 6, 30, 21, 15, tzinfo=UTC), True),
                     NextRun("intraday", datetime(2025, 6, 30, 13, tzinfo=UTC), False),
                     NextRun("maintenance", datetime(2025, 7, 6, 23, 30, tzinfo=UTC), False)]
    assert [n.words(NOW, UTC) for n in found] == [
        "Next backup: tonight at 9:15 pm", "Next office-hours backup: today at 1:00 pm (not installed)",
        "Next maintenance: on Sunday at 11:30 pm (not installed)"]


def test_nothing_scheduled_has_no_next_run():
    settings = Settings(repository="/x", schedule=ScheduleSettings(nightly="off", maintenance="off"))
    assert upcoming(settings, None, NOW, tz=UTC) == []
