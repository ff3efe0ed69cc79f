"""The state of the backups, and the alerts that follow from it.

Two steps, so the policy can be tested without a repository or a clock:

- :func:`gather_state` reads what the alerts are decided from (slow: the
  repository, with machine credentials enough; the destination's free space;
  the expected lock window from the database server). It never raises for
  a repository or server that cannot be read: that is part of the state.
- :func:`alerts` is the policy, a pure function of the settings, that state
  and the time: what needs a person, most urgent first, or one "All good".

The dashboard shows exactly these alerts; ``odbackup status`` will print them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from .credentials import Sources, open_repository
from .errors import NeedsFullKey, NoCredentials, OdbackupError, WrongPassphrase
from .listing import SnapshotRow, list_snapshots
from .reports import verifications
from .repository.repo import Repository
from .settings import DestinationCheck, Settings, check_destination
from .words import ago, duration, size, when

BACKUP_MAX_AGE = timedelta(hours=24)
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


def alerts(settings: Settings, state: State, now: datetime) -> list[Alert]:
    """What needs attention, roughly most urgent first; ``[ALL_GOOD]`` when nothing does.
    ``settings`` say what is expected (today: whether the office's lock matters)."""
    found = _place_alerts(state) + _backup_alerts(state, now) + _database_alerts(settings, state)
    return found or [ALL_GOOD]


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


def _backup_alerts(state: State, now: datetime) -> list[Alert]:
    if state.problem:
        return []
    found: list[Alert] = []
    last = state.last
    if last is None:
        found.append(Alert("critical", "no_backup", "No backup yet", "No backup yet", "back up now"))
    elif state.last_success is None or now - when(state.last_success) > BACKUP_MAX_AGE:
        since = f" (last successful: {ago(state.last_success, now)})" if state.last_success else ""
        found.append(Alert("critical", "backup_overdue", "No recent backup",
                           f"No successful backup in the last 24 hours{since}"))
    if last is not None and not last.complete:
        found.append(Alert("warning", "incomplete", "Last backup incomplete",
                           "The last backup is incomplete (some files or tables could not be read)",
                           "see the job log"))
    return found + _verification_alerts(state, now)


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
    consistent = settings.database is not None and settings.database.lock_mode == "consistent"
    if consistent and state.expected_lock is not None and state.expected_lock >= LARGE_LOCK_SECONDS:
        how = "last backup" if state.expected_lock_measured else "estimate"
        found.append(Alert("warning", "long_lock", "Long lock",
                           f"A backup now makes the office's changes wait about "
                           f"{duration(state.expected_lock)} ({how})",
                           "back up after hours, or choose per-table locking"))
    return found


# --- gathering the state ------------------------------------------------------------------------


def gather_state(settings: Settings, sources: Sources | None = None) -> State:
    """Read everything the alerts need (slow: run it in a worker). ``sources``: the credentials
    at hand (default: this process's environment; nobody is asked)."""
    found = _repository_part(settings, Sources.here() if sources is None else sources)
    repo = found.pop("repo", None)
    found.update(_lock_part(settings, repo, found.pop("last_lock_window", None)))
    found["destination"] = check_destination(settings.repository)
    return State(location=settings.repository, **found)


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
    found: dict[str, Any] = {"snapshots": len(rows), "stored_bytes": _stored_bytes(repo), "repo": repo}
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
