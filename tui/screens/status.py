"""What the dashboard says: the state of the backups, and the alerts that follow from it.

``load_status`` reads the repository (machine credentials are enough), the
destination's free space and the expected lock window; ``alerts`` is a pure
function of that status and the time. (Both would serve a headless
``odbackup status`` command equally well; see the report to move them into
the engine.)
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.errors import NeedsFullKey, NoCredentials, OdbackupError, WrongPassphrase
from engine.reports import verifications
from engine.repository.repo import Repository
from engine.settings import DestinationCheck, Settings, check_destination

from ..widgets.fmt import ago, duration, size, when
from .common import as_error, open_repo

BACKUP_MAX_AGE = timedelta(hours=24)
VERIFY_MAX_AGE = timedelta(days=30)
LARGE_LOCK_SECONDS = 30.0
RECENT = 8


@dataclass(frozen=True)
class LastBackup:
    """A snapshot as the dashboard shows it (the newest one is "the last backup")."""

    snapshot_id: str
    time: str
    complete: bool
    files: int
    bytes: int
    """Folders and databases, as ``odbackup snapshots`` counts them (see ``backed_up_bytes``)."""
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
class RepoStatus:
    """Everything the dashboard shows. ``problem`` says why the repository could not be read."""

    location: str
    problem: str | None = None
    needs_secret: bool = False
    snapshots: int = 0
    last: LastBackup | None = None
    last_success: str | None = None
    verification: Verification | None = None
    stored_bytes: int = 0
    logical_bytes: int = 0
    destination: DestinationCheck | None = None
    expected_lock: float | None = None
    expected_lock_measured: bool = False
    database_problem: str | None = None
    recent: tuple[LastBackup, ...] = ()
    """The newest snapshots, newest first."""

    @property
    def dedup_ratio(self) -> float | None:
        """Bytes backed up in all snapshots per byte stored (None before the first backup)."""
        return self.logical_bytes / self.stored_bytes if self.stored_bytes and self.logical_bytes else None


@dataclass(frozen=True)
class Alert:
    """Something that needs a person; ``level`` is ``error`` or ``warning``."""

    level: str
    text: str


def backed_up_bytes(stats: dict) -> int:
    """What a snapshot backed up: its folders' files and its databases (``db_bytes``, as
    engine/backup.py writes it), the size ``odbackup snapshots`` shows."""
    return int(stats.get("bytes", 0)) + int(stats.get("db_bytes", 0))


def _stored_bytes(repo: Repository) -> int:
    total = 0
    for folder in ("data", "index", "snapshots", "keys", "reports"):
        total += sum(n for _name, n in repo.backend.list(folder))
    return total


def _repository_part(settings: Settings, secret: str | None) -> dict:
    try:
        repo = open_repo(settings.repository, full=False, secret=secret)
    except (NoCredentials, NeedsFullKey, WrongPassphrase) as exc:
        return {"problem": f"{exc.message}", "needs_secret": True}
    except OdbackupError as exc:
        return {"problem": exc.message}
    except OSError as exc:
        return {"problem": as_error(exc).message}
    snaps = repo.snapshots()
    found: dict = {"snapshots": len(snaps), "stored_bytes": _stored_bytes(repo)}
    if settings.database is None or all("db_bytes" in s.stats for s in snaps):
        # (headers of snapshots older than db_bytes do not say how big their databases were: no ratio then)
        found["logical_bytes"] = sum(backed_up_bytes(s.stats) for s in snaps)
    checked = verifications(repo)
    recent = [LastBackup(s.snapshot_id, s.time, s.complete, int(s.stats.get("files", 0)), backed_up_bytes(s.stats),
                         float(s.stats.get("duration", 0.0)), checked.get(s.snapshot_id, (None, None))[1],
                         int(s.stats.get("databases", 0))) for s in reversed(snaps[-RECENT:])]
    with_db = [x for x in snaps if "lock_window" in x.stats]
    if with_db:  # the lock window the last backup of the database really had
        found["last_lock_window"] = float(with_db[-1].stats["lock_window"])
    if snaps:
        found["last"], found["recent"] = recent[0], tuple(recent)
        complete = [x for x in snaps if x.complete]
        found["last_success"] = complete[-1].time if complete else None
    if checked:
        snap_id, (at, ok) = max(checked.items(), key=lambda item: item[1][0])
        found["verification"] = Verification(snap_id, at, ok)
    found["repo"] = repo
    return found


def _lock_part(settings: Settings, repo: Repository | None, last_window: float | None) -> dict:
    if settings.database is None or settings.database.lock_mode != "consistent":
        return {}
    from engine.database.connection import resolve_password
    from engine.database.preflight import expected_lock_window

    try:
        seconds, measured = expected_lock_window(resolve_password(settings.database.target()), repo)
    except OdbackupError as exc:
        # the server cannot be asked now: the last backup's lock window is the best guide
        found: dict = {"database_problem": exc.message}
        if last_window is not None:
            found.update(expected_lock=last_window, expected_lock_measured=True)
        return found
    return {"expected_lock": seconds, "expected_lock_measured": measured}


def load_status(settings: Settings, secret: str | None = None) -> RepoStatus:
    """Read everything the dashboard shows (slow parts: run it in a worker)."""
    found = _repository_part(settings, secret)
    repo = found.pop("repo", None)
    found.update(_lock_part(settings, repo, found.pop("last_lock_window", None)))
    found["destination"] = check_destination(settings.repository)
    return RepoStatus(location=settings.repository, **found)


def alerts(status: RepoStatus, current: datetime) -> list[Alert]:
    """What needs attention, most urgent first."""
    found: list[Alert] = []
    dest = status.destination
    if dest is not None and not dest.exists:
        found.append(Alert("error", f"The backup destination {status.location} is not there: connect the "
                                    "USB drive or network share."))
    elif status.problem:
        found.append(Alert("error", f"The repository cannot be read: {status.problem}"))
    if status.needs_secret:
        found.append(Alert("warning", "This machine is not enrolled, so scheduled backups cannot run: "
                                      "press u to unlock, or enroll it in Setup."))
    found += _backup_alerts(status, current)
    if dest is not None and dest.exists and dest.nearly_full:
        found.append(Alert("warning", f"The backup destination is nearly full: {size(dest.free_bytes)} free "
                                      f"of {size(dest.total_bytes)}."))
    if status.database_problem:
        found.append(Alert("error", f"The database cannot be reached: {status.database_problem}"))
    if status.expected_lock is not None and status.expected_lock >= LARGE_LOCK_SECONDS:
        how = "last backup" if status.expected_lock_measured else "estimate"
        found.append(Alert("warning", f"A backup now makes the office's changes wait about "
                                      f"{duration(status.expected_lock)} ({how}): back up after hours, or "
                                      "choose per-table locking in Setup."))
    return found


def _backup_alerts(status: RepoStatus, current: datetime) -> list[Alert]:
    if status.problem:
        return []
    found = []
    if status.last is None:
        found.append(Alert("error", "No backup yet: press b to back up now."))
    elif status.last_success is None or current - when(status.last_success) > BACKUP_MAX_AGE:
        last = f" (last successful: {ago(status.last_success, current)})" if status.last_success else ""
        found.append(Alert("error", f"No successful backup in the last 24 hours{last}."))
    if status.last is not None and not status.last.complete:
        found.append(Alert("warning", "The last backup is incomplete: some files or tables could not be read "
                                      "(see Logs)."))
    ver = status.verification
    if status.last is not None and ver is None:
        found.append(Alert("warning", "No backup has ever been verified: press v to verify the latest."))
    elif ver is not None and not ver.ok:
        found.append(Alert("error", f"The last verification FAILED ({ago(ver.time, current)}): see its report, "
                                    "then back up and verify again."))
    elif ver is not None and current - when(ver.time) > VERIFY_MAX_AGE:
        found.append(Alert("warning", f"Not verified in 30 days (last: {ago(ver.time, current)}): press v."))
    return found
