"""One step of the setup: a heading, its fields, Back and Next, and the problem line.

Next validates first (quick checks here, slow ones in a worker that calls
:meth:`SetupStep.go_next` when it passes). What is written when: the encrypted repository
at step 6 (when its passphrase is confirmed), the settings at the last step.

At 80x24 a step's body may be taller than the screen, so no message lives where it can
fall out of sight: why Next did not go on is shown in a line of its own between the body
and the buttons, and an answer inside the body (a connection test, a destination check)
is scrolled into view when it arrives (:meth:`SetupStep.say`).
"""
from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Footer, Header, Input, Static

from ..common import JobScreen
from .draft import SetupDraft

STEPS = 7


class SetupStep(JobScreen):
    """Base of every setup screen (see the module docstring)."""

    STEP = 0
    """Which of the STEPS this is (0: not counted)."""
    HEADING = ""
    NEXT_LABEL = "Next"
    NEXT_JOBS: tuple[str, ...] = ()
    """Jobs that Next itself starts (while one runs, Next waits); helpers such as a folder
    count never hold Next up."""
    OWN_ENTER: tuple[str, ...] = ()
    """IDs of inputs whose Enter the step handles itself (e.g. "add this folder")."""
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+n", "next", "Next"),
    ]

    DEFAULT_CSS = """
    SetupStep > #step-problem { padding: 0 1; margin-top: 1; }
    """

    def __init__(self, draft: SetupDraft) -> None:
        super().__init__()
        self.draft = draft

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="step-body"):
            heading = f"Step {self.STEP} of {STEPS}: {self.HEADING}" if self.STEP else self.HEADING
            yield Static(heading, classes="step-title")
            yield from self.body()
        problem_line = Static("", id="step-problem", classes="problem")
        problem_line.display = False  # shown only while there is something to say
        yield problem_line
        with Horizontal(classes="buttons"):
            yield Button("Back", id="back", compact=True)
            yield Button(self.NEXT_LABEL, variant="primary", id="next", compact=True)
        yield Footer()

    def body(self) -> Iterable[Widget]:
        """The step's own widgets."""
        return ()

    def on_mount(self) -> None:
        """(Textual calls this after the step's own on_mount: every class's handler runs.)"""
        self.sub_title = "Setup"
        self.focus_first()

    def focus_first(self) -> None:
        """Where the cursor starts: the first field, else Next."""
        inputs = [i for i in self.query(Input) if not i.disabled]
        if inputs:
            inputs[0].focus()
        else:
            self.query_one("#next", Button).focus()

    def repository_location(self) -> str:
        return self.draft.repository

    # --- messages to the user ------------------------------------------------------------------------

    def problem(self, text: str | Text | None) -> None:
        """Show why Next did not go on (None clears it), always in view: below the body."""
        line = self.query_one("#step-problem", Static)
        line.update(text or "")
        line.display = bool(text)

    def say(self, widget_id: str, text: str | Text) -> None:
        """Show an answer in the body's Static ``widget_id`` and scroll it into view."""
        widget = self.query_one(f"#{widget_id}", Static)
        widget.update(text)
        if text:
            self.call_after_refresh(widget.scroll_visible, animate=False)

    @property
    def problem_text(self) -> str:
        return str(self.query_one("#step-problem", Static).content)

    # --- Back and Next ---------------------------------------------------------------------------------

    @on(Button.Pressed, "#next")
    def action_next(self) -> None:
        if any(self.job_running(name) for name in self.NEXT_JOBS):
            return
        self.problem(None)
        self.next_requested()

    def next_requested(self) -> None:
        """Validate, then go on. Steps with slow checks start a job instead."""
        found = self.check()
        if found:
            self.problem(found)
        else:
            self.go_next()

    def check(self) -> str | None:
        """What is wrong with this step's answers (None when Next may go on)."""
        return None

    def go_next(self) -> None:
        if not self.is_current:  # a late answer for a step the user has already left
            return
        following = self.next_step()
        if following is not None:
            self.app.push_screen(following)

    def next_step(self) -> Screen | None:
        """The next step's screen."""
        return None

    @on(Button.Pressed, "#back")
    def _back_pressed(self) -> None:
        self.action_back()  # looked up on the step: a step's own Back (quit, stay) holds for the button too

    def action_back(self) -> None:
        """Back to the previous step (Escape or the Back button)."""
        self.app.pop_screen()

    @on(Input.Submitted)
    def next_field(self, event: Input.Submitted) -> None:
        """Enter in a field moves on; in the last field it means Next."""
        event.stop()
        if event.input.id in self.OWN_ENTER:
            return
        self.focus_next()
        if self.focused is not None and self.focused.id == "back":
            self.query_one("#next", Button).focus()
            self.action_next()


def field_row(label: str, widget: Widget) -> Horizontal:
    """A label and its input on one line."""
    from textual.widgets import Label

    if hasattr(widget, "compact"):
        widget.compact = True  # one line per field: the whole step fits 80x24
    return Horizontal(Label(label), widget, classes="form-row")
