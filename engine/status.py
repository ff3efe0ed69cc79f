"""The state of the backups, and the alerts that follow from it.

Two steps, so the policy can be tested without a repository or a clock:

- :func:`gather_state` reads what the alerts are decided from (slow: the
  repository, with machine credentials enough; the destination's free space;
  the expected lock window from the database server). It never raises for
  a repository or server that cannot be read: that is part of the state.
- :func:`alerts` is the policy, a pure function of the settings, that state
  and the time: what needs a person, most urgent first, or one "All good".

The dashboard shows exactly these alerts; ``odbackup status`` prints them, with an exit code.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, Literal

from .credentials import Sources, open_repository
from .errors import NeedsFullKey, NoCredentials, OdbackupError, WrongPassphrase
from .listing import SnapshotRow, list_snapshots
from .reports import verifications
from .repository.repo import Repository
from .runlog import RunRecord, history, last_runs
from .schedule.install import JobState
from .settings import DestinationCheck, Settings, check_destination
from .words import ago, duration, size, when

if TYPE_CHECKING:
    from .events import AdminPasswordsChecked
    from .offsite.alerts import OffsiteState
    from .supplemental.alerts import SupplementalState

BACKUP_MAX_AGE = timedelta(hours=24)
"""How old the newest complete backup may be when no backup is scheduled."""
GRACE = timedelta(hours=2)
"""How long after a scheduled backup's time its snapshot may still be missing (a slow run)."""
SNAPSHOT_JOBS = ("backup", "intraday")
SCHEDULE_READ_SECONDS = 10.0
"""How long ``gather_state`` waits for the operating system's scheduler to answer."""
MISSED_LOOKBACK = timedelta(days=7)
"""How far back expected runs are looked for (and run records read)."""
VERIFY_MAX_AGE = timedelta(days=30)
LARGE_LOCK_SECONDS = 30.0
RECENT = 8

Level = Literal["ok", "warning", "critical"]


@dataclass(frozen=True)
class LastBackup:
    """A snapshot as the status shows it (the newest one is "the last backup")."""

    snapshot_id: str
    time: str
    complete: bool
    files: int
    bytes: int
    """Folders and databases, as ``odbackup snapshots`` counts them."""
    duration: float
    verified_ok: bool | None = None
    """The verdict of its latest verification (None: never verified)."""
    databases: int = 0


@dataclass(frozen=True)
class Verification:
    """The newest verification of any snapshot."""

    snapshot_id: str
    time: str
    ok: bool


@dataclass(frozen=True)
class State:
    """What the alerts are decided from (and what the dashboard shows).

    ``problem`` says why the repository could not be read. Every field has a
    default, so the record grows (the scheduled runs' records next) without
    breaking its readers.
    """

    location: str
    problem: str | None = None
    needs_secret: bool = False
    """Opening needed a passphrase: this machine is not enrolled."""
    snapshots: int = 0
    last: LastBackup | None = None
    last_success: str | None = None
    """When the newest complete snapshot was made."""
    verification: Verification | None = None
    stored_bytes: int = 0
    logical_bytes: int = 0
    """What all snapshots backed up (0 when older snapshots do not say)."""
    destination: DestinationCheck | None = None
    expected_lock: float | None = None
    """Seconds a backup now would make the office's changes wait (consistent locking only)."""
    expected_lock_measured: bool = False
    """``expected_lock`` is what the last backup measured, not an estimate."""
    database_problem: str | None = None
    recent: tuple[LastBackup, ...] = ()
    """The newest snapshots, newest first."""
    runs: tuple[RunRecord, ...] = ()
    """The latest run of each job (``engine.runlog``), whatever started it."""
    stored_policy: bool | None = None
    """Whether the repository holds a retention policy (None: not known, e.g. unreadable)."""
    schedule: tuple[JobState, ...] | None = None
    """Each job as the operating system's scheduler really has it (None: not read)."""
    schedule_problem: str | None = None
    """Why the operating system's schedule could not be read (no scheduler runs, it did not answer)."""
    history: tuple[RunRecord, ...] = ()
    """The runs of the last days (``MISSED_LOOKBACK``), newest first: which expected runs happened."""
    patient_files_missing: int = 0
    """Files the live database's ``document``/``eobattach`` rows name that the live images folder
    lacks today (engine.opendental.documents; 0 when not checked)."""
    patient_files_examples: tuple[str, ...] = ()
    """The first few of them (paths inside the images folder)."""
    archive_book: Any = None
    """The archive drives as the last copies found them (``engine.archive.drives.ArchiveBook``;
    None: none set up, or the book could not be read)."""
    archive_problem: str | None = None
    """Why the archive book could not be read."""
    supplemental: SupplementalState | None = None
    """The supplemental copy's state (None: not gathered)."""
    admin_passwords: AdminPasswordsChecked | None = None
    """Open Dental's admin users without a password (None: not checked)."""
    offsite: OffsiteState | None = None
    """The offsite copy's state (None: not gathered, or offsite copies are off)."""

    @property
    def dedup_ratio(self) -> float | None:
        """Bytes backed up in all snapshots per byte stored (None before the first backup)."""
        return self.logical_bytes / self.stored_bytes if self.stored_bytes and self.logical_bytes else None


