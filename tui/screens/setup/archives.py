"""Setup, optional step: archive drives (rotating drives taken home in turn, monthly drives kept).

It can be skipped and done later (the dashboard's ``a``). A drive added here is made an archive
drive at once (its repository is created; the backups' passphrase and recovery key open it, and
only beside backups made by an older odbackup is a recovery key of its own shown once), since the
backups' repository already exists at this point; the settings are saved at the last step as always.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from textual import on
from textual.widget import Widget
from textual.widgets import Button, Input, Static

from engine.archive.enroll import AddedDrive

from ...messages import JobDone, JobFailed
from ...widgets.archive_form import ArchiveDriveForm
from ..archives_add import DriveKeyScreen, add_job
from ..common import passphrase_first
from .base import SetupStep
from .draft import SetupDraft


class ArchivesStep(SetupStep):
    """Add archive drives, or skip (module docstring)."""

    HEADING = "Archive drives (optional: Skip to do it later)"
    NEXT_LABEL = "Skip"
    NEXT_JOBS = ("add",)
    OWN_ENTER = ("drive-label",)

    @dataclass
    class Added(JobDone):
        """A drive was made an archive drive."""

        added: AddedDrive

    def __init__(self, draft: SetupDraft) -> None:
        super().__init__(draft)
        self.added: list[AddedDrive] = []

    def body(self) -> Iterable[Widget]:
        yield Static("Keep more copies away from the office: plug in a drive, type an empty folder on it "
                     "and a label, and add it. Rotating drives take turns (one here, one at home) and keep "
                     "what your backups keep; a monthly drive keeps everything until it is full.",
                     classes="hint")
        yield ArchiveDriveForm(id="drive-form")
        yield Button("Add this drive", id="add-drive", compact=True)
        yield Static("", id="drives-added")

    @on(Button.Pressed, "#add-drive")
    def add_drive(self) -> None:
        if self.job_running("add"):
            return
        answer = self.query_one(ArchiveDriveForm).read()
        if isinstance(answer, str):
            self.problem(answer)
            return
        self.problem(None)
        path, label, kind = answer
        location = self.draft.repository_ready or self.draft.repository
        settings = self.draft.to_settings()
        self.say("drives-added", "Making the archive drive...")
        self.start_job("add", lambda: self.Added(add_job(location, settings, path, label, kind,
                                                         passphrase_first(self.draft.secret, self.app.secret))))

    @on(Input.Submitted, "#drive-label")
    def _label_entered(self) -> None:
        """Enter in the label field adds the drive (the base class leaves OWN_ENTER fields to us)."""
        self.add_drive()

    def on_archives_step_added(self, message: Added) -> None:
        self.added.append(message.added)
        self.query_one(ArchiveDriveForm).clear()
        self.say("drives-added", "Added: " + "; ".join(f"{a.drive.label} ({a.drive.kind}, {a.drive.hint})"
                                                        for a in self.added))
        self.query_one("#next", Button).label = "Next"
        self.app.push_screen(DriveKeyScreen(message.added), self._ready_for_another)

    def _ready_for_another(self, _closed: None) -> None:
        """Back in the cleared form, the folder of the next drive is what to type."""
        self.query_one("#drive-path").focus()

    def on_job_failed(self, message: JobFailed) -> None:
        if message.job == "add":
            self.say("drives-added", "")
            self.problem(f"{message.error.message} {message.error.hint or ''}".strip())
            self.query_one("#drive-path").focus()  # the folder is what to fix, most often (as AddDriveScreen)
            message.stop()

    def next_step(self) -> SetupStep:
        from .supplemental import after_encryption

        return after_encryption(self.draft)  # the Supplemental step with a database, else the last
