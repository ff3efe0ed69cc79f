"""Setup step 6: encryption. Create the repository with a passphrase typed twice, or unlock
the one already at the destination, and enroll this computer for unattended backups.

Once the repository exists (created or unlocked here, or set up before) the step shows it
as it is ("ready"): no passphrase to choose any more, the enrolment read from this computer,
and the two actions that apply at once (enroll; change the passphrase). Going Back to it
after the recovery key therefore shows no field whose changes would be ignored."""
from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Static

from engine.errors import WrongPassphrase
from engine.repository import keys as keymod
from engine.repository.policy import save_policy
from engine.repository.repo import Repository
from engine.retention import Policy

from ...messages import JobDone, JobFailed
from ...secrets_input import ENV, MIN_LENGTH
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


def machine_enrolled(location: str) -> bool:
    """Does this computer hold write-only credentials for the repository at ``location``?"""
    return os.path.exists(keymod.credentials_path(Repository.open(location).repo_id))


def create_repository(location: str, passphrase: str, enroll: bool,
                      retention: Policy | None = None, object_lock_days: int = 0) -> tuple[str, bool]:
    """Create the repository, storing the settings' ``retention`` policy in it (signed with the
    passphrase, so scheduled maintenance can apply it), its objects locked ``object_lock_days``
    in a bucket with Object Lock; returns the recovery key and whether this computer is enrolled
    (a worker)."""
    repo, recovery = Repository.init(location, passphrase, object_lock_days=object_lock_days)
    if retention is not None and not retention.empty:
        save_policy(repo.backend, repo.keys.maint_key, repo.repo_id, repo.keys.data_private, retention)  # type: ignore[arg-type]
    if enroll:
        keymod.enroll_machine(repo.keys, repo.location)
    return recovery, enroll


def unlock_repository(location: str, secret: str, enroll: bool) -> bool:
    """Prove the passphrase (or recovery key) opens it, and enroll this computer (a worker).
    Returns whether this computer is enrolled now: leaving the box empty un-enrolls nothing."""
    repo = Repository.open(location)
    repo.unlock(secret)
    if enroll:
        keymod.enroll_machine(repo.keys, repo.location)
    return enroll or os.path.exists(keymod.credentials_path(repo.repo_id))


def enroll_computer(location: str, secret: str) -> None:
    """Enroll this computer for the repository at ``location`` (a worker)."""
    repo = Repository.open(location)
    repo.unlock(secret)
    keymod.enroll_machine(repo.keys, repo.location)


def change_passphrase(location: str, old: str, new: str) -> None:
    Repository.open(location).change_passphrase(old, new)


def enrolment_text(enrolled: bool) -> Text:
    if enrolled:
        return Text("This computer is enrolled: scheduled backups run without the passphrase.", style="green")
    return Text("This computer is not enrolled: each backup asks for the passphrase.", style="yellow")


def ready_text(draft: SetupDraft) -> str:
    """What the step says once the repository exists (it no longer asks for a passphrase)."""
    where = draft.repository
    said = {"created": f"The repository at {where} was created in this setup, with the passphrase you chose.",
            "unlocked": f"The repository at {where} is unlocked: the passphrase you typed opens it."}
    return (said.get(draft.repository_how, f"The repository at {where} is set up.") +
            " Back and Next leave that passphrase as it is; to change it, use the form below (it applies "
            f"at once) or run: odbackup passwd --repo {where}")


