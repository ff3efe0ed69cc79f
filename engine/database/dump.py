"""Backing up one live database into the snapshot.

Connections: ``meta`` reads definitions and table statistics, ``data``
holds the locks (taken, timed and released by ``readlock.ReadLock``) and the
consistent-snapshot transaction and reads the rows, ``monitor`` watches the
office and kills a lock request that hangs (``locking.LockMonitor``), and
``helpers`` (``READERS - 1`` of them) read rows beside ``data`` when they are
sure to see the same rows: in consistent mode, where the global read lock
freezes the MyISAM tables and each helper opens its InnoDB snapshot while
that lock is held (so every snapshot is of the same instant, as mydumper
does). Lock windows are kept short: definitions are read before locking,
unchanged MyISAM tables are not read again, every reading connection reads
at once (a big table in parts, the others side by side: ``readers.py``),
and InnoDB tables are read after the lock is released, from the
transactions opened while it was held.
"""
from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass

import pymysql
import pymysql.cursors
from pymysql.connections import Connection

from ..errors import Cancelled
from ..events import DatabaseDumped, EventSink, TableDumped, TableSkipped
from ..folders.backup import tree_bytes_of
from ..pipeline import SealPipeline
from ..repository.records import DatabaseSource, DatabaseTree, TableNode
from ..repository.repo import BlobWriter
from . import locking
from .connection import DatabaseError, DbTarget, connect, kill_session, one_row, translate
from .preflight import describe
from .readers import MISSING_TABLE_CODES, TableGone, TableRead, TableReaders, empty
from .readlock import GLOBAL_SCOPE as GLOBAL_SCOPE  # the scope events name a global lock by
from .readlock import LockRules, ReadLock
from .schema import Catalog, Schema, Table, read_catalog, read_schema, read_table
from .tablecache import TableCache

LOCK_MODES = ("consistent", "per-table")
READERS = 2  # connections reading rows at once (the data connection and its helpers)
NET_WRITE_TIMEOUT = 600
"""How long the server waits for a reading session's client to take the next packet, or to send
the next statement (``wait_timeout``), before it ends the session and any lock it holds: the
last resort when the whole backup process stops (suspended, the machine asleep), where
LockMonitor's stall watch cannot run either."""


@dataclass(frozen=True)
class DatabasePlan:
    """One database to back up."""

    target: DbTarget
    lock_mode: str = "consistent"
    lock_timeout: float = 10.0
    lock_retries: int = 3
    retry_pause: float = 5.0
    stall_timeout: float = 60.0
    """A held lock is released (and the backup fails) when reading stops this long (locking.py)."""

    @property
    def lock_rules(self) -> LockRules:
        return LockRules(self.lock_timeout, self.lock_retries, self.retry_pause)


@dataclass
class DumpStats:
    tables: int = 0
    rows: int = 0
    bytes: int = 0
    lock_window: float = 0.0
    """Seconds the office's writes were or could have been blocked (``ReadLock.office_wait``)."""
    skipped: list[tuple[str, str]] | None = None


