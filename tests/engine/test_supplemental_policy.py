"""The supplemental copy's pure parts: its window, its settings' checks, and its alerts."""
from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta

import pytest

from engine.errors import OdbackupError
from engine.events import AdminPasswordsChecked
from engine.jobs import JobSkipped
from engine.jobsettings import ScheduleSettings
from engine.opendental.supplemental import READ, OpenDentalSupplemental
from engine.places import DestinationCheck
from engine.runlog import RunRecord
from engine.schedule.model import EVERY_DAY, Calendar, ScheduleError
from engine.settings import DatabaseSettings, Settings, from_dict, to_toml
from engine.status import ALL_GOOD, LastBackup, State, Verification, alerts
from engine.supplemental.alerts import SupplementalState
from engine.supplemental.run import FORCED_WAIT, OUTSIDE_SKIP, deadline
from engine.supplemental.settings import SupplementalSettings, inside, window_end

NOW = datetime(2025, 6, 30, 12, tzinfo=UTC)
SHARE = "/mnt/nas/odbackup-supplemental"
ON = SupplementalSettings(enabled=True, path=SHARE)
SETTINGS = Settings(repository="/media/usb/odbackup", images_folder="/srv/OpenDentImages",
                    database=DatabaseSettings(), supplemental=ON)
THERE = DestinationCheck(SHARE, True, True, True, 500, 1000, 0)
GONE = DestinationCheck(SHARE, False, False, False, 0, 0, 0, "not there")
BASE = State("/media/usb/odbackup", snapshots=1, last=LastBackup("a" * 64, (NOW - timedelta(hours=2)).isoformat(),
             True, 10, 100, 2.0), last_success=(NOW - timedelta(hours=2)).isoformat(),
             verification=Verification("a" * 64, (NOW - timedelta(days=1)).isoformat(), True),
             destination=DestinationCheck("/media/usb/odbackup", True, True, True, 500, 1000, 0))
"""The main repository, where nothing needs attention."""


def ago(**delta: float) -> str:
    return (NOW - timedelta(**delta)).isoformat()


def test_window_past_midnight_and_its_end():
    start, end = SupplementalSettings().bounds()
    assert (start, end) == (time(22), time(4))
    assert [inside(time(h), start, end) for h in (21, 22, 23, 0, 3, 4, 12)] == [False, True, True, True, True,
                                                                                 False, False]
    assert inside(time(13), time(12), time(14)) and not inside(time(14), time(12), time(14))
    assert window_end(datetime(2025, 6, 30, 23, 30), start, end) == datetime(2025, 7, 1, 4)
    assert window_end(datetime(2025, 7, 1, 1, 0), start, end) == datetime(2025, 7, 1, 4)
    assert SupplementalSettings().calendar() == Calendar(EVERY_DAY, (22,), 0)


def test_deadline_inside_outside_and_forced():
    supp = SupplementalSettings(enabled=True, path=SHARE)
    assert deadline(supp, datetime(2025, 6, 30, 23, 0), False) == 5 * 3600
    with pytest.raises(JobSkipped) as skipped:
        deadline(supp, datetime(2025, 6, 30, 8, 15), False)
    assert skipped.value.message.startswith(OUTSIDE_SKIP) and "it is 08:15" in skipped.value.message
    assert skipped.value.exit_code == 7
    assert deadline(supp, datetime(2025, 6, 30, 8, 15), True) == FORCED_WAIT


@pytest.mark.parametrize(("window", "nightly", "problem"), [
    ("22:00-04:00", "21:00", None),
    ("22:00-04:00", "off", None),
    ("20:00-04:00", "21:00", "The nightly backup at 21:00 falls in the supplemental window 20:00-04:00"),
    ("22:00-04:00", "01:30", "The nightly backup at 01:30 falls in the supplemental window"),
    ("2200", "21:00", "'2200' is not a window"),
    ("22:00-22:00", "21:00", "starts and ends at the same time"),
    ("25:00-04:00", "21:00", "'25:00' is not a time of day"),
])
def test_window_problems(window, nightly, problem):
    found = SupplementalSettings(window=window).problems(nightly)
    assert (problem in found[0] if problem else found == []), found


