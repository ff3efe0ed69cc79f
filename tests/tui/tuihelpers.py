"""Helpers of the app's tests."""
from __future__ import annotations

import os
from typing import TypeVar

import pymysql
import pytest
from textual.pilot import Pilot
from textual.screen import Screen
from textual.worker import WorkerCancelled, WorkerFailed

PASSPHRASE = "tui test passphrase"
SIZE_SMALL = (80, 24)
SIZE_LARGE = (120, 40)
S = TypeVar("S", bound=Screen)


def admin_conn() -> pymysql.connections.Connection:
    try:
        return pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", autocommit=True,
                               charset="utf8mb4")
    except pymysql.err.OperationalError as exc:
        pytest.fail(f"MariaDB on 127.0.0.1:3306 does not answer ({exc}); start it (see .ci/run)")


def make_images(path: str, patients: int = 3) -> str:
    """A tiny A to Z folder: S/SmithJohn1/... with a few files each."""
    for n in range(patients):
        folder = os.path.join(path, "S", f"SmithJohn{n}")
        os.makedirs(folder, exist_ok=True)
        for k in range(3):
            with open(os.path.join(folder, f"xray{k}.jpg"), "wb") as f:
                f.write(os.urandom(2000 + 100 * k))
    return path


def make_small_database(name: str, rows: int = 50) -> None:
    """Two MyISAM tables (patient, procedurelog) and one InnoDB table."""
    conn = admin_conn()
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
        cur.execute(f"CREATE TABLE `{name}`.patient (PatNum BIGINT PRIMARY KEY, LName VARCHAR(100)) ENGINE=MyISAM")
        cur.execute(f"CREATE TABLE `{name}`.procedurelog (ProcNum BIGINT PRIMARY KEY, PatNum BIGINT, "
                    "ProcFee DOUBLE) ENGINE=MyISAM")
        cur.execute(f"CREATE TABLE `{name}`.newtable (Id INT PRIMARY KEY, Note TEXT) ENGINE=InnoDB")
        for n in range(rows):
            cur.execute(f"INSERT INTO `{name}`.patient VALUES (%s, %s)", (n, f"Smith{n}"))
            cur.execute(f"INSERT INTO `{name}`.procedurelog VALUES (%s, %s, %s)", (n, n, 12.5 * n))
        cur.execute(f"INSERT INTO `{name}`.newtable VALUES (1, 'hello')")
    conn.close()


async def settle(pilot: Pilot) -> None:
    """Let every worker finish and every message be handled (no sleeping)."""
    await pilot.pause()
    for _ in range(20):
        try:
            await pilot.app.workers.wait_for_complete()
        except (WorkerFailed, WorkerCancelled):
            pass  # a job that failed (or was stopped) is done too: the screen shows how
        await pilot.pause()
        if not any(w.is_running for w in pilot.app.workers):
            break
    # a job's outcome is posted when its worker's state changes, then handled, then the widgets
    # it filled lay out: a message hop each, and more on a busy machine
    await settle_layout(pilot)


async def settle_layout(pilot: Pilot, rounds: int = 40) -> None:
    """Pause until every widget's place and scroll position stayed the same for three pauses running.

    A panel that grows makes the widgets above it lay out again, and a scroll to a widget happens
    only once it has a place: a fixed number of pauses is enough on an idle machine, not on a busy one.
    """
    def layout() -> tuple:
        return tuple((id(w), w.region, w.scroll_offset, w.virtual_size) for w in pilot.app.screen.walk_children())

    before, calm = layout(), 0
    for _ in range(rounds):
        await pilot.pause()
        now = layout()
        calm = calm + 1 if now == before else 0
        if calm >= 3:
            return
        before = now


async def open_from_home(pilot: Pilot, key: str, screen_class: type[S]) -> S:
    """From the dashboard, press ``key`` and return the screen it opens (a ``screen_class``)."""
    from tui.screens.dashboard import DashboardScreen

    await settle(pilot)
    assert isinstance(pilot.app.screen, DashboardScreen)
    await pilot.press(key)
    await settle(pilot)
    assert isinstance(pilot.app.screen, screen_class)
    return pilot.app.screen


def lines_of(screen, selector: str) -> list[str]:
    """The plain lines of an InfoPanel."""
    return list(screen.query_one(selector).lines)


def text_of(widget) -> str:
    """What a Static shows, as plain text."""
    content = widget.content
    return content.plain if hasattr(content, "plain") else str(content)


def burst(pilot: Pilot, keys: list[str]) -> None:
    """Send ``keys`` to the app all at once, as a terminal over a slow link delivers a held key
    and the typing after it (``pilot.press`` waits for the app to be idle after every key)."""
    from textual import events

    driver = pilot.app._driver
    assert driver is not None
    for key in keys:
        event = events.Key(key, key if len(key) == 1 else None)
        event.set_sender(pilot.app)
        driver.send_message(event)
