"""Typed events that long engine operations send to their caller.

Every event is a small frozen dataclass. Milestones (a file skipped, a pack
written, a snapshot saved) are always sent; byte counters (``*Progress``) are
throttled by the engine to a few per second. The CLI's text and JSON-lines
printers and the TUI all consume this one stream. ``to_dict`` gives the JSON
form: ``{"event": "<snake_case class name>", ...fields}``.

Consumers dispatch by class, all in one way (:func:`handlers`, :func:`dispatch`):
a public method whose first parameter is annotated with an event class (or a
union of them, or :class:`Event` itself for "any event") handles that class.
"""
from __future__ import annotations

import functools
import re
import sys
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Event:
    """Base class of all engine events."""


EventSink = Callable[[Event], None]


def ignore_events(event: Event) -> None:
    """An event sink that drops everything."""


def event_name(event: Event | type[Event]) -> str:
    """``BackupProgress`` (an event or its class) -> ``backup_progress``."""
    cls = event if isinstance(event, type) else type(event)
    return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()


def event_classes() -> list[type[Event]]:
    """Every event class (every subclass of :class:`Event`, at any depth), in name order."""

    def walk(cls: type[Event]) -> Iterator[type[Event]]:
        for sub in cls.__subclasses__():
            yield sub
            yield from walk(sub)

    return sorted(set(walk(Event)), key=lambda c: c.__name__)


Handler = Callable[[typing.Any, Event], None]
"""An unbound handler method: ``handler(consumer, event)``."""


def _handled_classes(func: types.FunctionType) -> tuple[type[Event], ...]:
    """The event classes ``func``'s first parameter after ``self`` is annotated with (none when it
    is not an event handler)."""
    names = func.__code__.co_varnames[:func.__code__.co_argcount]
    if len(names) < 2 or names[1] not in func.__annotations__:
        return ()
    hint = func.__annotations__[names[1]]
    if isinstance(hint, str):
        module = sys.modules.get(func.__module__)
        try:
            hint = eval(hint, vars(module) if module else func.__globals__)  # noqa: S307 - the module's own annotation
        except Exception:  # noqa: BLE001 - a name only imported for type checkers: not an event handler
            return ()
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union \
        else (hint,)
    return tuple(c for c in options if isinstance(c, type) and issubclass(c, Event))


@functools.cache
def handlers(owner: type) -> dict[type[Event], Handler]:
    """``owner``'s table {event class: handler}, built once per class from its public methods
    (inherited ones too; a subclass's method wins) whose first parameter is annotated with
    event classes. Two methods of one class claiming one event class is a programming error."""
    table: dict[type[Event], Handler] = {}
    for klass in reversed(owner.__mro__):
        claimed: dict[type[Event], str] = {}
        for name, func in vars(klass).items():
            if name.startswith("_") or not isinstance(func, types.FunctionType):
                continue
            for cls in _handled_classes(func):
                if cls in claimed:
                    raise TypeError(f"{klass.__qualname__}: both {claimed[cls]} and {name} handle {cls.__name__}")
                claimed[cls] = name
                table[cls] = func
    return table


def handler_for(owner: type, event_class: type[Event]) -> Handler | None:
    """The handler ``owner`` has for ``event_class``: its own, or the one for the nearest base
    class (a handler annotated with :class:`Event` takes every event), or None."""
    table = handlers(owner)
    return next((table[c] for c in event_class.__mro__ if c in table), None)


def dispatch(consumer: object, event: Event) -> bool:
    """Call ``consumer``'s handler for ``event``; False when it has none."""
    handler = handler_for(type(consumer), type(event))
    if handler is None:
        return False
    handler(consumer, event)
    return True


def to_dict(event: Event) -> dict:
    """The JSON-lines form of an event."""
    return {"event": event_name(event), **asdict(event)}


# --- backup -----------------------------------------------------------------


