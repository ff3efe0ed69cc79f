"""Prune: delete what no snapshot uses any more, with only the maintenance key.

Everything prune needs is readable with the machine's write-only
credentials (docs/FORMAT.md sections 4.4 and 10): the snapshot headers name
their root refs blob; refs blobs (sealed with the maintenance key) list every
blob a folder or database uses; the index says where each blob is. Content is
never opened: a still-used blob of a mostly-unused pack is copied into a new
pack as the sealed bytes it is, with its session public key.

The order of the steps is what makes a run killed at any instant harmless:

1. **Free** (whole unused packs first, so a full disk still gets space back
   with one small index file written): publish an index file listing every
   pack that stays (``supersedes`` the old ones), then delete the old index
   files, then the unused packs and the packs no index lists (leftovers of
   killed runs). Before the new index exists, nothing was deleted; after it,
   every file still listed is still there.
2. **Repack**: copy the used blobs of mostly-unused packs into new packs;
   publish an index file listing every pack that stays and the new ones;
   delete the previous index files, then the repacked packs. Killed before
   the index, the new packs are unindexed leftovers (``check`` calls them
   harmless; the next prune deletes them).

Prune runs under the *delete* lock (``locks/exclusive``, mode ``delete``):
no backup adds blobs meanwhile (a backup's lock is the same file), and no
reader is reading (FORMAT.md section 9). A backup that would start during
the prune refuses, or waits, and never dedups against a blob being removed.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .. import crypto
from ..errors import Cancelled, RepositoryDamaged
from ..events import EventSink, PruneFinished, PrunePlanned, PruneProgress, ignore_events
from .index import Index, read_index_file, write_index_file
from .lock import RepoLock
from .pack import PackContents, PackWriter, pack_name
from .repo import Repository, pack_size_target
from .snapshot import read_snapshot, snapshot_ids
from .storage import RangeReader, StillLocked

REPACK_UNUSED_SHARE = 0.5
"""A pack at least this unused is always repacked ("mostly unused")."""
MAX_UNUSED_SHARE = 0.10
"""After those, more packs (the most unused first) are repacked until at most this share of the
stored bytes is unused: small leftovers of unused data are not worth rewriting 32 MiB packs for."""
PROGRESS_EVERY = 0.25


@dataclass
class PrunePlan:
    """What prune found and will do (``packs`` maps every indexed pack ID to its contents)."""

    snapshots: int
    packs: dict[str, PackContents]
    index_files: tuple[str, ...]
    used: set[bytes]
    unused_packs: list[str] = field(default_factory=list)
    repack: list[str] = field(default_factory=list)
    unindexed: list[tuple[str, int]] = field(default_factory=list)
    bytes_total: int = 0
    bytes_unused: int = 0

    @property
    def bytes_to_free(self) -> int:
        """Bytes of whole unused packs and unused parts of repacked ones (and leftovers)."""
        whole = sum(self.packs[p].size for p in self.unused_packs) + sum(s for _, s in self.unindexed)
        return whole + sum(_unused_bytes(self.packs[p], self.used) for p in self.repack)

    @property
    def bytes_repack(self) -> int:
        return sum(_used_bytes(self.packs[p], self.used) for p in self.repack)

    @property
    def nothing_to_do(self) -> bool:
        return not (self.unused_packs or self.repack or self.unindexed)


@dataclass(frozen=True)
class PruneResult:
    """The outcome of :func:`prune`."""

    snapshots: int
    packs_deleted: int
    packs_written: int
    bytes_freed: int
    bytes_to_free: int
    seconds: float
    dry_run: bool


def prune(repo: Repository, lock: RepoLock, *, dry_run: bool = False, on_event: EventSink = ignore_events,
          cancel: threading.Event | None = None, leaving_out: frozenset[str] = frozenset()) -> PruneResult:
    """Delete the packs no snapshot uses and repack mostly-unused ones (module docstring).

    ``repo`` may be unlocked with machine credentials; ``lock`` is a held delete lock
    (a dry run may hold a read lock: it deletes nothing). Snapshots in ``leaving_out`` count as
    gone (``forget --dry-run --prune``: what the prune would free after that forget).
    """
    cancel = cancel or threading.Event()
    started = time.monotonic()
    plan = plan_prune(repo, on_event=on_event, cancel=cancel, leaving_out=leaving_out, refresh=lock.refresh)
    on_event(PrunePlanned(plan.snapshots, len(plan.packs), plan.bytes_total, plan.bytes_unused,
                          len(plan.unused_packs), len(plan.repack), plan.bytes_repack, plan.bytes_to_free))
    deleted = written = freed = 0
    if not dry_run and not plan.nothing_to_do:
        deleted, freed = _free(repo, plan, lock, on_event)
        if plan.repack:
            written, repacked, repacked_bytes = _repack(repo, plan, lock, on_event, cancel)
            deleted, freed = deleted + repacked, freed + repacked_bytes
        repo._index = None  # the repository's own view is out of date now
    if not dry_run:
        extend = getattr(repo.backend, "extend_locks", None)  # Object Lock in a bucket (s3lock.py)
        if extend is not None:
            extend()
    seconds = time.monotonic() - started
    on_event(PruneFinished(deleted, written, freed, seconds, dry_run))
    return PruneResult(plan.snapshots, deleted, written, freed, plan.bytes_to_free, seconds, dry_run)


# --- finding what is used ---------------------------------------------------------------


def plan_prune(repo: Repository, *, on_event: EventSink = ignore_events, cancel: threading.Event | None = None,
               leaving_out: frozenset[str] = frozenset(), refresh: Callable[[], None] = lambda: None) -> PrunePlan:
    """Read the snapshots (listed first: FORMAT.md section 9), the index and the refs; decide.
    ``refresh`` keeps the caller's lock fresh during a long walk."""
    cancel = cancel or threading.Event()
    snaps = [s for s in snapshot_ids(repo.backend) if s not in leaving_out]
    index_files = tuple(sorted(name for name, _ in repo.backend.list("index")))
    packs = _load_packs(repo, index_files)
    index = Index()
    for pack in packs.values():
        index.add_pack(pack)
    repo._index = index
    used = _used_blobs(repo, snaps, on_event, cancel, refresh)
    plan = PrunePlan(len(snaps), packs, index_files, used)
    on_disk = dict(repo.backend.list("data"))
    plan.unindexed = sorted((name, size) for name, size in on_disk.items() if name.rsplit("/", 1)[-1] not in packs)
    for pack_id, pack in packs.items():
        if pack_name(pack_id) not in on_disk and any(b.blob_id in used for b in pack.blobs):
            raise _damaged(f"Pack {pack_id[:12]}, which holds data the snapshots use, is missing.")
    _choose(plan)
    return plan


