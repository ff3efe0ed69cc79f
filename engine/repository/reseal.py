"""Copy into an *unrelated* repository: every blob opened and sealed again for the target.

Blob IDs are keyed (docs/FORMAT.md section 5.1), so the same chunk has another ID in a
repository with other secrets, and every tree, refs blob and snapshot that names it
changes too. This needs the full key of both repositories (the passphrase or
recovery key of each): the source's to open content, the target's to seal the
snapshot body that only its passphrase opens. Chunk boundaries are kept as they are
(the source's chunker), so files are not cut again; deduplication inside the
target still works for chunks it already holds with the same bytes.

The order is a backup's (``BlobWriter`` publishes packs, then index files), and each
snapshot file is written last: a run killed at any moment leaves a valid target, and
the next run first indexes the complete packs a killed run published but did not index
(as a related copy does), so it sends again only what had not reached a complete pack.
A snapshot counts as present in the target when one there has the same time and host
(its ID differs: the file is sealed with another key).
"""
from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable

from ..errors import Cancelled
from ..events import (
    CopyFinished,
    CopyPlanned,
    CopyProgress,
    EventSink,
    SnapshotCopied,
    ignore_events,
)
from .copy import PROGRESS_EVERY
from .records import DatabaseSource, FolderSource
from .repo import BlobWriter, Repository
from .snapshot import Snapshot, read_snapshot, seal_body, snapshot_ids, write_snapshot


def _canonical(doc: dict) -> bytes:
    """A tree blob's bytes (as ``engine/folders/backup.py`` writes them: keys sorted, no spaces)."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


class _Resealer:
    """Rewrites one snapshot's trees for the target, with a memo shared across snapshots."""

    def __init__(self, source: Repository, writer: BlobWriter, on_event: EventSink,
                 cancel: threading.Event, refresh: Callable[[], None]) -> None:
        self.source, self.writer, self.on_event, self.cancel = source, writer, on_event, cancel
        self.refresh = refresh
        self.data: dict[bytes, bytes] = {}  # source data blob ID -> target ID
        self.folders: dict[bytes, tuple[bytes, bytes]] = {}  # source tree ID -> target (tree, refs)
        self.blobs = self.bytes = 0
        self._tick = time.monotonic()

    def data_blob(self, blob_id: bytes) -> bytes:
        new = self.data.get(blob_id)
        if new is None:
            plain = self.source.read_blob(blob_id)
            new = self.writer.store("data", plain)
            self.data[blob_id] = new
            self.blobs, self.bytes = self.blobs + 1, self.bytes + len(plain)
            self._progress()
        return new

    def _progress(self) -> None:
        if self.cancel.is_set():
            raise Cancelled("Copy was cancelled; what it sent stays in the target, and the next copy goes on.")
        self.refresh()  # (the lock throttles itself)
        if time.monotonic() - self._tick > PROGRESS_EVERY:
            self.on_event(CopyProgress(self.blobs, 0, self.bytes, 0))
            self._tick = time.monotonic()

    def content(self, content: list) -> tuple[list, set[bytes]]:
        new = [[self.data_blob(bytes.fromhex(cid)).hex(), length] for cid, length in content]
        return new, {bytes.fromhex(cid) for cid, _ in new}

    def folder(self, tree_id: bytes) -> tuple[bytes, bytes]:
        """A folder's tree rewritten (files' chunks and subfolders first); its new tree and refs IDs."""
        if tree_id in self.folders:
            return self.folders[tree_id]
        tree = self.source.read_tree(tree_id)
        refs: set[bytes] = set()
        for node in tree["nodes"]:
            if node.get("type") == "dir":
                sub_tree, sub_refs = self.folder(bytes.fromhex(node["subtree"]))
                node["subtree"] = sub_tree.hex()
                refs.add(sub_refs)
            elif "content" in node:
                node["content"], ids = self.content(node["content"])
                refs |= ids
        new_tree = self.writer.store("tree", _canonical(tree))
        refs.add(new_tree)
        self.folders[tree_id] = new_tree, self.writer.store("refs", b"".join(sorted(refs)))
        return self.folders[tree_id]

    def database(self, tree_id: bytes) -> tuple[bytes, bytes]:
        tree = self.source.read_tree(tree_id)
        refs: set[bytes] = set()
        for table in tree["tables"]:
            table["content"], ids = self.content(table["content"])
            refs |= ids
        new_tree = self.writer.store("tree", _canonical(tree))
        refs.add(new_tree)
        return new_tree, self.writer.store("refs", b"".join(sorted(refs)))

    def snapshot(self, target: Repository, snap: Snapshot) -> str:
        """The snapshot's sources rewritten, then its file (sealed for the target) written last."""
        assert snap.body is not None, "opened with the full key first"
        root_refs, sources = set(), []
        for src in snap.body.sources:
            if isinstance(src, FolderSource | DatabaseSource):
                rewrite = self.database if isinstance(src, DatabaseSource) else self.folder
                tree, refs = rewrite(bytes.fromhex(src.tree))
                src = dataclasses.replace(src, tree=tree.hex())
                root_refs.add(refs)
            sources.append(src)  # a source of a kind this version does not know goes as it is
        body = dataclasses.replace(snap.body, sources=tuple(sources))
        refs_id = self.writer.store("refs", b"".join(sorted(root_refs)))
        self.writer.flush()
        new = Snapshot("", snap.time, snap.hostname, snap.complete, snap.stats, refs_id,
                       self.writer.session.public, seal_body(body, self.writer.session))
        return write_snapshot(target.backend, target.keys.maint_key, new)


def reseal_snapshots(source: Repository, target: Repository, refs: list[str] | None = None, *,
                     on_event: EventSink = ignore_events, cancel: threading.Event | None = None,
                     refresh: Callable[[], None] = lambda: None):
    """Copy the snapshots ``refs`` names (default: all) that ``target`` lacks, re-sealed (module
    docstring). Both must be unlocked with their full keys; the caller holds the locks (``refresh``
    keeps the target's fresh)."""
    from .copy import CopyResult, adopt_unindexed_packs

    source.require_full_key()
    target.require_full_key()
    cancel = cancel or threading.Event()
    started = time.monotonic()
    adopted = adopt_unindexed_packs(target)
    chosen = source.snapshots() if not refs else [source.find_snapshot(r) for r in refs]
    present = {(s.time, s.hostname) for s in (read_snapshot(target.backend, target.keys.maint_key, i)
                                              for i in snapshot_ids(target.backend))}
    wanted = sorted({s.snapshot_id: s for s in chosen if (s.time, s.hostname) not in present}.values(),
                    key=lambda s: (s.time, s.snapshot_id))
    on_event(CopyPlanned(source.location, target.location, len(wanted), len(chosen) - len(wanted), 0, 0, adopted))
    writer = BlobWriter(target, on_event=on_event)
    resealer = _Resealer(source, writer, on_event, cancel, refresh)
    copied = []
    try:
        for snap in wanted:
            copied.append(resealer.snapshot(target, snap))
            on_event(SnapshotCopied(copied[-1], snap.time))
    except BaseException:
        writer.abort()
        raise
    seconds = time.monotonic() - started
    on_event(CopyFinished(len(copied), resealer.blobs, writer.bytes_stored, 0, seconds))
    return CopyResult(tuple(copied), len(chosen) - len(wanted), resealer.blobs, writer.bytes_stored, 0, adopted,
                      seconds)
