"""The last step: everything chosen, in plain words; Save writes the settings, then (unless
unticked) installs the schedule into the operating system and says how that went, in the
Frequency screen's words, before going on to the home screen."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rich.text import Text
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Static

from engine.archive.drives import load_book
from engine.database.connection import save_password
from engine.errors import OdbackupError
from engine.settings import Settings, save_settings

from ...messages import JobDone, JobFailed
from ...widgets import fmt
from ..frequency import ScheduleReport, install_schedule
from .base import SetupStep
from .draft import SetupDraft


def summary(draft: SetupDraft) -> Text:
    """What will be saved."""
    text = Text()
    if draft.use_database:
        text.append("Database: ", style="bold")
        text.append(f"{draft.database} on {draft.host}:{draft.port} as {draft.user} "
                    f"({draft.lock_mode} locking, lock timeout {draft.lock_timeout:g} s)\n")
    else:
        text.append("Database: none (folders only)\n", style="bold")
    text.append("Images folder: ", style="bold")
    text.append(f"{draft.images_folder or 'none'}\n")
    for folder in draft.extra_folders:
        text.append("Other folder: ", style="bold")
        text.append(f"{folder}\n")
    text.append("Backups go to: ", style="bold")
    text.append(f"{draft.repository}\n")
    if draft.object_lock_days():
        text.append("Object Lock: ", style="bold")
        text.append(f"{draft.object_lock_days()} days (storage is billed at least that long)\n")
    if draft.supplemental is not None and draft.supplemental.enabled:
        text.append("Supplemental copy: ", style="bold")
        text.append(f"each night {draft.supplemental.window} to {draft.supplemental.path}\n")
    offsite = draft.to_settings().offsite
    if offsite.enabled and offsite.location:
        text.append("Offsite copy: ", style="bold")
        text.append(offsite.describe().removeprefix("Offsite copy ") + "\n")
    drives = [d for d in load_book().drives if not d.sealed]  # added at the Archives step (or before)
    if drives:
        text.append("Archive drives: ", style="bold")
        text.append("; ".join(f"{d.label} ({d.kind})" for d in drives) + "\n")
    text.append("This computer: ", style="bold")
    text.append("enrolled (backs up without the passphrase)\n" if draft.enrolled else
                "not enrolled (each backup asks for the passphrase)\n")
    if draft.estimated_bytes():
        text.append(f"The first backup stores at most {fmt.size(draft.estimated_bytes())}; later ones only "
                    "what changed.\n")
    return text


def save(draft: SetupDraft) -> Settings:
    """Save the settings (and the typed database password, owner-only)."""
    settings = draft.to_settings().validate()
    if draft.use_database and draft.password:
        save_password(draft.target(), draft.password)
    save_settings(settings)
    return settings


class FinishStep(SetupStep):
    """Review, save, and install the schedule."""

    STEP = 7
    HEADING = "Ready to save"
    NEXT_LABEL = "Save and finish"
    NEXT_JOBS = ("install",)

    @dataclass
    class Installed(JobDone):
        """The schedule's installation, as the operating system answered."""

        report: ScheduleReport

    def __init__(self, draft: SetupDraft) -> None:
        super().__init__(draft)
        self.saved: Settings | None = None
        """The settings, once saved (Next then goes to the home screen)."""

    def body(self) -> Iterable[Widget]:
        yield Static(summary(self.draft), id="summary")
        yield Static("The settings hold no password: the database password is kept in an owner-only file "
                     "on this computer, and the passphrase is never stored.", classes="hint")
        scheduled = bool(self.draft.to_settings().calendars())
        yield Checkbox("Install the schedule now, so the backups run by themselves",
                       scheduled, id="install-schedule", disabled=not scheduled, compact=True)
        yield Static("", id="install-result")

    def next_requested(self) -> None:
        if self.saved is not None:  # saved and installed (or not): on to the home screen
            self.app.finish_setup(self.saved)
            return
        try:
            settings = save(self.draft)
        except (OdbackupError, OSError) as exc:
            from ..common import as_error

            error = as_error(exc)
            self.problem(f"{error.message} {error.hint or ''}".strip())
            return
        self.app.notify("The setup is saved.", title="Saved")
        if not self.query_one("#install-schedule", Checkbox).value:
            self.app.finish_setup(settings)
            return
        self.saved = settings
        self.query_one("#install-schedule", Checkbox).disabled = True
        self.say("install-result", "Installing the schedule...")
        self.start_job("install", lambda: self.Installed(install_schedule(settings)))

    def on_finish_step_installed(self, message: Installed) -> None:
        report = message.report
        first = (report.headline,) if report.ok and report.headline else ()  # a failure: its reason first
        self.say("install-result", "\n".join(first + report.lines))
        self.problem(None if report.ok else f"{report.lines[0]} The settings are saved; install the schedule "
                                            "later with f on the home screen.")
        self._go_on_label()

    def on_job_failed(self, message: JobFailed) -> None:
        if message.job != "install":
            return
        self.say("install-result", f"Not installed: {message.error.message}")
        self.problem(f"Not installed: {message.error.message} The settings are saved; install the schedule "
                     "later with f on the home screen.")
        self._go_on_label()
        message.stop()

    def _go_on_label(self) -> None:
        button = self.query_one("#next", Button)
        button.label = "Finish"
        button.focus()
