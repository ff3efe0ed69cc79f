"""Setup step 1: the database server (host, port, user, password) and a Test button."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Static

from engine.database.connection import DbTarget, connect, one_row
from engine.database.preflight import DatabaseSummary, list_databases
from engine.settings import DatabaseSettings

from ...messages import JobDone, JobFailed
from ...widgets.choices import Field, Tick
from .base import SetupStep, field_row


@dataclass(frozen=True)
class ServerInfo:
    """What the Test found: the server's version and its databases."""

    version: str
    databases: list[DatabaseSummary]


def test_server(target: DbTarget) -> ServerInfo:
    """Connect and list the databases (runs in a worker)."""
    conn = connect(target)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT VERSION()")
            version = str(one_row(cur)[0])
    finally:
        conn.close()
    return ServerInfo(version, list_databases(target))


class ServerStep(SetupStep):
    """Where Open Dental's database server is, and how odbackup logs in."""

    STEP = 1
    HEADING = "What to back up: the database server"
    NEXT_JOBS = ("test",)
    BINDINGS = SetupStep.BINDINGS + [Binding("ctrl+t", "test", "Test")]

    @dataclass
    class Tested(JobDone):
        """The connection works: what the server is and holds."""

        info: ServerInfo

    def __init__(self, draft: Any) -> None:
        super().__init__(draft)
        self.info: ServerInfo | None = None
        self._then_next = False

    def body(self) -> Iterable[Widget]:
        d = self.draft
        yield Static("Open Dental keeps its data in a MySQL or MariaDB database, usually on the office server. "
                     "Its address and login are in FreeDentalConfig.xml on any workstation.")
        yield Tick("Back up a database (uncheck for folders only)", d.use_database, id="use-db", compact=True)
        yield field_row("Server", Field(d.host, placeholder="e.g. 127.0.0.1 or the server's name", id="host"))
        yield field_row("Port", Field(str(d.port), type="integer", id="port"))
        yield field_row("User", Field(d.user, id="user"))
        yield field_row("Password", Field(d.password or "", password=True, id="password",
                                          placeholder="empty: use the saved one (or none)"))
        yield Button("Test the connection (Ctrl+T)", id="test", compact=True)
        yield Static("", id="test-result")

    def _read_fields(self) -> str | None:
        d = self.draft
        d.use_database = self.query_one("#use-db", Checkbox).value
        d.host = self.query_one("#host", Input).value.strip()
        d.user = self.query_one("#user", Input).value.strip()
        password = self.query_one("#password", Input).value
        d.password = password or None
        typed = self.query_one("#port", Input).value.strip()
        port = int(typed) if typed.isdigit() else 0  # not a number: said as a wrong port
        found = DatabaseSettings(host=d.host, port=port, user=d.user).problems()  # the engine's words
        if found:
            return found[0]
        d.port = port
        return None

    @on(Button.Pressed, "#test")
    def action_test(self) -> None:
        self._then_next = False
        self._start_test()

    def _start_test(self) -> None:
        found = self._read_fields()
        if found:
            self.problem(found)
            return
        self.problem(None)
        self.say("test-result", f"Connecting to {self.draft.host}:{self.draft.port}...")
        self.start_job("test", lambda: self.Tested(test_server(self.draft.target())))

    def next_requested(self) -> None:
        self.draft.use_database = self.query_one("#use-db", Checkbox).value
        if not self.draft.use_database:
            self.go_next()
            return
        self._then_next = True
        self._start_test()

    def on_server_step_tested(self, message: Tested) -> None:
        self.info = result = message.info
        self.say("test-result", Text(
            f"Connected: {result.version} at {self.draft.host}:{self.draft.port} as {self.draft.user}; "
            f"{len(result.databases)} databases.", style="green"))
        if self._then_next:
            self.go_next()

    def on_job_failed(self, message: JobFailed) -> None:
        message.stop()  # said on the step itself
        error = message.error
        self.say("test-result", Text(error.title, style="bold red"))
        self.problem(f"{error.message} {error.hint or ''}".strip())

    def next_step(self) -> SetupStep:
        if self.draft.use_database and self.info is not None:
            from .database import DatabaseStep

            return DatabaseStep(self.draft, self.info.databases)
        from .folders import FoldersStep

        return FoldersStep(self.draft)
