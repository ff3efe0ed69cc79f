"""One backup run: folders and databases into one snapshot.

``run_backup`` is a plain synchronous function: it takes an event sink and a
cancel token and returns a :class:`BackupResult`. Order of durability: all
packs, then the index that lists them, then the snapshot that uses them. A
run killed at any point leaves a valid repository; what it had stored and
indexed is reused by the next run.
"""
from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from . import __version__
from .errors import UsageError
from .events import (
    BackupStarted,
    EventSink,
    ScanFinished,
    SnapshotSaved,
    StaleLockRemoved,
    ignore_events,
)
from .folders.backup import FolderBackup, FolderStats
from .folders.filescache import FilesCache
from .progress import TreeCounter
from .repository.copy import adopt_unindexed_packs
from .repository.lock import RepoLock
from .repository.records import FolderSource, SkippedEntry, SnapshotBody, SnapshotStats, Source
from .repository.repo import BlobWriter, Repository
from .repository.snapshot import Snapshot, seal_body, write_snapshot

if TYPE_CHECKING:
    from .database.dump import DatabasePlan
    from .pipeline import SealPipeline

COUNT_AFTER = 1.0  # seconds into a run before the background count for the ETA starts


@dataclass(frozen=True)
class BackupPlan:
    """What to back up: folders and databases, into one snapshot."""

    folders: tuple[str, ...] = ()
    databases: tuple[DatabasePlan, ...] = ()


@dataclass(frozen=True)
class BackupResult:
    """What a run stored. ``complete`` is False when files were skipped."""

    snapshot_id: str
    complete: bool
    files: int
    bytes: int
    bytes_added: int
    bytes_stored: int
    duration: float
    skipped: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    files_read: int = 0  # files read (the rest were unchanged, known from the files cache)
    folders_reused: int = 0  # folders found unchanged as a whole (tree reused, no file looked up)
    lock_window: float = 0.0
    """Seconds the office's writes were or could have been blocked by the databases' locks, from
    each request to its release (the snapshot's ``stats.lock_window``)."""


def source_names(folders: tuple[str, ...]) -> list[tuple[str, str]]:
    """(name in the snapshot, absolute path) per folder; duplicates become Name-2."""
    seen: dict[str, int] = {}
    result = []
    for folder in folders:
        path = os.path.abspath(folder)
        base = os.path.basename(path.rstrip("\\/")) or os.path.splitdrive(path)[0].rstrip(":") or "root"
        seen[base] = seen.get(base, 0) + 1
        result.append((base if seen[base] == 1 else f"{base}-{seen[base]}", path))
    return result


def _validate(plan: BackupPlan) -> None:
    if not plan.folders and not plan.databases:
        raise UsageError("Nothing to back up: give at least one folder or database.")
    for folder in plan.folders:
        if not os.path.isdir(folder):
            raise UsageError(
                f"The folder '{folder}' does not exist or is not a folder.",
                hint="Check the path (and that the drive or share is connected).",
            )


def run_backup(
    repo: Repository,
    plan: BackupPlan,
    *,
    on_event: EventSink = ignore_events,
    cancel: threading.Event | None = None,
) -> BackupResult:
    """Back up ``plan`` into a new snapshot of ``repo`` (unlocked, full or write-only)."""
    _validate(plan)
    cancel = cancel or threading.Event()
    started = time.monotonic()
    names = source_names(plan.folders)
    lock, stale = RepoLock.acquire(repo.backend, repo.keys.maint_key, "backup")
    try:
        if stale is not None:
            on_event(StaleLockRemoved(stale.host, stale.pid, stale.started))
            # A run was killed (its lock outlived it): what it had sent in complete packs is
            # indexed now and used, not sent again (a first copy over a slow uplink spans nights).
            adopt_unindexed_packs(repo)
        described = tuple(p for _, p in names) + tuple(d.target.url() for d in plan.databases)
        on_event(BackupStarted(repo.location, described))
        return _run_locked(repo, names, plan.databases, lock, on_event, cancel, started)
    finally:
        lock.release()


