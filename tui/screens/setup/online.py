"""The setup's "Online storage (S3-compatible)" dialog: where in a bucket the backups go and the
keys that reach it, with a Test button that answers in plain words (keys refused, no such
bucket, clock wrong, no answer; or: it works, this fast, the first full copy takes about N
nights). The keys are saved only after a test passed, in this machine's owner-only file
(engine/storagekeys.py), never in the settings."""
from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static
from textual.worker import Worker, WorkerState

from engine import storagekeys
from engine.errors import OdbackupError
from engine.repository.s3 import S3Location
from engine.repository.s3probe import ProbeResult, probe

from ...widgets import fmt
from ...widgets.choices import Field


def nights_text(found: ProbeResult, size: int) -> str:
    """ "The first full copy (about 200 GB) takes about 3 nights at this speed." (or "")."""
    nights = found.nights_for(size)
    if size < 2**30 or not nights:
        return ""  # under a gigabyte: minutes, not nights
    when = "less than a night" if nights < 1 else f"about {nights:.0f} night{'s' if nights >= 1.5 else ''}"
    return f" The first full copy (about {fmt.size(size)}) takes {when} at this speed."


class OnlineStorageDialog(ModalScreen[str | None]):
    """Location and keys of online storage; dismissed with the location once a test passed."""

    DEFAULT_CSS = """
    OnlineStorageDialog .online-row { height: 1; }
    OnlineStorageDialog .online-label { width: 12; }
    OnlineStorageDialog #online-result { margin-top: 1; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+t", "test", "Test")]

    def __init__(self, location: str = "", *, first_copy_bytes: int = 0) -> None:
        super().__init__()
        self.location, self.first_copy_bytes = location, first_copy_bytes
        self.tested: str | None = None
        """The location a test passed for, with the keys typed (None until then)."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="online-dialog"):
            yield Label("Online storage (S3-compatible)", classes="dialog-title")
            yield Static("A folder in a bucket (AWS S3, Backblaze B2, Wasabi, SeaweedFS, Ceph), as "
                         "s3:https://SERVER/BUCKET/FOLDER. The keys stay on this computer, for you only.")
            for label, field in (
                    ("Location", Field(self.location, id="online-location", compact=True,
                                       placeholder="s3:https://s3.us-west-004.backblazeb2.com/bucket/office")),
                    ("Key ID", Field(id="online-key-id", placeholder="access key ID", compact=True)),
                    ("Secret key", Field(id="online-secret", password=True, placeholder="secret access key",
                                         compact=True))):
                with Horizontal(classes="form-row online-row", id=f"{field.id}-row"):
                    yield Label(label, classes="online-label")
                    yield field
            yield Static("", id="online-result")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Test (Ctrl+T)", id="online-test", compact=True)
                yield Button("Use it", variant="primary", id="online-use", compact=True)
                yield Button("Cancel", id="online-cancel", compact=True)

    def on_mount(self) -> None:
        for row in self.query(".online-row").results(Horizontal):
            row.styles.margin = (0, 0, 0, 0)  # one line each (the app's dialog rows are spaced)
        self.query_one("#online-location-row", Horizontal).styles.margin = (1, 0, 0, 0)
        self.query_one("#online-location", Input).focus()

    def _value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value.strip()

    def _say(self, text: str) -> None:
        self.query_one("#online-result", Static).update(text)

    @on(Button.Pressed, "#online-test")
    def action_test(self) -> None:
        location, key_id, secret = (self._value(w) for w in ("online-location", "online-key-id", "online-secret"))
        try:
            S3Location.parse(location)
        except OdbackupError as exc:
            self._say(f"{exc} {exc.hint or ''}".strip())
            return
        if bool(key_id) != bool(secret):
            self._say("Type both the access key ID and the secret access key (or neither, to use the keys "
                      "already saved on this computer).")
            return
        keys = storagekeys.StorageKeys(key_id, secret) if key_id else None
        self.tested = None
        self._say("Testing: writing, reading back and removing a test file...")
        self.run_worker(lambda: (location, keys, probe(location, keys)), name="online-test", thread=True,
                        exclusive=True, exit_on_error=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.SUCCESS:
            result = event.worker.result
            assert isinstance(result, tuple)
            location, keys, found = result
            if not found.ok:
                self._say(found.message)
                return
            if keys is not None:
                storagekeys.save_keys(S3Location.parse(location).site, keys)
            self.tested = S3Location.parse(location).text
            self._say(found.message + nights_text(found, self.first_copy_bytes) + " Press Use it.")
        elif event.state == WorkerState.ERROR:
            error = event.worker.error
            self._say(f"{error}")

    @on(Input.Changed)
    def changed(self) -> None:
        self.tested = None  # a test answers for what was typed then

    @on(Button.Pressed, "#online-use")
    def use(self) -> None:
        if self.tested is None:
            self._say("Test it first (Ctrl+T): the keys are saved only once they work.")
            return
        self.dismiss(self.tested)

    @on(Button.Pressed, "#online-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
