"""The Textual app: ``odbackup`` with no arguments.

A thin App: it loads the settings, opens the first screen (the guided setup on
a first run, else the dashboard), keeps the passphrase typed in this session
(memory only), and shows every failed job's error in one place. Screens are
the controllers (``tui/screens``), widgets the views (``tui/widgets``); the
engine does the work.
"""
from __future__ import annotations

from textual.app import App
from textual.binding import Binding

from engine.errors import Cancelled, OdbackupError
from engine.settings import Settings, SettingsError, load_settings

from .messages import JobFailed
from .screens.dashboard import DashboardScreen
from .screens.modals import ConfirmScreen, ErrorScreen

SIMPLE_COLOUR_SYSTEMS = ("standard", "windows")


class OdbackupApp(App[int]):
    """odbackup's terminal app."""

    CSS_PATH = "app.tcss"
    TITLE = "odbackup"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("f1", "help", "Help", show=False),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
        # Tab moves the focus in the App's own key order: as the screen's (non-priority) binding it
        # ran only after the key had bubbled up, and the letters typed after it in a burst (a slow
        # link) went into the field being left, a password into the field above it.
        Binding("tab", "focus_next", show=False, priority=True),
        Binding("shift+tab", "focus_previous", show=False, priority=True),
    ]

    def __init__(self, settings: Settings | None = None, *, settings_problem: OdbackupError | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.settings_problem = settings_problem
        self.secret: str | None = None
        """The passphrase or recovery key typed in this session (memory only, never saved)."""
        self.busy: str | None = None
        """What long job runs now (quitting asks first), e.g. "a backup"."""

    def on_mount(self) -> None:
        if self.console.color_system in SIMPLE_COLOUR_SYSTEMS:
            self.theme = "ansi-dark"  # the terminal's own 16 colours read best over SSH / RDP
        if self.settings is None:
            self.start_setup()
        else:
            self.push_screen(DashboardScreen())
        if self.settings_problem is not None:
            self.show_error(self.settings_problem)

    # --- the setup --------------------------------------------------------------------------------

    def start_setup(self) -> None:
        """Open the guided setup (filled in from the current settings, if any)."""
        from .screens.setup.welcome import WelcomeScreen

        self.push_screen(WelcomeScreen(self.settings))

    def finish_setup(self, settings: Settings) -> None:
        """The setup saved ``settings``: leave it and show the dashboard."""
        from .screens.setup.base import SetupStep

        self.settings = settings
        while isinstance(self.screen, SetupStep) and len(self.screen_stack) > 1:
            self.pop_screen()
        if not isinstance(self.screen, DashboardScreen):
            self.push_screen(DashboardScreen())

    # --- errors -------------------------------------------------------------------------------------

    def on_job_failed(self, message: JobFailed) -> None:
        """A screen's job failed and its screen left the telling to the App."""
        self.show_error(message.error)

    def show_error(self, error: OdbackupError) -> None:
        """The one place errors are shown: cancels as a note, everything else as a dialog."""
        if isinstance(error, Cancelled):
            self.notify(error.message, title="Cancelled", severity="warning")
            return
        self.push_screen(ErrorScreen(error))

    # --- app-wide actions -----------------------------------------------------------------------------

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        if self.busy is None:
            self.exit(0)
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.workers.cancel_all()
                self.exit(130)

        self.push_screen(ConfirmScreen("Quit odbackup?", f"{self.busy.capitalize()} is running. Quitting stops it "
                                       "first: database locks are released at once and nothing partial is "
                                       "saved as a snapshot.", yes="Stop and quit", no="Keep going"), answer)


def main() -> int:
    """Run the app; the exit code is 0, or 130 when a running job was stopped by quitting."""
    settings, problem = None, None
    try:
        settings = load_settings()
    except SettingsError as exc:
        problem = exc
    app = OdbackupApp(settings, settings_problem=problem)
    app.run()
    return int(app.return_value or 0)
