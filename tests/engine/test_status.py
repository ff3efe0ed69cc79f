"""The alert policy (engine/status.py): a table of states and the alerts they give (every
alert, and "All good"), then gather_state on real repositories."""
from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from engine.backup import BackupPlan, run_backup
from engine.credentials import Sources
from engine.forget import forget
from engine.jobs import NO_POLICY_SKIP
from engine.jobsettings import ScheduleSettings
from engine.reports import store_report
from engine.repository import keys as keymod
from engine.repository.repo import Repository
from engine.retention import Policy
from engine.runlog import RunRecord
from engine.schedule.install import JobState
from engine.schedule.model import Calendar
from engine.settings import DatabaseSettings, DestinationCheck, Settings
from engine.status import (
    ALL_GOOD,
    Alert,
    LastBackup,
    State,
    Verification,
    alerts,
    gather_state,
    missed_runs,
)

NOW = datetime(2025, 6, 30, 12, tzinfo=UTC)
WHERE = "/media/usb/odbackup"
SETTINGS = Settings(repository=WHERE, images_folder="/srv/OpenDentImages", database=DatabaseSettings())
GIB = 1024**3
THERE = DestinationCheck(WHERE, True, True, True, 500 * GIB, 1000 * GIB, 0)
GONE = DestinationCheck(WHERE, False, False, False, 0, 0, 0, "the drive or share is not there")
FULL = DestinationCheck(WHERE, True, True, True, 50 * GIB, 1000 * GIB, 0)


def ago(**delta: float) -> str:
    return (NOW - timedelta(**delta)).isoformat()


def backup(at: str, complete: bool = True) -> LastBackup:
    return LastBackup("a" * 64, at, complete, 10, 100, 2.0)


def sched(job: str, started: str) -> RunRecord:
    return RunRecord(job, "schedule", started, started, "ok", "done", 0)


def run(job: str, result: str, message: str, trigger: str = "manual") -> RunRecord:
    return RunRecord(job, trigger, ago(hours=15), ago(hours=14), result, message, {"ok": 0, "failed": 1}.get(result, 3))


GOOD = State(WHERE, snapshots=1, last=backup(ago(hours=2)), last_success=ago(hours=2),
             verification=Verification("a" * 64, ago(days=1), True), destination=THERE)
"""A repository where nothing needs attention."""

NOT_ENROLLED = "No passphrase was given and this machine is not enrolled for this repository."

