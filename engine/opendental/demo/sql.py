"""Rows into SQL: literals, the filler for columns a row leaves out, one writer per table
batching multi-row INSERTs, and a sender that stores one batch while the next is made."""
from __future__ import annotations

import datetime as dt
import queue
import threading
from collections.abc import Callable

from .reference import STAMP
from .schema import Column, Table

_BATCH_BYTES = 1 << 18

_ESCAPES = str.maketrans({"\\": "\\\\", "'": "\\'", "\0": "\\0", "\x1a": "\\Z"})
_ZERO_FILL = {"int": "0", "float": "0", "date": "'0001-01-01'",
              "datetime": "'0001-01-01 00:00:00'", "time": "'00:00:00'"}


def _sql(value: object) -> str:
    """A Python value as a MySQL literal (the session runs with ``SQL_MODE=''``)."""
    kind = type(value)
    if kind is int or kind is float:
        return repr(value)
    if isinstance(value, str):
        return "'" + value.translate(_ESCAPES) + "'"
    if value is None:
        return "NULL"
    if isinstance(value, bytes):
        return "X'" + value.hex() + "'" if value else "''"
    if kind is dt.date or kind is dt.datetime:
        return f"'{value}'"
    raise TypeError(f"no SQL literal for {value!r}")


def _filler(column: Column) -> str:
    """The literal a row gets for a column the generator leaves out."""
    if column.auto_increment:
        raise ValueError(f"the primary key {column.name} must be given")
    if column.kind == "timestamp":
        return _sql(STAMP)
    if column.default is not None:
        return column.default if column.kind in ("int", "float") else _sql(column.default)
    if not column.not_null:
        return "NULL"
    return _ZERO_FILL.get(column.kind, "''")


_QUOTED_KINDS = ("str", "date", "datetime", "time", "timestamp")


class Sender:
    """Sends statements from a background thread, so the server stores one batch while
    Python generates the next. The connection is the sender's until :meth:`close`."""

    def __init__(self, cursor) -> None:
        self.cursor = cursor
        self.queue: queue.Queue[str | None] = queue.Queue(maxsize=3)
        self.error: BaseException | None = None
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name="odbackup-demo-sender", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (statement := self.queue.get()) is not None:
            if self.error is None and not self.stopping:
                try:
                    self.cursor.execute(statement)
                except BaseException as exc:  # handed to the generating thread
                    self.error = exc

    def send(self, statement: str) -> None:
        """Queue one statement (raises what went wrong with an earlier one)."""
        if self.error is not None:
            raise self.error
        self.queue.put(statement)

    def close(self, *, abandon: bool = False) -> None:
        """Wait until everything is sent (or, with ``abandon``, skip what is left);
        raise what went wrong unless abandoning."""
        self.stopping = abandon
        self.queue.put(None)
        self.thread.join()
        if self.error is not None and not abandon:
            raise self.error


class Writer:
    """One table's pending rows, sent as multi-row INSERTs of about 1 MB.

    A row names some columns; the others get their filler (:func:`_filler`). Each
    set of named columns gets a compiled row template: numbers and dates go in as
    formatted, strings are escaped, and rows holding None or bytes take the slow
    path through :func:`_sql`.
    """

    def __init__(self, send: Callable[[str], None], database: str, table: Table) -> None:
        self.send = send
        self.table = table
        self.head = f"INSERT INTO `{database}`.`{table.name}` VALUES "
        self.templates: dict[tuple[str, ...], tuple[str, str, tuple[int, ...], bool]] = {}
        self.pending: list[str] = []
        self.size = 0
        self.rows = 0

    def _compile(self, names: tuple[str, ...]) -> tuple[str, str, tuple[int, ...], bool]:
        columns = {c.name: c for c in self.table.columns}
        unknown = set(names) - set(columns)
        if unknown:
            raise ValueError(f"{self.table.name} has no column {sorted(unknown)}")
        position = {name: i for i, name in enumerate(names)}
        fast, generic = [], []
        for column in self.table.columns:
            i = position.get(column.name)
            if i is None:
                text = _filler(column).replace("{", "{{").replace("}", "}}")
                fast.append(text)
                generic.append(text)
                continue
            kind = column.kind
            fast.append(f"'{{{i}}}'" if kind in _QUOTED_KINDS else (f"{{{i}!r}}" if kind == "float" else f"{{{i}}}"))
            generic.append(f"{{{i}}}")
        escape = tuple(position[c] for c in names if columns[c].kind == "str")
        binary = any(columns[c].kind == "bytes" for c in names)
        compiled = self.templates[names] = ("(" + ",".join(fast) + ")", "(" + ",".join(generic) + ")",
                                            escape, binary)
        return compiled

    def add(self, row: dict) -> None:
        """Queue one row (column name -> value)."""
        names = tuple(row)
        fast, generic, escape, binary = self.templates.get(names) or self._compile(names)
        values = list(row.values())
        if binary or None in values:
            text = generic.format(*map(_sql, values))
        else:
            for i in escape:
                values[i] = values[i].translate(_ESCAPES)
            text = fast.format(*values)
        self.pending.append(text)
        self.size += len(text)
        self.rows += 1
        if self.size >= _BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        """Send the queued rows."""
        if self.pending:
            self.send(self.head + ",".join(self.pending))
            self.pending, self.size = [], 0
