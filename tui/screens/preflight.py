"""Before a backup: who is connected, what will be locked, and for about how long.

The user continues, switches to per-table locking, or cancels. Folder-only
setups skip this and start at once.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, Header, Static

from engine.errors import NoCredentials, OdbackupError
from engine.events import AdminPasswordsChecked, DatabasePreflight, PatientFilesChecked
from engine.settings import Settings

from ..messages import JobDone, JobFailed
from ..widgets import fmt
from .common import JobScreen, open_repo

if TYPE_CHECKING:
    from ..app import OdbackupApp

MANY_CONNECTIONS_SHOWN = 8
MISSING_SHOWN = 5


def start_backup(app: OdbackupApp) -> None:
    """Back up now: the preflight first when there is a database, else straight to the backup."""
    from .backup import BackupScreen

    settings = app.settings
    assert settings is not None  # the dashboard (where this starts) needs settings
    if settings.database is None:
        app.push_screen(BackupScreen(None))
    else:
        app.push_screen(PreflightScreen())


@dataclass(frozen=True)
class PreflightInfo:
    """What the preflight found (with the first-run guess when no run has measured the lock)."""

    preflight: DatabasePreflight
    lock_timeout: float
    patient_files: PatientFilesChecked | None = None
    """The database's patient files against today's images folder (None: not looked at)."""
    admin_passwords: AdminPasswordsChecked | None = None
    """Open Dental's admin users without a password (None: not looked at)."""


def run_preflight(settings: Settings, secret: str | None) -> PreflightInfo:
    """Look at the database without locking anything (runs in a worker)."""
    from engine.database.connection import resolve_password
    from engine.database.preflight import patient_files, preflight
    from engine.opendental.admins import check_quietly

    db = settings.database
    assert db is not None
    target = resolve_password(db.target())
    try:
        repo = open_repo(settings.repository, full=False, secret=secret)
    except (NoCredentials, OdbackupError):
        repo = None  # the estimate is only missing; the backup itself will say what is wrong
    found = preflight(target, lock_mode=db.lock_mode, repo=repo)
    return PreflightInfo(found, db.lock_timeout, patient_files(target, settings.images_folder),
                         check_quietly(target))


def describe(info: PreflightInfo, lock_mode: str) -> Text:
    """The preflight in plain words, for ``lock_mode``."""
    p = info.preflight
    text = Text()
    text.append(f"Database {p.database} on {p.server}: {fmt.count(p.tables, 'table')}, {fmt.size(p.data_bytes)}.\n",
                style="bold")
    nontx = len(p.non_transactional)
    if nontx:
        text.append(f"  {fmt.count(nontx, 'MyISAM table')}: locked while they are read (the office's changes "
                    "to them wait).\n")
    if p.transactional:
        text.append(f"  {fmt.count(p.transactional, 'InnoDB table')}: never block anyone.\n")
    text.append("\n")
    text.append_text(_who(p))
    text.append("\n")
    text.append_text(_what_happens(info, lock_mode))
    if info.patient_files is not None:
        text.append("\n")
        text.append_text(_patient_files(info.patient_files))
    if info.admin_passwords is not None:
        text.append_text(_admin_passwords(info.admin_passwords))
    return text


def _admin_passwords(found: AdminPasswordsChecked) -> Text:
    """Open Dental's admin users without a password: said before the backup, which still runs."""
    from engine.opendental.admins import HINT, finding, summary_words

    said = finding(found)
    if said is None:
        return Text(summary_words(found) + "\n", style="dim")
    return Text(f"{said}: {HINT}.\n", style="bold yellow")


def _patient_files(found: PatientFilesChecked) -> Text:
    """The note on the files the database names: missing ones today are said before they matter."""
    from engine.opendental.documents import missing_words, summary_words

    if not found.missing_total:
        return Text(summary_words(found) + "\n", style="dim")
    text = Text(missing_words(found)[0].upper() + missing_words(found)[1:] + ": ", style="bold yellow")
    more = found.missing_total - min(len(found.missing), MISSING_SHOWN)
    text.append(", ".join(found.missing[:MISSING_SHOWN]) + (f" and {more:,} more" if more else "") + ".\n")
    text.append("They cannot be in the backup either: restore them from an older backup or rescan them.\n",
                style="dim")
    return text