@dataclass(frozen=True)
class SpaceEstimate:
    """What forgetting some snapshots would free, measured without changing anything."""

    snapshots_removed: int
    blobs_freed: int
    bytes_freed: int
    """Stored bytes that only the removed snapshots use, counted as prune counts unused bytes (a
    pack none of whose blobs is used any more whole, with its header; else its unused blobs): what
    a prune after that forget gets back, less the small unused share it leaves in packs that are
    still mostly used."""
    bytes_unused_now: int
    """Stored bytes no snapshot uses already (a forget without prune, a killed run's leftovers)."""
    bytes_total: int
    """Bytes of every indexed pack."""


def estimate_freed(repo: Repository, removing: Iterable[str], *,
                   cancel: threading.Event | None = None) -> SpaceEstimate:
    """The space that forgetting the snapshots ``removing`` would free (:class:`SpaceEstimate`).

    Read-only: it takes no lock either (a lock is a file written into the repository), so it
    works on a read-only copy and never holds up a backup. What the kept snapshots use is
    walked from their refs lists as prune does (machine credentials suffice); then what the
    removed ones use and the kept ones do not. A prune that runs meanwhile may make it fail
    ("cannot be estimated"): nothing is harmed, try again.
    """
    cancel = cancel or threading.Event()
    gone = set(removing)
    after = "so the space it would free cannot be estimated."
    packs = _load_packs(repo, sorted(name for name, _ in repo.backend.list("index")), after)
    index = Index()
    for pack in packs.values():
        index.add_pack(pack)
    repo._index = index  # the same index the repository would load, read once
    kept_roots: list[bytes] = []
    gone_roots: list[bytes] = []
    for snap_id in snapshot_ids(repo.backend):
        try:
            refs = read_snapshot(repo.backend, repo.keys.maint_key, snap_id).refs
        except (crypto.DecryptionFailed, ValueError, KeyError, TypeError, OSError) as exc:
            raise RepositoryDamaged(f"Snapshot {snap_id[:8]} cannot be read, {after}",
                                    hint="Run 'odbackup check'.") from exc
        (gone_roots if snap_id in gone else kept_roots).append(refs)

    def missing(what: str) -> RepositoryDamaged:
        return RepositoryDamaged(f"{what} The space forgetting would free cannot be estimated (a prune may have "
                                 "run meanwhile).", hint="Try again; if it says so again, run 'odbackup check'.")

    stopped = "Estimating the space was cancelled."
    kept = _walk_refs(repo, kept_roots, cancel, missing, stopped)
    freed = _walk_refs(repo, gone_roots, cancel, missing, stopped, known=kept) - kept
    unused_now = sum(_pack_unused(p, kept | freed) for p in packs.values())
    unused_after = sum(_pack_unused(p, kept) for p in packs.values())
    return SpaceEstimate(len(gone_roots), len(freed), unused_after - unused_now, unused_now,
                         sum(p.size for p in packs.values()))


