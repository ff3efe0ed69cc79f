"""Backing up one folder tree into tree, refs and data blobs.

The walk is depth-first in name order. Each file goes through the shared
sealing pipeline (``engine/pipeline.py``): chunked and hashed here, sealed
by worker threads, appended to packs here.
A directory becomes a ``tree`` blob (JSON list of nodes) and a ``refs`` blob
(the IDs everything below it uses, readable with machine credentials).

Unchanged data costs one ``lstat`` per entry: a file whose signature matches
the files cache is not read, and a folder whose whole listing matches (every
entry's name, mode, times, size and file ID, every subfolder's IDs) reuses its
tree and refs blobs from the files cache without looking at its files one by
one (``engine/folders/filescache.py``).
"""
from __future__ import annotations

import json
import os
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from operator import attrgetter
from stat import S_ISDIR, S_ISLNK, S_ISREG
from typing import TYPE_CHECKING, BinaryIO, cast

from ..errors import Cancelled
from ..events import BackupProgress, EventSink, FileSkipped
from ..progress import Throttle, TreeCounter
from ..repository.records import Content, FolderTree, TreeNode
from ..repository.repo import BlobWriter, Repository
from .filescache import CachedFolder, FilesCache, stat_signature

if TYPE_CHECKING:
    from ..pipeline import BlockStore


