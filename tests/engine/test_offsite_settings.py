"""The ``[offsite]`` settings and the offsite job's window (pure: no bucket, no clock)."""
from __future__ import annotations

from datetime import datetime

import pytest

from engine.jobs import JobSkipped
from engine.jobsettings import ScheduleSettings
from engine.offsite.run import window_close
from engine.offsite.settings import OffsiteSettings
from engine.schedule.model import Calendar
from engine.settings import Settings

LOCATION = "s3:https://s3.us-west-004.backblazeb2.com/office-bucket/odbackup"


def test_the_job_starts_at_the_window_start_on_the_chosen_nights():
    off = OffsiteSettings(enabled=True, location=LOCATION, window="23:15-06:30", days=("Mon", "fri"))
    assert off.calendar() == Calendar(frozenset({0, 4}), (23,), 15)
    settings = Settings(repository="/r", images_folder="/i", offsite=off)
    assert settings.calendars()["offsite"] == off.calendar()
    assert "offsite" not in Settings(repository="/r", images_folder="/i").calendars()  # off by default


@pytest.mark.parametrize(("now", "closes"), [
    (datetime(2026, 12, 7, 23, 30), datetime(2026, 12, 8, 6, 30)),  # the evening: tomorrow morning
    (datetime(2026, 12, 8, 2, 0), datetime(2026, 12, 8, 6, 30)),  # past midnight: this morning
])
def test_a_run_in_the_window_stops_at_its_end(now, closes):
    assert window_close(OffsiteSettings(window="23:00-06:30"), now, force=False) == closes


def test_a_run_outside_the_window_is_skipped_unless_forced_then_it_runs_to_the_end():
    off = OffsiteSettings(window="23:00-06:30")
    with pytest.raises(JobSkipped, match=r"outside the offsite window \(23:00-06:30; it is 09:15\)"):
        window_close(off, datetime(2026, 12, 8, 9, 15), force=False)
    assert window_close(off, datetime(2026, 12, 8, 9, 15), force=True) is None


@pytest.mark.parametrize(("change", "words"), [
    ({"window": "23:00"}, "is not an upload window"),
    ({"limit_upload": "quick"}, "is not an upload rate"),
    ({"location": "D:\\offsite"}, "is not in online storage"),
    ({"location": "s3:https://host/B_AD/x"}, "is not a bucket name"),
    ({"alert_days": 0}, "at least 1"),
])
def test_what_cannot_be_used_is_said_in_plain_words(change, words):
    assert any(words in p for p in OffsiteSettings(**change).problems())


def test_the_offsite_repository_is_not_the_main_one():
    settings = Settings(repository=LOCATION, images_folder="/i", offsite=OffsiteSettings(location=LOCATION))
    assert any("another repository than the main one" in p for p in settings.problems())
    assert OffsiteSettings(limit_upload="20Mbit").rate() == 2_500_000 and OffsiteSettings().rate() is None


@pytest.mark.parametrize(("window", "days", "maintenance", "clash"), [
    ("23:00-06:30", ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat"), ("23:30", ("Sun",)), False),  # the defaults
    ("23:00-06:30", ("Sun",), ("23:30", ("Sun",)), True),
    ("23:00-06:30", ("Sat",), ("02:00", ("Sun",)), True),  # past midnight: Saturday's window holds Sunday 2 am
    ("23:00-06:30", ("Sat",), ("07:00", ("Sun",)), False),
    ("01:00-05:00", ("Sun",), ("23:30", ("Sun",)), False),
    ("01:00-05:00", ("Sun",), ("off", ("Sun",)), False),
])
def test_maintenance_may_not_fall_in_the_offsite_window(window, days, maintenance, clash):
    off = OffsiteSettings(enabled=True, window=window, days=days)
    found = off.maintenance_problem(*maintenance)
    assert (found is not None) is clash
    schedule = ScheduleSettings(maintenance=maintenance[0], maintenance_days=maintenance[1])
    settings = Settings(repository="/r", images_folder="/i", schedule=schedule, offsite=off)
    assert any("falls in the offsite window" in p for p in settings.problems()) is clash
    assert OffsiteSettings(enabled=False, window=window, days=days).maintenance_problem(*maintenance) is None
