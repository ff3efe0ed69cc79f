"""The two restore dialogs: a database under a new name (or, typed in full, replacing one),
and files into a chosen folder. Each says exactly what will happen before anything does."""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import platformdirs
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, RadioSet, Static
from textual.worker import Worker, WorkerState

from engine.database.connection import DbTarget, resolve_password
from engine.database.preflight import DatabaseSummary, list_databases
from engine.errors import OdbackupError, UsageError
from engine.folders.restore import RestorePreview, same_folder

from ..widgets import fmt
from ..widgets.choices import Choice, Field, Tick
from .verify import parse_server


@dataclass(frozen=True)
class DatabaseRequest:
    """Restore database ``source`` of the snapshot as ``target.database``."""

    source: str
    target: DbTarget
    replace: bool
    confirm: str | None


@dataclass(frozen=True)
class FilesRequest:
    """Restore ``paths`` of the snapshot (all folders when empty) into ``folder``, or with
    ``original`` back where they came from; ``overwrite`` with ``confirm`` (the live folder's path)
    when that writes into a live folder."""

    paths: tuple[str, ...]
    folder: str | None
    verify: bool
    original: bool = False
    overwrite: bool = False
    confirm: str | None = None


def default_name(database: str, snapshot_time: str) -> str:
    return f"{database}_restored_{fmt.when(snapshot_time).astimezone():%Y%m%d_%H%M}"[:64]


def default_folder(snapshot_time: str) -> str:
    base = os.path.join(platformdirs.user_documents_dir(), "odbackup-restored")
    return os.path.join(base, f"{fmt.when(snapshot_time).astimezone():%Y-%m-%d_%H%M}")


def existing(target: DbTarget) -> DatabaseSummary | None:
    """The database ``target.database`` if it exists and is not empty (a worker)."""
    return next((d for d in list_databases(target) if d.name == target.database and d.tables), None)


def replace_warning(found: DatabaseSummary, target: DbTarget, live: bool, snapshot_time: str) -> Text:
    """Exactly what replacing ``found`` destroys."""
    text = Text()
    text.append(f"'{found.name}' already exists on {target.server}: {fmt.count(found.tables, 'table')}, "
                f"{fmt.size(found.bytes)}. Restoring REPLACES it: everything in it now is deleted and "
                f"replaced by the backup of {fmt.local(snapshot_time)}.\n", style="bold red")
    if live:
        text.append("This is the LIVE database Open Dental works on: every change made since that backup is "
                    "lost, and Open Dental must be closed on every workstation first.\n", style="bold red")
    text.append(f"To go on, type the database's name ({found.name}) below. To keep it, press Back and choose "
                "another name.")
    return text


def new_database_note(source: str, target: DbTarget) -> Text:
    """The exact name a new database gets, shown before it is created."""
    text = Text()
    text.append(f"Restore {source} as the NEW database '{target.database}' on {target.server}.\n", style="bold")
    text.append("Press Restore (Enter) to go on, or Back to change the name.")
    return text