class EncryptionStep(SetupStep):
    """Passphrase and recovery key; modes: create, unlock (a repository is there), ready."""

    STEP = 6
    HEADING = "Encryption"
    NEXT_JOBS = ("create", "unlock", "enrolment")

    @dataclass
    class Created(JobDone):
        """The encrypted repository was created."""

        recovery_key: str
        enrolled: bool

    @dataclass
    class Unlocked(JobDone):
        """The passphrase opens the repository that was there."""

        enrolled: bool

    @dataclass
    class EnrolmentRead(JobDone):
        """Whether this computer holds write-only credentials for the repository."""

        enrolled: bool

    @dataclass
    class Enrolled(JobDone):
        """This computer was enrolled."""

    @dataclass
    class PassphraseChanged(JobDone):
        """The passphrase was changed."""

    def __init__(self, draft: SetupDraft, *, existing: bool) -> None:
        super().__init__(draft)
        self.mode = "ready" if draft.repository_ready == draft.repository else (
            "unlock" if existing else "create")

    def body(self) -> Iterable[Widget]:
        if self.mode == "create":
            yield Static(f"The backups are encrypted. Choose a passphrase for the new repository at "
                         f"{self.draft.repository}: several unrelated words, at least {MIN_LENGTH} characters. "
                         "Next creates the encrypted repository there now (the settings are saved at the "
                         "last step).")
            yield field_row("Passphrase", Field(password=True, id="passphrase", placeholder="type the passphrase"))
            yield field_row("Again", Field(password=True, id="again", placeholder="type it again"))
            yield Static("", id="advice")
            yield from self._enroll_box()
        elif self.mode == "unlock":
            yield Static(f"An odbackup repository is already at {self.draft.repository}. Type its passphrase "
                         "(or its recovery key) to use it.")
            yield field_row("Passphrase", Field(password=True, id="passphrase",
                                                placeholder="passphrase or recovery key"))
            yield from self._enroll_box()
        else:
            yield from self._ready_body()
        yield Static("", id="encryption-result")

    def _enroll_box(self) -> Iterable[Widget]:
        yield Tick("Let this computer back up on its own (enroll it)", True, id="enroll", compact=True)
        yield Static(ENROLL_HINT, classes="hint")

    def _ready_body(self) -> Iterable[Widget]:
        """The repository exists: say so, tell the enrolment as it is, and offer the two
        actions that really apply at once (enroll; change the passphrase)."""
        yield Static(ready_text(self.draft), classes="ok")
        yield Static(enrolment_text(self.draft.enrolled), id="enroll-state")
        enroll = Button("Enroll this computer now", id="enroll-now", compact=True)
        enroll.display = not self.draft.enrolled
        yield enroll
        with Vertical(id="change"):
            yield Static("Change the passphrase now (the recovery key keeps working; nothing is "
                         "re-encrypted):", classes="section-title")
            yield field_row("Current", Field(password=True, id="current",
                                             placeholder="current passphrase or recovery key"))
            yield field_row("New", Field(password=True, id="passphrase", placeholder="new passphrase"))
            yield field_row("Again", Field(password=True, id="again", placeholder="type it again"))
            yield Static("", id="advice")
            yield Button("Change the passphrase now", id="change-now", compact=True)

    def on_mount(self) -> None:
        if self.mode == "ready":
            self._check_enrolment()

    def focus_first(self) -> None:
        """Once the repository exists, Enter means Next (the forms below are optional)."""
        if self.mode == "ready":
            self.query_one("#next", Button).focus()
        else:
            super().focus_first()

    def _check_enrolment(self) -> None:
        location = self.draft.repository
        self.start_job("enrolment", lambda: self.EnrolmentRead(machine_enrolled(location)))

    def _show_enrolment(self, enrolled: bool) -> None:
        self.draft.enrolled = enrolled
        self.query_one("#enroll-state", Static).update(enrolment_text(enrolled))
        button = self.query_one("#enroll-now", Button)
        if enrolled and button.has_focus:
            self.focus_first()
        button.display = not enrolled

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
        if self.mode == "ready":
            self._leave_ready()
            return
        location, passphrase = self.draft.repository, self._value("passphrase")
        enroll = self.query_one("#enroll", Checkbox).value
        if self.mode == "create":
            found = self._new_passphrase_problem()
            if found:
                self.problem(found)
                return
            self._result("Creating the encrypted repository...")
            retention = self.draft.to_settings().retention.policy()
            days = self.draft.object_lock_days()
            self.start_job("create", lambda: self.Created(*create_repository(location, passphrase, enroll,
                                                                             retention, days)))
        else:
            if not self._value("passphrase"):
                self.problem("Type the passphrase (or the recovery key).")
                return
            self._result("Checking the passphrase...")
            self.start_job("unlock", lambda: self.Unlocked(unlock_repository(location, passphrase, enroll)))

    def action_back(self) -> None:
        if self.job_running("create"):  # leaving now would hide the recovery key of a new repository
            self.problem("The repository is being created: its recovery key comes next.")
            return
        super().action_back()

    def _leave_ready(self) -> None:
        """Next never drops a passphrase change typed but not applied."""
        if any(self._value(field_id) for field_id in ("current", "passphrase", "again")):
            self.problem("The passphrase is not changed: press 'Change the passphrase now' (it applies at "
                         "once), or empty those fields to keep it.")
            return
        self.go_next()

    def on_encryption_step_created(self, message: Created) -> None:
        self.draft.enrolled = message.enrolled
        self._now_ready("created")
        from .recovery import RecoveryStep

        self.app.push_screen(RecoveryStep(self.draft, message.recovery_key))

    def on_encryption_step_unlocked(self, message: Unlocked) -> None:
        self.draft.enrolled = message.enrolled
        self._now_ready("unlocked")
        self.go_next()

    def on_encryption_step_enrolment_read(self, message: EnrolmentRead) -> None:
        self._show_enrolment(message.enrolled)

    def on_encryption_step_enrolled(self, message: Enrolled) -> None:
        self._show_enrolment(True)
        self._result("")

    def on_encryption_step_passphrase_changed(self, message: PassphraseChanged) -> None:
        self._remember_secret(self._value("passphrase"))
        for field_id in ("current", "passphrase", "again"):
            self.query_one(f"#{field_id}", Input).value = ""
        self._result(Text("The passphrase was changed. The recovery key still works.", style="green"))

    def _now_ready(self, how: str) -> None:
        """The repository exists: from now on this step shows it as it is (see ready_text)."""
        d = self.draft
        self._remember_secret(self._value("passphrase"))
        d.repository_ready, d.repository_how = d.repository, how
        self.mode = "ready"
        self.call_later(self._show_ready)

    async def _show_ready(self) -> None:
        await self.recompose()
        self.focus_first()

    def _remember_secret(self, secret: str) -> None:
        """The passphrase that opens the repository now, for the rest of this session."""
        self.draft.secret = secret
        self.app.secret = secret

    def on_job_failed(self, message: JobFailed) -> None:
        message.stop()  # said on the step itself
        error = message.error
        self._result("")
        if message.job == "enrolment":
            self.query_one("#enroll-state", Static).update(Text(
                f"Whether this computer is enrolled could not be read: {error.message}", style="yellow"))
        elif isinstance(error, WrongPassphrase):
            self.problem(f"{error.message} {error.hint}")
        else:
            self.problem(f"{error.title}: {error.message} {error.hint or ''}".strip())

    def _result(self, text: str | Text) -> None:
        self.say("encryption-result", text)

    # --- ready: enroll, change the passphrase ------------------------------------------------------------

    @on(Button.Pressed, "#enroll-now")
    def enroll_now(self) -> None:
        app_secret = self.app.secret
        secret = os.environ.get(ENV) or self.draft.secret or app_secret or self._value("current")
        if not secret:
            self.problem("Enrolling needs the passphrase: type it (or the recovery key) in 'Current' below, "
                         "then press 'Enroll this computer now' again.")
            return
        self.problem(None)
        self._result("Enrolling this computer...")
        location = self.draft.repository

        def enroll() -> EncryptionStep.Enrolled:
            enroll_computer(location, secret)
            return self.Enrolled()

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
        location, current, new = self.draft.repository, self._value("current"), self._value("passphrase")

        def change() -> EncryptionStep.PassphraseChanged:
            change_passphrase(location, current, new)
            return self.PassphraseChanged()

        self.start_job("change", change)

    def next_step(self) -> SetupStep:
        from .archives import ArchivesStep

        return ArchivesStep(self.draft)
