"""The files cache: lets an unchanged file be recorded without reading it.

A file whose path, size, modification time, inode / file ID (and on POSIX
change time) match what the last backup on this machine saw is assumed
unchanged; its chunk list is taken from here, after checking every chunk is
still in the repository's index. The cache lives on this machine (platformdirs
cache folder, one SQLite file per repository), never in the repository. Paths
are stored only as keyed hashes, so the cache file names no patient.
"""
from __future__ import annotations

import os
import sqlite3
import struct

from .. import paths

_ENTRY = struct.Struct("<32sI")


def _encode(content: list[tuple[bytes, int]]) -> bytes:
    return b"".join(_ENTRY.pack(cid, size) for cid, size in content)


def _decode(blob: bytes) -> list[tuple[bytes, int]]:
    return [_ENTRY.unpack_from(blob, i) for i in range(0, len(blob), _ENTRY.size)]


def stat_signature(st: os.stat_result) -> tuple[int, int, int, int]:
    """(size, mtime_ns, file ID, ctime_ns); ctime only where it means "changed" (POSIX)."""
    ctime = 0 if os.name == "nt" else st.st_ctime_ns
    return st.st_size, st.st_mtime_ns, st.st_ino, ctime


class FilesCache:
    """Path-hash -> (signature, chunk list), in SQLite."""

    def __init__(self, repo_id: str) -> None:
        folder = os.path.join(paths.cache_dir(), repo_id)
        os.makedirs(folder, exist_ok=True)
        self._db = sqlite3.connect(os.path.join(folder, "files.sqlite"))
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS files (key BLOB PRIMARY KEY, size INTEGER, mtime INTEGER,"
            " ino INTEGER, ctime INTEGER, content BLOB)"
        )

    def lookup(self, key: bytes, sig: tuple[int, int, int, int]) -> list[tuple[bytes, int]] | None:
        row = self._db.execute(
            "SELECT size, mtime, ino, ctime, content FROM files WHERE key = ?", (key,)
        ).fetchone()
        if row is None or tuple(row[:4]) != sig:
            return None
        return _decode(row[4])

    def remember(self, key: bytes, sig: tuple[int, int, int, int], content: list[tuple[bytes, int]]) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)", (key, *sig, _encode(content))
        )

    def commit(self) -> None:
        self._db.commit()

    def close(self) -> None:
        self._db.close()