@dataclass(frozen=True)
class BackupStarted(Event):
    """A backup run began; ``sources`` are the folders given."""

    repository: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class ScanFinished(Event):
    """The background count of what is to be backed up is complete (for ETA)."""

    files: int
    bytes: int


@dataclass(frozen=True)
class BackupProgress(Event):
    """Throttled counters. The totals are None (not known yet) until the background count
    finishes; a quick run may end before it does."""

    files_done: int
    bytes_done: int
    files_total: int | None
    bytes_total: int | None
    bytes_stored: int
    current: str
    elapsed: float


@dataclass(frozen=True)
class FileSkipped(Event):
    """A file could not be backed up (or changed while read); the snapshot is incomplete."""

    path: str
    reason: str


@dataclass(frozen=True)
class PackWritten(Event):
    """A pack file became durable in the repository."""

    pack_id: str
    size: int
    blobs: int


@dataclass(frozen=True)
class StaleLockRemoved(Event):
    """A lock left by a dead odbackup process on this machine was cleared."""

    host: str
    pid: int
    started: str


@dataclass(frozen=True)
class SnapshotSaved(Event):
    """The snapshot was written; everything it references is durable."""

    snapshot_id: str
    complete: bool
    files: int
    bytes: int
    bytes_added: int
    bytes_stored: int
    duration: float
    databases: int = 0
    """Databases in the snapshot (``files`` and ``bytes`` count the folders' files only)."""


# --- restore ----------------------------------------------------------------


@dataclass(frozen=True)
class RestoreStarted(Event):
    """A restore began."""

    snapshot_id: str
    target: str
    files_total: int
    bytes_total: int


@dataclass(frozen=True)
class RestoreProgress(Event):
    """Throttled restore counters."""

    files_done: int
    bytes_done: int
    files_total: int
    bytes_total: int
    current: str
    elapsed: float


@dataclass(frozen=True)
class RestoreResumed(Event):
    """This restore finishes one that was cut short (a crash, Ctrl+C), recorded in ``journals``:
    ``complete`` files it had written are whole by size and time (and are kept; ``to_check`` of
    them are first read back, with --verify), ``partial`` ones were partly written and are
    written again."""

    journals: tuple[str, ...]
    complete: int
    partial: int
    to_check: int


@dataclass(frozen=True)
class RestoreProblem(Event):
    """An entry was not restored (damage, unsafe name, existing file)."""

    path: str
    reason: str


@dataclass(frozen=True)
class RestoreFinished(Event):
    """The restore ended. ``files``: written by this run. A ``resumed`` one finished a restore
    cut short: ``already_complete`` files of it were kept, ``rewritten`` ones written again."""

    files: int
    bytes: int
    problems: int
    verified: bool
    duration: float
    resumed: bool = False
    already_complete: int = 0
    rewritten: int = 0


# --- check ------------------------------------------------------------------


@dataclass(frozen=True)
class CheckProgress(Event):
    """What check is looking at now."""

    phase: str
    done: int
    total: int


@dataclass(frozen=True)
class CheckProblem(Event):
    """Something check found wrong (``severity`` is ``error`` or ``warning``)."""

    severity: str
    what: str
    message: str


@dataclass(frozen=True)
class DamageFound(Event):
    """Damaged data affects this snapshot's file (or folder)."""

    snapshot_id: str
    path: str


@dataclass(frozen=True)
class CheckFinished(Event):
    """Check ended."""

    errors: int
    warnings: int
    packs: int
    blobs: int
    snapshots: int
    read_data: bool
    damaged_snapshots: tuple[str, ...] = field(default_factory=tuple)


# --- databases ----------------------------------------------------------------


