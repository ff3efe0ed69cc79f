"""Setup step 5: encryption. Create the repository with a passphrase typed twice, or unlock
the one already at the destination; enroll this computer for unattended backups; change
the passphrase of a repository that is already set up."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.text import Text
from textual import on
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Static

from engine.errors import OdbackupError, WrongPassphrase
from engine.repository import keys as keymod
from engine.repository.repo import Repository

from ...secrets_input import MIN_LENGTH
from ...widgets.choices import Field, Tick
from .base import SetupStep, field_row
from .draft import SetupDraft

ENROLL_HINT = ("An enrolled computer keeps write-only keys: scheduled backups run without the passphrase, "
               "and nobody on this computer can read the backups back with them.")
GOOD_WORDS = 4
GOOD_LENGTH = 20


def passphrase_advice(passphrase: str) -> tuple[bool, Text]:
    """(acceptable, advice in plain words) for a new passphrase."""
    words = len(passphrase.split())
    if len(passphrase) < MIN_LENGTH:
        return False, Text(f"Too short: at least {MIN_LENGTH} characters. Several unrelated words are "
                           "easiest to remember, e.g. 'maple kettle orbit seven'.", style="yellow")
    if len(set(passphrase)) < 5:
        return False, Text("Too simple: it repeats the same few characters.", style="yellow")
    if words >= GOOD_WORDS or len(passphrase) >= GOOD_LENGTH:
        return True, Text("Strong. Write it down and keep it safe: without it (or the recovery key) "
                          "nobody, not even odbackup's makers, can restore.", style="green")
    return True, Text(f"Acceptable; {GOOD_WORDS} or more unrelated words would be stronger.", style="yellow")


def create_repository(location: str, passphrase: str, enroll: bool) -> str:
    """Create the repository; returns the recovery key (a worker)."""
    repo, recovery = Repository.init(location, passphrase)
    if enroll:
        keymod.enroll_machine(repo.keys, repo.location)
    return recovery


def unlock_repository(location: str, secret: str, enroll: bool) -> None:
    """Prove the passphrase (or recovery key) opens it, and enroll this computer (a worker)."""
    repo = Repository.open(location)
    repo.unlock(secret)
    if enroll:
        keymod.enroll_machine(repo.keys, repo.location)


def change_passphrase(location: str, old: str, new: str) -> None:
    Repository.open(location).change_passphrase(old, new)


class EncryptionStep(SetupStep):
    """Passphrase and recovery key; modes: create, unlock (a repository is there), ready."""

    STEP = 5
    HEADING = "Encryption"
    NEXT_JOBS = ("create", "unlock")

    def __init__(self, draft: SetupDraft, *, existing: bool) -> None:
        super().__init__(draft)
        self.mode = "ready" if draft.repository_ready == draft.repository else (
            "unlock" if existing else "create")

    def body(self) -> Iterable[Widget]:
        enroll = Tick("Let this computer back up on its own (enroll it)", True, id="enroll", compact=True)
        if self.mode == "create":
            yield Static(f"The backups are encrypted. Choose a passphrase for the new repository at "
                         f"{self.draft.repository}: several unrelated words, at least {MIN_LENGTH} characters.")
            yield field_row("Passphrase", Field(password=True, id="passphrase", placeholder="type the passphrase"))
            yield field_row("Again", Field(password=True, id="again", placeholder="type it again"))
            yield Static("", id="advice")
            yield enroll
            yield Static(ENROLL_HINT, classes="hint")
        elif self.mode == "unlock":
            yield Static(f"An odbackup repository is already at {self.draft.repository}. Type its passphrase "
                         "(or its recovery key) to use it.")
            yield field_row("Passphrase", Field(password=True, id="passphrase",
                                                placeholder="passphrase or recovery key"))
            yield enroll
            yield Static(ENROLL_HINT, classes="hint")
        else:
            yield Static(f"The repository at {self.draft.repository} is set up.", classes="ok")
            yield Button("Enroll this computer for unattended backups", id="enroll-now", compact=True)
            with Vertical(id="change"):
                yield Static("Change the passphrase (the recovery key keeps working; nothing is "
                             "re-encrypted):", classes="section-title")
                yield field_row("Current", Field(password=True, id="current",
                                                 placeholder="current passphrase or recovery key"))
                yield field_row("New", Field(password=True, id="passphrase", placeholder="new passphrase"))
                yield field_row("Again", Field(password=True, id="again", placeholder="type it again"))
                yield Static("", id="advice")
                yield Button("Change the passphrase", id="change-now", compact=True)
        yield Static("", id="encryption-result")

    @on(Input.Changed, "#passphrase")
    def _advise(self, event: Input.Changed) -> None:
        if self.mode != "unlock":
            self.query_one("#advice", Static).update(passphrase_advice(event.value)[1] if event.value else "")

    def _value(self, field_id: str) -> str:
        return self.query_one(f"#{field_id}", Input).value

    def _new_passphrase_problem(self) -> str | None:
        new = self._value("passphrase")
        ok, advice = passphrase_advice(new)
        if not ok:
            return advice.plain
        if new != self._value("again"):
            return "The two passphrases differ: type the same one twice."
        return None

    # --- Next -----------------------------------------------------------------------------------------

    def next_requested(self) -> None:
        d = self.draft
        if self.mode == "ready":
            self.go_next()
            return
        enroll = self.query_one("#enroll", Checkbox).value
        if self.mode == "create":
            found = self._new_passphrase_problem()
            if found:
                self.problem(found)
                return
            self._result("Creating the encrypted repository...")
            self.start_job("create", create_repository, d.repository, self._value("passphrase"), enroll)
        else:
            if not self._value("passphrase"):
                self.problem("Type the passphrase (or the recovery key).")
                return
            self._result("Checking the passphrase...")
            self.start_job("unlock", unlock_repository, d.repository, self._value("passphrase"), enroll)

    def job_done(self, name: str, result: Any) -> None:
        d = self.draft
        if name in ("create", "unlock"):
            d.secret = self._value("passphrase")
            d.repository_ready = d.repository
            d.enrolled = self.query_one("#enroll", Checkbox).value
            self.app.secret = d.secret  # type: ignore[attr-defined]
        if name == "create":
            from .recovery import RecoveryStep

            self.mode = "ready"
            self.app.push_screen(RecoveryStep(d, result))
        elif name == "unlock":
            self.go_next()
        elif name == "enroll":
            d.enrolled = True
            self._result(Text("This computer is enrolled: scheduled backups need no passphrase.", style="green"))
        elif name == "change":
            for field_id in ("current", "passphrase", "again"):
                self.query_one(f"#{field_id}", Input).value = ""
            self._result(Text("The passphrase was changed. The recovery key still works.", style="green"))

    def job_failed(self, name: str, error: OdbackupError) -> None:
        self._result("")
        if isinstance(error, WrongPassphrase):
            self.problem(f"{error.message} {error.hint}")
        elif name == "enroll":
            super().job_failed(name, error)
        else:
            self.problem(f"{error.title}: {error.message} {error.hint or ''}".strip())

    def _result(self, text: str | Text) -> None:
        self.query_one("#encryption-result", Static).update(text)

    # --- ready: enroll, change the passphrase ------------------------------------------------------------

    @on(Button.Pressed, "#enroll-now")
    def enroll_now(self) -> None:
        from ..common import open_repo

        def enroll() -> None:
            secret = self.draft.secret or self.app.secret  # type: ignore[attr-defined]  # read at run time
            repo = open_repo(self.draft.repository, full=True, secret=secret)
            keymod.enroll_machine(repo.keys, repo.location)

        self.start_job("enroll", enroll)

    @on(Button.Pressed, "#change-now")
    def change_now(self) -> None:
        if not self._value("current"):
            self.problem("Type the current passphrase (or the recovery key) first.")
            return
        found = self._new_passphrase_problem()
        if found:
            self.problem(found)
            return
        self.problem(None)
        self._result("Changing the passphrase...")
        self.start_job("change", change_passphrase, self.draft.repository, self._value("current"),
                       self._value("passphrase"))

    def next_step(self) -> SetupStep:
        from .finish import FinishStep

        return FinishStep(self.draft)
