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

Tables with a single-column integer key (most) take a faster path: the server
builds whole lines (long columns too, up to :data:`SERVER_ESCAPE_MAX`), read by
table scans when the data file is in key order (:class:`_Scan`, proven as it
reads) or else in key-range batches (:class:`_Batches`). A big one can be cut
into parts (:func:`split`: key ranges, each read on its own connection, whose
streams one after the other are the table's). Every path gives the same bytes.
"""
from __future__ import annotations

import queue
import re
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from .rawrows import RawRows, supported
from .schema import Column, Table, quote_ident

TEXT_TYPES = frozenset({"char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set", "json"})
BINARY_TYPES = frozenset({"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"})
GEOMETRY_TYPES = frozenset({"geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
                            "multipolygon", "geometrycollection"})
LONG_TYPES = frozenset({"tinytext", "text", "mediumtext", "longtext", "json", "tinyblob", "blob", "mediumblob",
                        "longblob"}) | GEOMETRY_TYPES
FETCH_ROWS = 5000
FEW_ROWS = 512
"""Non-transactional tables with at most this many rows (MyISAM and Aria count them exactly) are
read with one ordered query: measured on the Open Dental schema, 0.2 ms for an empty table where
a proven table scan costs 0.7 ms in round trips, and most of its 379 tables hold a few rows."""
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


SERVER_ESCAPE_MAX = 8 * 1024
"""Longest value the server escapes. Its ``REPLACE`` moves the rest of the value at every
match, so a long value with many tabs, newlines or backslashes costs quadratic time: measured
on MariaDB 10.11, 300 KB holding 100,000 newlines took 5 s and 3 MB holding a million 9 min
(and ``KILL`` does not stop it). Rows with a longer value are built in Python instead
(``bytes.replace`` is linear): by key, in batches of them."""
MARK = b"\\K"
"""Starts the line the server sends in place of a row it did not build (then the row's key).
No real line starts so: a value's backslash is escaped to two, and the escapes are \\t \\n \\N."""


def _long_columns(table: Table, columns: Sequence[str], kinds: Sequence[str]) -> list[str]:
    """Those of ``columns`` that can hold a value longer than :data:`SERVER_ESCAPE_MAX`: text
    and binary ones, unless declared short enough (numbers and dates never can)."""
    types = {c.name: c.column_type.lower() for c in table.columns}
    found = []
    for name, kind in zip(columns, kinds, strict=True):
        if kind not in ("text", "binary", "geometry"):
            continue
        declared = re.fullmatch(r"(?:var)?(?:char|binary)\((\d+)\)", types.get(name, ""))
        if declared is None or int(declared.group(1)) * 4 > SERVER_ESCAPE_MAX:
            found.append(name)
    return found


def _long_guard(table: Table, spec: StreamSpec) -> str | None:
    """SQL true for a row holding a value longer than :data:`SERVER_ESCAPE_MAX` (None: no
    column can hold one)."""
    risky = [f"IFNULL(LENGTH({quote_ident(name)}), 0)" for name in _long_columns(table, spec.columns, spec.kinds)]
    if not risky:
        return None
    longest = risky[0] if len(risky) == 1 else f"GREATEST({', '.join(risky)})"
    return f"{longest} > {SERVER_ESCAPE_MAX}"


def _raw_columns(spec: StreamSpec) -> str:
    """The stream's columns as raw values, for rows built in Python (:func:`_line`)."""
    return ", ".join(_select_expr(n, k) for n, k in zip(spec.columns, spec.kinds, strict=True))


def _range_where(k: str, lo: int | None, hi: int | None) -> str:
    """``lo <= key < hi`` (either side open when None)."""
    terms = ([] if lo is None else [f"{k} >= {int(lo)}"]) + ([] if hi is None else [f"{k} < {int(hi)}"])
    return f" WHERE {' AND '.join(terms)}" if terms else ""


class _Batches:
    """A table with an integer key (or one part of it), read as server-built batches of lines on
    one or more connections.

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

    def __init__(self, conns: list, table: Table, spec: StreamSpec, key: str, part: Part | None = None) -> None:
        self.conns, self.table, self.spec = conns, table, spec
        self.part = part or WHOLE
        self.k, self.name = quote_ident(key), quote_ident(table.name)
        # the order proof runs on MariaDB (MySQL 8 warns about the assignment, and a warning
        # fails a batch) for keys a user variable can hold
        self.guarded = _provable(table, key) and _is_mariadb(conns[0])
        self.guard = _long_guard(table, spec)
        self.raw_columns = _raw_columns(spec)
        self.line = _line_sql(spec)
        if self.guard is not None:  # rows with long values come as a mark and their key
            self.line = f"IF({self.guard}, CONCAT('\\\\K', {self.k}), {self.line})"
        avg = max(16, _average_row(table) * 2)
        self.avg = float(avg)  # bytes per line, learnt from the batches read
        self.cap = MAX_BATCH_ROWS  # never more rows than a batch that failed

    def rows(self) -> int:
        return max(1, min(self.cap, int(BATCH_BYTES / self.avg)))

    def __iter__(self) -> Iterator[tuple[bytes, int]]:
        with self.conns[0].cursor() as cur:
            cur.execute("SELECT @@max_allowed_packet")
            packet = int(cur.fetchone()[0])
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
                        lo = self.part.lo
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
                if planning and boundary is not None and not head.done() and len(inflight) < depth:
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
        """The key ``offset`` rows on from ``lo`` (None: the part ends before)."""
        cur.execute(f"SELECT {self.k} FROM {self.name}{_range_where(self.k, lo, self.part.hi)}"
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
        boundary.set_result(hi)  # None: this batch is the part's last
        return self._fetch(conn, lo, self.part.hi if hi is None else hi)

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
                if self.guard is not None and (block.startswith(MARK) or b"\n" + MARK in block):
                    block = self._built_here(cur, block)
                return "rows", block + b"\n", count
            if count > 1:
                return "split", lo, self._boundary(cur, lo, count // 2), hi, count
            return "rows", self._one_row(cur, lo) + b"\n", 1

    def _built_here(self, cur, block: bytes) -> bytes:
        """The batch with each marked line replaced by its row built in Python (one query)."""
        lines = block.split(b"\n")
        keys = [int(line[len(MARK):]) for line in lines if line.startswith(MARK)]
        cur.execute(f"SELECT {self.k}, {self.raw_columns} FROM {self.name} WHERE {self.k} IN ({', '.join(map(str, keys))})")
        built = {int(row[0]): _line(row[1:], built=False) for row in cur.fetchall()}
        if len(built) != len(keys):
            raise RuntimeError(f"rows of {self.table.name} vanished while it was read")  # not expected: locked
        return b"\n".join(built[int(line[len(MARK):])] if line.startswith(MARK) else line for line in lines)

    def _one_row(self, cur, lo: int | None) -> bytes:
        """The next row's line, built in Python from raw values (a row too long to build on the server)."""
        cur.execute(f"SELECT {self.raw_columns} FROM {self.name}{_range_where(self.k, lo, None)} ORDER BY {self.k} LIMIT 1")
        return _line(cur.fetchone(), built=False)


class ScanFailed(Exception):
    """A table scan's rows, already handed on, turned out not to be the whole table in key order.

    The caller reads the table again with ``scan=False`` (by key). The rows it
    already stored are not lost work: the stream read by key holds the same
    lines, so their chunks mostly deduplicate."""


class _Scan:
    """A table (or one part of it) read by a table scan, proven to be in key order as it is
    read: the fast path.

    Reading rows in key order costs MyISAM a read of the data file per row
    (about 2 us); a table scan reads it sequentially (about 0.2 us a row). Most
    tables are stored in key order (rows appended with growing AUTO_INCREMENT
    keys; a restore writes them so), and the scan proves it as it goes: a user
    variable carries the key of the row before, and once a key is not greater
    (or a value is longer than :data:`SERVER_ESCAPE_MAX`) the server sends no
    more rows. At the end the proof, the rows received and the last key are
    checked against the part (:func:`split`): a part before the last holds
    exactly ``part.rows`` rows, all below ``part.hi`` (the scan stops after
    them: ``LIMIT``); the last part ends with the table's greatest key. If any
    check fails, or a line came back NULL (longer than ``max_allowed_packet``)
    or with a warning, :class:`ScanFailed` is raised after the rows and the
    caller reads the table by key instead.

    Rows are cut out of the wire by :class:`RawRows` in a thread of its own, so
    the caller hashes and chunks one block while the next is read.
    """

    def __init__(self, conn, table: Table, spec: StreamSpec, key: str, part: Part | None = None) -> None:
        self.conn, self.table, self.spec, self.part = conn, table, spec, part or WHOLE
        self.k, self.name = quote_ident(key), quote_ident(table.name)
        self.per_block = max(1, min(MAX_BATCH_ROWS, BATCH_BYTES // _average_row(table)))
        self.guard = _long_guard(table, spec)

    def _sql(self) -> str:
        k, part = self.k, self.part
        fits = f"{k} > @odb_key" + ("" if self.guard is None else f" AND NOT ({self.guard})")
        # once a row fails, @odb_key jumps to the top: no later row passes, and the first reason stays
        reason = f"IF(@odb_bad, @odb_bad, IF({k} > @odb_key, 2, 1))"  # 2: a value too long; 1: out of key order
        proof = f"IF({fits}, {k} = (@odb_key := {k}), LEAST(@odb_bad := {reason}, @odb_key := {_TOP_KEY}, 0))"
        where = proof if part.lo is None else f"{k} >= {int(part.lo)} AND {proof}"
        limit = "" if part.hi is None else f" LIMIT {int(part.rows or 0)}"
        return f"SELECT {_line_sql(self.spec)} FROM {self.name} USE INDEX () WHERE {where}{limit}"

    def __iter__(self) -> Iterator[tuple[bytes, int]]:
        stop = threading.Event()
        out: queue.Queue = queue.Queue(maxsize=2)
        reader = threading.Thread(target=self._read, args=(out, stop), name="odbackup-scan", daemon=True)
        reader.start()
        try:
            total = 0
            while True:
                item = out.get()
                if item[0] == "error":
                    raise item[1]
                if item[0] == "end":
                    break
                total += item[2]
                yield item[1], item[2]
            self._check(total, *item[1])
        finally:
            stop.set()
            reader.join()

    def _check(self, total: int, bad, last, warnings: int, nulls: int) -> None:
        """The rows were in key order, and all of the part's."""
        name, part = self.table.name, self.part
        if nulls:
            raise ScanFailed(f"{nulls} line(s) of {name} were too long to build on the server")
        if int(bad or 0) == 2:
            raise ScanFailed(f"{name} holds values too long for the server to escape")
        if warnings:
            raise ScanFailed(f"the server warned while building the lines of {name}")
        if int(bad or 0):
            raise ScanFailed(f"{name} is not stored in key order")
        last = None if total == 0 else int(last)
        if part.hi is not None:
            if total != part.rows or (last is not None and last >= part.hi):
                raise ScanFailed(f"the scan of {name} did not hold the rows of its part")
            return
        # MyISAM and Aria count their rows exactly, at no cost: the parts together must hold all
        # (they do when the parts were planned on the same rows, which the lock guarantees)
        count = "COUNT(*)" if part.lo is not None and not self.table.transactional else "NULL"
        with self.conn.cursor() as cur:
            cur.execute(f"SELECT MAX({self.k}), {count} FROM {self.name}")
            top, rows = cur.fetchone()
        if last != (None if top is None else int(top)):
            raise ScanFailed(f"the scan of {name} did not end at its greatest key")
        if rows is not None and int(rows) != part.before + total:
            raise ScanFailed(f"the parts of {name} did not hold all its rows")

    def _read(self, out: queue.Queue, stop: threading.Event) -> None:
        def put(item) -> None:
            while not stop.is_set():
                try:
                    out.put(item, timeout=0.1)
                    return
                except queue.Full:
                    continue

        try:
            with self.conn.cursor() as cur:
                cur.execute(f"SET @odb_key = {_BOTTOM_KEY}, @odb_bad = 0")
            reader = RawRows(self.conn, stop)
            reader.execute(self._sql())
            for block, n in reader.blocks(self.per_block):
                put(("rows", block, n))
            with self.conn.cursor() as cur:
                cur.execute("SELECT @odb_bad, @odb_key")
                bad, last = cur.fetchone()
            put(("end", (bad, last, reader.warnings, reader.null_rows)))
        except BaseException as exc:  # handed to the reading thread, which raises it
            put(("error", exc))


_BOTTOM_KEY, _TOP_KEY = -(2**63), 2**63 - 1  # the proof's start and its "failed" mark (keys are signed 64-bit)


@dataclass(frozen=True)
class Part:
    """A share of a table, read on its own connection: the rows with ``lo <= key < hi``
    (None: open on that side), ``rows`` of them when ``hi`` is set (a scan stops after them),
    ``before`` rows in the parts before it. The parts of a table, read one after the other,
    are its whole stream."""

    lo: int | None = None
    hi: int | None = None
    rows: int | None = None
    before: int = 0


WHOLE = Part()
SPLIT_MIN_BYTES = 32 * 1024 * 1024
"""Tables with at least this much data are read in parts, one per reading connection."""


def split(conn, table: Table, spec: StreamSpec, parts: int) -> list[Part]:
    """The table cut into about ``parts`` key ranges of as many rows, to read at once on as
    many connections (``[WHOLE]``: small, or not read by key). ``conn`` must see the rows the
    parts will be read from (the same lock or snapshot).

    A cut is at a row count rounded down to a power of two near an eighth of a part, so it
    stays put while the table grows or shrinks by a few percent: the chunks on either side
    of it deduplicate from one backup to the next (the stream is cut into chunks afresh at
    each part's start). The key there comes from the index (``ORDER BY key LIMIT 1 OFFSET
    n``: 0.07 s for a million keys here), so a part before the last knows exactly how many
    rows it holds."""
    if parts < 2 or not splittable(table, spec):
        return [WHOLE]
    key = batchable(table, spec)
    assert key is not None
    total = table.rows_estimate
    unit = 1 << max(0, (total // (parts * 8)).bit_length() - 1)
    offsets = sorted({i * total // parts // unit * unit for i in range(1, parts)} - {0})
    k, name = quote_ident(key), quote_ident(table.name)
    result: list[Part] = []
    lo, done = None, 0
    with conn.cursor() as cur:
        for offset in offsets:
            cur.execute(f"SELECT {k} FROM {name} ORDER BY {k} LIMIT 1 OFFSET {offset}")
            row = cur.fetchone()
            if row is None:  # fewer rows than the statistics said
                break
            result.append(Part(lo, int(row[0]), offset - done, done))
            lo, done = int(row[0]), offset
    return result + [Part(lo, None, None, done)] if result else [WHOLE]


def splittable(table: Table, spec: StreamSpec) -> bool:
    """Whether :func:`split` may cut the table: big enough, and read by key."""
    return (table.data_length >= SPLIT_MIN_BYTES and batchable(table, spec) is not None
            and not _row_by_row(table, spec))


def read_stream(conn, table: Table, spec: StreamSpec, *, scan: bool = True,
                part: Part = WHOLE) -> Iterator[tuple[bytes, int]]:
    """The table's stream (or one ``part`` of it, see :func:`split`) as (block, rows), by the
    fastest safe path, on ``conn``.

    Tables with a single-column integer key are read from lines the server
    builds: by a table scan when the table is stored in key order
    (:class:`_Scan`, on MariaDB; ``scan=False`` never, which is how a caller
    retries after :class:`ScanFailed`), else in key-range batches
    (:class:`_Batches`). Other tables, and MyISAM tables of at most
    :data:`FEW_ROWS` rows (unless a VARCHAR is declared too long for the
    server to escape safely), are read row by row, in one ordered query,
    unbuffered, whole. Every path gives the same bytes.
    """
    key = batchable(table, spec)
    if key is None or _row_by_row(table, spec):
        if part != WHOLE:
            raise ValueError(f"{table.name} is read row by row: it has no parts")
        yield from _read_rows(conn, table, spec)
        return
    if scan and _scannable(conn, table, key) and supported(conn):
        yield from _Scan(conn, table, spec, key, part)
        return
    yield from _Batches([conn], table, spec, key, part)


def _row_by_row(table: Table, spec: StreamSpec) -> bool:
    """Tables read in one ordered query, row by row (see :func:`read_stream`)."""
    # one ordered query (select_sql) lets the server escape every short column: not when one is
    # a VARCHAR long enough for its quadratic REPLACE (see SERVER_ESCAPE_MAX)
    few = (not table.transactional and table.rows_estimate <= FEW_ROWS
           and not _long_columns(table, spec.columns[: spec.built], spec.kinds[: spec.built]))
    # rows of MBs (scanned documents in a BLOB): escaping them on the server is slow and every
    # batch would exceed its limits; they are few, so Python's bytes.replace does it
    huge_rows = spec.built < len(spec.columns) and _average_row(table) > LONG_ROW_BYTES
    return few or huge_rows


def _scannable(conn, table: Table, key: str) -> bool:
    """Table scans need MariaDB (MySQL 8 warns about assigning user variables in expressions)
    and a key the proof can compare in a user variable."""
    return _provable(table, key) and _is_mariadb(conn)


def _provable(table: Table, key: str) -> bool:
    """Whether the key fits a user variable, which orders proofs compare in (BIGINT UNSIGNED
    goes past 2^63)."""
    col = next((c for c in table.columns if c.name == key), None)
    return col is not None and not (col.data_type == "bigint" and "unsigned" in col.column_type.lower())


def _is_mariadb(conn) -> bool:
    info = getattr(conn, "server_version", "") or ""
    if isinstance(info, bytes):
        info = info.decode("latin-1")
    return "mariadb" in str(info).lower()


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