@dataclass(frozen=True)
class DatabasePreflight(Event):
    """Before anything is locked: what the database is and what the office will feel."""

    database: str
    server: str
    tables: int
    non_transactional: tuple[str, ...]
    transactional: int
    data_bytes: int
    lock_mode: str
    connections: tuple[str, ...]
    long_queries: tuple[str, ...]
    estimated_lock_seconds: float | None
    """The lock window the last backup of this database measured (None on a first run)."""
    sees_all_connections: bool
    first_run_guess_seconds: float | None = None
    """With no measurement yet: a guess from the MyISAM tables' data (see ``guess_lock_seconds``)."""


@dataclass(frozen=True)
class TableProgress(Event):
    """Throttled: rows and bytes read so far from the current table."""

    database: str
    table: str
    rows: int
    bytes: int
    rows_estimate: int


@dataclass(frozen=True)
class TableDumped(Event):
    """A table's rows are stored (``unchanged``: proven unchanged, not read again)."""

    database: str
    table: str
    rows: int
    bytes: int
    seconds: float
    unchanged: bool


@dataclass(frozen=True)
class TableSkipped(Event):
    """A table could not be backed up (dropped or altered meanwhile); the snapshot is incomplete."""

    database: str
    table: str
    reason: str


@dataclass(frozen=True)
class DatabaseDumped(Event):
    """A database is in the snapshot; ``lock_window`` is how long the office's writes were or
    could have been blocked: from each lock request sent to its release, requests given up
    included (the sum of the ``office_wait`` of its ``LockReleased`` and the ``waited`` of its
    ``LockGaveUp`` events)."""

    database: str
    tables: int
    rows: int
    bytes: int
    lock_window: float
    seconds: float


@dataclass(frozen=True)
class LockRequested(Event):
    """A read lock is being requested: the office's writes wait from now on (a waiting request
    blocks them as a granted one does) until it is released or withdrawn."""

    scope: str
    tables: tuple[str, ...]


@dataclass(frozen=True)
class LockTaken(Event):
    """The read lock is held: the listed tables are read-only for the office."""

    scope: str
    tables: tuple[str, ...]
    waited: float


@dataclass(frozen=True)
class LockStatus(Event):
    """Twice a second while a lock is held or requested: the office's view. While ``acquiring``,
    ``lock_age`` is how long the request has waited (and the office's changes with it)."""

    scope: str
    read_only_tables: tuple[str, ...]
    waiting: int
    longest_wait: float
    waiting_tables: tuple[str, ...]
    lock_age: float
    acquiring: bool


@dataclass(frozen=True)
class LockGaveUp(Event):
    """Taking the lock took too long: it was abandoned (released) and may be retried."""

    scope: str
    attempt: int
    reason: str
    blocking_queries: tuple[str, ...]
    waited: float = 0.0
    """Seconds from the request to its withdrawal: the office's changes could wait that long."""


@dataclass(frozen=True)
class LockReleased(Event):
    """The lock is released; everything that waited goes on. ``held``: from the grant;
    ``office_wait``: from the request (the office's writes waited for the grant too)."""

    scope: str
    held: float
    office_wait: float = 0.0


@dataclass(frozen=True)
class LockWithdrawn(Event):
    """The backup stopped (cancelled, Ctrl+C, failed) while a lock was requested or held: the
    session asking for it or holding it was ended on the server, and the lock went with it.
    ``granted``: whether it had been granted; ``office_wait``: seconds from the request until
    the server confirmed the session ended (the office's writes could wait that long)."""

    scope: str
    granted: bool
    office_wait: float


@dataclass(frozen=True)
class LockWatchLost(Event):
    """Warning: the lock watchdog cannot watch the office any more: its reads of the server's
    process list failed ``failures`` times in a row (``reason``, the server's or network's
    words). Nobody would end a lock request that hangs, or a held lock whose backup stopped,
    so the lock (``scope``; ``acquiring``: still being asked for) is ended at once and the
    backup fails (engine/database/readlock.py)."""

    scope: str
    acquiring: bool
    failures: int
    reason: str


@dataclass(frozen=True)
class DatabaseRestoreStarted(Event):
    """Restoring a database of a snapshot under a (new) name."""

    database: str
    target: str
    tables: int
    bytes: int


