"""An exact description of a schema, to compare an original with its restored copy.

Equivalent to the corpora's fingerprint.sh, but quick on 379-table schemas:
every table's definition (SHOW CREATE TABLE), every value of every row (HEX
for strings, binary, spatial and BIT; the IEEE bits for FLOAT and DOUBLE; the
server's text for the rest), compared as sorted row lists so no primary key
is needed, plus the definitions of views, routines, triggers and events.
"""
from __future__ import annotations

import hashlib
import re
import struct

import pymysql

_NUMERIC_TEXT = {"tinyint", "smallint", "mediumint", "int", "bigint", "decimal", "date", "datetime",
                 "timestamp", "time", "year"}


def _expr(name: str, data_type: str) -> str:
    q = "`" + name.replace("`", "``") + "`"
    if data_type in ("float", "double"):
        return f"CAST({q} AS DOUBLE)"
    if data_type in _NUMERIC_TEXT:
        return f"CAST({q} AS CHAR)"
    return f"HEX({q})"


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def describe(conn: pymysql.connections.Connection, db: str) -> dict[str, object]:
    """key -> comparable value, for every table and program of ``db``."""
    out: dict[str, object] = {}
    with conn.cursor() as cur:
        cur.execute(f"USE {_q(db)}")
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s"
                    " AND TABLE_TYPE = 'BASE TABLE'", (db,))
        tables = sorted(r[0] for r in cur.fetchall())
        cur.execute("SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS"
                    " WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME, ORDINAL_POSITION", (db,))
        columns: dict[str, list[tuple[str, str]]] = {}
        for table, col, dtype in cur.fetchall():
            columns.setdefault(table, []).append((col, dtype))
        for table in tables:
            cur.execute(f"SHOW CREATE TABLE {_q(table)}")
            out[f"create {table}"] = cur.fetchone()[1]
            exprs = ", ".join(_expr(c, t) for c, t in columns[table])
            cur.execute(f"SELECT {exprs} FROM {_q(table)}")
            rows = sorted(repr(tuple(struct.pack("<d", v) if isinstance(v, float) else v for v in r))
                          for r in cur.fetchall())
            out[f"rows {table}"] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
        for kind, sql in (
            ("view", "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s"),
            ("procedure", "SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s"
                          " AND ROUTINE_TYPE = 'PROCEDURE'"),
            ("function", "SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s"
                         " AND ROUTINE_TYPE = 'FUNCTION'"),
            ("trigger", "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s"),
            ("event", "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s"),
        ):
            cur.execute(sql, (db,))
            for (name,) in sorted(cur.fetchall()):
                cur.execute(f"SHOW CREATE {kind.upper()} {_q(name)}")
                row = cur.fetchone()
                text = {"view": row[1], "procedure": row[2], "function": row[2], "trigger": row[2],
                        "event": row[3]}[kind]
                out[f"{kind} {name}"] = re.sub(r"DEFINER=`[^`]*`@`[^`]*`", "DEFINER=?", str(text))
    return out
