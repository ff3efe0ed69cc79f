"""The recovery key, shown once: write it down or print it, then type part of it back."""
from __future__ import annotations

import secrets
from collections.abc import Iterable

from rich.text import Text
from textual.widget import Widget
from textual.widgets import Input, Static

from engine.recovery import BadRecoveryKey, key_chars

from ...widgets.choices import Field
from .base import SetupStep, field_row
from .draft import SetupDraft

INSTRUCTIONS = (
    "This RECOVERY KEY opens the backups, and the archive drives and supplemental copy made from them, if "
    "the passphrase is ever forgotten. It is shown only now.\n"
    "Write it on paper (or print this screen) and keep it somewhere safe AWAY from the backup drive: "
    "a safe, or the practice owner's home. Anyone holding it can read the backups."
)


def groups_of(key: str) -> list[str]:
    """``RK-AAAAA-BBBBB-...`` -> ``["AAAAA", "BBBBB", ...]``."""
    return key.split("-")[1:]


class RecoveryStep(SetupStep):
    """Shows the recovery key once and asks for two of its groups back."""

    STEP = 6
    HEADING = "Encryption: your recovery key"
    NEXT_LABEL = "I wrote it down"

    def __init__(self, draft: SetupDraft, recovery_key: str, asked: tuple[int, int] | None = None) -> None:
        super().__init__(draft)
        self.recovery_key = recovery_key
        count = len(groups_of(recovery_key))
        self.asked = sorted(asked or secrets.SystemRandom().sample(range(count), 2))
        """Which groups (0-based) the user must type back."""

    def body(self) -> Iterable[Widget]:
        yield Static(INSTRUCTIONS)
        yield Static(Text(self.recovery_key, style="bold reverse", justify="center"), id="recovery-key")
        first, second = (n + 1 for n in self.asked)
        yield Static(f"To be sure it is written down correctly, type group {first} and group {second} "
                     "(the groups are counted after 'RK-').", classes="section-title")
        yield field_row(f"Group {first}", Field(id="group-a", max_length=5, placeholder="-----"))
        yield field_row(f"Group {second}", Field(id="group-b", max_length=5, placeholder="-----"))

    def on_mount(self) -> None:
        self.query_one("#back").display = False  # the repository exists now: there is no going back

    def action_back(self) -> None:
        self.problem("The repository is created; write the key down, then go on.")

    def expected(self) -> tuple[str, str]:
        groups = groups_of(self.recovery_key)
        return groups[self.asked[0]], groups[self.asked[1]]

    def check(self) -> str | None:
        try:  # read as the engine reads a key typed in full: O for 0, I or L for 1
            typed = tuple(key_chars(self.query_one(f"#{i}", Input).value) for i in ("group-a", "group-b"))
        except BadRecoveryKey:
            typed = ()
        if typed != self.expected():
            return "That does not match the key above: check what you wrote down and type the two groups again."
        return None

    def go_next(self) -> None:
        from .archives import ArchivesStep

        self.app.switch_screen(ArchivesStep(self.draft))  # the key leaves the screen stack for good