@dataclass(frozen=True)
class Alert:
    """Something that needs a person (or, level ``ok``, that nothing does)."""

    level: Level
    kind: str
    """Which alert this is (``no_backup``, ``verify_failed`` ...), for front ends and scripts."""
    title: str
    """A few words: ``No backup yet``."""
    message: str
    """What is wrong, in plain words (no final full stop)."""
    hint: str = ""
    """What to do, in words that suit any front end (a front end may name its own key)."""

    @property
    def text(self) -> str:
        """The alert as one sentence: ``No backup yet: back up now.``"""
        return _sentence(f"{self.message}: {self.hint}" if self.hint else self.message)


ALL_GOOD = Alert("ok", "all_good", "All good", "All good: nothing needs attention")


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."


# --- the policy ---------------------------------------------------------------------------------


def alerts(settings: Settings, state: State, now: datetime, *, tz: tzinfo | None = None) -> list[Alert]:
    """What needs attention, roughly most urgent first; ``[ALL_GOOD]`` when nothing does.
    ``settings`` say what is expected (the schedule; whether the office's lock matters);
    ``tz``: the zone the schedule's times are in (default: this machine's)."""
    found = (_place_alerts(state) + _backup_alerts(settings, state, now, tz) + _schedule_alerts(settings, state)
             + _run_alerts(settings, state) + _missed_alerts(settings, state, now, tz)
             + _database_alerts(settings, state) + _archive_alerts(state, now)
             + _supplemental_alerts(settings, state, now) + _offsite_alerts(settings, state, now))
    return found or [ALL_GOOD]


def _offsite_alerts(settings: Settings, state: State, now: datetime) -> list[Alert]:
    from .offsite.alerts import alerts as offsite_alerts

    return offsite_alerts(settings, state.offsite, now)


def _archive_alerts(state: State, now: datetime) -> list[Alert]:
    """The archive drives' reminders (engine.archive.forecast): a drive to swap in, room running out."""
    if state.archive_problem:
        return [Alert("warning", "archive_book_unreadable", "Archive drives unknown", state.archive_problem)]
    if state.archive_book is None:
        return []
    from .archive.forecast import archive_alerts

    return archive_alerts(state.archive_book, now)


def _supplemental_alerts(settings: Settings, state: State, now: datetime) -> list[Alert]:
    from .supplemental.alerts import alerts as supplemental_alerts

    return supplemental_alerts(settings, state.supplemental, state.admin_passwords, now)


def _place_alerts(state: State) -> list[Alert]:
    found: list[Alert] = []
    dest = state.destination
    if dest is not None and not dest.exists:
        found.append(Alert("critical", "destination_missing", "Destination missing",
                           f"The backup destination {state.location} is not there",
                           "connect the USB drive or network share"))
    elif state.problem:
        found.append(Alert("critical", "repository_unreadable", "Repository cannot be read",
                           f"The repository cannot be read: {state.problem}"))
    if state.needs_secret:
        found.append(Alert("warning", "not_enrolled", "Machine not enrolled",
                           "This machine is not enrolled, so scheduled backups cannot run",
                           "give the passphrase, or enroll this machine"))
    return found