def test_settings_check_the_copy_only_as_far_as_it_is_on():
    late = Settings(repository="/r", extra_folders=("/d",), schedule=ScheduleSettings(nightly="23:00"))
    assert late.problems() == []  # off: the nightly's time does not matter
    on = dataclasses.replace(late, supplemental=SupplementalSettings(enabled=True))
    assert any("falls in the supplemental window" in p for p in on.problems())
    same = dataclasses.replace(SETTINGS, supplemental=SupplementalSettings(path="/media/usb/odbackup/supp"))
    assert any("apart from the main repository" in p for p in same.problems())
    inside_images = dataclasses.replace(SETTINGS, supplemental=SupplementalSettings(path="/srv/OpenDentImages/x"))
    assert "The Backup Copy Network Path cannot be inside a folder being backed up." in inside_images.problems()
    assert SETTINGS.problems() == []
    assert SETTINGS.calendars()["supplemental"] == Calendar(EVERY_DAY, (22,), 0)
    assert "supplemental" not in dataclasses.replace(SETTINGS, supplemental=SupplementalSettings()).calendars()
    with pytest.raises(ScheduleError):
        dataclasses.replace(SETTINGS, supplemental=SupplementalSettings(enabled=True, window="x")).calendars()


def test_settings_file_round_trip_and_wrong_types():
    import tomllib

    text = to_toml(SETTINGS)
    assert "[supplemental]\nenabled = true\npath = " in text
    assert from_dict(tomllib.loads(text)) == SETTINGS
    with pytest.raises(OdbackupError, match="'enabled' has the wrong type"):
        from_dict({"supplemental": {"enabled": "yes"}})
    newer = from_dict({"supplemental": {"enabled": True, "upload": "hq"}})
    assert newer.supplemental.enabled and "upload = \"hq\"" in to_toml(newer)  # a newer version's key is kept


ADMIN = AdminPasswordsChecked("opendental", "checked", admins=2, without_password=("Admin", "temp"),
                              hidden=("temp",), auto_login="Admin", schema="usergroupattach")
FRESH = SupplementalState(destination=THERE, last_copy=ago(hours=10), last_snapshot="b" * 64,
                          verified_at=ago(days=3), verified_ok=True)
OD_ON = OpenDentalSupplemental(READ, enabled=True)

CASES = {
    # name: (settings' supplemental, state, admins, [(level, kind, text)])
    "all good": (ON, FRESH, None, [("ok", "all_good", "All good: nothing needs attention.")]),
    "off": (SupplementalSettings(), SupplementalState(), None, [
        ("warning", "supplemental_off", "Supplemental copies are off: no verified last-resort copy is kept at a "
         "Backup Copy Network Path: turn them on in the Supplemental screen.")]),
    "off, Open Dental's on": (SupplementalSettings(), SupplementalState(open_dental=OD_ON), None, [
        ("warning", "supplemental_off", "Supplemental copies are off: no verified last-resort copy is kept at a "
         "Backup Copy Network Path (Open Dental's own Supplemental Backups are on, but they are not verified and "
         "leave the images out): turn them on in the Supplemental screen.")]),
    "no path": (SupplementalSettings(enabled=True), SupplementalState(), None, [
        ("warning", "supplemental_no_path", "Supplemental copies are on but no Backup Copy Network Path is set: "
         "set it in the Supplemental screen.")]),
    "unreachable": (ON, dataclasses.replace(FRESH, destination=GONE), None, [
        ("critical", "supplemental_unreachable", f"The Backup Copy Network Path {SHARE} cannot be reached: "
         "connect the network share.")]),
    "stale": (ON, dataclasses.replace(FRESH, last_copy=ago(hours=50)), None, [
        ("warning", "supplemental_stale", "No supplemental copy in the last 48 hours (last: 2 days ago): see the "
         "job log.")]),
    "never": (ON, SupplementalState(destination=THERE), None, [
        ("warning", "supplemental_stale", "No supplemental copy in the last 48 hours (there has been none yet): "
         "see the job log.")]),
    "verify due": (ON, dataclasses.replace(FRESH, verified_at=ago(days=31)), None, [
        ("warning", "supplemental_verify_due", "The supplemental copy has not been verified this month (last: a "
         "month ago): verify a restore of it (Supplemental screen, or odbackup verify --repo PATH).")]),
    "never verified": (ON, dataclasses.replace(FRESH, verified_at=None, verified_ok=None), None, [
        ("warning", "supplemental_verify_due", "The supplemental copy has not been verified this month (never): "
         "verify a restore of it (Supplemental screen, or odbackup verify --repo PATH).")]),
    "verify failed": (ON, dataclasses.replace(FRESH, verified_ok=False), None, [
        ("critical", "supplemental_verify_failed", "The last verification of the supplemental copy FAILED (3 days "
         "ago): see its report, then make a new supplemental copy and verify it.")]),
    "admins": (ON, FRESH, ADMIN, [
        ("warning", "admin_no_password", "2 Open Dental admin users without a password: 'Admin', 'temp' (hidden); "
         "Open Dental opens without a login, as 'Admin': give each admin user a password in Open Dental (Setup, "
         "Security, the user, Change Password).")]),
}