def _pack_unused(pack: PackContents, used: set[bytes]) -> int:
    """A pack's bytes no snapshot uses, as prune counts them: all of it (header too) when none of
    its blobs is used, else its unused blobs."""
    return pack.size if _used_bytes(pack, used) == 0 else _unused_bytes(pack, used)


def _damaged(what: str) -> RepositoryDamaged:
    return RepositoryDamaged(f"{what} Prune deletes nothing in a damaged repository: nothing was deleted.",
                             hint="Run 'odbackup check --read-data' to see which snapshots and files are affected.")


def _load_packs(repo: Repository, index_files: Iterable[str],
                after: str = "so prune cannot tell what is stored where; nothing was deleted."
                ) -> dict[str, PackContents]:
    packs: dict[str, PackContents] = {}
    for name in index_files:
        try:
            doc = read_index_file(repo.backend, name, repo.keys.maint_key)
        except (crypto.DecryptionFailed, ValueError, OSError) as exc:
            raise RepositoryDamaged(f"Index file {name} cannot be read, {after}", hint="Run 'odbackup check'.") from exc
        for pack in doc["packs"]:
            packs.setdefault(pack["id"], PackContents.from_json(pack))
    return packs


def _used_blobs(repo: Repository, snaps: list[str], on_event: EventSink, cancel: threading.Event,
                refresh: Callable[[], None]) -> set[bytes]:
    """Every blob the snapshots use: their refs blobs, walked (each refs blob once)."""
    roots = []
    for snap_id in snaps:
        try:
            roots.append(read_snapshot(repo.backend, repo.keys.maint_key, snap_id).refs)
        except (crypto.DecryptionFailed, ValueError, KeyError, TypeError, OSError) as exc:
            raise RepositoryDamaged(f"Snapshot {snap_id[:8]} cannot be read, so prune cannot tell what it uses; "
                                    "nothing was deleted.", hint="Run 'odbackup check'.") from exc

    def tick(count: int) -> None:
        on_event(PruneProgress("used", count, 0))
        refresh()

    return _walk_refs(repo, roots, cancel, _damaged, "Prune was cancelled before deleting anything.", tick)