CASES = {
    # name: (changes to GOOD, [(level, kind, text)])
    "all good": ({}, [("ok", "all_good", "All good: nothing needs attention.")]),
    "destination missing": (
        dict(destination=GONE, problem=f"There is no odbackup repository at '{WHERE}'."),
        [("critical", "destination_missing",
          f"The backup destination {WHERE} is not there: connect the USB drive or network share.")]),
    "repository unreadable": (
        dict(problem="The repository's config file cannot be read."),
        [("critical", "repository_unreadable",
          "The repository cannot be read: The repository's config file cannot be read.")]),
    "not enrolled": (
        dict(problem=NOT_ENROLLED, needs_secret=True, last=None, last_success=None, verification=None),
        [("critical", "repository_unreadable", f"The repository cannot be read: {NOT_ENROLLED}"),
         ("warning", "not_enrolled", "This machine is not enrolled, so scheduled backups cannot run: give the "
                                     "passphrase, or enroll this machine.")]),
    "no backup yet": (
        dict(snapshots=0, last=None, last_success=None, verification=None),
        [("critical", "no_backup", "No backup yet: back up now.")]),
    "the nightly did not happen": (
        dict(last=backup(ago(hours=24)), last_success=ago(hours=24)),
        [("critical", "backup_overdue", "The backup scheduled for Sun 29 Jun 21:00 did not happen (last "
                                        "successful: a day ago): see the job log, and check that the schedule "
                                        "is installed.")]),
    "last night's backup is fine": (dict(last=backup(ago(hours=15)), last_success=ago(hours=15)), None),
    "never a complete backup": (
        dict(last=backup(ago(hours=1), complete=False), last_success=None),
        [("critical", "backup_overdue", "No backup has completed yet."),
         ("warning", "incomplete", "The last backup is incomplete (some files or tables could not be read): "
                                   "see the job log.")]),
    "last backup incomplete": (
        dict(last=backup(ago(hours=1), complete=False)),
        [("warning", "incomplete", "The last backup is incomplete (some files or tables could not be read): "
                                   "see the job log.")]),
    "never verified": (
        dict(verification=None),
        [("warning", "never_verified", "No backup has ever been verified: verify the latest backup.")]),
    "verification failed": (
        dict(verification=Verification("a" * 64, ago(hours=3), False)),
        [("critical", "verify_failed", "The last verification FAILED (3 hours ago): see its report, then back up "
                                       "and verify again.")]),
    "not verified in 30 days": (
        dict(verification=Verification("a" * 64, ago(days=40), True)),
        [("warning", "verify_overdue", "Not verified in 30 days (last: a month ago): verify the latest backup.")]),
    "exactly 30 days is still fine": (dict(verification=Verification("a" * 64, ago(days=30), True)), None),
    "destination nearly full": (
        dict(destination=FULL),
        [("warning", "destination_full", "The backup destination is nearly full: 50.0 GiB free of 1000.0 GiB.")]),
    "database cannot be reached": (
        dict(database_problem="Cannot connect to the database server at 127.0.0.1:1."),
        [("critical", "database_unreachable",
          "The database cannot be reached: Cannot connect to the database server at 127.0.0.1:1.")]),
    "long lock, estimated": (
        dict(expected_lock=45.0),
        [("warning", "long_lock", "A backup now makes the office's changes wait about 45 seconds (estimate): "
                                  "back up after hours, or choose per-table locking.")]),
    "long lock, measured": (
        dict(expected_lock=95.0, expected_lock_measured=True),
        [("warning", "long_lock", "A backup now makes the office's changes wait about 1 minute and 35 seconds "
                                  "(last backup): back up after hours, or choose per-table locking.")]),
    "a short lock is fine": (dict(expected_lock=29.9), None),
    "several at once, in order": (
        dict(needs_secret=True, last=backup(ago(hours=30), complete=False), last_success=ago(hours=40),
             verification=None, destination=FULL, database_problem="down", expected_lock=31.0),
        ["not_enrolled", "backup_overdue", "incomplete", "never_verified", "destination_full",
         "database_unreachable", "long_lock"]),
    "the last scheduled backup failed": (
        dict(runs=(run("backup", "failed", "Repository locked: a backup from host x is running.", "schedule"),)),
        [("critical", "run_failed", "The scheduled backup run (2025-06-29T21:00:00+00:00) failed: Repository "
                                    "locked: a backup from host x is running.")]),
    "a run skipped, another incomplete, one fine": (
        dict(runs=(run("intraday", "skipped", "skipped: previous run still going (process 7).", "schedule"),
                   run("backup", "incomplete", "Saved 3 file(s). Incomplete: 1 file(s) could not be read."),
                   run("maintenance", "ok", "The repository check found no errors."))),
        [("warning", "run_skipped", "The scheduled intraday run (2025-06-29T21:00:00+00:00) skipped: skipped: "
                                    "previous run still going (process 7)."),
         ("warning", "run_incomplete", "The last backup run (2025-06-29T21:00:00+00:00) incomplete: Saved 3 "
                                       "file(s). Incomplete: 1 file(s) could not be read.")]),
    "no retention policy while maintenance is scheduled": (
        dict(stored_policy=False, runs=(run("maintenance", "incomplete", "The repository check found no errors. "
                                            f"Incomplete: retention {NO_POLICY_SKIP}.", "schedule"),)),
        [("warning", "no_retention_policy", "The repository holds no retention policy, so maintenance cannot "
                                            "free space: the passphrase holder runs odbackup forget "
                                            "--save-policy.")]),
    "the nightly is not installed in the operating system": (
        dict(schedule=(JobState("backup", False, False), JobState("intraday", False, False),
                       JobState("maintenance", True, True, "2025-07-06T23:30"))),
        [("critical", "schedule_not_installed", "The backup job is scheduled in the settings but not installed in "
                                                "the operating system, so it never runs: install the schedule "
                                                "(odbackup schedule install).")]),
    "maintenance installed but disabled": (
        dict(schedule=(JobState("backup", True, True, "2025-06-30T21:00"),
                       JobState("maintenance", True, False, None, "cron is NOT running: nothing will start it"))),
        [("warning", "schedule_disabled", "The maintenance job is installed but disabled in the operating system "
                                          "(cron is NOT running: nothing will start it), so it never runs: "
                                          "install the schedule again (odbackup schedule install).")]),
    "no scheduler runs here": (
        dict(schedule_problem="Neither systemd nor cron is running on this machine."),
        [("critical", "schedule_unreadable", "The operating system's schedule could not be read: Neither systemd "
                                             "nor cron is running on this machine: see odbackup schedule show.")]),
    "patient files the database names are missing today": (
        dict(patient_files_missing=12, patient_files_examples=("S/SmithJohn12/xray1.jpg", "EOBs/eob7.pdf")),
        [("warning", "patient_files_missing", "12 patient file(s) the database names are missing from the images "
                                              "folder today (first: S/SmithJohn12/xray1.jpg, EOBs/eob7.pdf): "
                                              "restore them from an older backup, or find out where they went.")]),
    "nightly runs missed": (
        dict(history=tuple(sched("backup", f"2025-06-{day}T21:00:04+00:00") for day in (29, 26, 25, 24))),
        [("critical", "runs_missed", "2 scheduled backup run(s) did not happen in the last 7 days (the last: "
                                     "Sat 28 Jun 21:00): check that the machine was on and the schedule is "
                                     "installed.")]),
}


