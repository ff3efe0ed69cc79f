"""Jobs: what ``odbackup run JOB`` does, and the record every run leaves.

A job is a small declared thing (:class:`Job`): a name, what it does in
plain words, how long one run may take (the operating system's scheduler
stops it after that) and its steps, run in order. A step is a function of
the :class:`RunContext`; it adds what it saved to the context and raises an
engine error when it fails, which ends the run.

The jobs (docs/CLI.md, ``odbackup run``):

- ``backup``: the nightly backup, the database and every folder, in the
  saved lock mode;
- ``intraday``: the database only, in the office-hours lock mode
  (``schedule.intraday_lock_mode``, ``per-table`` by default);
- ``supplemental``: the nightly last-resort copy of the database (and the images)
  into its own repository at the Backup Copy Network Path, then a check of it, in
  its window only (:mod:`engine.supplemental`);
- ``maintenance``: the repository's upkeep. Retention (forgetting what the
  policy stored in the repository no longer keeps, ``engine.forget``) with
  reclaiming space (prune), then a check of the repository's structure
  (``check`` without ``--read-data``); the machine's write-only credentials
  do all three. With no policy stored, retention is skipped and the run ends
  ``incomplete`` saying so: maintenance then cannot free space.
- ``archive``: the snapshots each plugged-in archive drive lacks, its
  retention and a check (``engine.archive.job``); no drive plugged in ends
  ``skipped``, a reminder, never a failure.
- ``offsite``: the snapshots the offsite repository in online storage lacks,
  within its window and upload limit (:mod:`engine.offsite`); a run stopped
  by the window's end is ``incomplete`` and the next night continues.

:func:`run` runs one job with this machine's write-only credentials, never
the passphrase and never a prompt, under the job's run lock (two runs of one
job never overlap: the second is recorded as ``skipped``), and always ends
with a :class:`engine.runlog.RunRecord` written to the log folder.
"""
from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from . import runlog
from .errors import Cancelled, NoCredentials, OdbackupError, UsageError
from .events import DatabaseDumped, Event, EventSink, ignore_events
from .joblock import JobBusy, JobLock
from .runlog import RunRecord

if TYPE_CHECKING:
    from .repository.repo import Repository
    from .schedule.model import Calendar, ScheduledJob
    from .settings import Settings

EXIT_OK, EXIT_FAILED, EXIT_INCOMPLETE, EXIT_SKIPPED, EXIT_CANCELLED = 0, 1, 3, 7, 130
SKIPPED_MESSAGE = "skipped: previous run still going"


class JobFailed(OdbackupError):
    """The job could not do its work."""

    title = "Job failed"


class JobSkipped(OdbackupError):
    """The job did not start its work, on purpose (its message says why): outside its window, turned
    off, no archive drive plugged in (a reminder, never a failure). Recorded as ``skipped``; the one
    way a step says so."""

    title = "Job skipped"
    exit_code = EXIT_SKIPPED


@dataclass
class RunContext:
    """What the steps of one run share: the settings, the repository (opened on first use with
    this machine's write-only credentials), the event sink, and what was saved so far."""

    settings: Settings
    on_event: EventSink = ignore_events
    cancel: threading.Event = field(default_factory=threading.Event)
    snapshot_id: str | None = None
    files: int = 0
    bytes: int = 0
    databases: int = 0
    office_wait: float = 0.0
    incomplete: str | None = None
    """Why what was saved is incomplete (files that could not be read), else None."""
    force: bool = False
    """Run even outside the job's window (``odbackup run JOB --force``)."""
    said: list[str] = field(default_factory=list)
    """What each step did, in plain words (the run's message)."""
    _repo: Repository | None = None

    def repository(self) -> Repository:
        """The repository, unlocked with this machine's write-only credentials."""
        if self._repo is None:
            from .repository.repo import Repository

            repo = Repository.open(self.settings.repository)
            try:
                repo.use_machine_credentials()
            except NoCredentials as exc:
                raise NoCredentials("This machine is not enrolled for this repository, and a job runs only "
                                    "with the machine's write-only credentials (never the passphrase).",
                                    hint=f"Run 'odbackup enroll --repo {self.settings.repository}' once "
                                         "(it asks for the passphrase).") from exc
            self._repo = repo
        return self._repo