def _walk_refs(repo: Repository, roots: list[bytes], cancel: threading.Event,
               missing: Callable[[str], RepositoryDamaged], cancelled: str,
               tick: Callable[[int], None] = lambda _count: None,
               known: set[bytes] | frozenset[bytes] = frozenset()) -> set[bytes]:
    """Every blob reachable from the refs blobs ``roots`` (the refs blobs included), each refs blob
    read once; ``missing`` words the error for a blob that is not where the index says. Refs blobs
    in ``known`` (an earlier walk's result) are not walked again: a refs blob's ID is the hash of
    its list, so everything below it is in ``known`` too."""
    used: set[bytes] = set()
    todo = list(roots)
    last = time.monotonic()
    while todo:
        refs_id = todo.pop()
        if refs_id in used or refs_id in known:
            continue
        used.add(refs_id)
        try:
            listed = repo.read_blob(refs_id)
        except RepositoryDamaged as exc:
            raise missing(str(exc)) from exc
        for i in range(0, len(listed), crypto.ID_SIZE):
            blob_id = listed[i : i + crypto.ID_SIZE]
            loc = repo.index.get(blob_id)
            if loc is None:
                raise missing(f"Blob {blob_id.hex()[:12]} that a snapshot uses is missing.")
            if loc.blob_type == "refs":
                todo.append(blob_id)
            else:
                used.add(blob_id)
        if cancel.is_set():
            raise Cancelled(cancelled)
        if time.monotonic() - last > PROGRESS_EVERY:
            tick(len(used))
            last = time.monotonic()
    return used


def _used_bytes(pack: PackContents, used: set[bytes]) -> int:
    return sum(b.length for b in pack.blobs if b.blob_id in used)


def _unused_bytes(pack: PackContents, used: set[bytes]) -> int:
    """The bytes of the pack's blobs no snapshot uses (its header is not counted: a small pack's
    header is no reason to rewrite it, and the rewritten pack would have one too)."""
    return sum(b.length for b in pack.blobs if b.blob_id not in used)


def _choose(plan: PrunePlan) -> None:
    """Whole unused packs go; mostly-unused ones are repacked (then the most unused first,
    until at most MAX_UNUSED_SHARE of the stored bytes is unused)."""
    partial = []
    for pack_id, pack in plan.packs.items():
        used, unused = _used_bytes(pack, plan.used), _unused_bytes(pack, plan.used)
        plan.bytes_total += pack.size
        if used == 0:
            plan.unused_packs.append(pack_id)
            plan.bytes_unused += pack.size
        elif unused:
            plan.bytes_unused += unused
            partial.append((unused / (used + unused), pack_id, unused))
    whole = sum(plan.packs[p].size for p in plan.unused_packs)
    left, after = plan.bytes_unused - whole, plan.bytes_total - whole  # unused bytes, stored bytes afterwards
    for share, pack_id, unused in sorted(partial, reverse=True):
        if share < REPACK_UNUSED_SHARE and left <= MAX_UNUSED_SHARE * after:
            break
        plan.repack.append(pack_id)
        left, after = left - unused, after - unused


# --- deleting and repacking --------------------------------------------------------------


def _free(repo: Repository, plan: PrunePlan, lock: RepoLock, on_event: EventSink) -> tuple[int, int]:
    """Step 1: an index without the unused packs, then delete old index files and those packs."""
    if not (plan.unused_packs or plan.unindexed):
        return 0, 0
    gone = set(plan.unused_packs)
    staying = [p for pack_id, p in plan.packs.items() if pack_id not in gone]
    plan.index_files = _replace_index(repo, staying, plan.index_files)
    names = [(pack_name(p), plan.packs[p].size) for p in plan.unused_packs] + plan.unindexed
    for pack_id in gone:
        del plan.packs[pack_id]
    plan.unused_packs, plan.unindexed = [], []
    return _delete(repo, names, lock, on_event)


def _replace_index(repo: Repository, packs: list[PackContents], old: tuple[str, ...]) -> tuple[str, ...]:
    """Publish one index file for ``packs`` superseding ``old``, then delete ``old``; returns the new list."""
    new = write_index_file(repo.backend, repo.keys.maint_key, packs,
                           supersedes=tuple(n.rsplit("/", 1)[-1] for n in old)) if packs else None
    for name in old:
        if name != new:
            _remove(repo, name)
    return (new,) if new else ()


