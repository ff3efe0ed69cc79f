"""Copy: snapshots from one repository into a related one, sealed blobs moved unopened.

A *related* repository (``odbackup init REPO2 --related-to REPO``, docs/FORMAT.md
section 10.4) has its own ID, label and key files but the secrets of the
repository it was made from. So the same content has the same blob IDs in
both, and every file copy moves is valid in the target as it is: sealed data
and tree blobs with their session public keys, refs blobs, and snapshot files
(their name is the hash of their bytes, so a snapshot keeps its ID). Nothing
is opened with the private key: this machine's write-only credentials suffice.

The order makes a copy killed at any instant harmless, as a backup is:

1. Complete packs that an earlier, killed copy published but did not index
   are indexed first (their headers open with the maintenance key), so their
   blobs are never sent again.
2. The blobs the wanted snapshots use (walking their refs blobs, FORMAT.md
   section 8.3) that the target lacks are copied into new packs; an index file
   is published after each pack.
3. Only then each snapshot file, oldest first: a snapshot never appears in the
   target before all its data is indexed there.

Locks: a reader's shared lock on the source, the writer's lock on the target.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .. import crypto
from ..errors import Cancelled, RepositoryDamaged, UsageError
from ..events import (
    CopyFinished,
    CopyPlanned,
    CopyProgress,
    EventSink,
    SnapshotCopied,
    ignore_events,
)
from .index import BlobLocation
from .pack import PackContents, PackWriter, pack_name, read_header
from .repo import Repository, pack_size_target
from .snapshot import Snapshot
from .storage import RangeReader

PROGRESS_EVERY = 0.25


@dataclass(frozen=True)
class CopyResult:
    """The outcome of :func:`copy_snapshots`."""

    snapshots: tuple[str, ...]
    snapshots_present: int
    blobs: int
    bytes_sent: int
    packs_written: int
    packs_adopted: int
    seconds: float


@dataclass
class _Plan:
    wanted: list[Snapshot]
    present: int
    blobs: list[tuple[bytes, BlobLocation]]

    @property
    def bytes(self) -> int:
        return sum(loc.length for _id, loc in self.blobs)


def check_related(source: Repository, target: Repository) -> None:
    """Refuse plainly when the target does not share the source's secrets."""
    if source.repo_id == target.repo_id:
        raise UsageError("The source and the target are the same repository.")
    if not source.related_to(target):
        raise UsageError(
            f"The repository at {target.location} is not related to {source.location}: copying into it means "
            "opening and sealing every blob again (reseal.py), with the passphrase of both.",
            hint=f"Make the target with 'odbackup init TARGET --related-to {source.location}' (needs the "
                 "passphrase once); copies into it then need no passphrase.",
        )


def copy_snapshots(source: Repository, target: Repository, refs: list[str] | None = None, *,
                   on_event: EventSink = ignore_events, cancel: threading.Event | None = None,
                   refresh: Callable[[], None] = lambda: None) -> CopyResult:
    """Copy the snapshots ``refs`` names (default: all) that ``target`` lacks (module docstring).

    Both may be unlocked with machine credentials. The caller holds a reader's lock on
    ``source`` and the writer's lock on ``target`` (``refresh`` keeps the latter fresh).
    """
    check_related(source, target)
    cancel = cancel or threading.Event()
    started = time.monotonic()
    adopted = adopt_unindexed_packs(target)
    plan = _plan(source, target, refs, cancel)
    on_event(CopyPlanned(source.location, target.location, len(plan.wanted), plan.present, len(plan.blobs),
                         plan.bytes, adopted))
    written = _copy_blobs(source, target, plan, on_event, cancel, refresh)
    for snap in plan.wanted:
        _copy_snapshot_file(source, target, snap)
        on_event(SnapshotCopied(snap.snapshot_id, snap.time))
    seconds = time.monotonic() - started
    on_event(CopyFinished(len(plan.wanted), len(plan.blobs), plan.bytes, written, seconds))
    return CopyResult(tuple(s.snapshot_id for s in plan.wanted), plan.present, len(plan.blobs), plan.bytes,
                      written, adopted, seconds)


def planned_bytes(source: Repository, target: Repository, refs: list[str] | None = None) -> int:
    """The sealed bytes a copy would send now (the blobs ``target`` lacks for the snapshots it lacks):
    an archive drive's room is judged against it before anything is written."""
    return _plan(source, target, refs, threading.Event()).bytes


# --- deciding what to send ---------------------------------------------------------------------


def _plan(source: Repository, target: Repository, refs: list[str] | None, cancel: threading.Event) -> _Plan:
    """Snapshots listed before the index is read (FORMAT.md section 9), then the blobs they use."""
    chosen = _chosen(source, refs)
    have = {name.split("/", 1)[1] for name, _size in target.backend.list("snapshots")}
    wanted = [s for s in chosen if s.snapshot_id not in have]
    used = _used_blobs(source, wanted, cancel)
    blobs = [(blob_id, loc) for blob_id, loc in used.items() if blob_id not in target.index]
    blobs.sort(key=lambda item: (item[1].pack_id, item[1].offset))
    return _Plan(wanted, len(chosen) - len(wanted), blobs)


def _chosen(source: Repository, refs: list[str] | None) -> list[Snapshot]:
    snaps = source.snapshots() if not refs else _unique(source.find_snapshot(ref) for ref in refs)
    if not refs and source.damaged_snapshots:
        names = ", ".join(s[:8] for s in source.damaged_snapshots)
        raise RepositoryDamaged(f"Snapshot(s) {names} of {source.location} cannot be read; nothing was copied.")
    return sorted(snaps, key=lambda s: (s.time, s.snapshot_id))


