"""The files cache: lets an unchanged file (or folder) be recorded without reading it.

A file whose path, size, modification time, inode / file ID (and on POSIX
change time) match what the last backup on this machine saw is assumed
unchanged; its chunk list is taken from here, after checking every chunk is
still in the repository's index. The cache lives on this machine (platformdirs
cache folder, one SQLite file per repository), never in the repository. Paths
are stored only as keyed hashes, so the cache file names no patient.

A folder goes one step further (table ``dirs``): a keyed digest of its listing
(every entry's name, type, mode, times, size, file ID, and each subfolder's
tree and refs IDs) with the tree and refs blob IDs that listing produced and
the data blob IDs of its files. When the digest of what is on disk now is the
same, the folder's tree and refs are reused as they are (after checking they
and every data blob are still in the index): no per-file lookup, no tree
rebuilt.
"""
from __future__ import annotations

import os
import sqlite3
import struct
from typing import NamedTuple

from .. import paths

_ENTRY = struct.Struct("<32sI")
SCHEMA_VERSION = 2  # 1: files only; 2: + dirs
_IN_BATCH = 500  # host parameters per query (SQLite's old default limit is 999)


def _encode(content: list[tuple[bytes, int]]) -> bytes:
    return b"".join(_ENTRY.pack(cid, size) for cid, size in content)


def _decode(blob: bytes) -> list[tuple[bytes, int]]:
    return list(_ENTRY.iter_unpack(blob))


def stat_signature(st: os.stat_result) -> tuple[int, int, int, int]:
    """(size, mtime_ns, file ID, ctime_ns); ctime only where it means "changed" (POSIX)."""
    ctime = 0 if os.name == "nt" else st.st_ctime_ns
    return st.st_size, st.st_mtime_ns, st.st_ino, ctime


class CachedFolder(NamedTuple):
    """What the cache remembers of one folder (see the module docstring)."""

    digest: bytes
    tree: bytes
    refs: bytes
    data: bytes  # concatenated 32-byte IDs of the data blobs of the folder's own files


class FilesCache:
    """Path-hash -> (signature, chunk list), and folder-hash -> (listing digest, IDs), in SQLite."""

    def __init__(self, repo_id: str) -> None:
        folder = os.path.join(paths.cache_dir(), repo_id)
        os.makedirs(folder, exist_ok=True)
        self._db = sqlite3.connect(os.path.join(folder, "files.sqlite"))
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:  # written by a newer odbackup: start afresh
            self._db.execute("DROP TABLE IF EXISTS files")
            self._db.execute("DROP TABLE IF EXISTS dirs")
        if version != SCHEMA_VERSION:
            # Version 1 had no ``dirs``; its ``files`` rows mean the same and are kept.
            self._db.execute("DROP TABLE IF EXISTS dirs")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS files (key BLOB PRIMARY KEY, size INTEGER, mtime INTEGER,"
            " ino INTEGER, ctime INTEGER, content BLOB)"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS dirs (key BLOB PRIMARY KEY, digest BLOB, tree BLOB, refs BLOB, data BLOB)"
        )
        if version != SCHEMA_VERSION:
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._db.commit()
        self._dirs: dict[bytes, CachedFolder] | None = None
        # Files remembered but not yet written: one ``executemany`` per _IN_BATCH files instead of
        # one statement per file (each a round through SQLite and a hand-over of the GIL, on the
        # thread that walks and reads). Lookups see them.
        self._unwritten: dict[bytes, tuple] = {}

    # --- files ----------------------------------------------------------------------

    def lookup(self, key: bytes, sig: tuple[int, int, int, int]) -> list[tuple[bytes, int]] | None:
        unwritten = self._unwritten.get(key)
        row = unwritten[1:] if unwritten is not None else self._db.execute(
            "SELECT size, mtime, ino, ctime, content FROM files WHERE key = ?", (key,)
        ).fetchone()
        if row is None or tuple(row[:4]) != sig:
            return None
        return _decode(row[4])

    def lookup_many(self, keys: list[bytes]) -> dict[bytes, tuple[tuple[int, int, int, int], bytes]]:
        """key -> (signature, encoded content) for those of ``keys`` the cache holds (one query per batch)."""
        found: dict[bytes, tuple[tuple[int, int, int, int], bytes]] = {}
        for i in range(0, len(keys), _IN_BATCH):
            batch = keys[i : i + _IN_BATCH]
            marks = ",".join("?" * len(batch))
            for key, size, mtime, ino, ctime, content in self._db.execute(
                f"SELECT key, size, mtime, ino, ctime, content FROM files WHERE key IN ({marks})", batch
            ):
                found[key] = ((size, mtime, ino, ctime), content)
        for key in keys:
            unwritten = self._unwritten.get(key)
            if unwritten is not None:
                found[key] = (unwritten[1:5], unwritten[5])
        return found

    @staticmethod
    def decode(content: bytes) -> list[tuple[bytes, int]]:
        return _decode(content)

    def remember(self, key: bytes, sig: tuple[int, int, int, int], content: list[tuple[bytes, int]]) -> None:
        self._unwritten[key] = (key, *sig, _encode(content))
        if len(self._unwritten) >= _IN_BATCH:
            self._write_files()

    def _write_files(self) -> None:
        if self._unwritten:
            self._db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)", self._unwritten.values())
            self._unwritten = {}

    # --- folders --------------------------------------------------------------------

    def lookup_dir(self, key: bytes) -> CachedFolder | None:
        if self._dirs is None:  # all folders in one query: far cheaper than one query per folder
            make = CachedFolder._make
            self._dirs = {row[0]: make(row[1:]) for row in
                          self._db.execute("SELECT key, digest, tree, refs, data FROM dirs")}
        return self._dirs.get(key)

    def remember_dir(self, key: bytes, entry: CachedFolder) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO dirs VALUES (?, ?, ?, ?, ?)",
            (key, entry.digest, entry.tree, entry.refs, entry.data),
        )
        if self._dirs is not None:
            self._dirs[key] = entry

    def commit(self) -> None:
        self._write_files()
        self._db.commit()

    def close(self) -> None:
        self._db.close()
