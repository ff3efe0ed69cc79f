"""Comparing a restored database with what was recorded at backup time.

A table's checksum (checksum.py) is computed the same way on both sides: at
backup time while the rows went into the repository, and here by reading the
restored table's stream with the same reader.
"""
from __future__ import annotations

import queue
from concurrent.futures import ThreadPoolExecutor

import pymysql
from pymysql.connections import Connection

from .checksum import StreamChecksum
from .connection import DbTarget, connect
from .schema import quote_ident, read_schema
from .stream import ScanFailed, read_stream, spec_for

READERS = 2
"""Connections that read the restored tables at once (the biggest first)."""


def stream_checksums(conn: Connection, target: DbTarget, database: str,
                     parts: dict[str, list[int]] | None = None) -> dict[str, tuple[int, str]]:
    """table -> (rows, checksum) of every table of ``database``; ``parts``: the row counts of
    the parts a table was read in at backup time (checksum.py), by table name. The tables are
    read on :data:`READERS` connections at once: the restored database is the verify's own."""
    schema = read_schema(conn, database)
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
            raw = free.get()
            try:
                cut = (parts or {}).get(table.name)
                try:
                    return table.name, _checksum(raw, table, cut, scan=True)
                except ScanFailed:
                    return table.name, _checksum(raw, table, cut, scan=False)
            finally:
                free.put(raw)

        biggest_first = sorted(schema.tables, key=lambda t: t.data_length, reverse=True)
        with ThreadPoolExecutor(READERS, thread_name_prefix="odbackup-verify") as pool:
            return dict(pool.map(one, biggest_first))
    finally:
        for raw in opened:
            raw.close()


def _checksum(raw: Connection, table, parts: list[int] | None, *, scan: bool) -> tuple[int, str]:
    hasher, rows = StreamChecksum(parts), 0
    for block, n in read_stream(raw, table, spec_for(table), scan=scan):
        hasher.update(block, n)
        rows += n
    return rows, hasher.hexdigest()


def check_tables(conn: Connection, names: list[str]) -> dict[str, str]:
    """``CHECK TABLE`` verdicts: table -> 'OK' or the server's message."""
    verdicts: dict[str, str] = {}
    for i in range(0, len(names), 50):
        batch = names[i : i + 50]
        with conn.cursor() as cur:
            cur.execute("CHECK TABLE " + ", ".join(quote_ident(n) for n in batch))
            for table, _op, msg_type, msg_text in cur.fetchall():
                name = str(table).split(".", 1)[-1]
                if msg_type.lower() in ("error", "warning") or (msg_type.lower() == "status" and
                                                                 msg_text.upper() != "OK"):
                    verdicts[name] = f"{msg_type}: {msg_text}"
                else:
                    verdicts.setdefault(name, "OK")
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