def _who(p: DatabasePreflight) -> Text:
    text = Text()
    if not p.sees_all_connections:
        text.append("Who else is connected cannot be seen (the database user lacks the PROCESS privilege).\n",
                    style="yellow")
    elif p.connections:
        shown = ", ".join(p.connections[:MANY_CONNECTIONS_SHOWN])
        more = f" and {len(p.connections) - MANY_CONNECTIONS_SHOWN} more" if len(p.connections) > 8 else ""
        text.append(f"Connected now: {fmt.count(len(p.connections), 'other session')} ({shown}{more}).\n")
    else:
        text.append("Nobody else is connected to the database server right now.\n", style="green")
    for query in p.long_queries:
        text.append(f"Long-running query (it delays the lock): {query}\n", style="yellow")
    return text


def _what_happens(info: PreflightInfo, lock_mode: str) -> Text:
    p = info.preflight
    text = Text()
    if not p.non_transactional:
        text.append("All tables are InnoDB: the backup never blocks the office.\n", style="green")
        return text
    if lock_mode == "consistent":
        if p.estimated_lock_seconds is not None:
            how_long = f"about {fmt.duration(p.estimated_lock_seconds)} (measured by the last backup)"
        elif p.first_run_guess_seconds is not None:
            how_long = f"about {fmt.duration(p.first_run_guess_seconds)} (a first-run guess; later runs are quicker)"
        else:
            how_long = "while the changed MyISAM tables are read"
        text.append("Consistent locking (chosen): ", style="bold")
        text.append(f"every table on this server (this database's and every other database's) is read-only "
                    f"for the office for {how_long}; all tables are copied as of one instant.\n")
        text.append("Per-table locking instead pauses each table only while it is read (usually well "
                    "under a second), but the tables are not all from one instant.\n", style="dim")
    else:
        text.append("Per-table locking (chosen): ", style="bold")
        text.append("each MyISAM table is read-only only while it is read (usually well under a second); "
                    "the tables are not all from one instant.\n")
    text.append(f"While a lock is asked for, the office's changes wait too; a lock that is not granted within "
                f"{info.lock_timeout:g} s is withdrawn so the office can work, then tried again.\n", style="dim")
    return text


class PreflightScreen(JobScreen):
    """What the backup will do to the office; continue, switch to per-table, or cancel."""

    BINDINGS = [
        Binding("enter", "go", "Continue", show=True),
        Binding("p", "toggle_mode", "Switch lock mode"),
        Binding("escape", "cancel", "Cancel"),
    ]

    @dataclass
    class Looked(JobDone):
        """What the preflight found."""

        info: PreflightInfo

    def __init__(self) -> None:
        super().__init__()
        self.info: PreflightInfo | None = None
        self.lock_mode = "consistent"

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="preflight-body"):
            yield Static("Looking at the database (nothing is locked)...", id="preflight-text")
        with Horizontal(classes="buttons"):
            yield Button("Continue", variant="primary", id="go", disabled=True)
            yield Button("Switch to per-table", id="toggle", disabled=True)
            yield Button("Cancel", id="cancel")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Back up now: before starting"
        settings = self.settings
        assert settings.database is not None  # see start_backup
        self.lock_mode = settings.database.lock_mode
        self.start_job("preflight", lambda: self.Looked(run_preflight(settings, self.app.secret)))

    def on_preflight_screen_looked(self, message: Looked) -> None:
        self.info = message.info
        self.query_one("#go", Button).disabled = False
        self.query_one("#toggle", Button).disabled = not message.info.preflight.non_transactional
        self.query_one("#go", Button).focus()
        self._render_text()

    def on_job_failed(self, message: JobFailed) -> None:
        error = message.error
        self.query_one("#preflight-text", Static).update(
            Text(f"{error.title}: {error.message}\n{error.hint or ''}", style="bold red"))

    def _render_text(self) -> None:
        if self.info is None:
            return
        self.query_one("#preflight-text", Static).update(describe(self.info, self.lock_mode))
        other = "consistent" if self.lock_mode == "per-table" else "per-table"
        self.query_one("#toggle", Button).label = f"Switch to {other}"
        self.query_one("#go", Button).label = f"Continue ({self.lock_mode})"

    @on(Button.Pressed, "#toggle")
    def action_toggle_mode(self) -> None:
        if self.info is None or not self.info.preflight.non_transactional:
            return
        self.lock_mode = "per-table" if self.lock_mode == "consistent" else "consistent"
        self._render_text()

    @on(Button.Pressed, "#go")
    def action_go(self) -> None:
        if self.info is None:
            return
        from .backup import BackupScreen

        self.app.switch_screen(BackupScreen(self.lock_mode))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.app.pop_screen()