def _delete(repo: Repository, names: list[tuple[str, int]], lock: RepoLock,
            on_event: EventSink) -> tuple[int, int]:
    freed = 0
    tick = time.monotonic()
    for done, (name, size) in enumerate(names, 1):
        freed += size if _remove(repo, name) else 0
        lock.refresh()
        if time.monotonic() - tick > PROGRESS_EVERY or done == len(names):
            on_event(PruneProgress("delete", done, len(names)))
            tick = time.monotonic()
    return len(names), freed


def _remove(repo: Repository, name: str) -> bool:
    """Delete one file; False when it was gone already, or is still under Object Lock (it stays:
    an unindexed pack or a superseded index file, harmless, deleted by a prune after the lock)."""
    try:
        repo.backend.remove(name)
    except (FileNotFoundError, StillLocked):
        return False
    return True


def _repack(repo: Repository, plan: PrunePlan, lock: RepoLock, on_event: EventSink,
            cancel: threading.Event) -> tuple[int, int, int]:
    """Step 2: copy the used blobs of the chosen packs as sealed bytes; index; delete the old packs."""
    writer = PackWriter(repo.backend, repo.keys.maint_key, pack_size_target())
    chosen = set(plan.repack)
    have = {b.blob_id for pack_id, p in plan.packs.items() if pack_id not in chosen for b in p.blobs}
    written: list[PackContents] = []
    try:
        for done, pack_id in enumerate(plan.repack, 1):
            _copy_used(repo, plan.packs[pack_id], plan.used, have, writer, written)
            lock.refresh()
            on_event(PruneProgress("repack", done, len(plan.repack)))
            if cancel.is_set():
                raise Cancelled("Prune was cancelled; what it had deleted is gone, the rest stays as it was.")
        if not writer.empty:
            written.append(writer.finish())
    except BaseException:
        writer.discard()
        # The packs this step published are in no index yet (nothing names them, and the delete
        # lock keeps every other writer out): removed again, so that a repack that failed, e.g. on a
        # full disk, gives back the room it took and what step 1 freed stays free. A kill here
        # leaves them unindexed: harmless, the next prune deletes them.
        for pack in written:
            if pack.pack_id not in plan.packs:
                _remove(repo, pack_name(pack.pack_id))
        raise
    staying = [p for pack_id, p in plan.packs.items() if pack_id not in chosen] + written
    plan.index_files = _replace_index(repo, staying, plan.index_files)
    deleted, freed = _delete(repo, [(pack_name(p), plan.packs[p].size) for p in plan.repack], lock, on_event)
    return len(written), deleted, freed - sum(p.size for p in written)


def _copy_used(repo: Repository, pack: PackContents, used: set[bytes], have: set[bytes], writer: PackWriter,
               written: list[PackContents]) -> None:
    """Copy one pack's used blobs (not stored elsewhere) into ``writer``: only their byte ranges
    are read (a mostly-unused pack is mostly not read at all), as the sealed bytes they are."""
    reader = RangeReader(repo.backend, keep=1)
    try:
        for blob in sorted(pack.blobs, key=lambda b: b.offset):
            if blob.blob_id not in used or blob.blob_id in have:
                continue
            sealed = reader.read_range(pack_name(pack.pack_id), blob.offset, blob.length)
            if len(sealed) != blob.length:
                raise RepositoryDamaged(f"Pack {pack.pack_id[:12]} is shorter than the index says, so it was "
                                        "not repacked and nothing of it was deleted.",
                                        hint="Run 'odbackup check --read-data'.")
            session = pack.sessions[blob.session] if blob.session is not None else None
            writer.add(blob.blob_type, blob.blob_id, sealed, blob.raw_length, session)
            have.add(blob.blob_id)
            if writer.full:
                written.append(writer.finish())
    finally:
        reader.close()
