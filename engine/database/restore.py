"""Restoring a database of a snapshot into a new database.

Never into an existing non-empty database unless the caller asked to replace
it *and* typed its name again (``confirm``). Rows are bulk-loaded with
``LOAD DATA LOCAL`` straight from decrypted chunks (read ahead by worker
threads), tables load in parallel on two connections (a big MyISAM table
the backup read in parts, in parts at once: :class:`_Parts`), MyISAM builds
its indexes after the rows (the server does that for a load into an empty
table), and triggers are created after the rows so they do not fire. Views
are created until none is left or none can be (views on views restore in
any order); foreign keys are not checked while loading (cycles are fine).
"""
from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import pymysql
from pymysql.connections import Connection

from ..errors import Cancelled, UnsafePath
from ..events import (
    DatabaseRestored,
    DatabaseRestoreStarted,
    EventSink,
    TableProgress,
    TableRestored,
    ignore_events,
)
from ..progress import Throttle
from ..repository.records import Content, DatabaseSource, DatabaseTree, TableNode
from ..repository.repo import Repository
from ..repository.snapshot import Snapshot
from . import loadlocal
from .connection import DatabaseError, DbTarget, connect, one_row, translate
from .rebase import next_token, rebase, tokens
from .schema import ROWS_ELSEWHERE_ENGINES, Program, quote_ident
from .stream import StreamSpec, load_sql

READ_AHEAD = 8
LOAD_CONNECTIONS = 2
PART_ENGINES = frozenset({"myisam", "aria"})
"""Engines whose big tables are loaded in parts at once (into side tables, keys off)."""


@dataclass
class _Parts:
    """A big table the backup read in parts, restored in parts at once.

    One ``LOAD DATA`` per part, on both connections: the first part into the
    table (``DISABLE KEYS``: the non-unique indexes are built once at the end;
    the primary key is kept up as rows come), each other into a side table
    holding the same columns with the same types and no index at all. When the
    last part is in, the side tables' rows are copied into the table in order and
    its indexes are built once. (MyISAM appends the rows in that order; should a
    table come back out of key order all the same, its next backup finds out and
    reads it by key.)

    Why no index on the side tables: MyISAM keeps its indexes through the
    server's key cache, which by default has a single lock, and two loads that
    each keep a primary key up take turns on it: on the benchmark's 2M-row table, the two halves loaded at once took
    4.7 s with a key on both sides and 3.0 s with the side table bare (2.8 s for
    one half alone); the copy from a bare table takes 1.7 s instead of 2.7 s.
    Measured (server side, the same files): loads 3.0 s, copy 1.7 s, index
    build 9.4 s, against about 5.6 s (twice 2.8 s) to load the table whole."""

    node: TableNode
    columns: str  # the loaded columns, quoted, as both statements list them
    sides: list[str]
    pending: int
    started: float
    rows: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def loaded(self, rows: int) -> bool:
        """Count a part in; True for the last one."""
        with self.lock:
            self.rows += rows
            self.pending -= 1
            return self.pending == 0


@dataclass(frozen=True)
class _Load:
    """One ``LOAD DATA``: a table's stream (or one part of it), into ``into``."""

    node: TableNode
    into: str
    content: Content
    rows: int
    group: _Parts | None = None


def rows_elsewhere(node: TableNode) -> bool:
    """A table backed up as its definition only (schema.ROWS_ELSEWHERE_ENGINES); snapshots made
    before the flag existed hold such tables' rows, which must not be loaded through them."""
    return node.rows_elsewhere or node.engine.lower() in ROWS_ELSEWHERE_ENGINES


def _create_side_table(cur, side: str, table: str, columns: str) -> None:
    """The loaded columns with their exact types and no index at all (see :class:`_Parts`).
    Where the server refuses ``CREATE TABLE ... SELECT`` (MySQL with GTID consistency
    enforced), a copy of the table's definition with its non-unique keys disabled."""
    try:
        cur.execute(f"CREATE TABLE {quote_ident(side)} ENGINE=MyISAM"
                    f" SELECT {columns} FROM {quote_ident(table)} LIMIT 0")
    except pymysql.err.MySQLError:
        cur.execute(f"CREATE TABLE {quote_ident(side)} LIKE {quote_ident(table)}")
        cur.execute(f"ALTER TABLE {quote_ident(side)} DISABLE KEYS")