@pytest.mark.parametrize("name", CASES)
def test_alerts(name):
    supp, state, admins, expected = CASES[name]
    settings = dataclasses.replace(SETTINGS, supplemental=supp)
    found = alerts(settings, dataclasses.replace(BASE, supplemental=state, admin_passwords=admins), NOW, tz=UTC)
    assert [(a.level, a.kind, a.text) for a in found] == expected


def test_no_supplemental_alert_without_a_database_or_a_gathered_state():
    folders_only = Settings(repository="/r", extra_folders=("/d",))
    assert alerts(folders_only, dataclasses.replace(BASE, supplemental=SupplementalState()), NOW, tz=UTC) \
        == [ALL_GOOD]
    assert alerts(dataclasses.replace(SETTINGS, supplemental=SupplementalSettings()), BASE, NOW, tz=UTC) \
        == [ALL_GOOD]


def test_a_failed_run_is_said_in_the_log_s_words_and_a_skip_outside_the_window_is_not_an_alert():
    failed = RunRecord("supplemental", "schedule", ago(hours=9), ago(hours=9), "failed",
                       "Job failed: The Backup Copy Network Path /mnt/nas cannot be reached.", 1)
    skipped = dataclasses.replace(failed, job="supplemental", result="skipped", exit_code=7,
                                  message=f"{OUTSIDE_SKIP} (22:00-04:00; it is 08:15).")
    found = alerts(SETTINGS, dataclasses.replace(BASE, supplemental=FRESH, runs=(failed,)), NOW, tz=UTC)
    assert [(a.kind, a.title) for a in found] == [("run_failed", "Supplemental run failed")]
    assert "cannot be reached" in found[0].text
    assert alerts(SETTINGS, dataclasses.replace(BASE, supplemental=FRESH, runs=(skipped,)), NOW, tz=UTC) == [ALL_GOOD]


def test_the_schedule_starts_the_copy_at_its_window_s_start():
    from engine.schedule import install_cron
    from engine.schedule.install import scheduled_jobs

    jobs = {j.name: j for j in scheduled_jobs(SETTINGS.calendars(), ("odbackup",))}
    assert set(jobs) == {"backup", "maintenance", "supplemental"}
    supp = jobs["supplemental"]
    assert supp.calendar == Calendar(EVERY_DAY, (22,), 0) and supp.time_limit == timedelta(hours=6)
    assert supp.command[:4] == ("odbackup", "run", "supplemental", "--scheduled")
    line = next(x for x in install_cron.render(list(jobs.values()), system=True).splitlines()
                if "run supplemental" in x and not x.startswith("#"))
    assert line.startswith("0 22 * * *"), line
