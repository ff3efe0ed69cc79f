"""Checking a repository: structure, references and (optionally) every byte.

Without ``read_data``: every index file opens; every indexed pack exists with
the indexed size and its header agrees with the index; every snapshot opens
and every blob its reference lists name is indexed; with the full key, every
folder tree decodes and every chunk it names is indexed.

With ``read_data``: every pack is read whole, its hash must equal its name,
and every blob is opened and compared with its ID. Damaged blobs are traced
to the snapshots and files (or folders) that use them.

Also: every key file is intact and both kinds (passphrase, recovery) are
there; every name a snapshot gives (sources, folder entries, tables) is safe.

A check may run while a backup adds to the repository. It holds a reader's
shared lock (so nothing is deleted under it) and reads a consistent view:
the snapshot files are listed *before* the index is loaded, and a backup
writes its snapshot only after the index files listing every blob it uses,
so each snapshot checked has all its blobs in the index read.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from . import crypto
from .errors import Cancelled, OdbackupError, UnsafeSnapshot
from .events import (
    CheckFinished,
    CheckProblem,
    CheckProgress,
    DamageFound,
    EventSink,
    ignore_events,
)
from .folders.browse import Entry, children, roots
from .repository import keys as keymod
from .repository import pack as packmod
from .repository.blobs import open_blob
from .repository.index import Index, read_index_file
from .repository.lock import read_lock
from .repository.pack import PackContents
from .repository.records import DatabaseSource
from .repository.repo import Repository
from .repository.snapshot import Snapshot, read_snapshot, snapshot_ids
from .repository.storage import LocalBackend


@dataclass
class CheckResult:
    """What check found. ``damaged`` maps snapshot ID -> affected paths."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    damaged: dict[str, list[str]] = field(default_factory=dict)
    packs: int = 0
    blobs: int = 0
    snapshots: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