def _backup_alerts(settings: Settings, state: State, now: datetime, tz: tzinfo | None) -> list[Alert]:
    if state.problem:
        return []
    found: list[Alert] = []
    last = state.last
    if last is None:
        found.append(Alert("critical", "no_backup", "No backup yet", "No backup yet", "back up now"))
    else:
        found += _overdue(settings, state.last_success, now, tz)
    if last is not None and not last.complete:
        found.append(Alert("warning", "incomplete", "Last backup incomplete",
                           "The last backup is incomplete (some files or tables could not be read)",
                           "see the job log"))
    return found + _verification_alerts(state, now)


def _overdue(settings: Settings, last_success: str | None, now: datetime, tz: tzinfo | None) -> list[Alert]:
    """The newest complete backup older than the schedule allows: the first backup the schedule
    expected after it is more than GRACE past (no schedule: older than BACKUP_MAX_AGE)."""
    if last_success is None:
        return [Alert("critical", "backup_overdue", "No recent backup", "No backup has completed yet")]
    since = f" (last successful: {ago(last_success, now)})"
    expected = expected_backup_after(settings, when(last_success), tz)
    if expected is None:
        if now - when(last_success) <= BACKUP_MAX_AGE:
            return []
        return [Alert("critical", "backup_overdue", "No recent backup",
                      f"No successful backup in the last 24 hours{since}")]
    if expected + GRACE >= now:
        return []
    local = expected.astimezone(tz) if tz is not None else expected.astimezone()
    return [Alert("critical", "backup_overdue", "No recent backup",
                  f"The backup scheduled for {local:%a %d %b %H:%M} did not happen{since}",
                  "see the job log, and check that the schedule is installed")]


def expected_backup_after(settings: Settings, after: datetime, tz: tzinfo | None = None) -> datetime | None:
    """The first time after ``after`` that the schedule runs a backup (nightly or office-hours);
    None when no backup is scheduled. ``tz``: the schedule's zone (default: this machine's)."""
    from .schedule.model import next_runs

    calendars = _calendars(settings)
    planned = [calendars[job] for job in SNAPSHOT_JOBS if job in calendars]
    if not planned:
        return None
    return min(next_runs(calendar, after, 1, tz=tz)[0] for calendar in planned)


def _verification_alerts(state: State, now: datetime) -> list[Alert]:
    ver = state.verification
    if ver is None:
        if state.last is None:
            return []
        return [Alert("warning", "never_verified", "Never verified", "No backup has ever been verified",
                      "verify the latest backup")]
    if not ver.ok:
        return [Alert("critical", "verify_failed", "Verification failed",
                      f"The last verification FAILED ({ago(ver.time, now)})",
                      "see its report, then back up and verify again")]
    if now - when(ver.time) > VERIFY_MAX_AGE:
        return [Alert("warning", "verify_overdue", "Verification overdue",
                      f"Not verified in 30 days (last: {ago(ver.time, now)})", "verify the latest backup")]
    return []


def _schedule_alerts(settings: Settings, state: State) -> list[Alert]:
    """Jobs on in the settings that the operating system will not start (backup: critical)."""
    wanted = _calendars(settings)
    if not wanted or state.schedule is None and state.schedule_problem is None:
        return []
    if state.schedule_problem is not None:
        return [Alert("critical" if "backup" in wanted else "warning", "schedule_unreadable", "Schedule unknown",
                      f"The operating system's schedule could not be read: {state.schedule_problem.rstrip('.')}",
                      "see odbackup schedule show")]
    have = {job.job: job for job in state.schedule or ()}
    found = []
    for name in wanted:
        job = have.get(name)
        level: Level = "critical" if name == "backup" else "warning"
        if job is None or not job.registered:
            found.append(Alert(level, "schedule_not_installed", "Schedule not installed",
                               f"The {name} job is scheduled in the settings but not installed in the operating "
                               "system, so it never runs", "install the schedule (odbackup schedule install)"))
        elif not job.enabled:
            detail = f" ({job.detail})" if job.detail else ""
            found.append(Alert(level, "schedule_disabled", "Schedule disabled",
                               f"The {name} job is installed but disabled in the operating system{detail}, so "
                               "it never runs", "install the schedule again (odbackup schedule install)"))
    return found