class _ConfirmDialog(ModalScreen):
    """What both restore dialogs share: a check in a worker, then what will happen in place of
    the choices (``#choose``): the go-ahead, or a warning and a field where the name or path to
    be replaced is typed in full. Back returns to the choices; Escape closes the dialog."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def confirm_tail(self, label: str) -> ComposeResult:
        yield Static("", id="replace-warning")
        with Horizontal(classes="form-row", id="confirm-row"):
            yield Label(label)
            yield Field("", id="confirm", compact=True)
        yield Static("", id="dialog-problem", classes="problem")
        with Horizontal(classes="dialog-buttons"):
            yield Button("Restore", variant="primary", id="ok")
            yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#confirm-row").display = False
        self._problem("")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            self._problem(error.message if isinstance(error, OdbackupError) else str(error))
        elif event.state == WorkerState.SUCCESS:
            self._problem("")
            self.checked(event.worker.result)

    def checked(self, result: object) -> None:
        """The worker's answer: dismiss with the request, or show what would be replaced."""
        raise NotImplementedError

    def _problem(self, text: str) -> None:
        self.query_one("#dialog-problem", Static).update(text)
        self.query_one("#dialog-problem").display = bool(text)  # no empty line: the warning needs the room

    @property
    def confirming(self) -> bool:
        return not self.query_one("#choose").display

    def _confirming(self, on: bool, warning: Text | None = None, *, typed: bool = True) -> None:
        """Swap the choices for ``warning`` (and, when ``typed``, the field to type the name or path in),
        so that both fit 80x24; or back to the choices."""
        self.query_one("#choose").display = not on
        self.query_one("#confirm-row").display = on and typed
        self.query_one("#replace-warning", Static).update(warning or "")
        self.query_one("#cancel", Button).label = "Back" if on else "Cancel"
        if not on:
            self.forget()
            self.query_one("#confirm", Input).value = ""

    def forget(self) -> None:
        """What was found is no longer shown: check again before restoring."""
        raise NotImplementedError

    def first_field(self) -> Widget:
        """Where the focus goes back to."""
        raise NotImplementedError

    @on(Button.Pressed, "#cancel")
    def _cancel_or_back(self) -> None:
        if self.confirming:
            self._confirming(False)
            self._problem("")
            self.first_field().focus()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class RestoreDatabaseDialog(_ConfirmDialog):
    """Where to restore a database: a new name (default), or an existing one typed in full."""

    def __init__(self, source: str, server: str, user: str, snapshot_time: str, live: tuple[str, str] | None
                 ) -> None:
        super().__init__()
        self.source, self.server, self.user, self.snapshot_time = source, server, user, snapshot_time
        self.live = live
        """(server, database) of the live database in the settings."""
        self.found: DatabaseSummary | None = None
        self.target: DbTarget | None = None
        self.checked_target: DbTarget | None = None
        """The target whose final name is on screen, waiting for the go-ahead."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Restore database {self.source}", classes="dialog-title")
            with Vertical(id="choose"):
                yield Static("It is restored as a NEW database (the live one is not touched), e.g. to look "
                             "something up or to check the backup.")
                with Horizontal(classes="form-row"):
                    yield Label("New name")
                    yield Field(default_name(self.source, self.snapshot_time), id="name", compact=True)
                with Horizontal(classes="form-row"):
                    yield Label("Server")
                    yield Field(self.server, id="server", compact=True)
                    yield Field(self.user, id="user", compact=True, placeholder="user")
                with Horizontal(classes="form-row"):
                    yield Label("Password")
                    yield Field("", id="password", password=True, compact=True, placeholder="empty: saved one")
            yield from self.confirm_tail("Type name")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#name", Input).focus()

    def first_field(self) -> Widget:
        return self.query_one("#name", Input)

    def forget(self) -> None:
        self.found, self.checked_target = None, None

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        name = self.query_one("#name", Input).value.strip()
        try:
            target = parse_server(self.query_one("#server", Input).value, self.query_one("#user", Input).value)
        except UsageError as exc:
            self._problem(exc.message)
            return
        if not name:
            self._problem("Type the name of the new database.")
            return
        password = self.query_one("#password", Input).value
        target = target.with_database(name)
        target = target.with_password(password) if password else resolve_password(target)
        if self.confirming and self.checked_target == target:  # the final name is shown: the go-ahead
            self._go_ahead(target)
            return
        self.target = target
        self._problem("Checking the server...")
        self.run_worker(lambda: existing(target), name="exists", thread=True, exclusive=True, exit_on_error=False)

    def _go_ahead(self, target: DbTarget) -> None:
        if self.found is None:
            self.dismiss(DatabaseRequest(self.source, target, False, None))
            return
        if self.query_one("#confirm", Input).value != self.found.name:
            self._problem(f"Type {self.found.name} exactly to go on (or Back, to choose another name).")
            return
        self.dismiss(DatabaseRequest(self.source, target, True, self.found.name))

    def checked(self, result: object) -> None:
        """Show the exact final name before anything happens: a new database is confirmed with
        Enter (or Restore), one that exists only with its name typed in full."""
        assert self.target is not None
        self.found = result  # type: ignore[assignment]
        self.checked_target = self.target
        if self.found is None:
            self._confirming(True, new_database_note(self.source, self.target), typed=False)
            self.query_one("#ok", Button).focus()
            return
        live = self.live == (self.target.server, self.target.database)
        self._confirming(True, replace_warning(self.found, self.target, live, self.snapshot_time))
        self.query_one("#confirm", Input).focus()


def live_warning(found: RestorePreview, snapshot_time: str) -> Text:
    """Exactly what restoring into a live folder replaces, and what it leaves alone."""
    live = found.live[0]
    text = Text()
    text.append(f"This writes into {live}, the LIVE folder the office works in: to go on, type its full path "
                "below.\n", style="bold red")
    if found.replaced:
        shown = ", ".join(found.replaced[:2]) + (f" and {len(found.replaced) - 2:,} more" if len(found.replaced) > 2
                                                 else "")
        text.append(f"REPLACED: {fmt.count(len(found.replaced), 'file')} differing from the backup of "
                    f"{fmt.local(snapshot_time)}: {shown}. Their current versions are moved to "
                    f"{live}.odbackup-replaced-<date>; nothing is deleted.\n", style="bold")
    if found.new_files:
        text.append(f"Put back: {fmt.count(found.new_files, 'missing file')} ({fmt.size(found.new_bytes)}).\n")
    text.append(f"Left alone: {fmt.count(found.unchanged, 'file')} already as in the backup, and every file "
                "that is not in the backup.")
    return text


class RestoreFilesDialog(_ConfirmDialog):
    """Where to restore files: a separate folder (the default; existing files are never overwritten), or
    back where they came from, which replaces what differs only with the live folder's path typed in full."""

    def __init__(self, paths: tuple[str, ...], snapshot_time: str, sources: tuple[str, ...],
                 preview: Callable[[str | None, bool], RestorePreview]) -> None:
        super().__init__()
        self.paths, self.snapshot_time, self.sources = paths, snapshot_time, sources
        self.preview = preview
        """Runs in a worker: what restoring into (folder, original) would do."""
        self.found: RestorePreview | None = None
        self.asked: tuple[str | None, bool] | None = None

    def compose(self) -> ComposeResult:
        what = ", ".join(self.paths) if self.paths else "every folder of the snapshot"
        with Vertical(classes="dialog"):
            yield Label("Restore files", classes="dialog-title")
            with Vertical(id="choose"):
                yield Static(f"Restore {what} as of {fmt.local(self.snapshot_time)}:")
                with RadioSet(id="where", compact=True):
                    yield Choice("Into a separate folder (the live folders are not touched)", True, id="separate")
                    yield Choice(f"Back in place, in {', '.join(self.sources)} (replaces what differs)",
                                 id="original")
                with Horizontal(classes="form-row", id="folder-row"):
                    yield Label("Into folder")
                    yield Field(default_folder(self.snapshot_time), id="folder", compact=True)
                yield Tick("Re-read every restored file and compare (slower, certain)", True, id="verify",
                           compact=True)
            yield from self.confirm_tail("Type path")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#folder", Input).focus()

    def first_field(self) -> Widget:
        return self.query_one("#original", Choice) if self.original else self.query_one("#folder", Input)

    def forget(self) -> None:
        self.found = None

    @property
    def original(self) -> bool:
        return self.query_one("#original", Choice).value

    @on(RadioSet.Changed, "#where")
    def _where_changed(self) -> None:
        self.query_one("#folder-row").display = not self.original
        self._reset()

    @on(Input.Changed, "#folder")
    def _reset(self) -> None:
        self._confirming(False)  # look again before restoring

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        typed = self.query_one("#folder", Input).value.strip()
        if not self.original and not typed:
            self._problem("Type the folder to restore into.")
            return
        asked = (None, True) if self.original else (os.path.abspath(os.path.expanduser(typed)), False)
        if self.confirming and self.found is not None and self.asked == asked:
            self._confirm(asked)
            return
        self.asked = asked
        self._problem("Looking at what is there now...")
        self.run_worker(lambda: self.preview(*asked), name="preview", thread=True, exclusive=True,
                        exit_on_error=False)

    def _request(self, asked: tuple[str | None, bool], confirm: str | None) -> FilesRequest:
        folder, original = asked
        return FilesRequest(self.paths, folder, self.query_one("#verify", Tick).value, original=original,
                            overwrite=confirm is not None, confirm=confirm)

    def _confirm(self, asked: tuple[str | None, bool]) -> None:
        assert self.found is not None
        typed = self.query_one("#confirm", Input).value
        if not same_folder(typed, self.found.live[0]):
            self._problem(f"Type {self.found.live[0]} exactly to go on (or Back, to restore into a separate folder).")
            return
        self.dismiss(self._request(asked, typed))

    def checked(self, result: object) -> None:
        assert self.asked is not None and isinstance(result, RestorePreview)
        self.found = result
        if not result.live:
            self.dismiss(self._request(self.asked, None))
            return
        if len(result.live) > 1:
            self._problem("That writes into several live folders: restore one folder at a time.")
            return
        self._confirming(True, live_warning(result, self.snapshot_time))
        self.query_one("#confirm", Input).focus()
