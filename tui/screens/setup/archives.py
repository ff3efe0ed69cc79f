"""Setup, optional step: archive drives (rotating drives taken home in turn, monthly drives kept).

It can be skipped and done later (the dashboard's ``a``). "Online storage (S3-compatible)..." sets
up the offsite copy instead (or too): the Online storage dialog tests the place, then the offsite
repository is made there at once, related to the backups' (as ``init --related-to`` does:
engine/offsite/make.py), and the offsite copy is turned on with its default window and nights. A drive added here is made an archive
drive at once (its repository is created; the backups' passphrase and recovery key open it, and
only beside backups made by an older odbackup is a recovery key of its own shown once), since the
backups' repository already exists at this point; the settings are saved at the last step as always.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from textual import on
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Button, Input, Static

from engine.archive.enroll import AddedDrive
from engine.offsite.make import MadeOffsite

from ...messages import JobDone, JobFailed
from ...widgets.archive_form import ArchiveDriveForm
from ..archives_add import DriveKeyScreen, add_job
from ..common import passphrase_first
from .base import SetupStep
from .draft import SetupDraft
from .online import OnlineChoice, OnlineStorageDialog


def offsite_job(choice: OnlineChoice, main: str, secret: str | None) -> MadeOffsite:
    """Make the offsite repository the dialog chose, related to the backups at ``main`` (in a worker)."""
    from engine.errors import NeedsFullKey
    from engine.offsite.make import make_offsite

    if not secret:
        raise NeedsFullKey("Making the offsite copy needs the passphrase of the backups.",
                           hint="Type the passphrase (the recovery key does not make one).")
    return make_offsite(choice.location, main, secret, object_lock_days=choice.object_lock_days)


class ArchivesStep(SetupStep):
    """Add archive drives, or skip (module docstring)."""

    HEADING = "Archive drives (optional: Skip to do it later)"
    NEXT_LABEL = "Skip"
    NEXT_JOBS = ("add", "offsite")
    DEFAULT_CSS = """
    ArchivesStep #archive-actions { height: auto; }
    ArchivesStep #archive-actions Button { margin: 0 3 0 0; }
    """
    OWN_ENTER = ("drive-label",)

    @dataclass
    class Added(JobDone):
        """A drive was made an archive drive."""

        added: AddedDrive

    @dataclass
    class OffsiteMade(JobDone):
        """The offsite repository was made (or found) in online storage."""

        made: MadeOffsite

    def __init__(self, draft: SetupDraft) -> None:
        super().__init__(draft)
        self.added: list[AddedDrive] = []
        if self.draft.to_settings().offsite.enabled:
            self.NEXT_LABEL = "Next"  # the offsite copy is set up: this step is not skipped

    def body(self) -> Iterable[Widget]:
        yield Static("Keep more copies away from the office: plug in a drive, type an empty folder on it "
                     "and a label, and add it. Rotating drives take turns (one here, one at home) and keep "
                     "what your backups keep; a monthly drive keeps everything until it is full.",
                     classes="hint")
        yield ArchiveDriveForm(id="drive-form")
        yield Horizontal(Button("Add this drive", id="add-drive", compact=True),
                         Button("Online storage (S3-compatible)...", id="offsite-online", compact=True),
                         id="archive-actions")
        added = Static("", id="drives-added")
        added.display = False  # shown once a drive is being added (80x24: the offsite words fit)
        yield added
        yield Static(self._offsite_words(), id="offsite-result")

    def _offsite_words(self) -> str:
        off = self.draft.to_settings().offsite
        if off.enabled and off.location:
            return off.describe() + "."
        return "Or an offsite copy: each night, the new backups go to online storage."

    @on(Button.Pressed, "#offsite-online")
    def choose_online(self) -> None:
        if self.job_running("offsite"):
            return
        def chosen(choice: OnlineChoice | None) -> None:
            if choice is None:
                self.query_one("#offsite-online").focus()
                return
            main = self.draft.repository_ready or self.draft.repository
            self.problem(None)
            self.say("offsite-result", f"Making the offsite repository at {choice.location}...")
            self.start_job("offsite", lambda: self.OffsiteMade(offsite_job(  # the passphrase as it is then
                choice, main, passphrase_first(self.draft.secret, self.app.secret))))

        current = self.draft.to_settings().offsite.location
        self.app.push_screen(OnlineStorageDialog(current, first_copy_bytes=self.draft.estimated_bytes(),
                                                 purpose="offsite copy"), chosen)

    def on_archives_step_offsite_made(self, message: OffsiteMade) -> None:
        made = message.made
        base = self.draft.to_settings().offsite
        self.draft.offsite = replace(base, enabled=True, location=made.location)
        how = "made" if made.created else "found (made before: used as it is)"
        words = f"{self.draft.offsite.describe()}. The offsite repository was {how}."
        if made.recovery_key:
            words += (" Your backups were made by an older odbackup, so their recovery key does not open it: "
                      f"this RECOVERY KEY does, shown only now. Write it down: {made.recovery_key}")
        self.say("offsite-result", words)
        self.query_one("#next", Button).label = "Next"
        self.query_one("#next", Button).focus()

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
        self.query_one("#drives-added").display = True
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
        if message.job == "offsite":
            self.say("offsite-result", self._offsite_words())
            self.problem(f"No offsite copy: {message.error.message} {message.error.hint or ''}".strip())
            self.query_one("#offsite-online").focus()
            message.stop()
        if message.job == "add":
            self.say("drives-added", "")
            self.problem(f"{message.error.message} {message.error.hint or ''}".strip())
            self.query_one("#drive-path").focus()  # the folder is what to fix, most often (as AddDriveScreen)
            message.stop()

    def next_step(self) -> SetupStep:
        from .supplemental import after_encryption

        return after_encryption(self.draft)  # the Supplemental step with a database, else the last
