"""Comparing a restored database with what was recorded at backup time.

A table's checksum (checksum.py) is computed the same way on both sides: at
backup time while the rows went into the repository, and here by reading the
restored table's stream with the same reader.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pymysql
from pymysql.connections import Connection

from ..errors import Cancelled
from .checksum import StreamChecksum
from .connection import DbTarget, connect, one_row
from .schema import quote_ident, read_schema
from .stream import ScanFailed, read_stream, spec_for

READERS = 2
"""Connections that read the restored tables at once (the biggest first)."""


def stream_checksums(conn: Connection, target: DbTarget, database: str,
                     parts: dict[str, list[int]] | None = None, *,
                     cancel: threading.Event | None = None,
                     skip: frozenset[str] = frozenset(),
                     on_table: Callable[[str, tuple[int, str]], None] | None = None) -> dict[str, tuple[int, str]]:
    """table -> (rows, checksum) of every table of ``database``; ``parts``: the row counts of
    the parts a table was read in at backup time (checksum.py), by table name. The tables are
    read on :data:`READERS` connections at once: the restored database is the verify's own.
    On ``cancel``, or when one reader fails, every reader stops at its next block. Tables
    named in ``skip`` are not read (their rows live elsewhere: schema.ROWS_ELSEWHERE_ENGINES).
    ``on_table(name, (rows, checksum))`` is called (in a reader's thread) as each table is done."""
    schema = read_schema(conn, database)
    stop = _Stop(cancel)
    free: queue.SimpleQueue = queue.SimpleQueue()
    opened = []
    try:
        for _ in range(READERS):
            opened.append(connect(target, database=database, use_unicode=False, conv={}))
            with opened[-1].cursor() as cur:
                cur.execute("SET SESSION sql_mode = ''")
                cur.execute("SET SESSION time_zone = '+00:00'")
            free.put(opened[-1])

        def one(table) -> tuple[str, tuple[int, str]]:
            stop.check()
            raw = free.get()
            try:
                cut = (parts or {}).get(table.name)
                try:
                    value = _checksum(raw, table, cut, scan=True, stop=stop)
                except ScanFailed:
                    value = _checksum(raw, table, cut, scan=False, stop=stop)
                if on_table is not None:
                    on_table(table.name, value)
                return table.name, value
            except _Stopped:
                raise
            except BaseException:
                stop.failed.set()
                raise
            finally:
                free.put(raw)

        biggest_first = sorted((t for t in schema.tables if t.name not in skip), key=lambda t: t.data_length,
                               reverse=True)
        with ThreadPoolExecutor(READERS, thread_name_prefix="odbackup-verify") as pool:
            futures = [pool.submit(one, table) for table in biggest_first]
        found, errors = {}, []
        for future in futures:
            try:
                name, value = future.result()
                found[name] = value
            except _Stopped:
                pass  # stopped because of another table's error, raised below
            except BaseException as exc:  # noqa: BLE001  (the first is raised below)
                errors.append(exc)
        if errors:
            raise errors[0]
        return found
    finally:
        for raw in opened:
            raw.close()


class _Stopped(Exception):
    """A reader stopped because another one failed (that one's error is the one raised)."""


class _Stop:
    """When the readers stop: the caller's cancel, or a failure of any of them."""

    def __init__(self, cancel: threading.Event | None) -> None:
        self.cancel, self.failed = cancel, threading.Event()

    def check(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("The verification was cancelled.")
        if self.failed.is_set():
            raise _Stopped()


def _checksum(raw: Connection, table, parts: list[int] | None, *, scan: bool, stop: _Stop) -> tuple[int, str]:
    hasher, rows = StreamChecksum(parts), 0
    for block, n in read_stream(raw, table, spec_for(table), scan=scan):
        stop.check()
        hasher.update(block, n)
        rows += n
    return rows, hasher.hexdigest()


def check_tables(conn: Connection, names: list[str],
                 on_batch: Callable[[dict[str, str]], None] | None = None) -> dict[str, str]:
    """``CHECK TABLE`` verdicts: table -> 'OK' or the server's message (``conn`` is in the
    tables' database); ``on_batch`` gets the verdicts of each batch as it is done."""
    verdicts: dict[str, str] = {}
    with conn.cursor() as cur:
        cur.execute("SELECT DATABASE()")
        prefix = f"{one_row(cur)[0]}."  # the server names each table ``database.table``; dots allowed in both
    for i in range(0, len(names), 50):
        batch = names[i : i + 50]
        with conn.cursor() as cur:
            cur.execute("CHECK TABLE " + ", ".join(quote_ident(n) for n in batch))
            for table, _op, msg_type, msg_text in cur.fetchall():
                name = str(table).removeprefix(prefix)
                if msg_type.lower() in ("error", "warning") or (msg_type.lower() == "status" and
                                                                 msg_text.upper() != "OK"):
                    verdicts[name] = f"{msg_type}: {msg_text}"
                else:
                    verdicts.setdefault(name, "OK")
        if on_batch is not None:
            on_batch({name: verdicts[name] for name in batch if name in verdicts})
    return verdicts


def program_problems(conn: Connection, database: str, expected: list[dict]) -> list[str]:
    """Views, routines, triggers and events missing or broken in the restored database."""
    schema = read_schema(conn, database)
    found = {(p.kind, p.name) for p in schema.programs}
    problems = [f"{p['kind']} {p['name']} is missing" for p in expected if (p["kind"], p["name"]) not in found]
    for p in schema.programs:
        if p.kind == "view":
            try:
                with conn.cursor() as cur:
                    cur.execute(f"SELECT * FROM {quote_ident(p.name)} LIMIT 0")
            except pymysql.err.MySQLError as exc:
                problems.append(f"view {p.name} does not work: {exc.args[-1]}")
    return problems


def open_dental_facts(conn: Connection) -> dict[str, str | None]:
    """For an Open Dental schema: program version and the newest activity dates."""
    facts: dict[str, str | None] = {}
    queries = {
        "database_version": "SELECT ValueString FROM preference WHERE PrefName = 'DataBaseVersion'",
        "newest_procedure": "SELECT MAX(ProcDate) FROM procedurelog",
        "newest_security_log": "SELECT MAX(LogDateTime) FROM securitylog",
    }
    for key, sql in queries.items():
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                row = cur.fetchone()
            facts[key] = str(row[0]) if row and row[0] is not None else None
        except pymysql.err.MySQLError:
            return {}  # not an Open Dental schema
    return facts
