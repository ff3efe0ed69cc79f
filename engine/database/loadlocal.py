"""``LOAD DATA LOCAL INFILE`` from memory instead of a file.

pymysql answers the server's "send me this local file" request by opening
the file the *server* names, which a rogue server can abuse to read any
file of ours. We replace that answer: only stream names registered here
(``odbackup-stream:<token>``) are sent, from an iterator of byte blocks;
every other request is refused. Restored rows therefore never touch the
disk unencrypted. (Hooks ``pymysql.connections._send_local_file``, present
in pymysql 1.1 and 1.2; ``tests/database`` proves the hook still works.)
"""
from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable

import pymysql
import pymysql.connections
from pymysql.constants import ER

PREFIX = "odbackup-stream:"
PACKET = 1024 * 1024
_streams: dict[str, Iterable[bytes]] = {}
_lock = threading.Lock()


def register(blocks: Iterable[bytes]) -> str:
    """Make ``blocks`` loadable as ``LOAD DATA LOCAL INFILE '<returned name>'``."""
    install()
    name = PREFIX + secrets.token_hex(12)
    with _lock:
        _streams[name] = blocks
    return name


def forget(name: str) -> None:
    with _lock:
        _streams.pop(name, None)


def _send_stream(filename: str | bytes, conn: pymysql.connections.Connection) -> None:
    if isinstance(filename, bytes):  # pymysql hands over the packet's raw bytes
        filename = filename.decode("utf-8", "replace")
    with _lock:
        blocks = _streams.pop(filename, None)
    if blocks is None:
        raise pymysql.err.OperationalError(
            ER.FILE_NOT_FOUND, "odbackup refuses to send a local file the server asked for"
        )
    size = min(PACKET, max(1024, int(getattr(conn, "_odb_packet", PACKET))))
    for block in blocks:
        view = memoryview(block)
        for i in range(0, len(view), size):
            conn.write_packet(view[i : i + size])


_installed = False


def install() -> None:
    global _installed
    if not _installed:
        pymysql.connections._send_local_file = _send_stream  # type: ignore[attr-defined]
        _installed = True