@dataclass(frozen=True)
class TableRestored(Event):
    """A table's definition and rows are back."""

    database: str
    table: str
    rows: int
    seconds: float


@dataclass(frozen=True)
class DatabaseRestored(Event):
    """The database is restored; ``problems`` lists what did not come back."""

    database: str
    target: str
    tables: int
    rows: int
    seconds: float
    problems: tuple[str, ...]


@dataclass(frozen=True)
class VerifyStarted(Event):
    """A verify-restore began; ``scratch`` names the scratch databases it will use."""

    snapshot_id: str
    scratch: tuple[str, ...]


DEFINITION_ONLY = "definition only"
"""``TableVerified.check_table`` of a table backed up as its definition only (MERGE, FEDERATED...):
its rows live in other tables, so it has no rows to compare or CHECK; restored, it is a note, not a
problem. One that could not be created says ``missing``."""


@dataclass(frozen=True)
class TableVerified(Event):
    """One table compared with what was recorded at backup time."""

    database: str
    table: str
    rows_expected: int
    rows_restored: int
    checksum_ok: bool
    check_table: str

    @property
    def ok(self) -> bool:
        """No problem with this table (the one rule the verdict, the report and the screens share)."""
        return table_ok(self.checksum_ok, self.check_table)


def table_ok(checksum_ok: bool, check_table: str) -> bool:
    """A verified table is fine when its content matches and CHECK TABLE says OK (or it is a
    restored definition only)."""
    return checksum_ok and check_table in ("OK", DEFINITION_ONLY)


@dataclass(frozen=True)
class FilesVerified(Event):
    """The snapshot's files were decrypted and matched their hashes."""

    files: int
    bytes: int
    damaged: tuple[str, ...]


@dataclass(frozen=True)
class PatientFilesChecked(Event):
    """Open Dental's ``document`` and ``eobattach`` rows against an images folder (verify: the
    restored scratch database against the snapshot's folder; ``live``: the live database and
    folder, before a backup). ``state`` is ``checked``, ``not open dental`` or ``no images
    folder`` (``note`` says why nothing was checked). ``missing`` and ``unnamed`` (files in
    patient folders that no row names: a note, not a problem) list the first 20 paths inside
    the images folder; the totals count all."""

    database: str
    state: str
    images_folder: str
    live: bool
    checked: int = 0
    missing: tuple[str, ...] = ()
    missing_total: int = 0
    unnamed: tuple[str, ...] = ()
    unnamed_total: int = 0
    in_database: int = 0
    """Rows whose image is kept in the database itself (no file to check)."""
    unplaced: int = 0
    """``document`` rows whose patient has no folder."""
    named: int = 0
    """When nothing was checked: how many files the database names."""
    note: str = ""


@dataclass(frozen=True)
class VerifyFinished(Event):
    """The verdict, and where the dated report was written."""

    snapshot_id: str
    ok: bool
    problems: tuple[str, ...]
    report_text: str
    report_json: str


# --- forget and prune ---------------------------------------------------------


@dataclass(frozen=True)
class SnapshotKept(Event):
    """Retention keeps this snapshot, for these reasons (e.g. "daily snapshot", "within 48h")."""

    snapshot_id: str
    time: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class SnapshotForgotten(Event):
    """Retention removes this snapshot (with ``dry_run``: would remove it)."""

    snapshot_id: str
    time: str
    dry_run: bool


@dataclass(frozen=True)
class PrunePlanned(Event):
    """What prune found: the packs to delete whole, to repack, and the bytes that frees."""

    snapshots: int
    packs: int
    bytes_total: int
    bytes_unused: int
    packs_unused: int
    packs_repack: int
    bytes_repack: int
    bytes_to_free: int


@dataclass(frozen=True)
class PruneProgress(Event):
    """Throttled: ``step`` is ``used`` (walking refs), ``delete`` or ``repack``; ``done`` of ``total``."""

    step: str
    done: int
    total: int