@dataclass(frozen=True)
class Step:
    """One step of a job: ``what`` in plain words, ``run`` does it."""

    name: str
    what: str
    run: Callable[[RunContext], None]


@dataclass(frozen=True)
class Job:
    """A job ``odbackup run`` knows."""

    name: str
    description: str
    """What it does, in plain words (also shown in the operating system's scheduler)."""
    time_limit: timedelta
    """How long one run may take before the scheduler stops it."""
    steps: tuple[Step, ...]

    def scheduled(self, calendar: Calendar, command: tuple[str, ...]) -> ScheduledJob:
        """This job as the operating system's scheduler starts it."""
        from .schedule.model import ScheduledJob

        return ScheduledJob(self.name, calendar, self.description, self.time_limit, command)


# --- the steps ------------------------------------------------------------------------------------


def _backup(ctx: RunContext, *, databases_only: bool, lock_mode: str | None = None) -> None:
    from .backup import BackupPlan, run_backup

    plan = ctx.settings.backup_plan()
    if databases_only:
        if not plan.databases:
            raise JobFailed("The office-hours backup saves the database, and no database is set up.",
                            hint="Choose the database in the setup, or turn office-hours backups off.")
        plan = BackupPlan((), plan.databases)
    if lock_mode is not None:
        plan = BackupPlan(plan.folders, tuple(dataclasses.replace(d, lock_mode=lock_mode) for d in plan.databases))
    dumped: list[DatabaseDumped] = []

    def on_event(event: Event) -> None:
        if isinstance(event, DatabaseDumped):
            dumped.append(event)
        ctx.on_event(event)

    result = run_backup(ctx.repository(), plan, on_event=on_event, cancel=ctx.cancel)
    ctx.snapshot_id = result.snapshot_id
    ctx.files += result.files
    ctx.bytes += result.bytes + sum(d.bytes for d in dumped)
    ctx.databases += len(dumped)
    ctx.office_wait += sum(d.lock_window for d in dumped)
    if not result.complete:
        ctx.incomplete = f"{len(result.skipped):,} file(s) could not be read (named in the log)"
    ctx.said.append(_saved_words(result.files, ctx.bytes, len(dumped), result.snapshot_id, ctx.office_wait))


def _saved_words(files: int, size: int, databases: int, snapshot_id: str, wait: float) -> str:
    parts = []
    if files or not databases:
        parts.append(f"{files:,} file(s)")
    if databases:
        parts.append(f"{databases} database(s)")
    text = f"Saved {' and '.join(parts)} ({_size(size)}) as snapshot {snapshot_id[:8]}"
    return text + (f"; the office's changes could wait up to {wait:.1f} s." if databases else ".")


def _size(n: int) -> str:
    value, unit = float(n), "bytes"
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            break
        value /= 1024
    return f"{n:,} bytes" if unit == "bytes" else f"{value:.1f} {unit}"


def _nightly(ctx: RunContext) -> None:
    _backup(ctx, databases_only=False)


def _office_hours(ctx: RunContext) -> None:
    _backup(ctx, databases_only=True, lock_mode=ctx.settings.schedule.intraday_lock_mode)


def _check(ctx: RunContext) -> None:
    from .check import check

    result = check(ctx.repository(), read_data=False, on_event=ctx.on_event, cancel=ctx.cancel)
    if not result.ok:
        from .errors import RepositoryDamaged

        raise RepositoryDamaged(f"The repository check found {len(result.errors)} error(s): "
                                + "; ".join(result.errors[:3]))
    ctx.said.append(f"The repository check found no errors ({result.snapshots} snapshot(s), "
                    f"{result.packs:,} pack(s)).")