@pytest.mark.parametrize("name", CASES)
def test_alerts(name):
    changes, expected = CASES[name]
    found = alerts(SETTINGS, dataclasses.replace(GOOD, **changes), NOW, tz=UTC)
    if expected is None:
        assert found == [ALL_GOOD]
    elif isinstance(expected[0], str):
        assert [a.kind for a in found] == expected
    else:
        assert [(a.level, a.kind, a.text) for a in found] == expected
    assert all(a.title and a.message for a in found)


def test_every_alert_is_in_the_table():
    kinds = {kind for changes, expected in CASES.values() if expected and not isinstance(expected[0], str)
             for _level, kind, _text in expected}
    assert kinds == {"all_good", "destination_missing", "repository_unreadable", "not_enrolled", "no_backup",
                     "backup_overdue", "incomplete", "never_verified", "verify_failed", "verify_overdue",
                     "destination_full", "database_unreachable", "long_lock", "run_failed", "run_skipped",
                     "run_incomplete", "no_retention_policy", "schedule_not_installed", "schedule_disabled",
                     "schedule_unreadable", "runs_missed", "patient_files_missing"}


FRI_21 = datetime(2025, 6, 27, 21, tzinfo=UTC)
WEEKDAYS = ScheduleSettings(nightly_days=("Mon", "Tue", "Wed", "Thu", "Fri"))


@pytest.mark.parametrize(("schedule", "now", "overdue"), [
    (ScheduleSettings(), FRI_21 + timedelta(hours=25, minutes=59), False),  # a nightly: 24 hours + 2 of grace
    (ScheduleSettings(), FRI_21 + timedelta(hours=26, minutes=1), True),
    (WEEKDAYS, FRI_21 + timedelta(days=2), False),  # Sunday: no weekday-only nightly was due
    (WEEKDAYS, FRI_21 + timedelta(days=3, hours=1, minutes=59), False),  # Monday's run may still be going
    (WEEKDAYS, FRI_21 + timedelta(days=3, hours=2, minutes=1), True),
    (ScheduleSettings(nightly="off", intraday="08:00-17:00"), FRI_21 + timedelta(days=2), False),
    (ScheduleSettings(nightly="off", intraday="08:00-17:00"), FRI_21 + timedelta(days=3, hours=-11, minutes=1), True),
    (ScheduleSettings(nightly="off"), FRI_21 + timedelta(hours=24), False),  # nothing scheduled: 24 hours
    (ScheduleSettings(nightly="off"), FRI_21 + timedelta(hours=24, minutes=1), True),
], ids=["nightly 25:59", "nightly 26:01", "weekdays sunday", "weekdays monday 22:59", "weekdays monday 23:01",
        "office hours sunday", "office hours monday 10:01", "unscheduled 24h", "unscheduled 24h01"])
