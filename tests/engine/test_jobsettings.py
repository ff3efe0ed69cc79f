"""The [schedule] and [retention] settings: typed, checked in plain words, round-tripped."""
from __future__ import annotations

import tomllib

import pytest

from engine.jobsettings import RetentionSettings, ScheduleSettings
from engine.retention import Duration, Policy
from engine.schedule.model import Calendar
from engine.settings import Settings, SettingsError, from_dict, to_toml


def test_the_defaults_are_the_practice_s():
    calendars = ScheduleSettings().calendars()
    assert calendars == {"backup": Calendar(frozenset(range(7)), (21,), 0),
                         "maintenance": Calendar(frozenset({6}), (23,), 30),
                         "archive": Calendar(frozenset(range(7)), (10, 23), 0)}
    assert RetentionSettings().policy() == Policy(within=Duration(hours=48), daily=30, weekly=13,
                                                  monthly=24, yearly=7)


def test_office_hours_backups_when_turned_on():
    s = ScheduleSettings(intraday="08:15-18:15", intraday_days=("mon", "Wednesday"))
    assert s.calendars()["intraday"] == Calendar(frozenset({0, 2}), tuple(range(8, 19)), 15)


@pytest.mark.parametrize("schedule, words", [
    (ScheduleSettings(nightly="9pm"), "not a time of day"),
    (ScheduleSettings(nightly="24:00"), "not a time of day"),
    (ScheduleSettings(nightly_days=("Mo", "Funday")), "Days are written"),
    (ScheduleSettings(nightly_days=()), "Days are written"),
    (ScheduleSettings(intraday="08:00"), "not a range of hours"),
    (ScheduleSettings(intraday="18:00-08:00"), "last hour comes before"),
    (ScheduleSettings(intraday="08:00-18:30"), "same minute"),
    (ScheduleSettings(intraday_lock_mode="fast"), "lock mode"),
    (ScheduleSettings(archive="10:00, 23:30"), "same minute"),
    (ScheduleSettings(archive="10:00, 25:00"), "not a time of day"),
    (ScheduleSettings(archive=" , "), "not a list of times"),
    (ScheduleSettings(archive_days=("Xyz",)), "Days are written"),
])
def test_schedule_problems_in_plain_words(schedule, words):
    (problem,) = schedule.problems()
    assert words in problem


@pytest.mark.parametrize("retention, words", [
    (RetentionSettings(within="2 days"), "not a duration"),
    (RetentionSettings(daily=-5), "whole numbers"),
    (RetentionSettings(reports_years=1), "6 years"),
])
def test_retention_problems_in_plain_words(retention, words):
    assert any(words in p for p in retention.problems())


def test_settings_round_trip_through_toml_and_wrong_types_are_named():
    s = Settings(repository="/r", images_folder="/i",
                 schedule=ScheduleSettings(intraday="08:00-17:00", maintenance="off"),
                 retention=RetentionSettings(within="7d", daily=10))
    assert from_dict(tomllib.loads(to_toml(s))) == s
    with pytest.raises(SettingsError, match=r"'daily' has the wrong type"):
        from_dict({"retention": {"daily": "ten"}})
    with pytest.raises(SettingsError, match=r"schedule.nightly_days must be a list"):
        from_dict({"schedule": {"nightly_days": [1, 2]}})


def test_an_old_settings_file_gets_the_defaults():
    s = from_dict({"repository": "/r", "folders": {"images": "/i"}})
    assert s.schedule == ScheduleSettings() and s.retention == RetentionSettings()


def test_a_folder_inside_another_is_a_problem():
    s = Settings(repository="/r", images_folder="/srv/OpenDentImages", extra_folders=("/srv/OpenDentImages/A",))
    assert any("inside" in p for p in s.problems())


def test_every_config_key_has_its_meaning_from_the_field_docstrings():
    from engine.config_keys import all_keys

    keys = all_keys()
    assert keys["database.port"].meaning.startswith("TCP port of the server")
    assert keys["schedule.nightly_days"].meaning == "The days the nightly backup runs."
    assert "``" not in keys["database.lock_mode"].meaning
    assert all(k.meaning for k in keys.values()), [k.name for k in keys.values() if not k.meaning]


def test_archive_copies_at_the_times_listed_in_any_order_or_off():
    s = ScheduleSettings(archive="23:15,07:15, 23:15", archive_days=("Mon", "fri"))
    assert s.calendars()["archive"] == Calendar(frozenset({0, 4}), (7, 23), 15)
    assert "archive" not in ScheduleSettings(archive="OFF").calendars()


def test_the_archive_job_is_started_only_once_a_drive_is_set_up():
    from dataclasses import replace

    from engine.archive.drives import ArchiveDrive, book_path, update_book

    settings = Settings(repository="/r", images_folder="/i")
    assert "archive" not in settings.calendars()
    update_book(lambda book: replace(book, drives=(ArchiveDrive("d" * 64, "Drive A"),)))
    assert settings.calendars()["archive"] == Calendar(frozenset(range(7)), (10, 23), 0)
    with open(book_path(), "w") as f:
        f.write("{not json")
    assert "archive" in settings.calendars()  # an unreadable book: scheduled, and its alert says why