def _unique(snaps) -> list[Snapshot]:
    return list({s.snapshot_id: s for s in snaps}.values())


def _used_blobs(source: Repository, snaps: list[Snapshot], cancel: threading.Event) -> dict[bytes, BlobLocation]:
    """Every blob the snapshots use, with where it is in the source (refs walked with the maintenance key)."""
    used: dict[bytes, BlobLocation] = {}
    todo = [s.refs for s in snaps]
    while todo:
        refs_id = todo.pop()
        if refs_id in used:
            continue
        used[refs_id] = _locate(source, refs_id)
        listed = source.read_blob(refs_id)
        for i in range(0, len(listed), crypto.ID_SIZE):
            blob_id = listed[i : i + crypto.ID_SIZE]
            if blob_id in used:
                continue
            loc = _locate(source, blob_id)
            if loc.blob_type == "refs":
                todo.append(blob_id)
            else:
                used[blob_id] = loc
        if cancel.is_set():
            raise Cancelled("Copy was cancelled before anything was sent.")
    return used


def _locate(source: Repository, blob_id: bytes) -> BlobLocation:
    loc = source.index.get(blob_id)
    if loc is None:
        raise RepositoryDamaged(f"Blob {blob_id.hex()[:12]}, which a snapshot to copy uses, is missing from "
                                f"{source.location}; nothing was copied.")
    return loc


# --- sending ------------------------------------------------------------------------------------


def adopt_unindexed_packs(target: Repository) -> int:
    """Index the complete packs no index file lists (a copy or backup killed between a pack and its
    index file): published packs are whole (written under a temporary name, then renamed; in a bucket,
    sent with one PUT), and their headers open with the maintenance key. The caller holds the writer's
    lock, so none is being written. A backup that finds a killed run's lock starts with it too: a backup
    killed halfway, over a slow uplink, does not send again what reached the repository. With Object
    Lock (s3lock.py) an adopted pack is locked if it is not: the run was likely killed before its lock."""
    indexed = target.index.packs
    heal = getattr(target.backend, "lock_if_missing", None)  # Object Lock: the kill may have come before the lock
    adopted = 0
    for name, size in target.backend.list("data"):
        pack_id = name.rsplit("/", 1)[-1]
        if pack_id in indexed:
            continue
        try:
            sessions, blobs = read_header(target.backend, name, target.keys.maint_key)
        except (crypto.DecryptionFailed, ValueError, OSError):
            continue  # not ours to judge: check names it, prune deletes it
        target.index.add_pack(PackContents(pack_id, size, tuple(sessions), tuple(blobs)), unsaved=True)
        if heal is not None:
            heal(name)
        adopted += 1
    if adopted:
        target.index.save(target.backend, target.keys.maint_key)
    return adopted


def _copy_blobs(source: Repository, target: Repository, plan: _Plan, on_event: EventSink,
                cancel: threading.Event, refresh: Callable[[], None]) -> int:
    """Copy the planned blobs as sealed bytes into new packs, an index file after each pack."""
    writer = PackWriter(target.backend, target.keys.maint_key, pack_size_target())
    reader = RangeReader(source.backend, keep=2)
    packs = blobs_done = bytes_done = 0
    tick = began = time.monotonic()
    try:
        for blob_id, loc in plan.blobs:
            sealed = reader.read_range(pack_name(loc.pack_id), loc.offset, loc.length)
            if len(sealed) != loc.length:
                raise RepositoryDamaged(f"Pack {loc.pack_id[:12]} of {source.location} is shorter than its "
                                        "index says; the snapshots copied so far stay, the rest were not copied.")
            writer.add(loc.blob_type, blob_id, sealed, loc.raw_length, loc.session)
            blobs_done, bytes_done = blobs_done + 1, bytes_done + loc.length
            if writer.full:
                packs += _finish_pack(target, writer)
                refresh()
            if cancel.is_set():
                raise Cancelled("Copy was cancelled; what it sent stays in the target, and the next copy goes on.")
            if time.monotonic() - tick > PROGRESS_EVERY:
                tick = time.monotonic()
                on_event(CopyProgress(blobs_done, len(plan.blobs), bytes_done, plan.bytes, tick - began))
        if not writer.empty:
            packs += _finish_pack(target, writer)
    except BaseException:
        writer.discard()
        raise
    finally:
        reader.close()
    on_event(CopyProgress(blobs_done, len(plan.blobs), bytes_done, plan.bytes, time.monotonic() - began))
    return packs


def _finish_pack(target: Repository, writer: PackWriter) -> int:
    """Publish the pack, then at once an index file for it: a copy killed later never sends it again."""
    target.index.add_pack(writer.finish(), unsaved=True)
    target.index.save(target.backend, target.keys.maint_key)
    return 1


def _copy_snapshot_file(source: Repository, target: Repository, snap: Snapshot) -> None:
    """The snapshot file as it is (its name is the hash of its bytes, checked), after a last check
    that the target's index holds its root refs blob."""
    name = f"snapshots/{snap.snapshot_id}"
    data = source.backend.read(name)
    if crypto.content_hash(data).hex() != snap.snapshot_id:
        raise RepositoryDamaged(f"Snapshot {snap.snapshot_id[:8]} of {source.location} changed while it was "
                                "copied; it was not copied.")
    if snap.refs not in target.index:
        raise RepositoryDamaged(f"Snapshot {snap.snapshot_id[:8]}'s data did not reach the target; "
                                "it was not copied.")
    target.backend.write_atomic(name, [data])