def test_the_newest_backup_may_be_as_old_as_the_schedule_allows(schedule, now, overdue):
    settings = dataclasses.replace(SETTINGS, schedule=schedule)
    state = dataclasses.replace(GOOD, last=backup(FRI_21.isoformat()), last_success=FRI_21.isoformat(),
                                verification=Verification("a" * 64, FRI_21.isoformat(), True))
    kinds = [a.kind for a in alerts(settings, state, now, tz=UTC)]
    assert kinds == (["backup_overdue"] if overdue else ["all_good"])


NIGHTLY = Calendar(frozenset(range(7)), (21,), 0)


@pytest.mark.parametrize(("started", "triggers", "missed"), [
    ([], "", []),  # never ran from the schedule: not installed yet, nothing counted as missed
    (["2025-06-23T21:00", "2025-06-24T21:00", "2025-06-25T21:00", "2025-06-26T21:00", "2025-06-27T21:00",
      "2025-06-28T21:00", "2025-06-29T21:01"], "sssssss", []),
    (["2025-06-27T21:00", "2025-06-29T21:00"], "ss", ["2025-06-28T21:00"]),  # counted from the first one
    (["2025-06-27T21:00", "2025-06-28T23:40", "2025-06-29T21:00"], "sms", []),  # a run by hand that evening
    (["2025-06-27T21:00", "2025-06-29T08:15"], "ss", ["2025-06-29T21:00"]),  # caught up next morning; Sunday's missed
    (["2025-06-29T20:58"], "s", []),  # a few minutes early still answers it
    (["2025-06-20T21:00", "2025-06-29T21:00"], "ss", ["2025-06-23T21:00", "2025-06-24T21:00", "2025-06-25T21:00",
                                                       "2025-06-26T21:00", "2025-06-27T21:00", "2025-06-28T21:00"]),
], ids=["never scheduled", "every night", "one night missed", "run by hand", "caught up late", "early",
        "only the last 7 days"])
def test_missed_runs(started, triggers, missed):
    now = datetime(2025, 6, 30, 12, tzinfo=UTC)  # Monday noon: Sunday 21:00 was the last expected run
    runs = [RunRecord("backup", "schedule" if t == "s" else "manual", f"{at}:00+00:00", f"{at}:00+00:00", "ok", "",
                      0) for at, t in zip(started, triggers, strict=True)]
    found = missed_runs(NIGHTLY, runs, now, tz=UTC)
    assert [t.strftime("%Y-%m-%dT%H:%M") for t in found] == missed


def test_no_retention_policy_matters_only_when_maintenance_is_scheduled():
    settings = dataclasses.replace(SETTINGS, schedule=ScheduleSettings(maintenance="off"))
    assert alerts(settings, dataclasses.replace(GOOD, stored_policy=False), NOW, tz=UTC) == [ALL_GOOD]


@pytest.mark.parametrize("settings", [
    Settings(repository=WHERE),
    Settings(repository=WHERE, database=DatabaseSettings(lock_mode="per-table")),
], ids=["no database", "per-table locking"])
def test_a_long_lock_matters_only_with_consistent_locking(settings):
    assert alerts(settings, dataclasses.replace(GOOD, expected_lock=95.0), NOW, tz=UTC) == [ALL_GOOD]


@pytest.mark.parametrize(("message", "hint", "text"), [
    ("No backup yet", "back up now", "No backup yet: back up now."),
    ("The repository cannot be read: it is gone.", "", "The repository cannot be read: it is gone."),
    ("Almost", "", "Almost."),
])
def test_an_alert_reads_as_one_sentence(message, hint, text):
    assert Alert("warning", "x", "X", message, hint).text == text


# --- gather_state on real repositories ------------------------------------------------------------

PASS = "a long test passphrase"
UNSCHEDULED = ScheduleSettings(nightly="off", maintenance="off")
"""(the operating system's schedule is read in the tests of their own below)"""


