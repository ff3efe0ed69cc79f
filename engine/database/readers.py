"""Reading tables into the repository on every reading connection at once.

In consistent mode the backup holds more than one connection that sees the
same rows (the global read lock freezes the MyISAM tables; each connection's
InnoDB snapshot was opened while it was held). :class:`TableReaders` gives
each connection a thread of its own and keeps all of them busy: a thread
takes the next table, reads its stream start to end (``stream.read_stream``:
the server builds the lines, the thread cuts, hashes and chunks them) and
hands the new chunks to the shared sealing pipeline. Big tables go first
and are cut into parts (``stream.split``), one per connection, read at once:
each server thread builds the lines of its own part only (a later part's
scan steps over the earlier parts' rows with a bare key comparison). Small
tables fill in around them, in parallel too. On a 2-core server
that shares its CPUs with the backup, this is what keeps both busy.

With one connection (per-table mode, or a database without MyISAM tables)
the same code reads the tables one after the other.

Tables come back as they are done (:class:`TableRead`), in no set order.
A table whose scan fails the key-order proof (``stream.ScanFailed``) is read
again by key, in parts too (the parts already read are read again). Any
other failure stops every reader at once: the caller's ``abort`` ends the
connections' queries (and so any lock they hold), and every reader stops at
its next block in any case, before the error is raised.
"""
from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import partial

import blake3
import pymysql

from ..errors import Cancelled
from ..events import EventSink, TableProgress
from ..pipeline import SealPipeline
from ..progress import Throttle
from ..repository.blobs import TABLE_LEVEL
from . import checksum
from .schema import Table
from .stream import WHOLE, Part, ScanFailed, StreamSpec, read_stream, spec_for, split, splittable

GATHER = 4 * 1024 * 1024
"""Bytes of a stream gathered before it is cut into chunks. Chunks in flight keep their
gathered buffer alive until sealed: with 16 MiB (what files use) two readers held 225-230 MiB
at their peak on the benchmark database, with 4 MiB 117-122 MiB, in the same time."""
MISSING_TABLE_CODES = (1146, 1054, 1412)
"""Server errors that mean the table was dropped or altered while the backup ran."""


@dataclass
class TableRead:
    """A table's stream, stored: what its tree node records."""

    table: Table
    spec: StreamSpec
    content: list[tuple[bytes, int]]
    rows: int
    bytes: int
    checksum: str
    parts: list[list[int]] | None  # [rows, chunks] of each part, when it was read in several (checksum.py)
    scanned: bool | None  # True: table scans proved its order; False: they failed, read by key; None: not tried
    seconds: float


@dataclass
class TableGone:
    """A table dropped or altered while it was read: left out of the snapshot."""

    table: Table
    reason: str


@dataclass
class _Table:
    """A table being read: its parts and what each gave."""

    table: Table
    spec: StreamSpec
    scan: bool  # read by table scans (else by key)
    tried_scan: bool = False  # scans were tried first (then ``scan`` False means they failed)
    started: float = 0.0  # when its first task started
    parts: list[Part] = field(default_factory=list)
    done: dict[int, tuple[list, int, int, bytes]] = field(default_factory=dict)
    running: int = 0
    scan_failed: bool = False
    gone: bool = False
    counts: list[int] = field(default_factory=lambda: [0, 0])
    throttle: Throttle = field(init=False)  # made by TableReaders.read


@dataclass(frozen=True)
class _Task:
    """One thing a reader thread does: cut the table into parts (``index`` None) or read one."""

    state: _Table
    index: int | None = None


def empty(table: Table) -> TableRead:
    """A table with no rows, stored without a query: its stream is empty."""
    return TableRead(table, spec_for(table), [], 0, 0, checksum.of_parts([blake3.blake3().digest()]), None, None, 0.0)