def _missed_alerts(settings: Settings, state: State, now: datetime, tz: tzinfo | None) -> list[Alert]:
    """Expected runs with no run record between them and the next expected run, counted from the
    first scheduled run on record (before it, the schedule was not installed yet)."""
    found = []
    for name, calendar in _calendars(settings).items():
        missed = missed_runs(calendar, [r for r in state.history if r.job == name], now, tz)
        if missed:
            local = missed[-1].astimezone(tz) if tz is not None else missed[-1].astimezone()
            found.append(Alert("critical" if name == "backup" else "warning", "runs_missed", "Runs missed",
                               f"{len(missed)} scheduled {name} run(s) did not happen in the last "
                               f"{MISSED_LOOKBACK.days} days (the last: {local:%a %d %b %H:%M})",
                               "check that the machine was on and the schedule is installed"))
    return found


def missed_runs(calendar: Any, runs: list[RunRecord], now: datetime, tz: tzinfo | None = None) -> list[datetime]:
    """The expected times of ``calendar`` (over ``MISSED_LOOKBACK``, after the first scheduled run
    in ``runs``) that no run answered: none started between a time and the next one (a run caught
    up later, after the machine was off, counts). The latest expected time gets ``GRACE``."""
    from .schedule.model import next_runs

    scheduled = sorted(when(r.started) for r in runs if r.trigger == "schedule")
    if not scheduled:
        return []
    start = max(scheduled[0] - timedelta(minutes=1), now - MISSED_LOOKBACK)
    expected = [t for t in next_runs(calendar, start, 24 * 8 * 2, tz=tz) if t + GRACE <= now]
    started = sorted(when(r.started) for r in runs)
    missed = []
    for i, at in enumerate(expected):
        until = expected[i + 1] if i + 1 < len(expected) else now
        if not any(at - timedelta(minutes=5) <= t < until for t in started):
            missed.append(at)
    return missed


def _run_alerts(settings: Settings, state: State) -> list[Alert]:
    """The latest run of each job, when it failed, was skipped or is incomplete; and maintenance
    scheduled while the repository holds no retention policy (it cannot free space)."""
    from .jobs import NO_POLICY_SKIP
    from .offsite.run import DISABLED_SKIP as OFFSITE_OFF
    from .offsite.run import OUTSIDE_SKIP as OFFSITE_OUTSIDE
    from .offsite.run import WINDOW_ENDED
    from .supplemental.run import DISABLED_SKIP, OUTSIDE_SKIP

    no_policy = state.stored_policy is False and "maintenance" in _calendars(settings)
    found = [Alert("warning", "no_retention_policy", "No retention policy",
                   "The repository holds no retention policy, so maintenance cannot free space",
                   "the passphrase holder runs odbackup forget --save-policy")] if no_policy else []
    for run in state.runs:
        if run.result == "ok" or (no_policy and NO_POLICY_SKIP in run.message):
            continue
        if run.job == "archive" and run.result == "skipped" and state.archive_book is not None:
            continue  # no drive plugged in: the archive alerts say which drive is due, and when
        if run.message.startswith((OUTSIDE_SKIP, DISABLED_SKIP)):
            continue  # a supplemental run that rightly did not start (a catch-up outside its window)
        if run.job == "offsite" and (run.message.startswith((OFFSITE_OFF, OFFSITE_OUTSIDE))
                                     or run.result == "incomplete" and WINDOW_ENDED in run.message):
            continue  # stopped by its window (the next night goes on), or rightly not started
        level: Level = "critical" if run.result == "failed" else "warning"
        how = "scheduled" if run.trigger == "schedule" else "last"
        found.append(Alert(level, f"run_{run.result}", f"{run.job.capitalize()} run {run.result}",
                           f"The {how} {run.job} run ({run.started}) {run.result}: {run.message.rstrip('.')}"))
    return found


