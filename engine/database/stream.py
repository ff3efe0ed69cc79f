"""The table stream: a table's rows as ``LOAD DATA`` lines, and back.

Format (also in docs/FORMAT.md, "Database sources"): one line per row,
``\\n``-terminated, fields separated by ``\\t``, NULL written ``\\N``, and in
text and binary values ``\\`` ``\\t`` ``\\n`` escaped with a backslash. Values are
the column's own bytes (``CHARACTER SET binary``: nothing is converted, so a
latin1 table inside a utf8 schema keeps its bytes). Exactness per type:

- integers, DECIMAL, dates and times (zero dates too), YEAR: the server's text
  form, which it reads back exactly (sessions use ``sql_mode=''`` and UTC);
- DOUBLE: the server prints the shortest text that reads back to the same bits;
- FLOAT: ``CAST(x AS DOUBLE)``, exact (the plain text form has 6 digits and
  loses bits);
- BIT: its number (``x+0``), loaded through ``CAST(@v AS UNSIGNED)``;
- generated columns: not stored (their definition recomputes them).

The server builds the line (``CONCAT_WS`` + ``REPLACE``) for all short
columns; long columns (TEXT, BLOB, JSON, spatial) come after them in the
stream and are fetched as they are, escaped by ``bytes.replace`` (a built line
holding them could exceed ``max_allowed_packet``, which the server answers
with NULL). So each row costs Python one to a few values, never one per
column: per-value decoding in pymysql is what makes pure-Python dumps slow.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .schema import Column, Table, quote_ident

TEXT_TYPES = frozenset({"char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set", "json"})
BINARY_TYPES = frozenset({"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"})
GEOMETRY_TYPES = frozenset({"geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
                            "multipolygon", "geometrycollection"})
LONG_TYPES = frozenset({"tinytext", "text", "mediumtext", "longtext", "json", "tinyblob", "blob", "mediumblob",
                        "longblob"}) | GEOMETRY_TYPES
FETCH_ROWS = 5000


@dataclass(frozen=True)
class StreamSpec:
    """How a table's stream was written and must be loaded (stored per table).

    ``columns`` are in stream order: the ``built`` short columns first (the
    server joins them into one field list), then the long ones.
    """

    columns: tuple[str, ...]
    kinds: tuple[str, ...]  # per column: raw | text | binary | float | bit | geometry
    built: int = 0
    nullable: tuple[bool, ...] = ()  # how to read, not stored: NOT NULL columns need no IFNULL

    def to_json(self) -> dict:
        return {"columns": list(self.columns), "kinds": list(self.kinds), "built": self.built}

    @classmethod
    def from_json(cls, doc: dict) -> StreamSpec:
        return cls(tuple(doc["columns"]), tuple(doc["kinds"]), int(doc.get("built", 0)))


def column_kind(col: Column) -> str:
    t = col.data_type
    if t in TEXT_TYPES:
        return "text"
    if t in BINARY_TYPES:
        return "binary"
    if t in GEOMETRY_TYPES:
        return "geometry"
    if t == "float":
        return "float"
    if t == "bit":
        return "bit"
    return "raw"


def spec_for(table: Table) -> StreamSpec:
    stored = [c for c in table.columns if not c.generated]
    short = [c for c in stored if c.data_type not in LONG_TYPES]
    long = [c for c in stored if c.data_type in LONG_TYPES]
    cols = short + long
    return StreamSpec(tuple(c.name for c in cols), tuple(column_kind(c) for c in cols), len(short),
                      tuple(c.nullable for c in cols))


def _select_expr(name: str, kind: str) -> str:
    q = quote_ident(name)
    if kind in ("text", "binary", "geometry"):
        return f"CAST({q} AS BINARY)"
    if kind == "float":
        return f"CAST({q} AS DOUBLE)"
    if kind == "bit":
        return f"{q}+0"
    return q


def _escaped_sql(expr: str, kind: str, nullable: bool = True) -> str:
    if kind in ("text", "binary", "geometry"):
        expr = f"REPLACE(REPLACE(REPLACE({expr}, '\\\\', '\\\\\\\\'), '\\t', '\\\\t'), '\\n', '\\\\n')"
    return f"IFNULL({expr}, '\\\\N')" if nullable else expr


def _order_by(table: Table) -> str:
    return ", ".join(quote_ident(c) for c in table.order_by)


def select_sql(table: Table, spec: StreamSpec) -> str:
    """The SELECT producing the stream: one built field list, then the long columns."""
    order = f" ORDER BY {_order_by(table)}" if table.order_by else ""
    parts = []
    pairs = list(zip(spec.columns, spec.kinds, strict=True))
    if spec.built:
        nullable = spec.nullable or (True,) * len(spec.columns)
        built = ", ".join(_escaped_sql(_select_expr(n, k), k, nul)
                          for (n, k), nul in zip(pairs[: spec.built], nullable, strict=False))
        parts.append(f"CONCAT_WS('\\t', {built})")
    parts += [_select_expr(n, k) for n, k in pairs[spec.built :]]
    return f"SELECT {', '.join(parts) or chr(39) * 2} FROM {quote_ident(table.name)}{order}"


INTEGER_TYPES = frozenset({"tinyint", "smallint", "mediumint", "int", "bigint"})
BATCH_BYTES = 1024 * 1024


def batchable(table: Table, spec: StreamSpec) -> str | None:
    """The integer key to page by, when the table has a single-column integer key."""
    if len(table.order_by) != 1 or not spec.columns:
        return None
    key = table.order_by[0]
    col = next((c for c in table.columns if c.name == key), None)
    return key if col is not None and col.data_type in INTEGER_TYPES else None


def _line_sql(spec: StreamSpec) -> str:
    nullable = spec.nullable or (True,) * len(spec.columns)
    parts = [_escaped_sql(_select_expr(n, k), k, nul) for n, k, nul in zip(spec.columns, spec.kinds, nullable,
                                                                            strict=True)]
    return f"CONCAT_WS('\\t', {', '.join(parts)})"


def _batch_sql(table: Table, spec: StreamSpec, key: str, after: int | None, size: int) -> str:
    k = quote_ident(key)
    where = "" if after is None else f" WHERE {k} > {int(after)}"
    return (f"SELECT GROUP_CONCAT(l ORDER BY k SEPARATOR '\\n'), MAX(k), COUNT(*) FROM"
            f" (SELECT {_line_sql(spec)} AS l, {k} AS k FROM {quote_ident(table.name)}{where}"
            f" ORDER BY {k} LIMIT {size}) AS b")


def read_stream(conn, table: Table, spec: StreamSpec) -> Iterator[tuple[bytes, int]]:
    """The table's stream as (block, rows), by the fastest safe path.

    Tables with a single-column integer key are read in batches of lines the
    server builds (one round trip per ~1 MiB, keyset paging, consistent inside
    the caller's transaction or lock). A batch is trusted only if the server
    raised no warning (a value that grew past ``max_allowed_packet`` while
    escaped comes back NULL with a warning) and holds as many lines as rows;
    otherwise it is read again at half the size, down to one row, which is
    then read column by column. The bytes are the same on every path. Other
    tables are read row by row, unbuffered.
    """
    key = batchable(table, spec)
    if key is None:
        yield from _read_rows(conn, table, spec)
        return
    avg = max(16, (table.data_length // max(1, table.rows_estimate)) * 2)
    size = ceiling = max(1, min(50_000, BATCH_BYTES // avg))
    last: int | None = None
    with conn.cursor() as cur:
        cur.execute("SELECT @@max_allowed_packet")
        packet = int(cur.fetchone()[0])
        cur.execute(f"SET SESSION group_concat_max_len = {max(1024, packet // 2)}")
        while True:
            cur.execute(_batch_sql(table, spec, key, last, size))
            block, top, count = cur.fetchone()
            count = int(count or 0)  # the data connection returns raw bytes
            if not count:
                return
            if cur._result.warning_count or block is None or block.count(b"\n") + 1 != count:
                if size > 1:
                    size = ceiling = size // 2  # and never grow past what failed
                    continue
                line, top = _one_row(cur, table, spec, key, last)
                block = line
            yield block + b"\n", count
            last, size = int(top), min(ceiling, size * 2)


def _one_row(cur, table: Table, spec: StreamSpec, key: str, after: int | None) -> tuple[bytes, int]:
    """The next row's line, built in Python from raw values (a row too long to build on the server)."""
    k = quote_ident(key)
    where = "" if after is None else f" WHERE {k} > {int(after)}"
    cols = ", ".join(_select_expr(n, kd) for n, kd in zip(spec.columns, spec.kinds, strict=True))
    cur.execute(f"SELECT {k}, {cols} FROM {quote_ident(table.name)}{where} ORDER BY {k} LIMIT 1")
    row = cur.fetchone()
    return _line(row[1:], built=False), int(row[0])


def _read_rows(conn, table: Table, spec: StreamSpec) -> Iterator[tuple[bytes, int]]:
    import pymysql.cursors

    cur = conn.cursor(pymysql.cursors.SSCursor)
    cur.execute(select_sql(table, spec))
    try:
        yield from rows_to_blocks(cur, spec)
    except BaseException:
        # The reader stopped early (cancel, error, lost connection). Closing
        # the cursor would read the rest of the table (keeping the lock on),
        # or fail on a dead connection: detach it; the caller kills the session.
        for result in (cur._result, getattr(conn, "_result", None)):
            if result is not None:  # else its __del__ would try to read the rest
                result.unbuffered_active = False
        cur.connection = None
        cur._result = None
        raise
    cur.close()


def escape(value: bytes) -> bytes:
    return value.replace(b"\\", b"\\\\").replace(b"\t", b"\\t").replace(b"\n", b"\\n")


def _line(row: tuple, built: bool) -> bytes:
    values = [b"\\N" if v is None else escape(v) for v in (row[1:] if built else row)]
    return b"\t".join([row[0], *values] if built else values)


def rows_to_blocks(cursor, spec: StreamSpec) -> Iterator[tuple[bytes, int]]:
    """(block of lines, row count) from an unbuffered cursor, a few thousand rows at a time."""
    only_built = spec.built == len(spec.columns)
    while True:
        rows = cursor.fetchmany(FETCH_ROWS)
        if not rows:
            return
        if only_built:
            block = b"\n".join(r[0] for r in rows) + b"\n"
        else:
            built = spec.built > 0
            block = b"\n".join(_line(r, built) for r in rows) + b"\n"
        yield block, len(rows)


def load_sql(table_name: str, spec: StreamSpec, source: str) -> str:
    """The LOAD DATA statement reading a stream back into ``table_name``."""
    targets, sets = [], []
    for i, (name, kind) in enumerate(zip(spec.columns, spec.kinds, strict=True)):
        if kind in ("bit", "geometry"):
            var = f"@odb{i}"
            targets.append(var)
            expr = f"CAST({var} AS UNSIGNED)" if kind == "bit" else var
            sets.append(f"{quote_ident(name)} = {expr}")
        else:
            targets.append(quote_ident(name))
    sql = (
        f"LOAD DATA LOCAL INFILE '{source}' INTO TABLE {quote_ident(table_name)} CHARACTER SET binary"
        " FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n'"
        f" ({', '.join(targets)})"
    )
    if sets:
        sql += " SET " + ", ".join(sets)
    return sql