def _drop_side_tables(conn: Connection, group: _Parts) -> None:
    """After a failed restore: the side tables go (best effort; the database is incomplete anyway)."""
    for side in group.sides:
        try:
            with conn.cursor() as cur:
                cur.execute(f"DROP TABLE IF EXISTS {quote_ident(side)}")
        except pymysql.err.MySQLError:
            break  # the connection is gone: nothing more to do here


@dataclass(frozen=True)
class DatabaseRestoreResult:
    database: str
    target: str
    tables: int
    rows: int
    seconds: float
    problems: tuple[str, ...]


def database_sources(repo: Repository, snap: Snapshot) -> list[DatabaseSource]:
    return list(snap.open_body(repo.require_full_key()).databases)


def find_database(repo: Repository, snap: Snapshot, name: str | None) -> DatabaseSource:
    sources = database_sources(repo, snap)
    if not sources:
        raise DatabaseError(f"Snapshot {snap.short_id} holds no database.")
    if name is None and len(sources) == 1:
        return sources[0]
    for s in sources:
        if s.name == name:
            return s
    raise DatabaseError(f"Snapshot {snap.short_id} holds no database '{name}' "
                        f"(it has: {', '.join(s.name for s in sources)}).")


LOAD_SQL_MODE = "NO_AUTO_VALUE_ON_ZERO"
"""Rows go in as they were: no strict checks (the values came out of this kind of table), and a
0 in an AUTO_INCREMENT column stays 0 (else the server would number the row anew)."""
SORT_BUFFER = 64 * 1024 * 1024  # at least this for MyISAM's index sort (MySQL's default is 8 MiB)


def _session(conn: Connection) -> None:
    with conn.cursor() as cur:
        for sql in (f"SET SESSION sql_mode = '{LOAD_SQL_MODE}'", "SET SESSION time_zone = '+00:00'",
                    "SET SESSION foreign_key_checks = 0", "SET SESSION unique_checks = 0",
                    "SET SESSION net_read_timeout = 3600", "SET SESSION net_write_timeout = 3600"):
            cur.execute(sql)
        cur.execute("SELECT @@max_allowed_packet")
        conn._odb_packet = max(1024, int(one_row(cur)[0]) // 2)  # type: ignore[attr-defined]
        _myisam_session(cur)


def _myisam_session(cur) -> None:
    """A load into an empty MyISAM table writes the rows, then builds the non-unique indexes
    by sorting ("repair by sort"), one index after the other. With ``myisam_repair_threads``
    above 1 the server sorts every index in its own thread (about 25% faster here on a big
    Open Dental-like table with 11 indexes). Best effort: MySQL 8 has neither variable, and the
    sort buffer is only ever raised."""
    for sql in ("SET SESSION myisam_repair_threads = 2",
                f"SET SESSION myisam_sort_buffer_size = GREATEST(@@myisam_sort_buffer_size, {SORT_BUFFER})"):
        try:
            cur.execute(sql)
        except pymysql.err.MySQLError:
            pass  # unknown on this server: its default behaviour


def prepare_target(conn: Connection, name: str, charset: str, collation: str, *, replace: bool,
                   confirm: str | None) -> None:
    """Create the target database; refuse a non-empty one unless replacing was confirmed."""
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,))
        exists = one_row(cur)[0] > 0
        cur.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (name,))
        objects = one_row(cur)[0]
        for sql in ("SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s",
                    "SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s"):
            cur.execute(sql, (name,))
            objects += one_row(cur)[0]
        if exists and objects:
            if not replace:
                raise UnsafePath(f"The database '{name}' already exists and is not empty; nothing was changed.",
                                 hint="Restore under a new name. To replace it, use --replace --confirm NAME.")
            if confirm != name:
                raise UnsafePath(f"Replacing '{name}' needs its name typed again exactly (--confirm {name}).")
            cur.execute(f"DROP DATABASE {quote_ident(name)}")
            exists = False
        if not exists:
            cur.execute(f"CREATE DATABASE {quote_ident(name)} CHARACTER SET {charset} COLLATE {collation}")
        conn.select_db(name)