NO_POLICY_SKIP = ("skipped: no retention policy stored in the repository (the passphrase holder runs "
                  "odbackup forget --save-policy, or the setup stores it)")
RETENTION_WAIT = 3600.0
"""Seconds retention waits for a backup or reader that holds the repository (then fails plainly)."""


def _retention(ctx: RunContext) -> None:
    """Forget what the policy stored in the repository no longer keeps, then reclaim the space.
    With no stored policy nothing is removed, and the run says so (it is not a success)."""
    from .forget import forget, stored_policy

    repo = ctx.repository()
    if stored_policy(repo) is None:
        extend = getattr(repo.backend, "extend_locks", None)  # Object Lock in a bucket: kept up without prune too
        if extend is not None:
            extend()
        ctx.incomplete = "retention " + NO_POLICY_SKIP
        return
    result = forget(repo, None, with_prune=True, wait=RETENTION_WAIT, on_event=ctx.on_event, cancel=ctx.cancel)
    kept = len(result.decision.keep)
    freed = result.pruned.bytes_freed if result.pruned is not None else 0
    ctx.said.append(f"Retention removed {len(result.removed)} snapshot(s) and kept {kept}; "
                    f"reclaiming space freed {_size(freed)}.")


def _archive(ctx: RunContext) -> None:
    from .archive.job import run_archive

    run_archive(ctx)


def _supplemental(ctx: RunContext) -> None:
    from .supplemental.run import run_supplemental

    run_supplemental(ctx)


def _offsite(ctx: RunContext) -> None:
    from .offsite.run import run_offsite

    run_offsite(ctx)


RETENTION = Step("retention", "forget what the stored retention policy no longer keeps and reclaim the space",
                 _retention)
CHECK = Step("check", "check the repository's structure", _check)
MAINTENANCE_STEPS: tuple[Step, ...] = (RETENTION, CHECK)
"""Maintenance's steps in order: retention with reclaiming space (one delete lock), then the check."""

JOBS: dict[str, Job] = {job.name: job for job in (
    Job("backup", "back up the database and every folder", timedelta(hours=10),
        (Step("backup", "back up the database and every folder", _nightly),)),
    Job("intraday", "back up the database only, with short pauses", timedelta(minutes=45),
        (Step("backup", "back up the database only", _office_hours),)),
    Job("maintenance", "look after the repository: " + ", then ".join(s.what for s in MAINTENANCE_STEPS),
        timedelta(hours=12), MAINTENANCE_STEPS),
    Job("archive", "copy the snapshots to the archive drive that is plugged in, then its retention and a check",
        timedelta(hours=12), (Step("archive", "copy to the archive drives", _archive),)),
    Job("supplemental", "make the last-resort copy at the Backup Copy Network Path, then check it",
        timedelta(hours=6), (Step("supplemental", "make the supplemental copy and check it", _supplemental),)),
    Job("offsite", "copy the new snapshots to online storage, within the upload window",
        timedelta(hours=12), (Step("offsite", "copy the new snapshots to online storage", _offsite),)),
)}


def get_job(name: str) -> Job:
    """The job called ``name``, or a UsageError naming the jobs there are."""
    try:
        return JOBS[name]
    except KeyError:
        raise UsageError(f"There is no job '{name}': the jobs are {', '.join(JOBS)}.") from None


# --- running one -----------------------------------------------------------------------------------


def lock_path(job: str, folder: str | None = None) -> str:
    """The run lock's file of ``job``."""
    return os.path.join(runlog.runs_dir(folder), f"{job}.lock")