class Checker:
    def __init__(self, repo: Repository, on_event: EventSink, cancel: threading.Event) -> None:
        self.repo, self.on_event, self.cancel = repo, on_event, cancel
        self.result = CheckResult()
        self.bad_blobs: set[bytes] = set()
        self.index = Index()

    def error(self, what: str, message: str) -> None:
        self.result.errors.append(f"{what}: {message}")
        self.on_event(CheckProblem("error", what, message))

    def warning(self, what: str, message: str) -> None:
        self.result.warnings.append(f"{what}: {message}")
        self.on_event(CheckProblem("warning", what, message))

    def _tick(self, phase: str, done: int, total: int) -> None:
        if self.cancel.is_set():
            raise Cancelled("The check was cancelled.")
        if done % 64 == 0 or done == total:
            self.on_event(CheckProgress(phase, done, total))

    # --- key files ----------------------------------------------------------------------

    def check_keys(self) -> None:
        files = keymod.key_files(self.repo.backend)
        for name, why in files.damaged:
            self.error(name, f"key file is damaged: {why} (once the passphrase and the recovery key are both "
                             "known to open the repository, this file can be deleted)")
        for kind, what in (("passphrase", "the passphrase"), ("recovery", "the recovery key")):
            if kind not in files.kinds():
                self.error("keys", f"no readable {kind} key file: {what} cannot open this repository")

    # --- index and packs --------------------------------------------------------------

    def load_index(self) -> None:
        names = sorted(n for n, _ in self.repo.backend.list("index"))
        for i, name in enumerate(names, 1):
            self._tick("index", i, len(names))
            try:
                doc = read_index_file(self.repo.backend, name, self.repo.keys.maint_key)
            except (crypto.DecryptionFailed, ValueError) as exc:
                self.error(name, f"index file cannot be opened ({exc})")
                continue
            for pack in doc["packs"]:
                self.index.add_pack(PackContents.from_json(pack))
        self.result.packs = len(self.index.packs)
        self.result.blobs = len(self.index)

    def check_packs(self) -> None:
        backend = self.repo.backend
        on_disk = {name.rsplit("/", 1)[1]: size for name, size in backend.list("data")}
        packs = list(self.index.packs.values())
        for i, pack in enumerate(packs, 1):
            self._tick("packs", i, len(packs))
            name = packmod.pack_name(pack.pack_id)
            if pack.pack_id not in on_disk:
                self.error(name, "pack is missing")
                self.bad_blobs.update(b.blob_id for b in pack.blobs)
            elif on_disk[pack.pack_id] != pack.size:
                self.error(name, f"pack has {on_disk[pack.pack_id]} bytes, the index says {pack.size}")
                self.bad_blobs.update(b.blob_id for b in pack.blobs)
            else:
                self._check_header(name, pack)
        writer = self._running_writer()
        for pack_id in sorted(set(on_disk) - set(self.index.packs)):
            why = f"written by the {writer} running now" if writer else "left by an interrupted backup"
            self.warning(packmod.pack_name(pack_id), f"pack is not in the index ({why}; harmless)")
        if isinstance(backend, LocalBackend):
            for path in backend.temp_files():
                why = f"being written by the {writer} running now" if writer else "left by an interrupted run"
                self.warning(path, f"temporary file {why} (harmless)")

    def _running_writer(self) -> str | None:
        """The command of a live run holding the writer's lock (its packs are not indexed yet)."""
        holder = read_lock(self.repo.backend, self.repo.keys.maint_key)
        return holder.command if holder is not None and not holder.is_stale() else None

    def _check_header(self, name: str, pack: PackContents) -> None:
        try:
            sessions, blobs = packmod.read_header(self.repo.backend, name, self.repo.keys.maint_key)
        except (crypto.DecryptionFailed, ValueError, OSError) as exc:
            self.error(name, f"pack header cannot be opened ({exc})")
            self.bad_blobs.update(b.blob_id for b in pack.blobs)
            return
        if tuple(sessions) != pack.sessions or tuple(blobs) != pack.blobs:
            self.error(name, "pack header does not agree with the index")

    def read_data(self) -> None:
        packs = list(self.index.packs.values())
        opener = self.repo.require_full_key()
        for i, pack in enumerate(packs, 1):
            self._tick("read data", i, len(packs))
            name = packmod.pack_name(pack.pack_id)
            try:
                raw = self.repo.backend.read(name)
            except FileNotFoundError:
                continue  # already reported
            if crypto.content_hash(raw).hex() != pack.pack_id:
                self.error(name, "pack content does not match its name (bytes changed on disk)")
            for blob in pack.blobs:
                if not self._blob_ok(raw, pack, blob, opener):
                    self.bad_blobs.add(blob.blob_id)
                    self.error(name, f"blob {blob.blob_id.hex()[:12]} ({blob.blob_type}) is damaged")

    def _blob_ok(self, raw: bytes, pack: PackContents, blob: packmod.BlobEntry,
                 opener: crypto.SessionOpener) -> bool:
        sealed = raw[blob.offset : blob.offset + blob.length]
        session = pack.sessions[blob.session] if blob.session is not None else None
        try:
            plain = open_blob(blob.blob_type, blob.blob_id, sealed, blob.raw_length,
                              session_pub=session, opener=opener, maint_key=self.repo.keys.maint_key)
        except crypto.DecryptionFailed:
            return False
        return self.repo.ids.blob_id(blob.blob_type, plain) == blob.blob_id

    # --- snapshots ----------------------------------------------------------------------------

    def check_snapshots(self, ids: list[str]) -> None:
        """Check the snapshots ``ids`` (listed before the index was loaded)."""
        self.result.snapshots = len(ids)
        self.repo._index = self.index  # reads below go through what we loaded
        for i, snap_id in enumerate(ids, 1):
            self._tick("snapshots", i, len(ids))
            try:
                snap = read_snapshot(self.repo.backend, self.repo.keys.maint_key, snap_id)
            except FileNotFoundError:
                continue  # deleted since it was listed
            except (crypto.DecryptionFailed, ValueError, KeyError, TypeError) as exc:
                self.error(f"snapshots/{snap_id}", f"snapshot is damaged: it cannot be opened ({exc})")
                continue
            self._check_refs(snap)
            if self.repo.can_read:
                self._check_trees(snap)

    def _check_refs(self, snap: Snapshot) -> None:
        seen: set[bytes] = set()
        todo = [snap.refs]
        while todo:
            refs_id = todo.pop()
            if refs_id in seen:
                continue
            seen.add(refs_id)
            try:
                data = self.repo.read_blob(refs_id)
            except OdbackupError as exc:
                self.error(f"snapshot {snap.short_id}", f"reference list unreadable ({exc})")
                continue
            for off in range(0, len(data), crypto.ID_SIZE):
                ref = data[off : off + crypto.ID_SIZE]
                loc = self.index.get(ref)
                if loc is None:
                    self.error(f"snapshot {snap.short_id}", f"uses blob {ref.hex()[:12]}, which is missing")
                elif loc.blob_type == "refs":
                    todo.append(ref)

    def _check_trees(self, snap: Snapshot) -> None:
        try:
            snap.open_body(self.repo.require_full_key())
        except (crypto.DecryptionFailed, ValueError):
            self.error(f"snapshot {snap.short_id}", "snapshot body cannot be opened")
            return
        except UnsafeSnapshot as exc:
            self.error(f"snapshot {snap.short_id}", f"unsafe name: {exc}")
            return
        for source in snap.sources:
            if isinstance(source, DatabaseSource):
                self._check_database_tree(snap, source)
        for entry, problem in _walk_checked(self.repo, roots(self.repo, snap)):
            missing = [c for c, _ in entry.node.content or () if bytes.fromhex(c) not in self.index]
            if problem or missing or _uses_bad(entry, self.bad_blobs):
                self._damage(snap, entry.path, problem or "data missing or damaged")

    def _check_database_tree(self, snap: Snapshot, source: DatabaseSource) -> None:
        try:
            self.repo.read_tree(bytes.fromhex(source.tree))
        except UnsafeSnapshot as exc:
            self._damage(snap, source.name, f"unsafe name: {exc}")
        except OdbackupError as exc:
            self._damage(snap, source.name, f"database description unreadable ({exc})")

    def _damage(self, snap: Snapshot, path: str, why: str) -> None:
        paths = self.result.damaged.setdefault(snap.snapshot_id, [])
        paths.append(path)
        self.on_event(DamageFound(snap.snapshot_id, path))
        self.error(f"snapshot {snap.short_id}", f"{path}: {why}")


