"""The last step: everything chosen, in plain words; Save writes the settings."""
from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.widget import Widget
from textual.widgets import Static

from engine.database.connection import save_password
from engine.errors import OdbackupError
from engine.settings import Settings, save_settings

from ...widgets import fmt
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
    if draft.supplemental is not None and draft.supplemental.enabled:
        text.append("Supplemental copy: ", style="bold")
        text.append(f"each night {draft.supplemental.window} to {draft.supplemental.path}\n")
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
    """Review and save."""

    STEP = 7
    HEADING = "Ready to save"
    NEXT_LABEL = "Save and finish"

    def body(self) -> Iterable[Widget]:
        yield Static(summary(self.draft), id="summary")
        yield Static("The settings hold no password: the database password is kept in an owner-only file "
                     "on this computer, and the passphrase is never stored.", classes="hint")

    def next_requested(self) -> None:
        try:
            settings = save(self.draft)
        except (OdbackupError, OSError) as exc:
            from ..common import as_error

            error = as_error(exc)
            self.problem(f"{error.message} {error.hint or ''}".strip())
            return
        self.app.notify("The setup is saved.", title="Saved")
        self.app.finish_setup(settings)
