"""Before a backup: what the database is, who is connected, what the office will feel.

:func:`preflight` answers without starting a backup (the app's preflight
screen shows it and lets the user continue, switch to per-table, or cancel);
the dump sends the same :class:`~engine.events.DatabasePreflight` at its own
start. :func:`describe` is the part both can share, given open connections.

:func:`list_databases` lists a server's databases with their sizes and engine
mix (the setup), and :func:`guess_lock_seconds` gives a first-run guess of the
consistent lock window when no earlier run measured it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pymysql
from pymysql.connections import Connection

from ..events import DatabasePreflight, PatientFilesChecked
from . import locking
from .connection import DbTarget, connect, one_row, translate
from .schema import TRANSACTIONAL_ENGINES, Schema, read_schema

if TYPE_CHECKING:
    from ..repository.repo import Repository

SYSTEM_SCHEMAS = frozenset({"information_schema", "mysql", "performance_schema", "sys"})
ASSUMED_READ_BYTES_PER_SECOND = 48 * 1024 * 1024
"""A cautious reading speed of MyISAM data files (rows, sealing and all) for a first-run guess:
measured 80-95 MiB/s of data on a 2-vCPU server that also runs the backup (the benchmark's
2M-row table; the sample practice), so the guess is about twice the real lock window."""
ASSUMED_SECONDS_PER_TABLE = 0.0005
"""What each table adds under the lock (0.14 s for Open Dental's 379 tables, most empty)."""


@dataclass(frozen=True)
class DatabaseSummary:
    """One database of a server, as the setup lists it."""

    name: str
    tables: int
    bytes: int
    non_transactional_tables: int
    """MyISAM (and other non-InnoDB) tables: the ones a consistent backup must lock."""
    non_transactional_bytes: int
    engines: tuple[tuple[str, int], ...]
    """(engine, number of tables), most used first."""
    non_transactional_data_bytes: int = 0
    """Of ``non_transactional_bytes``, the rows (data files; the rest is indexes, not read)."""

    @property
    def transactional_tables(self) -> int:
        return self.tables - self.non_transactional_tables


def server_identity(conn: Connection) -> str:
    """``host:port:datadir`` as the server itself reports it (the table cache's key)."""
    with conn.cursor() as cur:
        cur.execute("SELECT @@hostname, @@port, @@datadir")
        host, port, datadir = one_row(cur)
    return f"{host}:{port}:{datadir}"


def office_connections(conn: Connection, ours: set[int]) -> tuple[tuple[str, ...], bool]:
    """Who else is connected (``user@host (db)``), and whether we can see everyone
    (without the PROCESS privilege the server shows only our own user's sessions)."""
    with conn.cursor() as cur:
        cur.execute("SELECT ID, USER, HOST, DB FROM information_schema.PROCESSLIST")
        rows = [r for r in cur.fetchall() if r[0] not in ours]
        cur.execute("SELECT COUNT(*) FROM information_schema.USER_PRIVILEGES WHERE PRIVILEGE_TYPE = 'PROCESS'"
                    " AND GRANTEE = CONCAT(\"'\", SUBSTRING_INDEX(CURRENT_USER(), '@', 1), \"'@'\","
                    " SUBSTRING_INDEX(CURRENT_USER(), '@', -1), \"'\")")
        sees_all = bool(one_row(cur)[0])
    names = tuple(f"{user}@{str(host).split(':')[0]}" + (f" ({db})" if db else "")
                  for _pid, user, host, db in rows if user not in ("system user", "event_scheduler"))
    return names, sees_all


def describe(conn: Connection, schema: Schema, target: DbTarget, *, lock_mode: str, ours: set[int],
             estimate: float | None) -> DatabasePreflight:
    """The preflight of ``schema`` seen through ``conn`` (``ours``: our own session IDs)."""
    connections, sees_all = office_connections(conn, ours)
    locked = [t for t in schema.tables if not t.transactional]
    nontx = tuple(t.name for t in locked)
    guess = (guess_lock_seconds(sum(t.data_length for t in locked), len(locked))
             if estimate is None and locked else None)
    return DatabasePreflight(
        database=schema.name, server=target.server, tables=len(schema.tables),
        non_transactional=nontx, transactional=len(schema.tables) - len(nontx),
        data_bytes=sum(t.size for t in schema.tables), lock_mode=lock_mode,
        connections=connections, long_queries=tuple(locking.long_queries(conn, ours)),
        estimated_lock_seconds=estimate, sees_all_connections=sees_all, first_run_guess_seconds=guess,
    )


def _last_lock_window(repo: Repository | None, server: str, database: str) -> float | None:
    if repo is None:
        return None
    from .tablecache import TableCache

    cache = TableCache(repo.repo_id, repo.ids)
    try:
        return cache.last_lock_window(server, database)
    finally:
        cache.close()


def preflight(target: DbTarget, *, lock_mode: str = "consistent", repo: Repository | None = None
              ) -> DatabasePreflight:
    """Look at ``target.database`` without locking anything. With ``repo`` (unlocked, machine
    credentials are enough) the estimate is the lock window the last backup measured."""
    conn = connect(target, database=target.database)
    try:
        schema = read_schema(conn, target.database or "")
        estimate = _last_lock_window(repo, server_identity(conn), schema.name)
        return describe(conn, schema, target, lock_mode=lock_mode, ours={conn.thread_id()}, estimate=estimate)
    except pymysql.err.MySQLError as exc:
        raise translate(exc, target, target.database) from None
    finally:
        conn.close()


def patient_files(target: DbTarget, images_folder: str) -> PatientFilesChecked:
    """Before a backup: do the files Open Dental's rows name exist in the live images folder
    today? (read-only; see :mod:`engine.opendental.documents`). A database or folder that cannot
    be read gives a result saying so, never an error: the note must not stop a backup."""
    from ..errors import OdbackupError
    from ..opendental.documents import NOT_READ, check_live, not_checked

    try:
        return check_live(target, images_folder)
    except (OdbackupError, OSError) as exc:
        return not_checked(target.database or "", NOT_READ, images_folder, f"it could not be checked ({exc})",
                           live=True)


def guess_lock_seconds(data_bytes: int, tables: int) -> float:
    """A first-run guess of a consistent backup's lock window: the rows of every MyISAM table
    (``data_bytes`` in ``tables`` tables) read once. Later runs read only the tables that
    changed, and measure it."""
    return data_bytes / ASSUMED_READ_BYTES_PER_SECOND + tables * ASSUMED_SECONDS_PER_TABLE


def list_databases(target: DbTarget) -> list[DatabaseSummary]:
    """The server's databases (not its own system schemas) with sizes and engine mix, by name."""
    conn = connect(target)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
            names = [r[0] for r in cur.fetchall() if r[0].lower() not in SYSTEM_SCHEMAS]
            cur.execute("SELECT TABLE_SCHEMA, COALESCE(ENGINE, ''), COUNT(*),"
                        " COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0), COALESCE(SUM(DATA_LENGTH), 0)"
                        " FROM information_schema.TABLES"
                        " WHERE TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') GROUP BY TABLE_SCHEMA, ENGINE")
            rows = cur.fetchall()
    except pymysql.err.MySQLError as exc:
        raise translate(exc, target) from None
    finally:
        conn.close()
    return [_summary(name, [r[1:] for r in rows if r[0] == name]) for name in sorted(names, key=str.lower)]


def _summary(name: str, engines: list[tuple]) -> DatabaseSummary:
    counts = sorted(((str(e) or "unknown", int(n)) for e, n, _b, _d in engines), key=lambda x: (-x[1], x[0]))
    nontx = [(int(n), int(b), int(d)) for e, n, b, d in engines if e not in TRANSACTIONAL_ENGINES]
    return DatabaseSummary(
        name=name, tables=sum(int(n) for _e, n, _b, _d in engines), bytes=sum(int(b) for _e, _n, b, _d in engines),
        non_transactional_tables=sum(n for n, _b, _d in nontx), non_transactional_bytes=sum(b for _n, b, _d in nontx),
        engines=tuple(counts), non_transactional_data_bytes=sum(d for _n, _b, d in nontx),
    )


def expected_lock_window(target: DbTarget, repo: Repository | None = None) -> tuple[float, bool]:
    """How long a consistent backup of ``target.database`` is expected to make the office's
    changes wait: (seconds, measured). Measured is the last run's window (needs ``repo``);
    otherwise the first-run guess from the size of its non-transactional tables."""
    conn = connect(target)
    try:
        measured = _last_lock_window(repo, server_identity(conn), target.database or "")
        if measured is not None:
            return measured, True
        with conn.cursor() as cur:
            cur.execute("SELECT COALESCE(SUM(DATA_LENGTH), 0), COUNT(*) FROM information_schema.TABLES"
                        " WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE' AND COALESCE(ENGINE, '')"
                        " NOT IN %s", (target.database, tuple(TRANSACTIONAL_ENGINES)))
            data, tables = one_row(cur)
        return guess_lock_seconds(int(data), int(tables)), False
    except pymysql.err.MySQLError as exc:
        raise translate(exc, target, target.database) from None
    finally:
        conn.close()