def _uses_bad(entry: Entry, bad: set[bytes]) -> bool:
    if not bad:
        return False
    ids = [c for c, _ in entry.node.content or ()]
    if entry.node.subtree is not None:
        ids.append(entry.node.subtree)
    return any(bytes.fromhex(i) in bad for i in ids)


def _walk_checked(repo: Repository, start: list[Entry]) -> Iterator[tuple[Entry, str | None]]:
    """Every entry below ``start``; a folder whose listing is unreadable is yielded with a problem."""
    stack = list(reversed(start))
    while stack:
        entry = stack.pop()
        try:
            kids = children(repo, entry)
        except UnsafeSnapshot as exc:
            yield entry, f"unsafe name: {exc}"
            continue
        except (OdbackupError, ValueError) as exc:
            yield entry, f"folder listing unreadable ({exc})"
            continue
        yield entry, None
        stack.extend(reversed(kids))


def check(
    repo: Repository,
    *,
    read_data: bool = False,
    on_event: EventSink = ignore_events,
    cancel: threading.Event | None = None,
) -> CheckResult:
    """Check ``repo`` (unlocked). Reading data needs the passphrase or recovery key."""
    checker = Checker(repo, on_event, cancel or threading.Event())
    if read_data:
        repo.require_full_key()
    with repo.reading("check"):
        snapshots = snapshot_ids(repo.backend)  # before the index: see the module's docstring
        checker.check_keys()
        checker.load_index()
        checker.check_packs()
        if read_data:
            checker.read_data()
        checker.check_snapshots(snapshots)
    r = checker.result
    on_event(CheckFinished(len(r.errors), len(r.warnings), r.packs, r.blobs, r.snapshots, read_data,
                           tuple(sorted(r.damaged))))
    return r
