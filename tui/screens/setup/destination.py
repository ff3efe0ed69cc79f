"""Setup step 4: where the backups go (USB drive, network share, folder): reachable,
writable, with room for the first backup."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Button, Input, Static

from engine.places import repository_inside_problem
from engine.settings import DestinationCheck, check_destination

from ...messages import JobDone, JobFailed
from ...widgets import fmt
from ...widgets.choices import Field
from .base import SetupStep, field_row


def describe(check: DestinationCheck) -> Text:
    """The check in plain words."""
    text = Text()
    if check.is_repository:
        text.append("An odbackup repository is already there: next, unlock it with its passphrase.\n",
                    style="green")
    elif check.path.startswith("s3:"):
        text.append("Online storage: the keys work and the folder in the bucket is empty: the repository will "
                    "be created there.\n", style="green")
    elif check.exists:
        text.append("An empty folder: the repository will be created in it.\n", style="green")
    else:
        text.append("A new folder: it will be created, with the repository in it.\n", style="green")
    if check.total_bytes:
        text.append(f"{fmt.size(check.free_bytes)} free of {fmt.size(check.total_bytes)}")
        if check.needed_bytes:
            text.append(f"; the first backup needs at most {fmt.size(check.needed_bytes)} "
                        "(less after compression)")
        text.append(".")
    if check.nearly_full and not check.problem:
        text.append("\nThe drive is nearly full: later backups may not fit.", style="yellow")
    return text


class DestinationStep(SetupStep):
    """The repository folder."""

    STEP = 4
    HEADING = "Where the backups go"
    NEXT_JOBS = ("destination",)
    BINDINGS = SetupStep.BINDINGS + [Binding("ctrl+t", "check_now", "Check")]

    @dataclass
    class Checked(JobDone):
        """What the place for the backups is like."""

        check: DestinationCheck

    def body(self) -> Iterable[Widget]:
        yield Static("A folder on a USB drive (e.g. /media/usb/odbackup or E:\\odbackup), a network share "
                     "(\\\\SERVER\\Backups\\odbackup, or where it is mounted) or another disk. Keep it off the "
                     "server's own disk if you can: a backup next to the data dies with it.")
        yield field_row("Folder", Field(self.draft.repository, id="repository",
                                        placeholder="e.g. /media/usb/odbackup"))
        yield Button("Check this place (Ctrl+T)", id="check", compact=True)
        yield Button("Online storage (S3-compatible)...", id="online", compact=True)
        yield Static("", id="destination-result")

    def _path(self) -> str:
        return self.query_one("#repository", Input).value.strip()

    def _quick_problem(self) -> str | None:
        path = self._path()
        if not path:
            return "Type the folder to keep the backups in."
        return repository_inside_problem(path, [self.draft.images_folder, *self.draft.extra_folders])

    @on(Button.Pressed, "#check")
    def action_check_now(self) -> None:
        self._start(then_next=False)

    @on(Button.Pressed, "#online")
    def online(self) -> None:
        """A bucket instead of a folder (online.py): its location fills the field once tested."""
        from .online import OnlineChoice, OnlineStorageDialog

        def chosen(choice: OnlineChoice | None) -> None:
            if choice:
                self.draft.object_lock = (choice.location, choice.object_lock_days)
                self.query_one("#repository", Input).value = choice.location
                self._start(then_next=False)

        current = self._path() if self._path().startswith("s3:") else ""
        self.app.push_screen(OnlineStorageDialog(current, first_copy_bytes=self.draft.estimated_bytes()), chosen)

    def next_requested(self) -> None:
        self._start(then_next=True)

    def _start(self, *, then_next: bool) -> None:
        self.problem(None)  # the answer to an earlier check (Ctrl+T) does not outlive a new one
        found = self._quick_problem()
        if found:
            self.say("destination-result", "")
            self.problem(found)
            return
        self.then_next = then_next
        self.say("destination-result", "Checking...")
        path, needed = self._path(), self.draft.estimated_bytes()
        self.start_job("destination", lambda: self.Checked(check_destination(path, needed)))

    def on_destination_step_checked(self, message: Checked) -> None:
        result = message.check
        self.say("destination-result", describe(result) if not result.problem else "")
        if result.problem:
            self.problem(result.problem)
            return
        if self.draft.repository != result.path:
            self.draft.repository_ready = self.draft.repository_how = ""  # another place: unlock or create it
        self.draft.repository = result.path
        self.repository_found = result.is_repository
        if self.then_next:
            self.go_next()

    def on_job_failed(self, message: JobFailed) -> None:
        message.stop()  # said on the step itself
        error = message.error
        self.problem(f"{error.message} {error.hint or ''}".strip())

    def next_step(self) -> SetupStep:
        from .frequency import FrequencyStep

        return FrequencyStep(self.draft, existing=self.repository_found)
