"""Typed events that long engine operations send to their caller.

Every event is a small frozen dataclass. Milestones (a file skipped, a pack
written, a snapshot saved) are always sent; byte counters (``*Progress``) are
throttled by the engine to a few per second. The CLI's text and JSON-lines
printers and the TUI all consume this one stream. ``to_dict`` gives the JSON
form: ``{"event": "<snake_case class name>", ...fields}``.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Event:
    """Base class of all engine events."""


EventSink = Callable[[Event], None]


def ignore_events(event: Event) -> None:
    """An event sink that drops everything."""


def event_name(event: Event) -> str:
    """``BackupProgress`` -> ``backup_progress``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(event).__name__).lower()


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
    """Throttled counters. Totals are 0 until the background count finishes."""

    files_done: int
    bytes_done: int
    files_total: int
    bytes_total: int
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
class RestoreProblem(Event):
    """An entry was not restored (damage, unsafe name, existing file)."""

    path: str
    reason: str


@dataclass(frozen=True)
class RestoreFinished(Event):
    """The restore ended."""

    files: int
    bytes: int
    problems: int
    verified: bool
    duration: float


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
