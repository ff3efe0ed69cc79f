"""The setup's first screen: set up backups, or try everything on a demo practice."""
from __future__ import annotations

from collections.abc import Iterable

from textual import on
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Button, Static

from engine.settings import Settings

from .base import SetupStep
from .draft import SetupDraft

INTRO = (
    "odbackup keeps encrypted, verified backups of the Open Dental database and the A to Z images "
    "folder on a USB drive, a network share or another disk.\n\n"
    "The setup asks, one step at a time: which database and folders to back up, where to keep the "
    "backups, and a passphrase that protects them. The encrypted repository is created at step 6, when "
    "you confirm its passphrase; the settings are saved at the last step.\n\n"
    "New to odbackup? Try it first on a demo practice (a made-up Open Dental database and images "
    "folder): you see a backup and a verification work in about a minute, and nothing of yours is touched."
)


class WelcomeScreen(SetupStep):
    """Welcome: start the setup, or try the demo practice."""

    HEADING = "Welcome to odbackup"
    NEXT_LABEL = "Set up backups"
    BINDINGS = [
        Binding("escape", "back", "Quit / close"),
        Binding("ctrl+n", "next", "Set up"),
        Binding("d", "demo", "Try the demo"),
    ]

    def __init__(self, settings: Settings | None) -> None:
        super().__init__(SetupDraft.from_settings(settings))

    def body(self) -> Iterable[Widget]:
        if self.draft.editing:
            yield Static("Change what is backed up, where it goes, or the passphrase. The current answers "
                         "are filled in; your changes are saved at the last step. A passphrase change or "
                         "enrolling at step 6 applies at once.")
        else:
            yield Static(INTRO, id="intro")
        yield Button("Try it with a demo practice (d)", id="demo", compact=True)

    def on_mount(self) -> None:
        self.query_one("#back", Button).label = "Close" if self.draft.editing else "Quit"

    def next_step(self) -> SetupStep:
        from .server import ServerStep

        return ServerStep(self.draft)

    @on(Button.Pressed, "#demo")
    def action_demo(self) -> None:
        from .demo import DemoStep

        self.app.push_screen(DemoStep(self.draft))

    def action_back(self) -> None:
        if self.draft.editing:
            self.app.pop_screen()
        else:
            self.app.exit(0)