def run(job: Job, settings: Settings | None, *, on_event: EventSink = ignore_events,
        cancel: threading.Event | None = None, trigger: str = "manual", folder: str | None = None,
        force: bool = False) -> RunRecord:
    """Run ``job`` once and record it. ``settings`` None: the saved ones (``load_settings``), read
    inside the run so a missing or broken settings file is a recorded failure too. ``folder``:
    the log folder (default :func:`runlog.log_dir`). ``force``: start even outside the job's
    window (the supplemental and offsite copies').

    Never raises for the job's own failures: they end in the record (``failed``, with the
    message and the exit code the engine error carries); a run whose previous one is still
    going ends at once as ``skipped``."""
    started = runlog.now_iso()
    lock = JobLock(lock_path(job.name, folder), job.name)
    try:
        lock.acquire()
    except JobBusy as busy:
        record = _record(job, trigger, started, "skipped", f"{SKIPPED_MESSAGE} ({busy.holder}).", EXIT_SKIPPED)
        runlog.write_record(record, folder)
        return record
    try:
        record = _run_steps(job, settings, on_event, cancel or threading.Event(), trigger, started, force)
    except Exception as exc:  # a bug: recorded as a failed run (status must hear of it), then raised
        runlog.write_record(_record(job, trigger, started, "failed", f"Unexpected error ({type(exc).__name__}: "
                                    f"{exc}); this is a bug in odbackup.", EXIT_FAILED), folder)
        raise
    else:
        runlog.write_record(record, folder)
        return record
    finally:
        lock.release()


def _run_steps(job: Job, settings: Settings | None, on_event: EventSink, cancel: threading.Event,
               trigger: str, started: str, force: bool = False) -> RunRecord:
    ctx: RunContext | None = None
    try:
        if settings is None:
            settings = _saved_settings()
        ctx = RunContext(settings.validate(), on_event, cancel, force=force)
        for step in job.steps:
            if cancel.is_set():
                raise Cancelled(f"The {job.name} run was cancelled before it could {step.what}.")
            step.run(ctx)
    except KeyboardInterrupt:
        return _record(job, trigger, started, "failed", "Stopped before the end (Ctrl+C, the scheduler's time "
                       "limit, or a shutdown); nothing partial was saved as a snapshot.", EXIT_CANCELLED, ctx)
    except JobSkipped as exc:
        return _record(job, trigger, started, "skipped", exc.message, EXIT_SKIPPED, ctx)
    except OdbackupError as exc:
        words = f"{exc.title}: {exc.message}" + (f" What to do: {exc.hint}" if exc.hint else "")
        return _record(job, trigger, started, "failed", words, exc.exit_code, ctx)
    except OSError as exc:  # the drive or share went away, a disk is full, a folder cannot be read
        where = f" ({exc.filename})" if exc.filename else ""
        return _record(job, trigger, started, "failed", f"{exc.strerror or exc}{where}. What to do: check that "
                       "the drive or network share is connected and writable.", EXIT_FAILED, ctx)
    if ctx.incomplete:
        return _record(job, trigger, started, "incomplete", " ".join(ctx.said) + f" Incomplete: {ctx.incomplete}.",
                       EXIT_INCOMPLETE, ctx)
    return _record(job, trigger, started, "ok", " ".join(ctx.said), EXIT_OK, ctx)


def _saved_settings() -> Settings:
    from .settings import SettingsError, load_settings, settings_path

    settings = load_settings()
    if settings is None:
        raise SettingsError(f"There are no saved settings ({settings_path()}): nothing is set up to back up yet.")
    return settings


def _record(job: Job, trigger: str, started: str, result: str, message: str, code: int,
            ctx: RunContext | None = None) -> RunRecord:
    record = RunRecord(job=job.name, trigger=trigger, started=started, finished=runlog.now_iso(), result=result,
                       message=message, exit_code=code, pid=os.getpid())
    if ctx is None:
        return record
    return dataclasses.replace(record, snapshot_id=ctx.snapshot_id, files=ctx.files, bytes=ctx.bytes,
                               databases=ctx.databases, office_wait=round(ctx.office_wait, 3))