def tree_bytes_of(doc: dict) -> bytes:
    """Canonical JSON of a tree blob: equal content gives equal bytes and equal IDs."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def tree_bytes(nodes: list[TreeNode]) -> bytes:
    return tree_bytes_of(FolderTree(tuple(nodes)).to_json())


@dataclass
class FolderStats:
    """Counters of one run (shared by all folders of the run)."""

    files: int = 0
    bytes: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    current: str = ""
    files_read: int = 0  # files whose content was read (not taken from the files cache)
    folders_reused: int = 0  # folders whose tree was reused whole (listing unchanged)


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
        pipeline: BlockStore,
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
            files_total=c.files if c.finished else None,
            bytes_total=c.bytes if c.finished else None,
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
        """One folder: stat every entry and back up the subfolders; then reuse the
        folder's tree and refs from the files cache if its listing is unchanged,
        else build them (files read, or their chunks taken from the files cache)."""
        self._check_cancel()
        clean = True  # nothing here was skipped: the folder may be reused / remembered
        try:
            with os.scandir(path) as it:
                entries = sorted(it, key=_entry_name)
        except OSError as exc:
            self._skip(path, f"folder could not be read: {exc.strerror or exc}")
            entries, clean = [], False
        listed: list[tuple[os.DirEntry, os.stat_result, str]] = []
        append = listed.append
        file_recs: list[str] = []  # this folder's files as digested (``_file_rec``), in name order
        size = 0
        for entry in entries:
            try:
                st = os.stat(entry.path, follow_symlinks=False) if _NT else entry.stat(follow_symlinks=False)
            except OSError as exc:
                self._skip(entry.path, f"vanished or unreadable: {exc.strerror or exc}")
                clean = False
                continue
            mode = st.st_mode
            if S_ISREG(mode):
                append((entry, st, _FILE))
                # = _file_rec(entry.name, mode & 0o7777, stat_signature(st)), inlined: this
                # loop runs for every file of every run.
                file_recs.append(f"f\0{entry.name}\0{mode & 0o7777}\0{st.st_size}\0{st.st_mtime_ns}"
                                 f"\0{st.st_ino}\0{0 if _NT else st.st_ctime_ns}")
                size += st.st_size
            elif S_ISLNK(mode) or _is_junction(st):
                append((entry, st, _LINK))
            elif S_ISDIR(mode):
                append((entry, st, _DIR))
            else:
                self._skip(entry.path, "not a regular file, folder or link (device, pipe or socket)")
                clean = False
        # Subfolders first: their tree and refs IDs are part of this folder's listing.
        others: list[tuple[os.DirEntry, os.stat_result, str, object]] = []
        for entry, st, kind in listed:
            if kind is _DIR:
                others.append((entry, st, kind, self._dir(entry.path)))
            elif kind is _LINK:
                try:
                    others.append((entry, st, kind, os.readlink(entry.path)))
                except OSError as exc:
                    self._skip(entry.path, f"link could not be read: {exc.strerror or exc}")
                    clean = False
        key = self.repo.ids.cache_key(path)
        if clean:
            cached = self.cache.lookup_dir(key)
            if cached is not None:
                recs = file_recs + [_other_rec(entry.name, kind, st, x) for entry, st, kind, x in others]
                if self.repo.ids.cache_digest(_listing_bytes(recs)) == cached.digest and self._blobs_kept(cached):
                    stats = self.stats
                    stats.current = path
                    stats.files += len(file_recs)
                    stats.bytes += size
                    stats.folders_reused += 1
                    self.progress.tick()
                    return cached.tree, cached.refs
        return self._build_dir(key, listed, others, clean)

    def _blobs_kept(self, cached: CachedFolder) -> bool:
        """Are the folder's tree and refs blobs, and its files' chunks, still in the repository?
        (Not if the run that stored them was interrupted before its index was written.)"""
        return self.writer.all_known(cached.tree + cached.refs + cached.data)

    def _build_dir(self, key: bytes, listed: list, others: list, clean: bool) -> tuple[bytes, bytes]:
        """Build the folder's tree and refs blobs; remember them if nothing was skipped."""
        cache_key = self.repo.ids.cache_key
        file_keys = {entry.name: cache_key(entry.path) for entry, _st, kind in listed if kind is _FILE}
        cached_files = self.cache.lookup_many(list(file_keys.values())) if file_keys else {}
        extra = {entry.name: x for entry, _st, _kind, x in others}
        nodes: list[TreeNode] = []
        file_recs: list[str] = []
        refs: set[bytes] = set()
        data: set[bytes] = set()
        for entry, st, kind in listed:
            name = entry.name
            if kind is not _FILE and name not in extra:
                continue  # a link that could not be read (skipped above)
            mode = st.st_mode & 0o7777
            if kind is _FILE:
                self._check_cancel()
                file_key = file_keys[name]
                done = self._file(entry.path, st, name, file_key, cached_files.get(file_key))
                if done is None:
                    clean = False
                    continue
                node, sig, content = done
                ids = [cid for cid, _ in content]
                refs.update(ids)
                data.update(ids)
                if node.changed_while_read:
                    clean = False
                file_recs.append(_file_rec(name, mode, sig))
            elif kind is _DIR:
                tree_id, refs_id = extra[name]
                refs.add(refs_id)
                node = TreeNode(name, "dir", mode, st.st_mtime_ns, subtree=tree_id.hex())
            else:
                node = TreeNode(name, "symlink", mode, st.st_mtime_ns, target=str(extra[name]))
            nodes.append(node)
        tree_id = self.writer.store("tree", tree_bytes(nodes))
        refs.add(tree_id)
        refs_id = self.writer.store("refs", b"".join(sorted(refs)))
        if clean:
            recs = file_recs + [_other_rec(entry.name, kind, st, x) for entry, st, kind, x in others]
            digest = self.repo.ids.cache_digest(_listing_bytes(recs))
            self.cache.remember_dir(key, CachedFolder(digest, tree_id, refs_id, b"".join(sorted(data))))
        return tree_id, refs_id

    # --- files ----------------------------------------------------------------------------

    def _file(
        self,
        path: str,
        st: os.stat_result,
        name: str,
        key: bytes,
        cached: tuple[tuple[int, int, int, int], bytes] | None,
    ) -> tuple[TreeNode, tuple[int, int, int, int], list[tuple[bytes, int]]] | None:
        """The file's tree node, the signature its content was taken at, and its chunks
        (None: skipped). ``cached`` is the files cache's row for it, if any."""
        self.stats.current = path
        sig = stat_signature(st)
        if cached is not None and cached[0] == sig:
            content = self.cache.decode(cached[1])
            if all(self.writer.known(cid) for cid, _ in content):
                self._file_done(st.st_size)
                node = TreeNode(name, "file", st.st_mode & 0o7777, st.st_mtime_ns, size=st.st_size,
                                content=_content_of(content))
                return node, sig, content
        try:
            content, st0, changed = self._read_file(path)
        except OSError as exc:
            self._skip(path, f"could not be read: {exc.strerror or exc}")
            return None
        self._file_done(0)
        self.stats.files_read += 1
        node = TreeNode(name, "file", st.st_mode & 0o7777, st0.st_mtime_ns, size=sum(n for _, n in content),
                        content=_content_of(content), changed_while_read=changed)
        sig0 = stat_signature(st0)
        if changed:
            self._skip(path, "changed while it was being read; the copy may be inconsistent")
        else:
            self.cache.remember(key, sig0, content)
        return node, sig0, content

    def _file_done(self, size: int) -> None:
        self.stats.files += 1
        self.stats.bytes += size
        self.progress.tick()

    def _read_file(self, path: str) -> tuple[list[tuple[bytes, int]], os.stat_result, bool]:
        from ..chunker import BLOCK_SIZE  # (the chunker is loaded only once a file is read)

        with open(path, "rb", buffering=0) as f:
            st0 = os.fstat(f.fileno())
            # The first read asks for the whole file (and one byte more, to see the end in that
            # read when it did not grow): most files are far smaller than a block, and a read
            # of BLOCK_SIZE would allocate 16 MiB for each of them.
            first = min(BLOCK_SIZE, st0.st_size + 1)
            content = self.pipeline.store_blocks(_blocks(f, first, BLOCK_SIZE), on_chunk=self._chunk_read)
            st1 = os.fstat(f.fileno())
        read = sum(n for _, n in content)
        changed = (st1.st_size, st1.st_mtime_ns) != (st0.st_size, st0.st_mtime_ns) or read != st1.st_size
        return content, st0, changed

    def _chunk_read(self, size: int) -> None:
        self.stats.bytes += size
        self.progress.tick()