class DatabaseRestorer:
    def __init__(self, repo: Repository, tree: DatabaseTree, target: DbTarget, *, on_event: EventSink,
                 cancel: threading.Event, disable_events: bool) -> None:
        self.repo, self.tree, self.target = repo, tree, target
        self.name: str = target.database or tree.database
        self.on_event, self.cancel, self.disable_events = on_event, cancel, disable_events
        self._sink_lock = threading.Lock()
        self.problems: list[str] = []
        self.rows = 0
        self._groups: list[_Parts] = []  # tables loaded in parts (their side tables go on failure)
        self._names = frozenset([n.name.lower() for n in tree.tables]
                                + [p["name"].lower() for p in tree.programs if p["kind"] == "view"])

    def emit(self, event) -> None:
        with self._sink_lock:
            self.on_event(event)

    def check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Cancelled("The restore was cancelled; the new database is incomplete.")

    # --- tables ----------------------------------------------------------------------------------

    def create_tables(self, conn: Connection) -> None:
        with conn.cursor() as cur:
            for node in self.tree.tables:
                try:
                    cur.execute(with_auto_increment(node.create, node.auto_increment))
                except pymysql.err.MySQLError as exc:
                    if not rows_elsewhere(node):
                        raise
                    # a FEDERATED or CONNECT table whose other end this server cannot reach:
                    # the rest of the database is restored all the same
                    self.problems.append(f"table {node.name} (its rows live elsewhere): {exc.args[-1]}")

    def load_tables(self, conn: Connection, pool: ThreadPoolExecutor) -> None:
        # big tables first; empty tables need no load at all
        loads: deque[_Load] = deque()
        try:
            for node in sorted((n for n in self.tree.tables if n.content and not rows_elsewhere(n)),
                               key=lambda n: -n.bytes):
                loads.extend(self._loads(conn, node))
        except BaseException:
            for group in self._groups:
                _drop_side_tables(conn, group)
            raise
        queue_lock = threading.Lock()
        errors: list[BaseException] = []

        unopened: list[BaseException] = []  # one connection is enough: the other does all the work

        def worker() -> None:
            try:
                load_conn = connect(self.target, database=self.name)
            except BaseException as exc:  # handed to the caller's thread below (if nothing loads)
                unopened.append(exc)
                return
            try:
                _session(load_conn)
                while not errors:
                    with queue_lock:
                        if not loads:
                            return
                        load = loads.popleft()
                    self.load(load_conn, load, pool)
            except BaseException as exc:  # handed to the caller's thread below
                errors.append(exc)
            finally:
                load_conn.close()

        threads = [threading.Thread(target=worker, name=f"odbackup-load-{i}") for i in range(LOAD_CONNECTIONS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if not errors and loads:  # no connection could be opened to load them
            errors.append(unopened[0] if unopened else DatabaseError("Tables were left unloaded."))
        if errors:
            for group in self._groups:
                _drop_side_tables(conn, group)
            raise errors[0]

    def _loads(self, conn: Connection, node: TableNode) -> list[_Load]:
        """What to load for one table: its stream, or (a big MyISAM or Aria table the backup read
        in parts) each part at once, the first into the table and each other into a side table
        of the same definition, copied in once all are loaded (see :class:`_Parts`)."""
        parts = node.parts or ()
        if len(parts) < 2 or node.engine.lower() not in PART_ENGINES:
            return [_Load(node, node.name, node.content, node.rows)]
        columns = ", ".join(quote_ident(c) for c in StreamSpec.from_json(dict(node.stream)).columns)
        group = _Parts(node, columns, [f"odbackup-part{i}-{secrets.token_hex(4)}" for i in range(1, len(parts))],
                       len(parts), time.monotonic())
        self._groups.append(group)
        with conn.cursor() as cur:
            cur.execute(f"ALTER TABLE {quote_ident(node.name)} DISABLE KEYS")
            for side in group.sides:
                _create_side_table(cur, side, node.name, columns)
        loads, start = [], 0
        for into, (rows, chunks) in zip([node.name, *group.sides], parts, strict=True):
            loads.append(_Load(node, into, node.content[start : start + chunks], rows, group))
            start += chunks
        return loads

    def load(self, conn: Connection, load: _Load, pool: ThreadPoolExecutor) -> None:
        """One ``LOAD DATA`` of a stream; the last part of a table loaded in parts joins them."""
        self.check_cancel()
        started = time.monotonic()
        node = load.node
        done = [0]
        progress = Throttle(lambda: TableProgress(self.name, node.name, 0, done[0], node.rows), self.emit)

        def blocks() -> Iterator[bytes]:
            for data in _prefetch(pool, self.repo.read_blob, [bytes.fromhex(c) for c, _ in load.content]):
                self.check_cancel()
                done[0] += len(data)
                progress.tick()
                yield data

        source = loadlocal.register(blocks())
        try:
            with conn.cursor() as cur:
                rows = cur.execute(load_sql(load.into, StreamSpec.from_json(dict(node.stream)), source))
        finally:
            loadlocal.forget(source)
        if rows != load.rows:
            self.problems.append(f"table {node.name}: {rows} rows loaded, {load.rows} in the backup")
        if load.group is None:
            self._restored(node, rows, started)
        elif load.group.loaded(rows):  # the last of its parts
            self._join(conn, load.group)

    def _join(self, conn: Connection, group: _Parts) -> None:
        """Copy the side tables' rows into the table (in order: its rows stay in key order) and
        build its indexes once, by sorting (parallel repair, see _myisam_session)."""
        name, columns = quote_ident(group.node.name), group.columns
        with conn.cursor() as cur:
            for side in group.sides:
                self.check_cancel()
                cur.execute(f"INSERT INTO {name} ({columns}) SELECT {columns} FROM {quote_ident(side)}")
                cur.execute(f"DROP TABLE {quote_ident(side)}")
            cur.execute(f"ALTER TABLE {name} ENABLE KEYS")
        group.sides = []
        self._restored(group.node, group.rows, group.started)

    def _restored(self, node: TableNode, rows: int, started: float) -> None:
        with self._sink_lock:
            self.rows += rows
        self.emit(TableRestored(self.name, node.name, rows, time.monotonic() - started))

    # --- views, routines, triggers, events ----------------------------------------------------------

    def create_programs(self, conn: Connection) -> None:
        programs = [Program.from_json(dict(p)) for p in self.tree.programs]
        self._create_views(conn, [p for p in programs if p.kind == "view"])
        for program in programs:
            if program.kind != "view":
                self._create(conn, program)

    def _create_views(self, conn: Connection, views: list[Program]) -> None:
        pending = list(views)
        while pending:
            failed = []
            for view in pending:
                try:
                    self._execute_program(conn, view)
                except pymysql.err.MySQLError as exc:
                    failed.append((view, exc))
            if len(failed) == len(pending):
                for view, error in failed:
                    self.problems.append(f"view {view.name}: {error.args[-1]}")
                return
            pending = [v for v, _ in failed]

    def _create(self, conn: Connection, program: Program) -> None:
        try:
            self._execute_program(conn, program)
        except pymysql.err.MySQLError as exc:
            self.problems.append(f"{program.kind} {program.name}: {exc.args[-1]}")

    def _execute_program(self, conn: Connection, program: Program) -> None:
        # created in the new database, and acting on it: never on the one backed up (see rebase)
        sql = rebase(program.create_sql, self.tree.database, self.name, sql_mode=program.sql_mode,
                     table_names=self._names)
        if program.kind == "event" and self.disable_events:
            sql = _disabled_event(sql)
        text, charset = _in_its_charset(sql, program.charset)
        with conn.cursor() as cur:
            cur.execute("SET SESSION sql_mode = %s", (program.sql_mode,))
            if program.time_zone:
                cur.execute("SET SESSION time_zone = %s", (program.time_zone,))
            if charset:
                cur.execute("SET SESSION character_set_client = %s", (charset,))
                if program.collation:
                    cur.execute("SET SESSION collation_connection = %s", (program.collation,))
            try:
                cur.execute(text)  # type: ignore[arg-type]  # (bytes are sent as they are; the stub says str)
            finally:
                cur.execute(f"SET SESSION sql_mode = '{LOAD_SQL_MODE}'")
                cur.execute("SET SESSION time_zone = '+00:00'")
                if charset:
                    cur.execute("SET NAMES utf8mb4")


def with_auto_increment(create_sql: str, value: int | None) -> str:
    """The table definition with the counter read under the lock (the definition itself was
    read before locking and may lag behind). The counter is a table option: it is set among
    the options after the column list (never in a comment or a string, never after a
    partition list), or added right after the column list."""
    if not value:
        return create_sql
    toks = list(tokens(create_sql))
    depth, end = 0, None
    for i, tok in enumerate(toks):
        if tok.kind == "other" and tok.text in "()":
            depth += 1 if tok.text == "(" else -1
            if depth == 0:
                end = i
                break
    if end is None:
        return create_sql
    option = f"AUTO_INCREMENT={int(value)}"
    i = end + 1
    while i < len(toks):
        tok = toks[i]
        if tok.kind == "name" and tok.value.upper() == "PARTITION":
            break
        if tok.kind == "name" and tok.value.upper() == "AUTO_INCREMENT":
            j = next_token(toks, i)
            if j < len(toks) and toks[j].text == "=":
                j = next_token(toks, j)
            if j < len(toks) and toks[j].text.isdigit():
                return "".join(t.text for t in toks[:i]) + option + "".join(t.text for t in toks[j + 1:])
        i += 1
    return "".join(t.text for t in toks[: end + 1]) + " " + option + "".join(t.text for t in toks[end + 1:])


_CODECS = {
    "utf8mb4": "utf-8", "utf8mb3": "utf-8", "utf8": "utf-8", "ascii": "ascii", "latin1": "cp1252",
    "latin2": "iso8859_2", "latin5": "iso8859_9", "latin7": "iso8859_13", "greek": "iso8859_7",
    "hebrew": "iso8859_8", "cp1250": "cp1250", "cp1251": "cp1251", "cp1256": "cp1256", "cp1257": "cp1257",
    "cp850": "cp850", "cp852": "cp852", "cp866": "cp866", "koi8r": "koi8_r", "koi8u": "koi8_u",
    "sjis": "shift_jis", "cp932": "cp932", "ujis": "euc_jp", "euckr": "euc_kr", "gbk": "gbk",
    "gb2312": "gb2312", "big5": "big5", "tis620": "tis_620", "macroman": "mac_roman",
}
"""MySQL character sets -> Python codecs (MySQL's latin1 is Windows-1252)."""


def _in_its_charset(sql: str, charset: str) -> tuple[str | bytes, str | None]:
    """A program is created with the client character set it was created with (the server
    keeps it, and a routine's string literals mean what they meant under it: ``HEX('é')`` is
    E9 under latin1, C3A9 under utf8mb4). Returns the statement encoded in it and the
    character set to set; or the text as it is (sent as utf8mb4) where that is the same
    thing, or where the text cannot be written in it."""
    name = (charset or "").lower()
    codec = _CODECS.get(name)
    if codec is None:
        return sql, None
    if name == "utf8mb4":
        return sql, name  # the connection's own: only its collation may differ
    try:
        return sql.encode(codec), name
    except UnicodeEncodeError:
        return sql, None


def _disabled_event(sql: str) -> str:
    """A scratch copy must not run the practice's scheduled events."""
    for word in (" ENABLE ", " DISABLE ON SLAVE "):
        at = sql.upper().find(word)
        if at >= 0:
            return sql[:at] + " DISABLE " + sql[at + len(word):]
    return sql


def _prefetch(pool: ThreadPoolExecutor, fn, items: list) -> Iterator[bytes]:
    """``fn(item)`` for each item, in order, computed ``READ_AHEAD`` items ahead."""
    ahead: deque[Future] = deque()
    for item in items:
        ahead.append(pool.submit(fn, item))
        if len(ahead) > READ_AHEAD:
            yield ahead.popleft().result()
    while ahead:
        yield ahead.popleft().result()


def restore_database(
    repo: Repository,
    snap: Snapshot,
    target: DbTarget,
    *,
    source_name: str | None = None,
    replace: bool = False,
    confirm: str | None = None,
    disable_events: bool = False,
    on_event: EventSink = ignore_events,
    cancel: threading.Event | None = None,
) -> DatabaseRestoreResult:
    """Restore one database of ``snap`` as ``target.database`` on ``target``'s server."""
    source = find_database(repo, snap, source_name)
    tree = DatabaseTree.from_json(repo.read_tree(bytes.fromhex(source.tree)))
    if not target.database:
        raise DatabaseError("Say which database to restore into (mysql://USER@HOST:PORT/NEWNAME).")
    started = time.monotonic()
    run = DatabaseRestorer(repo, tree, target, on_event=on_event, cancel=cancel or threading.Event(),
                           disable_events=disable_events)
    run.emit(DatabaseRestoreStarted(tree.database, f"{target.server}/{run.name}", len(tree.tables),
                                    sum(n.bytes for n in tree.tables)))
    conn = connect(target)
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="odbackup-open")
    try:
        prepare_target(conn, run.name, tree.charset, tree.collation, replace=replace, confirm=confirm)
        _session(conn)
        run.create_tables(conn)
        run.load_tables(conn, pool)
        run.create_programs(conn)
    except pymysql.err.MySQLError as exc:
        raise translate(exc, target, run.name) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        conn.close()
    seconds = time.monotonic() - started
    run.emit(DatabaseRestored(tree.database, run.name, len(tree.tables), run.rows, seconds,
                              tuple(run.problems)))
    return DatabaseRestoreResult(tree.database, run.name, len(tree.tables), run.rows, seconds,
                                 tuple(run.problems))
