"""The setup's "Online storage (S3-compatible)" dialog: where in a bucket the backups go and the
keys that reach it, with a Test button that answers in plain words (keys refused, no such
bucket, clock wrong, no answer; or: it works, this fast, the first full copy takes about N
nights). The keys are saved only after a test passed, in this machine's owner-only file
(engine/storagekeys.py), never in the settings.

When the test finds a bucket made with Object Lock on (and no repository there yet), the dialog
offers COMPLIANCE retention for N days and says what it costs; the choice goes back with the
location (:class:`OnlineChoice`) and the repository is created with it
(``init --object-lock-days N``: docs/FORMAT.md section 2.2). Maintenance extends the locks of
what is kept (the offsite copy those of the offsite repository); since those jobs may run only
once a week, fewer than 9 days is refused in plain words."""
from __future__ import annotations

from dataclasses import dataclass

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
from engine.repository.s3lock import MAX_DAYS, MIN_DAYS
from engine.repository.s3probe import ProbeResult, probe

from ...widgets import fmt
from ...widgets.choices import Field

NO_LOCK_WORDS = (" This bucket has no Object Lock: anyone holding these keys could delete the backups in it "
                 "(a bucket created with Object Lock on can protect them).")
MAX_LOCK_DAYS = MAX_DAYS
DAYS_WORDS = (f"Lock days: 0 (no lock), or a whole number from {MIN_DAYS} to {MAX_DAYS}: the locks are renewed "
              f"by runs that may be a week apart, so a shorter lock could run out between them.")


@dataclass(frozen=True)
class OnlineChoice:
    """What the dialog answers: the tested location, and the Object Lock days chosen (0: none)."""

    location: str
    object_lock_days: int = 0


def lock_cost_text(days: int) -> str:
    """What Object Lock does and costs, in plain words, for ``days`` (0: what leaving it off means)."""
    if days <= 0:
        return ("Object Lock off. Type a number of days (e.g. 30) to protect the backups from ransomware: "
                "nobody, not even with these keys, can delete or change them for that long.")
    return (f"COMPLIANCE lock: nobody, even with these keys, can delete or change a backup for {days} days. "
            f"Cost: storage kept at least {days} days: data removed from your backups still is billed until then.")


def lock_days(text: str) -> int | None:
    """The days typed (empty: 0), or None when it is neither 0 nor a whole number from 9 (the
    shortest lock the weekly renewals keep up: engine/repository/s3lock.py) to 3650."""
    text = text.strip()
    if not text:
        return 0
    days = int(text) if text.isdigit() else -1
    return days if days == 0 or MIN_DAYS <= days <= MAX_LOCK_DAYS else None


def nights_text(found: ProbeResult, size: int) -> str:
    """ "The first full copy (about 200 GB) takes about 3 nights at this speed." (or "")."""
    nights = found.nights_for(size)
    if size < 2**30 or not nights:
        return ""  # under a gigabyte: minutes, not nights
    when = "less than a night" if nights < 1 else f"about {nights:.0f} night{'s' if nights >= 1.5 else ''}"
    return f" The first full copy (about {fmt.size(size)}) takes {when} at this speed."


class OnlineStorageDialog(ModalScreen[OnlineChoice | None]):
    """Location and keys of online storage; dismissed with the location (and the Object Lock days
    chosen) once a test passed."""

    DEFAULT_CSS = """
    OnlineStorageDialog .online-row { height: 1; }
    OnlineStorageDialog .online-label { width: 12; }
    OnlineStorageDialog #online-result { margin-top: 1; }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+t", "test", "Test")]

    def __init__(self, location: str = "", *, first_copy_bytes: int = 0, purpose: str = "") -> None:
        super().__init__()
        self.location, self.first_copy_bytes = location, first_copy_bytes
        self.purpose = purpose
        """What the place is for, said under the title (e.g. the offsite copy); "": the backups."""
        self.tested: str | None = None
        """The location a test passed for, with the keys typed (None until then)."""
        self.lock_offered = False
        """The tested bucket has Object Lock and holds no repository yet: the days may be chosen."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="online-dialog"):
            yield Label("Online storage (S3-compatible)" + (f": {self.purpose}" if self.purpose else ""),
                        classes="dialog-title")
            yield Static("A folder in a bucket (AWS S3, Backblaze B2, Wasabi, SeaweedFS, Ceph), as "
                         "s3:https://SERVER/BUCKET/FOLDER. The keys stay on this computer, for you only.", id="online-about")
            for label, field in (
                    ("Location", Field(self.location, id="online-location", compact=True,
                                       placeholder="s3:https://s3.us-west-004.backblazeb2.com/bucket/office")),
                    ("Key ID", Field(id="online-key-id", placeholder="access key ID", compact=True)),
                    ("Secret key", Field(id="online-secret", password=True, placeholder="secret access key",
                                         compact=True))):
                with Horizontal(classes="form-row online-row", id=f"{field.id}-row"):
                    yield Label(label, classes="online-label")
                    yield field
            with Horizontal(classes="form-row online-row", id="online-lock-row"):
                yield Label("Lock days", classes="online-label")
                yield Field(id="online-lock-days", placeholder="0 = no Object Lock; e.g. 30", compact=True)
            yield Static("", id="online-lock-cost")
            yield Static("", id="online-result")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Test (Ctrl+T)", id="online-test", compact=True)
                yield Button("Use it", variant="primary", id="online-use", compact=True)
                yield Button("Cancel", id="online-cancel", compact=True)

    def on_mount(self) -> None:
        for row in self.query(".online-row").results(Horizontal):
            row.styles.margin = (0, 0, 0, 0)  # one line each (the app's dialog rows are spaced)
        self.query_one("#online-location-row", Horizontal).styles.margin = (1, 0, 0, 0)
        self._offer_lock(False)
        self.query_one("#online-location", Input).focus()

    def _offer_lock(self, offered: bool) -> None:
        self.lock_offered = offered
        self.query_one("#online-lock-row").display = offered
        cost = self.query_one("#online-lock-cost", Static)
        cost.display = offered
        self.query_one("#online-about").display = not offered  # (the location is tested by then): 80x24 fits
        if offered:
            days = lock_days(self._value("online-lock-days"))
            cost.update(lock_cost_text(days) if days is not None else DAYS_WORDS)

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
            new = not found.is_repository and not found.has_other_files
            self._offer_lock(bool(found.object_lock) and new)
            no_lock = NO_LOCK_WORDS if found.object_lock is False and new else ""
            self._say(found.message + nights_text(found, self.first_copy_bytes) + no_lock + " Press Use it.")
        elif event.state == WorkerState.ERROR:
            error = event.worker.error
            self._say(f"{error}")

    @on(Input.Changed)
    def changed(self, event: Input.Changed) -> None:
        if event.input.id == "online-lock-days":
            self._offer_lock(self.lock_offered)  # the cost follows the days typed
            return
        self.tested = None  # a test answers for what was typed then
        self._offer_lock(False)

    @on(Button.Pressed, "#online-use")
    def use(self) -> None:
        if self.tested is None:
            self._say("Test it first (Ctrl+T): the keys are saved only once they work.")
            return
        days = lock_days(self._value("online-lock-days")) if self.lock_offered else 0
        if days is None:
            self._say(DAYS_WORDS)
            self.query_one("#online-lock-days", Input).focus()
            return
        self.dismiss(OnlineChoice(self.tested, days))

    @on(Button.Pressed, "#online-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