def _run_locked(
    repo: Repository,
    names: list[tuple[str, str]],
    databases: tuple[DatabasePlan, ...],
    lock: RepoLock,
    on_event: EventSink,
    cancel: threading.Event,
    started: float,
) -> BackupResult:
    stop_counting = threading.Event()
    counter = TreeCounter([p for _, p in names], stop_counting)
    # The count only feeds the ETA. It walks the whole tree a second time, competing
    # with the backup's own walk for the interpreter, so it starts only once the run
    # has lasted COUNT_AFTER: a quick run (an unchanged re-run) finishes without it.
    start_counting = threading.Timer(COUNT_AFTER, counter.start)
    start_counting.daemon = True
    start_counting.start()
    writer = BlobWriter(repo, on_event=on_event, on_pack=lock.refresh)
    cache = FilesCache(repo.repo_id)
    pipeline = _OnDemandPipeline(writer, cancel)
    folders = FolderBackup(repo, writer, cache, counter, on_event=on_event, cancel=cancel, pipeline=pipeline)
    tables = None
    try:
        sources: list[Source] = []
        root_refs: list[bytes] = []
        if databases:  # the database stack (pymysql) is loaded only when needed
            from .database.dump import DatabaseDump
            from .database.tablecache import TableCache

            tables = TableCache(repo.repo_id, repo.ids)
        for db_plan in databases:
            assert tables is not None  # (made above when there are databases)
            dump = DatabaseDump(db_plan, writer, pipeline.get(), tables, on_event=on_event, cancel=cancel)
            source, refs_id = dump.run()
            sources.append(source)
            root_refs.append(refs_id)
            folders.stats.skipped.extend(dump.stats.skipped or [])
        scan_reported = False
        for name, path in names:
            tree_id, refs_id = folders.backup_folder(path)
            st = os.stat(path)
            sources.append(FolderSource(name, path, tree_id.hex(), st.st_mode & 0o7777, st.st_mtime_ns))
            root_refs.append(refs_id)
            if counter.finished and not scan_reported:
                on_event(ScanFinished(counter.files, counter.bytes))
                scan_reported = True
        pipeline.drain_all()
        refs_id = writer.store("refs", b"".join(sorted(set(root_refs))))
        writer.flush()
        folders.progress.tick(force=True)
        return _save_snapshot(repo, writer, folders.stats, pipeline.bytes_added, sources, refs_id, on_event,
                              started)
    except BaseException:
        pipeline.close()  # (its workers add to the pack: stopped before the pack is dropped)
        writer.abort()
        raise
    finally:
        stop_counting.set()
        start_counting.cancel()
        pipeline.close()
        cache.commit()
        cache.close()
        if tables is not None:
            tables.commit()
            tables.close()


class _OnDemandPipeline:
    """The sealing pipeline, made when the first file is read: an unchanged re-run reads
    none, and so never loads the chunker or starts the worker pool."""

    def __init__(self, writer: BlobWriter, cancel: threading.Event) -> None:
        self._writer, self._cancel = writer, cancel
        self._pipeline: SealPipeline | None = None

    def get(self) -> SealPipeline:
        if self._pipeline is None:
            from .pipeline import SealPipeline

            self._pipeline = SealPipeline(self._writer, self._cancel)
        return self._pipeline

    def store_blocks(self, blocks: Iterable[bytes], *,
                     on_chunk: Callable[[int], None] | None = None) -> list[tuple[bytes, int]]:
        return self.get().store_blocks(blocks, on_chunk=on_chunk)

    @property
    def bytes_added(self) -> int:
        return 0 if self._pipeline is None else self._pipeline.bytes_added

    def drain_all(self) -> None:
        if self._pipeline is not None:
            self._pipeline.drain_all()

    def close(self) -> None:
        if self._pipeline is not None:
            self._pipeline.close()


def _save_snapshot(
    repo: Repository,
    writer: BlobWriter,
    stats: FolderStats,
    bytes_added: int,
    sources: list[Source],
    refs_id: bytes,
    on_event: EventSink,
    started: float,
) -> BackupResult:
    complete = not stats.skipped
    duration = time.monotonic() - started
    body = SnapshotBody(f"odbackup {__version__}", tuple(sources),
                        tuple(SkippedEntry(p, r) for p, r in stats.skipped))
    databases = body.databases
    summary = SnapshotStats(
        files=stats.files,
        bytes=stats.bytes,
        databases=len(databases),
        db_tables=sum(src.tables for src in databases),
        db_rows=sum(src.rows for src in databases),
        db_bytes=sum(src.bytes for src in databases),
        lock_window=round(sum(src.lock_window for src in databases), 3),
        bytes_added=bytes_added,
        bytes_stored=writer.bytes_stored,
        duration=round(duration, 3),
        skipped=len(stats.skipped),
    )
    body_session = writer.session
    snap = Snapshot(
        snapshot_id="",
        time=datetime.now(UTC).isoformat(timespec="microseconds"),
        hostname=socket.gethostname(),
        complete=complete,
        stats=summary,
        refs=refs_id,
        body_session=body_session.public,
        body_sealed=seal_body(body, body_session),
    )
    snap_id = write_snapshot(repo.backend, repo.keys.maint_key, snap)
    on_event(
        SnapshotSaved(snap_id, complete, stats.files, stats.bytes, bytes_added, writer.bytes_stored, duration,
                      len(databases))
    )
    return BackupResult(
        snap_id, complete, stats.files, stats.bytes, bytes_added, writer.bytes_stored, duration,
        tuple(stats.skipped), stats.files_read, stats.folders_reused, summary.lock_window or 0.0,
    )
