"""The table cache: lets a table the server proves unchanged be recorded without reading it.

For MyISAM the server keeps each table's last-modified time (one-second
resolution) and data length. A table whose time and length and definition
equal what an earlier run saw, where that run read it in a *later* second
than its last change, has not changed since: its stream (chunk list, rows,
checksum) is reused. When unsure (InnoDB, whose time is not kept across
restarts; a change in the same second as the read; no time at all) the
table is read. It also remembers which tables a table scan could not read
in key order lately (read by key at once). Kept on this machine beside the
files cache; names only as keyed hashes.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time

from .. import paths
from ..crypto import IdKeys

SCAN_RETRY_S = 7 * 24 * 3600


class TableCache:
    def __init__(self, repo_id: str, ids: IdKeys) -> None:
        folder = os.path.join(paths.cache_dir(), repo_id)
        os.makedirs(folder, exist_ok=True)
        self._ids = ids
        self._db = sqlite3.connect(os.path.join(folder, "tables.sqlite"))
        self._db.execute("CREATE TABLE IF NOT EXISTS tables (key BLOB PRIMARY KEY, proof TEXT, node TEXT)")
        self._db.execute("CREATE TABLE IF NOT EXISTS lock_windows (key BLOB PRIMARY KEY, seconds REAL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS scan_failures (key BLOB PRIMARY KEY, at REAL)")

    def _key(self, server: str, database: str, table: str) -> bytes:
        return self._ids.cache_key(f"table\0{server}\0{database}\0{table}")

    @staticmethod
    def proof(update_time: object, data_length: object, create_sql: str) -> str | None:
        """What must be equal for the table to be unchanged; None when the server cannot tell."""
        if update_time is None:
            return None
        digest = hashlib.sha256(create_sql.encode()).hexdigest()
        return f"{update_time}|{data_length}|{digest}"

    def lookup(self, server: str, database: str, table: str, proof: str | None) -> dict | None:
        if proof is None:
            return None
        row = self._db.execute("SELECT proof, node FROM tables WHERE key = ?",
                               (self._key(server, database, table),)).fetchone()
        if row is None or row[0] != proof:
            return None
        return dict(json.loads(row[1]))

    def remember(self, server: str, database: str, table: str, proof: str | None, node: dict) -> None:
        key = self._key(server, database, table)
        if proof is None:
            self._db.execute("DELETE FROM tables WHERE key = ?", (key,))
            return
        self._db.execute("INSERT OR REPLACE INTO tables VALUES (?, ?, ?)", (key, proof, json.dumps(node)))

    def last_lock_window(self, server: str, database: str) -> float | None:
        row = self._db.execute("SELECT seconds FROM lock_windows WHERE key = ?",
                               (self._key(server, database, ""),)).fetchone()
        return float(row[0]) if row else None

    def remember_lock_window(self, server: str, database: str, seconds: float) -> None:
        self._db.execute("INSERT OR REPLACE INTO lock_windows VALUES (?, ?)",
                         (self._key(server, database, ""), seconds))

    def scan_worth_trying(self, server: str, database: str, table: str) -> bool:
        """False while a recent table scan of this table could not prove key order (see
        ``stream._Scan``): its data file is out of key order, which lasts until the table is
        rebuilt, so reading it by key at once saves a scan. Tried again after a week."""
        row = self._db.execute("SELECT at FROM scan_failures WHERE key = ?",
                               (self._key(server, database, table),)).fetchone()
        return row is None or time.time() - float(row[0]) > SCAN_RETRY_S

    def remember_scan(self, server: str, database: str, table: str, *, ok: bool) -> None:
        key = self._key(server, database, table)
        if ok:
            self._db.execute("DELETE FROM scan_failures WHERE key = ?", (key,))
        else:
            self._db.execute("INSERT OR REPLACE INTO scan_failures VALUES (?, ?)", (key, time.time()))

    def commit(self) -> None:
        self._db.commit()

    def close(self) -> None:
        self._db.close()