def _calendars(settings: Settings) -> dict:
    from .schedule.model import ScheduleError

    try:
        return settings.calendars()
    except ScheduleError:
        return {}


def _database_alerts(settings: Settings, state: State) -> list[Alert]:
    found: list[Alert] = []
    dest = state.destination
    if dest is not None and dest.exists and dest.nearly_full:
        found.append(Alert("warning", "destination_full", "Destination nearly full",
                           f"The backup destination is nearly full: {size(dest.free_bytes)} free "
                           f"of {size(dest.total_bytes)}"))
    if state.database_problem:
        found.append(Alert("critical", "database_unreachable", "Database unreachable",
                           f"The database cannot be reached: {state.database_problem}"))
    if state.patient_files_missing:
        first = ", ".join(state.patient_files_examples[:3])
        found.append(Alert("warning", "patient_files_missing", "Patient files missing",
                           f"{state.patient_files_missing:,} patient file(s) the database names are missing from "
                           f"the images folder today (first: {first})",
                           "restore them from an older backup, or find out where they went"))
    consistent = settings.database is not None and settings.database.lock_mode == "consistent"
    if consistent and state.expected_lock is not None and state.expected_lock >= LARGE_LOCK_SECONDS:
        how = "last backup" if state.expected_lock_measured else "estimate"
        found.append(Alert("warning", "long_lock", "Long lock",
                           f"A backup now makes the office's changes wait about "
                           f"{duration(state.expected_lock)} ({how})",
                           "back up after hours, or choose per-table locking"))
    return found


# --- gathering the state ------------------------------------------------------------------------


def gather_state(settings: Settings, sources: Sources | None = None, *, patient_files: bool = False) -> State:
    """Read everything the alerts need (slow: run it in a worker). ``sources``: the credentials
    at hand (default: this process's environment; nobody is asked). ``patient_files``: also
    check the files the live database names against the images folder (every ``document`` row
    and every patient folder: ``odbackup status`` does, not each return to the dashboard)."""
    found = _repository_part(settings, Sources.here() if sources is None else sources)
    repo = found.pop("repo", None)
    found.update(_lock_part(settings, repo, found.pop("last_lock_window", None)))
    found["destination"] = check_destination(settings.repository)
    found["runs"] = tuple(last_runs().values())
    found["history"] = tuple(r for r in history(None, 2000) if when(r.started) >= _utcnow() - MISSED_LOOKBACK)
    found.update(_schedule_part(settings))
    found.update(_archive_part())
    if patient_files and not found.get("database_problem"):
        found.update(_patient_files_part(settings))
    from .supplemental.alerts import gather as supplemental_part

    found.update(supplemental_part(settings, Sources.here() if sources is None else sources,
                                   database_ok=not found.get("database_problem")))
    from .offsite.alerts import gather as offsite_part

    found.update(offsite_part(settings, Sources.here() if sources is None else sources))
    return State(location=settings.repository, **found)


def _archive_part() -> dict[str, Any]:
    """The archive book (cheap: one small file); nothing when there are no archive drives."""
    from .archive.drives import ArchiveError, load_book

    try:
        book = load_book()
    except ArchiveError as exc:
        return {"archive_problem": exc.message}
    return {"archive_book": book} if book.drives else {}


def _patient_files_part(settings: Settings) -> dict[str, Any]:
    """The live check of the files the database names (issue 18); nothing when it cannot run."""
    if settings.database is None or not settings.images_folder:
        return {}
    from .opendental.documents import CHECKED, check_settings

    try:
        checked = check_settings(settings)
    except (OdbackupError, OSError):
        return {}  # the database's own problem is said by its own alert
    if checked is None or checked.state != CHECKED:
        return {}
    return {"patient_files_missing": checked.missing_total, "patient_files_examples": checked.missing[:3]}


def _utcnow() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)


