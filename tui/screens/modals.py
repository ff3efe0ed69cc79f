"""Small dialogs: an error (what happened, what to do), a yes/no question, the passphrase."""
from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static
from textual.worker import Worker, WorkerState

from engine.errors import OdbackupError, RepositoryNotFound, WrongPassphrase
from engine.repository.repo import Repository

from ..widgets.choices import Field


class ErrorScreen(ModalScreen[None]):
    """An error in plain words: its title, what happened, and what to do."""

    BINDINGS = [Binding("escape,enter", "close", "Close")]

    def __init__(self, error: OdbackupError) -> None:
        super().__init__()
        self.error = error

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog error-dialog"):
            yield Label(self.error.title, classes="dialog-title")
            yield Static(self.error.message, id="error-message")
            if self.error.hint:
                yield Static(f"What to do: {self.error.hint}", id="error-hint", classes="hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK", variant="primary", id="ok")

    def on_mount(self) -> None:
        self.query_one("#ok", Button).focus()

    @on(Button.Pressed, "#ok")
    def action_close(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """A question with two answers; Escape (and the safe default button) say no."""

    BINDINGS = [Binding("escape", "no", "No")]

    def __init__(self, title: str, text: str, *, yes: str = "Yes", no: str = "No", danger: bool = True) -> None:
        super().__init__()
        self.title_text, self.text, self.yes, self.no, self.danger = title, text, yes, no, danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Static(self.text, id="confirm-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.yes, variant="error" if self.danger else "primary", id="yes")
                yield Button(self.no, id="no")

    def on_mount(self) -> None:
        self.query_one("#no" if self.danger else "#yes", Button).focus()

    @on(Button.Pressed, "#yes")
    def action_yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def action_no(self) -> None:
        self.dismiss(False)


class PassphraseScreen(ModalScreen[str | None]):
    """Asks for the passphrase (or recovery key) and proves it opens the repository before
    handing it back. It is kept in memory only, until the app closes."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, location: str, why: str = "") -> None:
        super().__init__()
        self.location = location
        self.why = why
        """Why it is asked again (the recovery key was given where only the passphrase will do)."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Passphrase needed", classes="dialog-title")
            yield Static(f"Type the passphrase (or the recovery key) of the backups at {self.location}. "
                         "It is kept in memory only, until you quit.")
            yield Field(password=True, placeholder="passphrase or recovery key", id="secret")
            yield Static(self.why, id="passphrase-problem", classes="problem")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Unlock", variant="primary", id="unlock")
                yield Button("Cancel", id="cancel")

    @on(Input.Submitted, "#secret")
    @on(Button.Pressed, "#unlock")
    def unlock(self) -> None:
        secret = self.query_one("#secret", Input).value
        if not secret:
            self._problem("Type the passphrase first.")
            return
        self._problem("Checking the passphrase...")
        self.run_worker(lambda: self._check(secret), name="unlock", thread=True, exclusive=True,
                        exit_on_error=False)

    def _check(self, secret: str) -> str:
        Repository.open(self.location).unlock(secret)
        return secret

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.SUCCESS:
            self.dismiss(event.worker.result)
        elif event.state == WorkerState.ERROR:
            error = event.worker.error
            if isinstance(error, WrongPassphrase | RepositoryNotFound):
                self._problem(f"{error.message} {error.hint or ''}".strip())
                self.query_one("#secret", Input).value = ""
            else:
                self._problem(f"{error}")

    def _problem(self, text: str) -> None:
        self.query_one("#passphrase-problem", Static).update(text)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