class TableReaders:
    """Reads tables on ``conns`` (connections that all see the same rows) at once; see module."""

    def __init__(self, conns: list, pipeline: SealPipeline, database: str, *, emit: EventSink,
                 cancel: threading.Event, abort: Callable[[], object],
                 beat: Callable[[], None] = lambda: None) -> None:
        self.conns, self.pipeline, self.database = conns, pipeline, database
        self.emit, self.cancel, self.abort, self.beat = emit, cancel, abort, beat
        self._stopping = threading.Event()  # a failure: every reader stops at its next block
        self._free: queue.SimpleQueue = queue.SimpleQueue()
        for conn in conns:
            self._free.put(conn)

    def read(self, tables: list[Table], scan_worth_trying: Callable[[Table], bool]) -> Iterator[TableRead | TableGone]:
        """Each table's stream stored, as each is done (biggest tables first)."""
        ready: deque[_Task] = deque()
        for table in sorted(tables, key=lambda t: t.data_length, reverse=True):
            scan = scan_worth_trying(table)
            state = _Table(table, spec_for(table), scan, tried_scan=scan)
            state.throttle = Throttle(partial(self._progress, state), self.emit)
            ready.append(self._first(state))
        running: dict[Future, _Task] = {}
        pool = ThreadPoolExecutor(max_workers=len(self.conns), thread_name_prefix="odbackup-table")
        try:
            while ready or running:
                while ready and len(running) < len(self.conns):
                    task = ready.popleft()
                    task.state.running += 1
                    task.state.started = task.state.started or time.monotonic()
                    running[pool.submit(self._run, task)] = task
                done, _ = wait(running, timeout=0.25, return_when=FIRST_COMPLETED)
                if self.cancel.is_set():
                    raise Cancelled("The backup was cancelled; locks were released and no snapshot was saved.")
                for future in done:
                    self.beat()
                    task = running.pop(future)
                    task.state.running -= 1
                    yield from self._settle(task, future, ready)
        except BaseException:
            self._stopping.set()
            self.abort()  # the readers' queries end at once (and any lock their connections hold)
            wait(running)
            raise
        finally:
            pool.shutdown(wait=True)

    # --- in the reader threads ---------------------------------------------------------------------

    def _run(self, task: _Task):
        conn = self._free.get()
        try:
            if task.index is None:
                return split(conn, task.state.table, task.state.spec, len(self.conns))
            return self._store(conn, task.state, task.state.parts[task.index])
        finally:
            self._free.put(conn)

    def _store(self, conn, state: _Table, part: Part) -> tuple[list, int, int, bytes]:
        """One part of a table (or all of it) read and stored: (content, rows, bytes, BLAKE3 digest)."""
        hasher = blake3.blake3()
        counts = [0, 0]

        def blocks():
            for block, n in read_stream(conn, state.table, state.spec, scan=state.scan, part=part):
                if self.cancel.is_set() or self._stopping.is_set():
                    raise Cancelled("The backup was cancelled; locks were released and no snapshot was saved.")
                self.beat()  # the lock monitor's sign that the backup moves (locking.LockMonitor)
                hasher.update(block)
                counts[0] += n
                counts[1] += len(block)
                state.counts[0] += n  # several threads add here: only progress reads it
                state.counts[1] += len(block)
                state.throttle.tick()
                yield block

        content = self.pipeline.store_blocks(blocks(), level=TABLE_LEVEL, gather=GATHER)
        return content, counts[0], counts[1], hasher.digest()

    def _progress(self, state: _Table) -> TableProgress:
        return TableProgress(self.database, state.table.name, state.counts[0], state.counts[1],
                             state.table.rows_estimate)

    # --- in the calling thread -----------------------------------------------------------------------

    def _first(self, state: _Table) -> _Task:
        """A big table is first cut into parts (on a reader: it must see the rows they will
        read); any other is read whole."""
        if len(self.conns) > 1 and splittable(state.table, state.spec):
            return _Task(state)
        state.parts = [WHOLE]
        return _Task(state, 0)

    def _settle(self, task: _Task, future: Future, ready: deque[_Task]) -> Iterator[TableRead | TableGone]:
        state = task.state
        try:
            result = future.result()
        except ScanFailed:
            state.scan_failed = True
            _drop(ready, state)  # its parts not started yet are of no use now
        except pymysql.err.MySQLError as exc:
            if not (exc.args and exc.args[0] in MISSING_TABLE_CODES):
                raise
            if not state.gone:
                state.gone = True
                _drop(ready, state)
                yield TableGone(state.table, f"the table changed during the backup ({exc.args[1]})")
        else:
            if task.index is None:  # the parts, read next (before any other table)
                state.parts = result
                ready.extendleft(_Task(state, i) for i in reversed(range(len(result))))
                return
            state.done[task.index] = result
        if state.gone or state.running:
            return
        if state.scan_failed:  # read it again by key, once none of its parts is running any more
            state.scan, state.scan_failed, state.done = False, False, {}
            state.counts[:] = [0, 0]
            ready.appendleft(self._first(state))
        elif len(state.done) == len(state.parts):
            yield self._finished(state)

    def _finished(self, state: _Table) -> TableRead:
        pieces = [state.done[i] for i in range(len(state.parts))]
        rows = [p[1] for p in pieces]
        return TableRead(
            state.table, state.spec, [c for p in pieces for c in p[0]], sum(rows), sum(p[2] for p in pieces),
            checksum.of_parts([p[3] for p in pieces]),
            [[p[1], len(p[0])] for p in pieces] if len(pieces) > 1 else None,
            (state.scan if state.tried_scan else None), time.monotonic() - state.started,
        )


def _drop(ready: deque[_Task], state: _Table) -> None:
    """Take the table's tasks that have not started out of the queue."""
    kept = [task for task in ready if task.state is not state]
    ready.clear()
    ready.extend(kept)