def _schedule_part(settings: Settings) -> dict[str, Any]:
    """What the operating system's scheduler has, asked for at most ``SCHEDULE_READ_SECONDS`` (a
    daemon thread: a scheduler that hangs never keeps ``odbackup status`` from ending)."""
    import threading

    if not _calendars(settings):
        return {}
    answer: list[dict[str, Any]] = []
    reader = threading.Thread(target=lambda: answer.append(read_schedule()), name="schedule-read", daemon=True)
    reader.start()
    reader.join(SCHEDULE_READ_SECONDS)
    if not answer:
        return {"schedule_problem": f"the scheduler did not answer within {SCHEDULE_READ_SECONDS:.0f} seconds"}
    return answer[0]


def read_schedule() -> dict[str, Any]:
    """``schedule`` (each job as the scheduler has it) or ``schedule_problem``."""
    from .jobsettings import SCHEDULED_JOBS
    from .schedule.install import ScheduleInstallError, available_kind, installer

    try:
        return {"schedule": tuple(installer(available_kind()).show(SCHEDULED_JOBS))}
    except ScheduleInstallError as exc:
        return {"schedule_problem": exc.message}
    except OSError as exc:  # a scheduler's folder that cannot be read
        return {"schedule_problem": f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")}


def _repository_part(settings: Settings, sources: Sources) -> dict[str, Any]:
    try:
        repo = open_repository(settings.repository, sources, full=False)
    except (NoCredentials, NeedsFullKey, WrongPassphrase) as exc:
        return {"problem": exc.message, "needs_secret": True}
    except OdbackupError as exc:
        return {"problem": exc.message}
    except OSError as exc:
        return {"problem": f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")}
    checked = verifications(repo)
    rows = [row for row in list_snapshots(repo, checked) if not row.damaged]
    found: dict[str, Any] = {"snapshots": len(rows), "stored_bytes": _stored_bytes(repo), "repo": repo,
                             "stored_policy": _has_policy(repo)}
    if settings.database is None or all(row.stats and row.stats.db_bytes is not None for row in rows):
        # (headers of snapshots older than db_bytes do not say how big their databases were: no ratio then)
        found["logical_bytes"] = sum(row.bytes for row in rows)
    windows = [row.stats.lock_window for row in rows if row.stats and row.stats.lock_window is not None]
    if windows:  # the lock window the last backup of the database really had
        found["last_lock_window"] = float(windows[-1])
    return found | _snapshot_part(rows, checked)


def _snapshot_part(rows: list[SnapshotRow], checked: dict[str, tuple[str, bool]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    recent = tuple(_last_backup(row) for row in reversed(rows[-RECENT:]))
    if rows:
        complete = [row for row in rows if row.complete]
        found.update(last=recent[0], recent=recent, last_success=complete[-1].time if complete else None)
    if checked:  # the newest verification of any snapshot, even one no longer listed
        snap_id, (at, ok) = max(checked.items(), key=lambda item: item[1][0])
        found["verification"] = Verification(snap_id, at, ok)
    return found


def _has_policy(repo: Repository) -> bool | None:
    from .forget import stored_policy

    try:
        return stored_policy(repo) is not None
    except OdbackupError:  # a policy this machine cannot check is still a policy
        return True if repo.backend.exists("policy") else None


def _last_backup(row: SnapshotRow) -> LastBackup:
    stats = row.stats
    return LastBackup(row.snapshot_id, row.time, row.complete, row.files, row.bytes,
                      float(stats.duration) if stats else 0.0, row.verified_ok, (stats and stats.databases) or 0)


def _stored_bytes(repo: Repository) -> int:
    return sum(n for folder in ("data", "index", "snapshots", "keys", "reports")
               for _name, n in repo.backend.list(folder))


def _lock_part(settings: Settings, repo: Repository | None, last_window: float | None) -> dict[str, Any]:
    if settings.database is None or settings.database.lock_mode != "consistent":
        return {}
    from .database.connection import resolve_password
    from .database.preflight import expected_lock_window

    try:
        seconds, measured = expected_lock_window(resolve_password(settings.database.target()), repo)
    except OdbackupError as exc:
        # the server cannot be asked now: the last backup's lock window is the best guide
        found: dict[str, Any] = {"database_problem": exc.message}
        if last_window is not None:
            found.update(expected_lock=last_window, expected_lock_measured=True)
        return found
    return {"expected_lock": seconds, "expected_lock_measured": measured}
