"""How jobs end: each job's outcome is a typed message declared in the screen that runs it,
and that screen handles it (a handler whose name is misspelt, or missing, would drop the
result silently: the screen would wait for ever)."""
from __future__ import annotations

import importlib
import pkgutil
import sys
import threading
import time
import typing
from datetime import datetime

from textual.app import App
from textual.widgets import RichLog
from tuihelpers import settle

import tui.screens
from tui.joblog import LogFile, LogLine
from tui.messages import JobDone
from tui.screens import logs
from tui.screens.backup import BackupScreen
from tui.screens.common import JobScreen
from tui.screens.restore import RestoreScreen
from tui.screens.setup.encryption import EncryptionStep


def outcome_messages() -> list[type[JobDone]]:
    """Every job outcome of every screen (all screen modules imported first)."""
    for module in pkgutil.walk_packages(tui.screens.__path__, "tui.screens."):
        importlib.import_module(module.name)
    found, todo = [], list(JobDone.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def owner_of(message: type[JobDone]) -> type:
    """The class a message is declared in (``BackupScreen`` for ``BackupScreen.Finished``)."""
    outer = message.__qualname__.split(".")[0]
    return getattr(sys.modules[message.__module__], outer)


def test_every_job_outcome_is_handled_by_the_screen_that_declares_it():
    messages = outcome_messages()
    assert {BackupScreen.Finished, RestoreScreen.FilesRestored, EncryptionStep.Created} <= set(messages)
    problems = []
    for message in messages:
        owner = owner_of(message)
        if owner is message or not issubclass(owner, JobScreen):
            problems.append(f"{message.__qualname__}: declare it inside the screen that runs the job")
            continue
        handler = getattr(owner, message.handler_name, None)
        if not callable(handler):
            problems.append(f"{message.__qualname__}: {owner.__name__} has no {message.handler_name}")
            continue
        hints = typing.get_type_hints(handler, localns=dict(vars(owner)))
        if hints.get("message") is not message:
            problems.append(f"{owner.__name__}.{message.handler_name} takes {hints.get('message')}")
    assert problems == []


def test_every_job_outcome_says_what_it_means():
    assert [m.__qualname__ for m in outcome_messages() if not (m.__doc__ or "").strip()
            or m.__doc__ == JobDone.__doc__] == []


async def test_a_replaced_job_never_delivers_its_outcome(monkeypatch):
    """The log highlighted first is slow to read; the user moves on to the next one. The first
    read's thread runs on, but its result must not replace what is shown (the outcome is posted
    only for a worker that succeeded, never from the thread)."""
    files = [LogFile(f"/logs/{n}.log", "backup", datetime(2025, 6, 30 - n, 18, 5), 0, 0) for n in range(2)]
    first_asked, release, first_returned = threading.Event(), threading.Event(), threading.Event()

    def read_log(path: str) -> list[LogLine]:
        if path.endswith("0.log"):
            first_asked.set()
            release.wait(10)
            first_returned.set()
            return [LogLine("", "INFO", "the FIRST log")]
        return [LogLine("", "INFO", "the second log")]

    monkeypatch.setattr(logs, "list_logs", lambda: files)
    monkeypatch.setattr(logs, "read_log", read_log)

    class Host(App):
        def on_mount(self) -> None:
            self.push_screen(logs.LogsScreen())

    app = Host()
    async with app.run_test() as pilot:
        deadline = time.monotonic() + 10
        while not first_asked.is_set() and time.monotonic() < deadline:
            await pilot.pause(0.05)
        assert first_asked.is_set(), "the first log was never read"
        await pilot.press("down")
        await settle(pilot)
        view = app.screen.query_one("#log-view", RichLog)
        assert [str(line.text) for line in view.lines] == ["the second log"]
        release.set()
        assert first_returned.wait(10)
        await settle(pilot)
        assert [str(line.text) for line in view.lines] == ["the second log"]
