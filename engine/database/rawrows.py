"""Rows of a one-column result set, cut straight out of the connection's bytes.

pymysql turns every row into a packet object and then a tuple: about 1.5 us a
row before Python sees the value. A table stream is one server-built line per
row and millions of rows, so that cost is the whole budget. This reader lets
pymysql send the query and read the result's header, then reads the socket
itself, 1 MiB at a time, and cuts the rows out in one loop (about 0.5 us a
row; a ``bytes.split`` with the checks it would need was no faster).

In the text protocol (MariaDB/MySQL client/server protocol, "Text Resultset")
each row is one packet: a 3-byte little-endian payload length, a 1-byte
sequence number, then the column as a length-encoded string (one byte for a
length below 251; ``0xfc`` + 2 bytes; ``0xfd`` + 3 bytes; ``0xfb`` is NULL).
The rows end with an EOF packet (``0xfe``, payload under 9 bytes: warning
count and status), since pymysql does not ask for ``CLIENT_DEPRECATE_EOF``; an
error packet (``0xff``) can come instead of a row (a killed query). A row of
16 MiB or more spans packets, which are joined (rare, and slower). A NULL row
is left out and counted (``null_rows``): the caller decides what it means.

Relies on pymysql internals (``_rfile``, ``_next_seq_id``, ``_result``,
``_force_close``), checked by :func:`supported`; pymysql is pinned below 2.
"""
from __future__ import annotations

import struct
import threading
from collections.abc import Iterator

import pymysql.err

READ_SIZE = 1 << 20
_HEADER = struct.Struct("<I")
_MAX_PAYLOAD = 0xFFFFFF
_MORE_RESULTS = 0x0008


class ProtocolSurprise(Exception):
    """The result was not what this reader handles (NULL rows, more columns): use another path."""


def supported(conn) -> bool:
    """Whether this pymysql connection has the internals the reader needs."""
    return all(hasattr(conn, name) for name in ("_rfile", "_next_seq_id", "_result", "_force_close", "query"))


class RawRows:
    """One unbuffered query whose rows are single non-NULL values, read in blocks.

    ``warnings`` holds the server's warning count once the rows are all read.
    Abandoning the rows midway (``stop`` set, an error, the consumer gone)
    closes the connection: it cannot be used again with a result half read.
    """

    def __init__(self, conn, stop: threading.Event | None = None) -> None:
        self.conn = conn
        self.stop = stop
        self.warnings = 0
        self.null_rows = 0  # rows that came back NULL (counted, left out, reported at the end)
        self._done = False

    def execute(self, sql: str) -> None:
        self.conn.query(sql, unbuffered=True)
        result = self.conn._result
        if result is None or getattr(result, "field_count", 0) != 1:
            self._abandon()
            raise ProtocolSurprise("the query did not return one column")

    def blocks(self, rows_per_block: int) -> Iterator[tuple[bytes, int]]:
        """(the rows' values joined by ``\\n`` with a final ``\\n``, row count), ``rows_per_block`` at a time."""
        try:
            yield from self._blocks(max(1, rows_per_block))
        finally:
            if not self._done:
                self._abandon()

    def _blocks(self, per_block: int) -> Iterator[tuple[bytes, int]]:
        conn = self.conn
        rfile = conn._rfile
        seq = conn._next_seq_id
        unpack = _HEADER.unpack_from
        stop = self.stop
        buf = b""
        pos = 0
        lines: list[bytes] = []
        append = lines.append
        spanning: list[bytes] | None = None  # the packets so far of a row of 16 MiB or more
        while True:
            if stop is not None and stop.is_set():
                raise ProtocolSurprise("stopped")
            try:
                more = rfile.read1(READ_SIZE)
            except OSError as exc:
                conn._force_close()
                raise pymysql.err.OperationalError(2013, f"Lost connection to server during query ({exc})") from None
            if not more:
                conn._force_close()
                raise pymysql.err.OperationalError(2013, "Lost connection to server during query")
            buf = buf[pos:] + more if pos < len(buf) else more
            pos = 0
            end = len(buf)
            while end - pos >= 4:
                header = unpack(buf, pos)[0]
                length = header & _MAX_PAYLOAD
                stop_at = pos + 4 + length
                if stop_at > end:
                    break
                if header >> 24 != seq:
                    conn._force_close()
                    raise pymysql.err.InternalError(f"Packet sequence number wrong: got {header >> 24}, expected {seq}")
                seq = (seq + 1) & 255
                first = buf[pos + 4] if length else 0xFB
                if spanning is not None or length == _MAX_PAYLOAD:
                    spanning = (spanning or []) + [buf[pos + 4 : stop_at]]
                    pos = stop_at
                    if length == _MAX_PAYLOAD:
                        continue
                    value = _value(b"".join(spanning))
                    spanning = None
                elif first < 251:  # most rows: one length byte
                    append(buf[pos + 5 : stop_at])
                    pos = stop_at
                    continue
                elif first == 0xFC:
                    append(buf[pos + 7 : stop_at])
                    pos = stop_at
                    continue
                elif first == 0xFE and length < 9:
                    self._finish(buf[pos + 4 : stop_at], seq)
                    while lines:
                        block, lines[:per_block] = lines[:per_block], []
                        count = len(block)
                        yield _joined(block), count
                    return
                elif first == 0xFF:
                    conn._force_close()
                    pymysql.err.raise_mysql_exception(buf[pos + 4 : stop_at])
                else:
                    value = _value(buf[pos + 4 : stop_at])
                pos = stop_at
                if value is None:
                    self.null_rows += 1
                else:
                    append(value)
            while len(lines) >= per_block:
                block, lines[:per_block] = lines[:per_block], []
                yield _joined(block), per_block

    def _finish(self, eof: bytes, seq: int) -> None:
        conn = self.conn
        conn._next_seq_id = seq
        result = conn._result
        if result is not None:
            result.unbuffered_active = False
        conn._result = None
        self.warnings = eof[1] | eof[2] << 8 if len(eof) >= 5 else 0
        status = eof[3] | eof[4] << 8 if len(eof) >= 5 else 0
        self._done = True
        if status & _MORE_RESULTS:
            self._abandon()
            raise ProtocolSurprise("more result sets followed")

    def _abandon(self) -> None:
        """A result left half read makes the connection useless: close it (the server ends the query)."""
        self._done = True
        result = self.conn._result
        if result is not None:
            result.unbuffered_active = False  # else closing would try to read the rest
        self.conn._result = None
        self.conn._force_close()


def _value(payload: bytes) -> bytes | None:
    """The length-encoded string that is a row's whole payload (None: NULL)."""
    first = payload[0] if payload else 0xFB
    if first == 0xFB:
        return None
    if first < 251:
        return payload[1:]
    size = {0xFC: 2, 0xFD: 3, 0xFE: 8}.get(first)
    if size is None:
        raise ProtocolSurprise(f"unexpected length byte {first:#x}")
    return payload[1 + size :]


def _joined(values: list[bytes]) -> bytes:
    """The values as lines: joined by ``\\n`` and ending with one (no second copy of the block).
    Appends to ``values``."""
    values.append(b"")
    return b"\n".join(values)
