"""Adding an archive drive: the dialog of the Archives screen, and the job both it and the setup's
Archives step run (the main repository's passphrase, asked once per session; what opens the new
drive: the practice's passphrase and recovery key, or beside backups made by an older odbackup,
a recovery key of its own, shown once)."""
from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Header, Input, Label, Static

from engine.archive.enroll import AddedDrive, add_with_passphrase
from engine.errors import NeedsFullKey
from engine.settings import Settings

from ..messages import JobDone, JobFailed
from ..widgets.archive_form import ArchiveDriveForm
from .common import JobScreen


def add_job(location: str, settings: Settings | None, path: str, label: str, kind: str,
            secret: str | None) -> AddedDrive:
    """Make ``path`` an archive drive of the repository at ``location`` (in a worker)."""
    if not secret:
        raise NeedsFullKey("Making an archive drive needs the passphrase of the backups.")
    from engine.jobsettings import RetentionSettings

    retention = (settings.retention if settings is not None else RetentionSettings()).policy()
    return add_with_passphrase(path, label, kind, location, secret, retention,
                               settings.folders if settings is not None else ())


class DriveKeyScreen(ModalScreen[None]):
    """What opens the new drive: the practice's passphrase and recovery key (or its own recovery key,
    shown once, beside a main repository made by an older odbackup)."""

    BINDINGS = [Binding("escape,enter", "close", "Close")]

    def __init__(self, added: AddedDrive) -> None:
        super().__init__()
        self.added = added

    def compose(self) -> ComposeResult:
        d, key = self.added.drive, self.added.recovery_key
        where = f"It is at {d.hint} and is recognized by its ID ({d.repo_id[:8]}) wherever it is plugged in. "
        with Vertical(classes="dialog"):
            yield Label(f"'{d.label}' is an archive drive", classes="dialog-title")
            if key:
                yield Static(where + "The practice's passphrase opens it. Your backups were made by an older "
                             "odbackup, so their recovery key does not: this RECOVERY KEY does, shown only now. "
                             "Write it down and keep it apart from the drive:")
                yield Static(key, id="drive-key", classes="dialog-title")
            else:
                opened = ("The practice's passphrase and recovery key open it: no new key to write down."
                          if self.added.created else "An existing archive repository: what opens it is unchanged.")
                yield Static(where + opened, id="drive-key")
            with Horizontal(classes="dialog-buttons"):
                yield Button("I wrote it down" if key else "OK", variant="primary", id="ok")

    def on_mount(self) -> None:
        self.query_one("#ok", Button).focus()

    @on(Button.Pressed, "#ok")
    def action_close(self) -> None:
        self.dismiss(None)


class AddDriveScreen(JobScreen):
    """Folder, label, kind; Add makes the drive an archive drive (module docstring)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "add", "Add")]
    DEFAULT_CSS = """
    AddDriveScreen #add-body { padding: 0 1; height: auto; }
    AddDriveScreen #add-problem { padding: 0 1; }
    """

    @dataclass
    class Added(JobDone):
        """The drive was made an archive drive."""

        added: AddedDrive

    def __init__(self, settings: Settings, blank: str | None = None) -> None:
        super().__init__()
        self.saved = settings
        self.blank = blank
        """A drive plugged in that holds no backups: its folder is offered."""

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="add-body"):
            yield Static("Make a drive an archive drive. Plug it in and type an EMPTY folder on it (or the "
                         "blank drive itself): odbackup makes a repository there related to your backups, "
                         "and from then on finds the drive by its ID, whatever letter or place it gets. A "
                         "folder holding anything else is refused, and nothing is written there.",
                         classes="hint")
            yield ArchiveDriveForm(id="drive-form")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button("Make it an archive drive", variant="primary", id="add", compact=True)
        yield Static("", id="add-problem", classes="problem")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Add an archive drive"
        if self.blank:
            import os

            self.query_one("#drive-path", Input).value = os.path.join(self.blank, "odbackup")
        self.query_one("#drive-path").focus()

    def repository_location(self) -> str:
        return self.saved.repository

    @on(Button.Pressed, "#add")
    def action_add(self) -> None:
        if self.job_running("add"):
            return
        answer = self.query_one(ArchiveDriveForm).read()
        if isinstance(answer, str):
            self.problem(answer)
            return
        self.problem("Making the archive drive...")
        path, label, kind = answer
        location, settings = self.saved.repository, self.saved
        self.start_job("add", lambda: self.Added(add_job(location, settings, path, label, kind,
                                                         self.app.secret)))

    def problem(self, text: str) -> None:
        self.query_one("#add-problem", Static).update(text)

    def on_add_drive_screen_added(self, message: Added) -> None:
        self.problem("")

        def written_down(_none: None) -> None:
            self.dismiss(message.added)  # not awaited: called from this screen's own message handling

        self.app.push_screen(DriveKeyScreen(message.added), written_down)

    def on_job_failed(self, message: JobFailed) -> None:
        if message.job == "add":
            error = message.error
            self.problem(f"{error.message} {error.hint or ''}".strip())
            self.query_one("#drive-path").focus()  # the folder is what to fix, most often
            message.stop()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