@dataclass(frozen=True)
class PruneFinished(Event):
    """Prune ended: packs deleted and written, bytes freed, how long it took."""

    packs_deleted: int
    packs_written: int
    bytes_freed: int
    seconds: float
    dry_run: bool


# --- copying snapshots to another repository ------------------------------------


@dataclass(frozen=True)
class CopyPlanned(Event):
    """What copy will do: snapshots the target lacks, and the blobs and bytes it lacks for them
    (``packs_adopted``: complete packs a killed copy left unindexed, indexed now, not sent again)."""

    source: str
    target: str
    snapshots: int
    snapshots_present: int
    blobs: int
    bytes: int
    packs_adopted: int


@dataclass(frozen=True)
class CopyProgress(Event):
    """Throttled: blobs and bytes sent so far, of the planned totals (``elapsed``: seconds since
    the sending began, for the rate and the time left)."""

    blobs_done: int
    blobs_total: int
    bytes_done: int
    bytes_total: int
    elapsed: float = 0.0


@dataclass(frozen=True)
class SnapshotCopied(Event):
    """A snapshot's file was published in the target (all its data was there before it)."""

    snapshot_id: str
    time: str


@dataclass(frozen=True)
class CopyFinished(Event):
    """Copy ended: snapshots copied, blobs and bytes sent, packs written, how long it took."""

    snapshots: int
    blobs: int
    bytes_sent: int
    packs_written: int
    seconds: float


# --- the sample practice (odbackup demo) --------------------------------------


@dataclass(frozen=True)
class DemoProgress(Event):
    """Throttled progress of ``odbackup demo``.

    ``phase`` is ``database`` (``done``/``total`` patients written),
    ``indexes`` (tables whose keys are built) or ``images`` (bytes written).
    """

    phase: str
    done: int
    total: int


# --- archive drives (odbackup run archive) -------------------------------------


@dataclass(frozen=True)
class ArchiveDriveFound(Event):
    """A known archive drive is plugged in, recognized by its repository ID (``moved``: somewhere
    else than it was last seen, e.g. another drive letter)."""

    label: str
    location: str
    moved: bool


@dataclass(frozen=True)
class ArchiveDriveMissing(Event):
    """A known archive drive is not plugged in (a reminder, not a failure)."""

    label: str
    last_copy: str | None


@dataclass(frozen=True)
class ArchiveCopyDone(Event):
    """Everything the archive drive should get is on it and checked: it may be unplugged now."""

    label: str
    location: str
    snapshots_copied: int
    snapshots_held: int
    room: str
    """The room left, in words (``room for about 3 more months``)."""


@dataclass(frozen=True)
class ArchiveSealed(Event):
    """A full monthly archive drive was sealed: its final verification report is written on it."""

    label: str
    location: str
    report: str
    """The report file's path on the drive."""
# --- Open Dental's admin users (engine.opendental.admins) ---------------------


@dataclass(frozen=True)
class AdminPasswordsChecked(Event):
    """Open Dental's admin users (SecurityAdmin) checked for a blank password, read-only.

    ``state`` is ``checked``, ``passwords only`` (no permission tables: every user
    without a password is listed), ``no user accounts`` (an Open Dental too old to have
    them), ``not open dental`` or ``could not check`` (``note`` says why).
    ``without_password`` names them by ``UserName`` in Open Dental's order; ``hidden`` and
    ``domain`` are those of them hidden in Open Dental or logging in through the Windows
    domain; ``auto_login`` is the user Open Dental logs in as by itself (its first visible
    admin, when that one has no password), else empty. ``schema`` says how the admins'
    groups were found (``usergroupattach`` or ``userod.UserGroupNum``)."""

    database: str
    state: str
    admins: int = 0
    without_password: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()
    domain: tuple[str, ...] = ()
    auto_login: str = ""
    schema: str = ""
    note: str = ""