def _blocks(f: BinaryIO, first: int, size: int) -> Iterator[bytes]:
    """An unbuffered file's content: ``first`` bytes, then blocks of ``size``, until the end."""
    block = f.read(first)
    while block:
        yield block
        block = f.read(size)


_NT = os.name == "nt"
_FILE, _DIR, _LINK = "f", "d", "l"
_entry_name = attrgetter("name")


# A folder's listing, as digested for the files cache: one record per entry (files
# first, then subfolders and links, each in name order), its fields joined by NUL
# (which no file name or link target can hold; each kind has a fixed number of
# fields, so the joined text is unambiguous).


def _file_rec(name: str, mode: int, sig: tuple[int, int, int, int]) -> str:
    """A file: everything its tree node is made of (name, mode, size, mtime) and what
    the files cache trusts for its content (file ID, ctime): see ``stat_signature``."""
    return f"f\0{name}\0{mode}\0{sig[0]}\0{sig[1]}\0{sig[2]}\0{sig[3]}"


def _other_rec(name: str, kind: str, st: os.stat_result, extra: object) -> str:
    """A subfolder (with its tree and refs IDs) or a link (with its target)."""
    if kind is _DIR:
        tree_id, refs_id = cast("tuple[bytes, bytes]", extra)
        return f"d\0{name}\0{st.st_mode & 0o7777}\0{st.st_mtime_ns}\0{tree_id.hex()}\0{refs_id.hex()}"
    return f"l\0{name}\0{st.st_mode & 0o7777}\0{st.st_mtime_ns}\0{extra}"


def _listing_bytes(recs: list[str]) -> bytes:
    # surrogatepass: Windows names may hold lone surrogates, POSIX ones surrogate escapes.
    return "\0".join(recs).encode("utf-8", "surrogatepass")


def _content_of(content: list[tuple[bytes, int]]) -> Content:
    return tuple((cid.hex(), size) for cid, size in content)


def _is_junction(st: os.stat_result) -> bool:
    """A Windows directory junction: record it like a link, never walk into it."""
    return bool(getattr(st, "st_reparse_tag", 0)) and stat.S_ISDIR(st.st_mode)