class DatabaseDump:
    """Dumps one database through the shared pipeline; see module docstring."""

    def __init__(self, plan: DatabasePlan, writer: BlobWriter, pipeline: SealPipeline, cache: TableCache,
                 *, on_event: EventSink, cancel: threading.Event) -> None:
        if plan.lock_mode not in LOCK_MODES:
            raise DatabaseError(f"Unknown lock mode '{plan.lock_mode}': use consistent or per-table.")
        if not plan.target.database:
            raise DatabaseError("No database name was given (mysql://USER@HOST:PORT/DBNAME).")
        self.plan, self.writer, self.pipeline, self.cache = plan, writer, pipeline, cache
        self.cancel = cancel
        self._sink_lock = threading.Lock()
        self._on_event = on_event
        self.db: str = plan.target.database
        self.stats = DumpStats(skipped=[])
        self._ended_at: float | None = None  # when _end_sessions first ended our sessions
        self._helpers: list[Connection] = []
        self._monitor: Connection | None = None
        self._watcher: locking.LockMonitor | None = None
        self._readers: list[Connection] = []  # helpers that see what the data connection sees, now
        self._short_idle = False  # the data session's wait_timeout is NET_WRITE_TIMEOUT (_idle_limit)

    def emit(self, event) -> None:
        """Events come from this thread and the monitor's: serialise them."""
        with self._sink_lock:
            self._on_event(event)

    # --- the run -------------------------------------------------------------------------------

    def run(self) -> tuple[DatabaseSource, bytes]:
        """Returns (the snapshot's source record, the refs blob ID)."""
        started = time.monotonic()
        target = self.plan.target
        meta = connect(target, database=self.db)
        try:
            data = connect(target, database=self.db, use_unicode=False, conv={})
        except BaseException:
            meta.close()
            raise
        monitor = None
        try:
            monitor = self._monitor = connect(target)
            # definitions as the restore reads them: backquoted names, escaped strings (a server
            # whose sql_mode has ANSI_QUOTES or NO_BACKSLASH_ESCAPES would print them otherwise)
            _execute(meta, "SET SESSION sql_mode = ''")
            _fresh_statistics(meta)
            self.server = self._server_identity(meta)
            schema = read_schema(meta, self.db)
            self._open_helpers(schema)
            ours = {meta.thread_id(), data.thread_id(), monitor.thread_id()} | {h.thread_id() for h in self._helpers}
            self._preflight(meta, schema, ours)
            for conn in (data, *self._helpers):
                self._prepare_session(conn)
            watcher = self._watcher = locking.LockMonitor(
                monitor, self.emit, ours, lock_conn_id=data.thread_id(), lock_timeout=self.plan.lock_timeout,
                holders=(data.thread_id(), *(h.thread_id() for h in self._helpers)),
                stall_timeout=self.plan.stall_timeout, database=self.db, connect=lambda: connect(target))
            watcher.start()
            lock = ReadLock(data, watcher, meta=meta, rules=self.plan.lock_rules, target=target,
                            server_version=self.server_version, emit=self.emit, cancel=self.cancel,
                            end_sessions=lambda: self._end_sessions((data, *self._helpers)))
            try:
                nodes = self._dump(schema, meta, data, lock)
            except BaseException:
                self._end_sessions((data, *self._helpers))  # any lock was withdrawn by ReadLock
                raise
            watcher.stop()
            self.stats.lock_window = lock.office_wait
            return self._finish(schema, nodes, started)
        except pymysql.err.MySQLError as exc:
            raise translate(exc, target, self.db) from None
        finally:
            for opened in (data, *self._helpers, meta, monitor, self._watcher.conn if self._watcher else None):
                _close(opened)

    def _open_helpers(self, schema: Schema) -> None:
        """Extra reading connections: in consistent mode with MyISAM tables (the global read
        lock is what makes them see the same rows). Best effort: a server that refuses more
        connections gets one reader."""
        if self.plan.lock_mode != "consistent" or all(t.transactional for t in schema.tables):
            return
        for _ in range(READERS - 1):
            try:
                self._helpers.append(connect(self.plan.target, database=self.db, use_unicode=False, conv={}))
            except DatabaseError:
                break

    def _server_identity(self, meta: Connection) -> str:
        with meta.cursor() as cur:
            cur.execute("SELECT @@hostname, @@port, @@datadir, VERSION()")
            host, port, datadir, version = one_row(cur)
        self.server_version = version
        return f"{host}:{port}:{datadir}"

    def _prepare_session(self, data: Connection) -> None:
        with data.cursor() as cur:
            for sql in ("SET SESSION sql_mode = ''", "SET SESSION time_zone = '+00:00'",
                        f"SET SESSION net_write_timeout = {NET_WRITE_TIMEOUT}", "SET SESSION net_read_timeout = 3600",
                        f"SET SESSION lock_wait_timeout = {int(self.plan.lock_timeout) + 5}",
                        "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"):
                cur.execute(sql)

    def _preflight(self, meta: Connection, schema: Schema, ours: set[int]) -> None:
        estimate = self.cache.last_lock_window(self.server, self.db)
        self.emit(describe(meta, schema, self.plan.target, lock_mode=self.plan.lock_mode, ours=ours,
                           estimate=estimate))

    def _dump(self, schema: Schema, meta: Connection, data: Connection, lock: ReadLock) -> list[TableNode]:
        nontx = [t for t in schema.tables if not t.transactional]
        tx = [t for t in schema.tables if t.transactional]
        nodes: list[TableNode] = []
        if self.plan.lock_mode == "consistent" and nontx:
            self._idle_limit(data, locked=True)
            with lock.acquire(tuple(t.name for t in schema.tables)):
                _execute(data, "START TRANSACTION WITH CONSISTENT SNAPSHOT")
                for helper in self._helpers:
                    # under the global lock nothing commits: every snapshot is of this instant,
                    # and the MyISAM tables stay frozen until the lock is released
                    _execute(helper, "START TRANSACTION WITH CONSISTENT SNAPSHOT")
                self._readers = list(self._helpers)
                catalog = read_catalog(meta, self.db)
                nontx, tx = self._current(schema, meta, catalog, nontx, tx, also_new=True)
                nodes += self._tables(nontx, data, catalog.stats)
            self._idle_limit(data, locked=False)
        else:
            _execute(data, "START TRANSACTION WITH CONSISTENT SNAPSHOT")
            catalog = read_catalog(meta, self.db)
            nontx, tx = self._current(schema, meta, catalog, nontx, tx,
                                      also_new=self.plan.lock_mode == "consistent")
        nodes += self._tables(tx, data, catalog.stats)
        _execute(data, "COMMIT")
        for helper in self._readers:
            _execute(helper, "COMMIT")
        self._readers = []
        if self.plan.lock_mode == "per-table":
            for table in nontx:
                nodes += self._one_locked_table(schema, table, data, meta, lock)
            self._idle_limit(data, locked=False)
        return sorted(nodes, key=lambda n: n.name)

    def _idle_limit(self, data: Connection, *, locked: bool) -> None:
        """While the data session may hold a lock, the server ends it after NET_WRITE_TIMEOUT
        seconds without a statement (the backup process stopped); otherwise the server's own
        limit applies (the other connection may read one big table for longer than that)."""
        if locked != self._short_idle:
            _execute(data, f"SET SESSION wait_timeout = {NET_WRITE_TIMEOUT}" if locked
                     else "SET SESSION wait_timeout = @@GLOBAL.wait_timeout")
            self._short_idle = locked

    def _one_locked_table(self, schema: Schema, table: Table, data: Connection, meta: Connection,
                          lock: ReadLock) -> list[TableNode]:
        self._idle_limit(data, locked=True)
        try:
            lock.acquire((table.name,), table=table.name)
        except pymysql.err.ProgrammingError as exc:
            if exc.args[0] not in MISSING_TABLE_CODES:
                raise
            self._skip(table, "the table was dropped during the backup")
            return []
        with lock:  # on an error under it, its sessions are ended (the readers may have ended them)
            catalog = read_catalog(meta, self.db, only=table.name)  # this table's alone: the office waits
            current, _ = self._current(schema, meta, catalog, [table], [], also_new=False)
            return self._tables(current, data, catalog.stats) if current else []

    def _current(self, schema: Schema, meta: Connection, catalog: Catalog, nontx: list[Table], tx: list[Table], *,
                 also_new: bool) -> tuple[list[Table], list[Table]]:
        """The tables as they are now (under the lock / in the snapshot): an altered table
        is described again, a dropped one left out (reported when its turn comes)."""
        now = catalog.signatures
        known = {t.name: t for t in nontx + tx}
        wanted = list(known)
        if also_new:
            wanted += sorted(set(now) - set(schema.signatures))
        fresh_nontx: list[Table] = []
        fresh_tx: list[Table] = []
        for name in wanted:
            if name not in now:
                continue  # dropped: _table reports it
            table = known.get(name)
            if table is None or now[name] != schema.signatures.get(name):
                table = read_table(meta, self.db, name)
                if table is None:
                    continue
            (fresh_tx if table.transactional else fresh_nontx).append(table)
        gone = [t for t in nontx + tx if t.name not in now]
        for table in gone:
            self._skip(table, "the table was dropped during the backup")
        return fresh_nontx, fresh_tx

    # --- ending sessions ------------------------------------------------------------------------------

    def _end_sessions(self, conns) -> float | None:
        """End these sessions on the server at once (a failure or cancel): their queries stop and
        their locks go with them. The KILL goes through the monitor's connection once the lock
        monitor has stopped using it; through a new one when that is not possible. Returns when
        our sessions were first ended (None: they could not be)."""
        if self._watcher is not None:
            self._watcher.stop()
        usable = self._watcher is None or not self._watcher.is_alive()
        monitor = self._watcher.conn if self._watcher is not None else self._monitor  # it may have a new one
        left = [c.thread_id() for c in conns if not (usable and kill_session(monitor, c.thread_id()))]
        if not left:
            self._ended_at = self._ended_at or time.monotonic()
            return self._ended_at
        try:
            spare = connect(self.plan.target)
        except DatabaseError:
            return self._ended_at  # the server cannot be reached: the sessions end with their connections (run())
        try:
            for thread_id in left:
                kill_session(spare, thread_id)
            self._ended_at = self._ended_at or time.monotonic()
        finally:
            _close(spare)
        return self._ended_at

    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Cancelled("The backup was cancelled; locks were released and no snapshot was saved.")

    # --- tables -------------------------------------------------------------------------------------

    def _tables(self, tables: list[Table], data: Connection, stats: dict[str, tuple]) -> list[TableNode]:
        """The tables' tree nodes: unchanged ones from the table cache, the others read on every
        reading connection at once (readers.py)."""
        nodes: list[TableNode] = []
        to_read, proofs = [], {}
        for table in tables:
            self._check_cancel()
            stat = stats.get(table.name)
            if stat is None:
                self._skip(table, "the table was dropped during the backup")
                continue
            table, proofs[table.name] = self._as_locked(table, stat)
            cached = None if table.rows_elsewhere else _cached_node(
                self.cache.lookup(self.server, self.db, table.name, proofs[table.name]))
            if cached is not None and all(self.writer.known(bytes.fromhex(c)) for c, _ in cached.content):
                self._count(cached)
                self.emit(TableDumped(self.db, table.name, cached.rows, cached.bytes, 0.0, True))
                nodes.append(cached)
            elif table.counts_rows and stat[3] == 0:  # counted under the lock: nothing to read
                nodes.append(self._node(empty(table), stat[2], proofs[table.name]))
            elif table.rows_elsewhere:  # the definition only (schema.ROWS_ELSEWHERE_ENGINES)
                nodes.append(self._node(empty(table), stat[2], None, elsewhere=True))
            else:
                to_read.append(table)
        if not to_read:
            return nodes
        conns = [data, *self._readers]
        readers = TableReaders(conns, self.pipeline, self.db, emit=self.emit, cancel=self.cancel,
                               abort=lambda: self._end_sessions(conns),
                               beat=self._watcher.beat if self._watcher else lambda: None)
        worth = lambda t: self.cache.scan_worth_trying(self.server, self.db, t.name)  # noqa: E731
        for done in readers.read(to_read, worth):
            if isinstance(done, TableGone):
                self._skip(done.table, done.reason)
            else:
                nodes.append(self._node(done, stats[done.table.name][2], proofs[done.table.name]))
        return nodes

    @staticmethod
    def _as_locked(table: Table, stat: tuple) -> tuple[Table, str | None]:
        """The table as the statistics read under the lock describe it, and its proof of
        unchanged for the table cache (None: it cannot be proven unchanged)."""
        update_time, data_length, _auto_increment, rows, now = stat
        if not table.transactional and data_length is not None and rows is not None:
            # under the lock these are exact for MyISAM and Aria: the size-based choices
            # of how to read (stream.read_stream) go by them, not by the pre-lock description
            table = dataclasses.replace(table, data_length=int(data_length), rows_estimate=int(rows))
        proof = None
        if not table.transactional and update_time is not None and update_time < now:
            proof = TableCache.proof(update_time, data_length, table.create_sql)
        return table, proof

    def _node(self, read: TableRead, auto_increment, proof: str | None, *, elsewhere: bool = False) -> TableNode:
        table = read.table
        node = TableNode(
            table.name, table.engine, table.create_sql, read.spec.to_json(), read.rows, read.bytes, read.checksum,
            auto_increment, tuple((c.hex(), n) for c, n in read.content),
            parts=tuple((rows, chunks) for rows, chunks in read.parts) if read.parts else None,
            rows_elsewhere=elsewhere,
        )
        if read.scanned is not None:
            self.cache.remember_scan(self.server, self.db, table.name, ok=read.scanned)
        self.cache.remember(self.server, self.db, table.name, proof, node.to_json())
        self._count(node)
        self.emit(TableDumped(self.db, table.name, node.rows, node.bytes, read.seconds, False))
        return node

    def _skip(self, table: Table, reason: str) -> dict | None:
        assert self.stats.skipped is not None
        self.stats.skipped.append((f"{self.db}.{table.name}", reason))
        self.emit(TableSkipped(self.db, table.name, reason))
        return None

    def _count(self, node: TableNode) -> None:
        self.stats.tables += 1
        self.stats.rows += node.rows
        self.stats.bytes += node.bytes

    # --- the result ----------------------------------------------------------------------------------

    def _finish(self, schema: Schema, nodes: list[TableNode], started: float) -> tuple[DatabaseSource, bytes]:
        tree = DatabaseTree(self.db, schema.charset, schema.collation, self.server_version, tuple(nodes),
                            tuple(p.to_json() for p in schema.programs))
        tree_id = self.writer.store("tree", tree_bytes_of(tree.to_json()))
        refs = {tree_id} | {bytes.fromhex(c) for n in nodes for c, _ in n.content}
        refs_id = self.writer.store("refs", b"".join(sorted(refs)))
        self.cache.remember_lock_window(self.server, self.db, self.stats.lock_window)
        seconds = time.monotonic() - started
        self.emit(DatabaseDumped(self.db, self.stats.tables, self.stats.rows, self.stats.bytes,
                                 self.stats.lock_window, seconds))
        source = DatabaseSource(self.db, self.plan.target.server, self.server_version, tree_id.hex(),
                                self.plan.lock_mode, round(self.stats.lock_window, 3), self.stats.tables,
                                self.stats.rows, self.stats.bytes, user=self.plan.target.user)
        return source, refs_id


def _cached_node(doc: dict | None) -> TableNode | None:
    """A table cache row as a tree node (None: none, or one this version cannot read: read again)."""
    if doc is None:
        return None
    try:
        return TableNode.from_json(doc)
    except (KeyError, TypeError, ValueError):
        return None


def _fresh_statistics(meta: Connection) -> None:
    """MySQL 8 answers the catalog's row counts and update times from a cache up to a day old
    (``information_schema_stats_expiry``): an empty table that has rows since, or a changed one,
    would be taken for empty or unchanged. Read them fresh. (MariaDB has no such cache, nor the
    variable.)"""
    try:
        _execute(meta, "SET SESSION information_schema_stats_expiry = 0")
    except pymysql.err.MySQLError:
        pass  # not MySQL 8: the statistics are live


def _execute(conn: Connection, sql: str) -> None:
    with conn.cursor() as cur:
        cur.execute(sql)


def _close(conn: Connection | None) -> None:
    if conn is None:
        return
    try:
        conn.close()
    except Exception:  # closing a killed connection may complain; it is closed either way
        pass
