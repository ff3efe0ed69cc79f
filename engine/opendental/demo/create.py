"""``create_demo``: the entry point. Refuses places already in use, creates the tables,
fills them, builds their keys, writes the images folder, and on failure or cancel
removes only what it created itself."""
from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pymysql
from pymysql.cursors import Cursor

from engine.errors import Cancelled, OdbackupError, UsageError
from engine.events import DemoProgress, EventSink, ignore_events
from engine.progress import Throttle

from .images import make_images_dir, write_images
from .practice import Practice
from .schema import TABLES, create_table_sql
from .sql import Sender


@dataclass(frozen=True)
class DemoResult:
    """What :func:`create_demo` made: ``bytes`` is the tables' data plus index length."""

    database: str
    tables: int
    rows: int
    bytes: int
    images_dir: str
    image_files: int
    image_bytes: int
    seconds: float


class DemoRefused(OdbackupError):
    """The sample practice was not created: its database or images folder is already in use."""

    title = "Refused"
    hint = "Choose a new database name and a new or empty images folder."


def _progress(sink: EventSink, phase: str, cancel: threading.Event | None) -> Callable[[int, int], None]:
    """A reporter of ``DemoProgress``: a few times a second, always the last of a phase;
    it raises ``Cancelled`` once ``cancel`` is set."""
    latest = DemoProgress(phase, 0, 0)

    def current() -> DemoProgress:
        return latest

    throttle = Throttle(current, sink)

    def report(done: int, total: int) -> None:
        nonlocal latest
        if cancel is not None and cancel.is_set():
            raise Cancelled("The sample practice was cancelled; what it had created was removed.")
        latest = DemoProgress(phase, done, total)
        throttle.tick(force=done >= total)

    return report


def _scalar(cursor: Cursor, sql: str, *args: object) -> Any:
    """The one value a query answers (a count, a sum, a session variable)."""
    cursor.execute(sql, args or None)
    row = cursor.fetchone()
    if row is None:
        raise OdbackupError(f"The server answered nothing to: {sql}")
    return row[0]


def _refuse_if_used(cursor: Cursor, database: str, images_dir: str | None) -> bool:
    """Raise ``DemoRefused`` unless both places are new or empty; True if the database exists."""
    if _scalar(cursor, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA=%s", database):
        raise DemoRefused(f"The database '{database}' already exists and holds tables. "
                          "The sample practice never writes over an existing database.")
    if images_dir and os.path.lexists(images_dir):
        if not os.path.isdir(images_dir) or any(os.scandir(images_dir)):
            raise DemoRefused(f"The folder {images_dir} is not empty. "
                              "The sample practice never writes into a folder that holds files.")
    return bool(_scalar(cursor, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME=%s",
                        database))


def _undo(cursor: Cursor, database: str, created_db: bool, tables: list[str], removals: list[str]) -> None:
    """Remove what this run created (best effort; the original error is what matters)."""
    try:
        if created_db:
            cursor.execute(f"DROP DATABASE `{database}`")
        for name in tables if not created_db else ():
            cursor.execute(f"DROP TABLE `{database}`.`{name}`")
    except pymysql.Error:
        pass
    for path in removals:
        shutil.rmtree(path, ignore_errors=True)


def create_demo(conn: pymysql.connections.Connection, database: str, images_dir: str | None, *,
                scale: float = 1.0, seed: int = 1, on_event: EventSink = ignore_events,
                cancel: threading.Event | None = None) -> DemoResult:
    """Create the sample practice: database ``database`` on ``conn``'s server and, unless
    ``images_dir`` is None, its A to Z images folder there.

    Refuses (``DemoRefused``) if the database holds tables or the folder holds anything;
    raises ``Cancelled`` when ``cancel`` is set. On any failure it removes what it created.
    """
    started = time.monotonic()
    if not re.fullmatch(r"[A-Za-z0-9_]{1,64}", database):
        raise UsageError("A database name may use only letters, digits and underscores.")
    if not scale > 0:
        raise UsageError("The scale must be more than 0.")
    cursor = conn.cursor()
    db_existed = _refuse_if_used(cursor, database, images_dir)
    old_mode = _scalar(cursor, "SELECT @@SESSION.sql_mode")
    created_db, tables, removals = False, [], []
    try:
        cursor.execute("SET SESSION sql_mode=''")
        if not db_existed:
            cursor.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8")
            created_db = True
        for table in TABLES.values():
            cursor.execute(create_table_sql(table, database))
            tables.append(table.name)
            cursor.execute(f"ALTER TABLE `{database}`.`{table.name}` DISABLE KEYS")
        if images_dir:
            removals = make_images_dir(images_dir)
        doc_path = os.path.join(os.path.abspath(images_dir), "") if images_dir else ""
        sender = Sender(cursor)
        try:
            practice = Practice(sender.send, database, scale, seed)
            practice.setup(doc_path)
            progress = _progress(on_event, "database", cancel)
            while practice.patients_done < practice.patients_total:
                practice.family()
                progress(practice.patients_done, practice.patients_total)
            practice.flush()
        except BaseException:
            sender.close(abandon=True)
            raise
        sender.close()
        progress = _progress(on_event, "indexes", cancel)
        for done, name in enumerate(tables, 1):
            cursor.execute(f"ALTER TABLE `{database}`.`{name}` ENABLE KEYS")
            progress(done, len(tables))
        image_bytes = 0
        if images_dir:
            image_bytes = write_images(images_dir, practice.documents, seed,
                                       _progress(on_event, "images", cancel))
        size = int(_scalar(cursor, "SELECT COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0)"
                           " FROM information_schema.TABLES WHERE TABLE_SCHEMA=%s", database))
    except BaseException:
        _undo(cursor, database, created_db, tables, removals)
        raise
    finally:
        try:
            cursor.execute("SET SESSION sql_mode=%s", (old_mode,))
            cursor.close()
        except pymysql.Error:
            pass
    return DemoResult(database=database, tables=len(tables), rows=practice.rows, bytes=size,
                      images_dir=os.path.abspath(images_dir) if images_dir else "",
                      image_files=len(practice.documents) if images_dir else 0,
                      image_bytes=image_bytes, seconds=round(time.monotonic() - started, 2))
