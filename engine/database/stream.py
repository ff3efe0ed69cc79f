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

import queue
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from .schema import Column, Table, quote_ident

TEXT_TYPES = frozenset({"char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set", "json"})
BINARY_TYPES = frozenset({"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"})
GEOMETRY_TYPES = frozenset({"geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
                            "multipolygon", "geometrycollection"})
LONG_TYPES = frozenset({"tinytext", "text", "mediumtext", "longtext", "json", "tinyblob", "blob", "mediumblob",
                        "longblob"}) | GEOMETRY_TYPES
FETCH_ROWS = 5000
LONG_ROW_BYTES = 64 * 1024
"""Tables whose rows average more than this (with BLOB/TEXT columns) are read row by row."""


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
MAX_BATCH_ROWS = 50_000
AHEAD = 1  # batches queued beyond one per connection (keeps every connection busy)


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


def _range_where(k: str, lo: int | None, hi: int | None) -> str:
    """``lo <= key < hi`` (either side open when None)."""
    terms = ([] if lo is None else [f"{k} >= {int(lo)}"]) + ([] if hi is None else [f"{k} < {int(hi)}"])
    return f" WHERE {' AND '.join(terms)}" if terms else ""


class _Batches:
    """A table with an integer key, read as server-built batches of lines on one or more connections.

    A batch is the rows with ``lo <= key < hi``, which the server joins into one
    value (``GROUP_CONCAT``: one round trip per ~1 MiB, no per-row cost in
    Python), in key order: proven while it joins them (:meth:`_proven`), else
    sorted (``GROUP_CONCAT(line ORDER BY key)``, ~10% more server time). Its end
    ``hi`` is the key of the row ``n`` rows
    after ``lo`` (an index-only lookup), so every batch holds a known number of
    rows whatever the gaps between keys. The lookup comes first in each batch's
    task, so the next batch can start on another connection while this one's
    lines are built: batches run on every connection at once (the caller
    guarantees they all see the same rows: a global read lock, or snapshots
    opened under it) and one more waits queued, while this thread hashes and
    chunks the batch before. Batches are yielded in key order.

    A batch is trusted only if the server raised no warning (a value that grew
    past ``max_allowed_packet`` while escaped comes back NULL with a warning)
    and holds as many lines as rows; otherwise it is split at its middle row
    and both halves are read, down to one row, which is then read column by
    column. The bytes are the same on every path.
    """

    def __init__(self, conns: list, table: Table, spec: StreamSpec, key: str) -> None:
        self.conns, self.table, self.spec = conns, table, spec
        self.k, self.name = quote_ident(key), quote_ident(table.name)
        col = next(c for c in table.columns if c.name == key)
        # the order proof compares keys in a user variable: not for BIGINT UNSIGNED (past 2^63)
        self.provable = not (col.data_type == "bigint" and "unsigned" in col.column_type.lower())
        self.guarded = False  # decided per server in __iter__
        self.line = _line_sql(spec)
        avg = max(16, _average_row(table) * 2)
        self.avg = float(avg)  # bytes per line, learnt from the batches read
        self.cap = MAX_BATCH_ROWS  # never more rows than a batch that failed

    def rows(self) -> int:
        return max(1, min(self.cap, int(BATCH_BYTES / self.avg)))

    def __iter__(self) -> Iterator[tuple[bytes, int]]:
        with self.conns[0].cursor() as cur:
            cur.execute("SELECT @@max_allowed_packet, VERSION()")
            packet, version = cur.fetchone()
            packet = int(packet)
        version = version.decode() if isinstance(version, bytes) else str(version)
        # MySQL 8 warns about assignments in expressions (and a warning fails a batch)
        self.guarded = self.provable and "mariadb" in version.lower()
        for conn in self.conns:
            with conn.cursor() as cur:
                cur.execute(f"SET SESSION group_concat_max_len = {max(1024, packet // 2)}, @odb_key = NULL")
        free: queue.SimpleQueue = queue.SimpleQueue()
        for conn in self.conns:
            free.put(conn)
        pool = ThreadPoolExecutor(max_workers=len(self.conns), thread_name_prefix="odbackup-read")
        depth = len(self.conns) + AHEAD
        inflight: deque[Future] = deque()
        boundary: Future | None = None  # where the batch after the last planned one starts
        planning = True

        def run(task, *args):
            conn = free.get()
            try:
                return task(conn, *args)
            finally:
                free.put(conn)

        try:
            while True:
                while planning and len(inflight) < depth:
                    if boundary is None:
                        lo = None
                    elif boundary.done():
                        lo = boundary.result()
                        if lo is None:
                            planning = False
                            break
                    else:
                        break
                    boundary = Future()
                    inflight.append(pool.submit(run, self._planned, lo, self.rows(), boundary))
                if not inflight:
                    return
                head = inflight[0]
                if planning and not head.done() and len(inflight) < depth:
                    wait([head, boundary], return_when=FIRST_COMPLETED)
                    continue
                result = head.result()
                inflight.popleft()
                if result[0] == "split":
                    _, lo, mid, hi, count = result
                    self.cap = max(1, min(self.cap, count // 2))
                    inflight.appendleft(pool.submit(run, self._fetch, mid, hi))
                    inflight.appendleft(pool.submit(run, self._fetch, lo, mid))
                    continue
                _, block, count = result
                if count:
                    self.avg = max(16.0, (self.avg + len(block) / count) / 2)
                    yield block, count
        finally:
            for future in inflight:
                future.cancel()
            pool.shutdown(wait=True)

    def _proven(self, cur, where: str) -> tuple[bytes | None, int, bool, bool]:
        """The batch joined in the order the server reads it (an index range scan: key order),
        without the sort ``GROUP_CONCAT(... ORDER BY)`` costs, and the proof that it was key
        order: while joining, the server counts the rows whose key is not above the one before
        (a user variable carries it); none, and the last key seen is the batch's greatest, or
        the batch is not used. Returns (block, rows, warned, proven). (Key order is what an
        index range scan gives; a table scan, which the server may choose for a batch holding
        most of a small table, gives MyISAM's data-file order.)"""
        cur.execute(f"SELECT GROUP_CONCAT({self.line} SEPARATOR '\\n'), COUNT(*),"
                    f" SUM(IF({self.k} <= @odb_key, 1, (@odb_key := {self.k}) - {self.k})), MAX({self.k})"
                    f" FROM {self.name}{where}")
        block, count, disorder, top = cur.fetchone()
        warned = bool(cur._result.warning_count)
        cur.execute("SELECT @odb_key, @odb_key := NULL")
        last = cur.fetchone()[0]
        count = int(count or 0)
        proven = not count or (int(disorder or 0) == 0 and last is not None and int(last) == int(top))
        return block, count, warned, proven

    def _boundary(self, cur, lo: int | None, offset: int) -> int | None:
        """The key ``offset`` rows on from ``lo`` (None: the table ends before)."""
        cur.execute(f"SELECT {self.k} FROM {self.name}{_range_where(self.k, lo, None)}"
                    f" ORDER BY {self.k} LIMIT 1 OFFSET {int(offset)}")
        row = cur.fetchone()
        return None if row is None else int(row[0])

    def _planned(self, conn, lo: int | None, n: int, boundary: Future) -> tuple:
        try:
            with conn.cursor() as cur:
                hi = self._boundary(cur, lo, n)
        except BaseException as exc:
            boundary.set_exception(exc)
            raise
        boundary.set_result(hi)
        return self._fetch(conn, lo, hi)

    def _fetch(self, conn, lo: int | None, hi: int | None) -> tuple:
        where = _range_where(self.k, lo, hi)
        with conn.cursor() as cur:
            block, count, warned, proven = self._proven(cur, where) if self.guarded else (None, 0, False, False)
            if not (warned or proven):  # not proven in key order (or not tried): the server sorts
                cur.execute(f"SELECT GROUP_CONCAT({self.line} ORDER BY {self.k} SEPARATOR '\\n'), COUNT(*)"
                            f" FROM {self.name}{where}")
                block, count = cur.fetchone()
                count = int(count or 0)  # the data connection returns raw bytes
                warned = cur._result.warning_count
            if not count:
                return "rows", b"", 0
            if not (warned or block is None or block.count(b"\n") + 1 != count):
                return "rows", block + b"\n", count
            if count > 1:
                return "split", lo, self._boundary(cur, lo, count // 2), hi, count
            return "rows", self._one_row(cur, lo) + b"\n", 1

    def _one_row(self, cur, lo: int | None) -> bytes:
        """The next row's line, built in Python from raw values (a row too long to build on the server)."""
        cols = ", ".join(_select_expr(n, kd) for n, kd in zip(self.spec.columns, self.spec.kinds, strict=True))
        cur.execute(f"SELECT {cols} FROM {self.name}{_range_where(self.k, lo, None)} ORDER BY {self.k} LIMIT 1")
        return _line(cur.fetchone(), built=False)


def read_stream(conn, table: Table, spec: StreamSpec, helpers: Sequence = ()) -> Iterator[tuple[bytes, int]]:
    """The table's stream as (block, rows), by the fastest safe path.

    Tables with a single-column integer key are read in batches of lines the
    server builds (:class:`_Batches`), on ``conn`` and the ``helpers`` at once:
    connections that must see exactly the rows ``conn`` sees. Other tables are
    read row by row, unbuffered, on ``conn``.
    """
    key = batchable(table, spec)
    if key is None or (spec.built < len(spec.columns) and _average_row(table) > LONG_ROW_BYTES):
        # rows of MBs (scanned documents in a BLOB): escaping them on the server is slow and
        # every batch would exceed its limits; they are few, so Python's bytes.replace does it
        yield from _read_rows(conn, table, spec)
        return
    yield from _Batches([conn, *helpers], table, spec, key)


def _read_rows(conn, table: Table, spec: StreamSpec) -> Iterator[tuple[bytes, int]]:
    import pymysql.cursors

    cur = conn.cursor(pymysql.cursors.SSCursor)
    cur.execute(select_sql(table, spec))
    fetch = max(1, min(FETCH_ROWS, BATCH_BYTES // _average_row(table)))  # memory stays bounded for big rows
    try:
        yield from rows_to_blocks(cur, spec, fetch)
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


def _average_row(table: Table) -> int:
    """Bytes per row, from the server's table statistics (at least 1)."""
    return max(1, table.data_length // max(1, table.rows_estimate))


def rows_to_blocks(cursor, spec: StreamSpec, fetch: int = FETCH_ROWS) -> Iterator[tuple[bytes, int]]:
    """(block of lines, row count) from an unbuffered cursor, ``fetch`` rows at a time."""
    only_built = spec.built == len(spec.columns)
    while True:
        rows = cursor.fetchmany(fetch)
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
