"""Backing up one folder tree into tree, refs and data blobs.

The walk is depth-first in name order. Each file goes through the shared
sealing pipeline (``engine/pipeline.py``): chunked and hashed here, sealed
by worker threads, appended to packs here.
A directory becomes a ``tree`` blob (JSON list of nodes) and a ``refs`` blob
(the IDs everything below it uses, readable with machine credentials).
"""
from __future__ import annotations

import json
import os
import stat
import threading
import time
from dataclasses import dataclass, field

from ..chunker import BLOCK_SIZE
from ..errors import Cancelled
from ..events import BackupProgress, EventSink, FileSkipped
from ..pipeline import SealPipeline
from ..progress import Throttle, TreeCounter
from ..repository.repo import BlobWriter, Repository
from .filescache import FilesCache, stat_signature


def tree_bytes_of(doc: dict) -> bytes:
    """Canonical JSON of a tree blob: equal content gives equal bytes and equal IDs."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def tree_bytes(nodes: list[dict]) -> bytes:
    return tree_bytes_of({"nodes": nodes})


@dataclass
class FolderStats:
    """Counters of one run (shared by all folders of the run)."""

    files: int = 0
    bytes: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    current: str = ""


class FolderBackup:
    """Backs up folders for one run, sharing the writer, cache and worker pool."""

    def __init__(
        self,
        repo: Repository,
        writer: BlobWriter,
        cache: FilesCache,
        counter: TreeCounter,
        *,
        on_event: EventSink,
        cancel: threading.Event,
        pipeline: SealPipeline,
    ) -> None:
        self.repo, self.writer, self.cache, self.counter = repo, writer, cache, counter
        self.on_event, self.cancel = on_event, cancel
        self.stats = FolderStats()
        self.pipeline = pipeline
        self._started = time.monotonic()
        self.progress = Throttle(self._progress_event, on_event)

    def _progress_event(self) -> BackupProgress:
        s, c = self.stats, self.counter
        return BackupProgress(
            files_done=s.files,
            bytes_done=s.bytes,
            files_total=c.files if c.finished else 0,
            bytes_total=c.bytes if c.finished else 0,
            bytes_stored=self.writer.bytes_stored,
            current=s.current,
            elapsed=time.monotonic() - self._started,
        )

    # --- the walk ---------------------------------------------------------------------

    def backup_folder(self, path: str) -> tuple[bytes, bytes]:
        """Back up the folder at ``path``; returns (tree ID, refs ID)."""
        return self._dir(path)

    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Cancelled("The backup was cancelled; nothing was saved as a snapshot.")

    def _skip(self, path: str, reason: str) -> None:
        self.stats.skipped.append((path, reason))
        self.on_event(FileSkipped(path, reason))

    def _dir(self, path: str) -> tuple[bytes, bytes]:
        try:
            entries = sorted(os.scandir(path), key=lambda e: e.name)
        except OSError as exc:
            self._skip(path, f"folder could not be read: {exc.strerror or exc}")
            entries = []
        nodes: list[dict] = []
        refs: set[bytes] = set()
        for entry in entries:
            self._check_cancel()
            node = self._entry(entry, refs)
            if node is not None:
                nodes.append(node)
        tree_id = self.writer.store("tree", tree_bytes(nodes))
        refs.add(tree_id)
        refs_id = self.writer.store("refs", b"".join(sorted(refs)))
        return tree_id, refs_id

    def _entry(self, entry: os.DirEntry, refs: set[bytes]) -> dict | None:
        try:
            st = os.stat(entry.path, follow_symlinks=False) if os.name == "nt" else entry.stat(follow_symlinks=False)
        except OSError as exc:
            self._skip(entry.path, f"vanished or unreadable: {exc.strerror or exc}")
            return None
        node = {"name": entry.name, "mode": stat.S_IMODE(st.st_mode), "mtime_ns": st.st_mtime_ns}
        if stat.S_ISLNK(st.st_mode) or _is_junction(st):
            return self._link(entry.path, node)
        if stat.S_ISDIR(st.st_mode):
            tree_id, refs_id = self._dir(entry.path)
            refs.add(refs_id)
            return {**node, "type": "dir", "subtree": tree_id.hex()}
        if stat.S_ISREG(st.st_mode):
            return self._file(entry.path, st, node, refs)
        self._skip(entry.path, "not a regular file, folder or link (device, pipe or socket)")
        return None

    def _link(self, path: str, node: dict) -> dict | None:
        try:
            return {**node, "type": "symlink", "target": os.readlink(path)}
        except OSError as exc:
            self._skip(path, f"link could not be read: {exc.strerror or exc}")
            return None

    # --- files ----------------------------------------------------------------------------

    def _file(self, path: str, st: os.stat_result, node: dict, refs: set[bytes]) -> dict | None:
        self.stats.current = path
        key = self.repo.ids.cache_key(path)
        cached = self.cache.lookup(key, stat_signature(st))
        if cached is not None and all(self.writer.known(cid) for cid, _ in cached):
            self._file_done(st.st_size, cached, refs)
            return {**node, "type": "file", "size": st.st_size, "content": _content_json(cached)}
        try:
            content, st0, changed = self._read_file(path)
        except OSError as exc:
            self._skip(path, f"could not be read: {exc.strerror or exc}")
            return None
        self._file_done(0, content, refs)
        result = {
            **node,
            "type": "file",
            "mtime_ns": st0.st_mtime_ns,
            "size": sum(n for _, n in content),
            "content": _content_json(content),
        }
        if changed:
            result["changed_while_read"] = True
            self._skip(path, "changed while it was being read; the copy may be inconsistent")
        else:
            self.cache.remember(key, stat_signature(st0), content)
        return result

    def _file_done(self, size: int, content: list[tuple[bytes, int]], refs: set[bytes]) -> None:
        self.stats.files += 1
        self.stats.bytes += size
        refs.update(cid for cid, _ in content)
        self.progress.tick()

    def _read_file(self, path: str) -> tuple[list[tuple[bytes, int]], os.stat_result, bool]:
        with open(path, "rb") as f:
            st0 = os.fstat(f.fileno())
            content = self.pipeline.store_blocks(iter(lambda: f.read(BLOCK_SIZE), b""),
                                                 on_chunk=self._chunk_read)
            st1 = os.fstat(f.fileno())
        read = sum(n for _, n in content)
        changed = (st1.st_size, st1.st_mtime_ns) != (st0.st_size, st0.st_mtime_ns) or read != st1.st_size
        return content, st0, changed

    def _chunk_read(self, size: int) -> None:
        self.stats.bytes += size
        self.progress.tick()


def _content_json(content: list[tuple[bytes, int]]) -> list[list]:
    return [[cid.hex(), size] for cid, size in content]


def _is_junction(st: os.stat_result) -> bool:
    """A Windows directory junction: record it like a link, never walk into it."""
    return bool(getattr(st, "st_reparse_tag", 0)) and stat.S_ISDIR(st.st_mode)
