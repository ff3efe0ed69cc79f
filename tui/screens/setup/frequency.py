"""Setup step 5: when the backups run and how long they are kept (the Frequency form).

The values go into the draft and are saved with the rest at the last step, which then
installs the schedule into the operating system (the scheduled runs read the saved settings,
so it cannot be installed before) and says how that went; the dashboard's Frequency screen
(``f``) installs or removes it later.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from textual.widget import Widget
from textual.widgets import Input, Static

from ...widgets.frequency_form import FrequencyForm
from .base import SetupStep
from .draft import SetupDraft


class FrequencyStep(SetupStep):
    """The schedule's presets and the retention, editable."""

    STEP = 5
    HEADING = "When to back up"

    def __init__(self, draft: SetupDraft, existing: bool = False) -> None:
        super().__init__(draft)
        self.existing = existing
        """The destination already holds a repository (passed on to the encryption step)."""

    def body(self) -> Iterable[Widget]:
        yield FrequencyForm(replace(self.draft.to_settings()), id="freq-form")
        yield Static("The last step saves the settings and installs this schedule into the operating system "
                     "(it runs without the passphrase, with this machine's write-only key); f on the home "
                     "screen changes it later.", id="freq-after")

    def on_input_changed(self, event: Input.Changed) -> None:
        """A problem Next showed goes once what is typed is right again (the form's words say
        what is wrong while typing)."""
        if self.problem_text and not self.query_one(FrequencyForm).read()[2]:
            self.problem(None)

    def check(self) -> str | None:
        schedule, retention, found = self.query_one(FrequencyForm).read()
        if found:
            return found[0]
        self.draft.schedule, self.draft.retention = schedule, retention
        return None

    def next_step(self) -> SetupStep:
        from .encryption import EncryptionStep

        return EncryptionStep(self.draft, existing=self.existing)