@pytest.fixture
def place(tmp_path):
    """A repository with one folder to back up; the settings name both."""
    repo, _ = Repository.init(str(tmp_path / "repo"), PASS)
    src = tmp_path / "Images"
    src.mkdir()
    (src / "a.txt").write_text("chart")
    return repo, Settings(repository=repo.location, images_folder=str(src), schedule=UNSCHEDULED)


def test_a_new_repository_has_no_backup_yet(place):
    _repo, settings = place
    state = gather_state(settings, Sources(session=PASS))
    assert (state.problem, state.snapshots, state.last, state.verification) == (None, 0, None, None)
    assert state.destination is not None and state.destination.exists and state.stored_policy is False
    assert [a.kind for a in alerts(settings, state, datetime.now(UTC))] == ["no_backup"]
    scheduled = dataclasses.replace(settings, schedule=ScheduleSettings(nightly="off"))  # maintenance only
    assert [a.kind for a in alerts(scheduled, state, datetime.now(UTC))] == ["no_backup", "no_retention_policy"]


def test_backups_and_verifications_are_read_with_machine_credentials(place):
    repo, settings = place
    first = run_backup(repo, BackupPlan(settings.folders)).snapshot_id
    second = run_backup(repo, BackupPlan(settings.folders)).snapshot_id
    store_report(repo, first, datetime.now(UTC).isoformat(), True, {})
    forget(repo, Policy(last=3), save=True)  # the passphrase holder stores the policy (nothing removed)
    keymod.enroll_machine(repo.keys, repo.location)
    state = gather_state(settings, Sources())
    assert not state.needs_secret and state.snapshots == 2
    assert state.last is not None and state.last.snapshot_id == second and state.last.files == 1
    assert [b.snapshot_id for b in state.recent] == [second, first]
    assert [b.verified_ok for b in state.recent] == [None, True]
    assert state.verification is not None and (state.verification.snapshot_id, state.verification.ok) == (first, True)
    assert state.stored_bytes > 0 and state.logical_bytes == 2 * len("chart") and state.stored_policy
    assert alerts(settings, state, datetime.now(UTC)) == [ALL_GOOD]


def test_not_enrolled_and_no_passphrase_is_a_state_not_an_error(place):
    _repo, settings = place
    state = gather_state(settings, Sources())
    assert state.needs_secret and state.problem == NOT_ENROLLED
    assert [a.kind for a in alerts(settings, state, datetime.now(UTC))] == ["repository_unreadable", "not_enrolled"]


def test_a_missing_destination_is_a_state_not_an_error(tmp_path):
    settings = Settings(repository=str(tmp_path / "usb" / "odbackup"), schedule=UNSCHEDULED)
    state = gather_state(settings, Sources(session=PASS))
    assert state.destination is not None and not state.destination.exists and state.problem
    assert [a.kind for a in alerts(settings, state, datetime.now(UTC))] == ["destination_missing"]


def test_scheduled_archive_runs_skipped_for_want_of_a_drive_are_reminders_not_alerts():
    from engine.archive.drives import ArchiveDrive, load_book, update_book

    copied = (NOW - timedelta(days=2)).isoformat(timespec="seconds")
    update_book(lambda book: dataclasses.replace(book, drives=(ArchiveDrive("d" * 64, "Drive A", last_copy=copied),)))
    assert "archive" in SETTINGS.calendars()  # a drive is set up: the copies are scheduled
    skipped = [RunRecord("archive", "schedule", f"2025-06-{day:02}T{hour}:00:00+00:00",
                         f"2025-06-{day:02}T{hour}:00:01+00:00", "skipped",
                         "No archive drive is plugged in ('Drive A' last copied 2025-06-28): plug one in.", 7)
               for day in range(30, 22, -1) for hour in (23, 10) if (day, hour) != (30, 23)]  # newest first
    state = dataclasses.replace(GOOD, runs=(skipped[0],), history=tuple(skipped), archive_book=load_book())
    assert alerts(SETTINGS, state, NOW, tz=UTC) == [ALL_GOOD]
    # without the book (it could not be read) a skipped run is worth saying
    found = alerts(SETTINGS, dataclasses.replace(state, archive_book=None), NOW, tz=UTC)
    assert [a.kind for a in found] == ["run_skipped"]
