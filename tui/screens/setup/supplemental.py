"""Setup, after the encryption step (setups with a database): the supplemental copy, optional.

Left off, Next skips it (the home screen's Supplemental, ``p``, turns it on later). Turned
on, Next checks the Backup Copy Network Path as ``odbackup config set`` would, then makes
the supplemental repository there, related to the main one, with the passphrase typed in
this setup (:func:`engine.supplemental.place.prepare`); a repository already there is
accepted when it is related. The passphrase and the main recovery key open a new one (its
own recovery key only beside a main repository made by an older odbackup); what was made is
shown, and the next Next goes on. The choice is saved with the rest at the last step.

"Online storage (S3-compatible)..." puts a bucket's folder in the path instead: the Online storage
dialog tests it (and saves its keys on this computer), and its Object Lock days, if any, lock the
repository made there.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from textual import on
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Static

from engine.errors import NeedsPassphrase
from engine.repository.repo import Repository
from engine.supplemental.place import Prepared, prepare
from engine.supplemental.settings import SupplementalSettings

from ...messages import JobDone
from ..common import passphrase_first
from ..supplemental import _normal, change_problems
from .base import SetupStep, field_row
from .draft import SetupDraft
from .online import OnlineChoice, OnlineStorageDialog


def after_encryption(draft: SetupDraft) -> SetupStep:
    """The step after the passphrase (and the recovery key): this one with a database, else the last."""
    from .finish import FinishStep

    return SupplementalStep(draft) if draft.use_database else FinishStep(draft)


def ready_without_secret(path: str, main: str) -> Prepared:
    """Without the passphrase: a related repository already at ``path`` will do; a path that cannot
    hold one says why; else the passphrase is asked for (NeedsPassphrase), and the job starts again."""
    from engine.places import check_destination
    from engine.supplemental.place import SupplementalPathProblem

    check = check_destination(path)
    if not check.is_repository:
        if check.problem:
            raise SupplementalPathProblem(check.problem)
        raise NeedsPassphrase("Making the supplemental repository needs the passphrase of the backups.")
    there = Repository.open(path)
    if not there.related_to(Repository.open(main)):
        raise SupplementalPathProblem(f"{path} holds another odbackup repository, not one related to {main}.")
    return Prepared(path, made=False)


class SupplementalStep(SetupStep):
    """The supplemental copy: on or off, and its Backup Copy Network Path (module docstring)."""

    HEADING = "Supplemental copy (optional)"
    NEXT_JOBS = ("supp-make",)

    @dataclass
    class Ready(JobDone):
        """The supplemental repository is at the path (made now, or found related)."""

        prepared: Prepared

    def __init__(self, draft: SetupDraft) -> None:
        super().__init__(draft)
        self.shown_key = False
        """What was made (and any recovery key of its own) is on screen: the next Next goes on."""
        self.online_choice: OnlineChoice | None = None
        """What the Online storage dialog answered last (its location and Object Lock days)."""

    def body(self) -> Iterable[Widget]:
        current = self.draft.supplemental or (self.draft.saved.supplemental if self.draft.saved else
                                              SupplementalSettings())
        yield Static("Each night in its window (10 pm to 4 am), a fresh backup of the database and the images into "
                     "its own repository at a Backup Copy Network Path (another share or drive), checked after "
                     "each copy: it still restores when the main drive is lost. Leave it off to skip; the home "
                     "screen's Supplemental (p) turns it on later.", id="supp-step-intro")
        yield Checkbox("Supplemental Backups Enabled", current.enabled, id="supp-enabled", compact=True)
        yield field_row("Network path", Input(current.path, placeholder="//server/share/odbackup-supplemental",
                                              id="supp-path"))
        yield Button("Online storage (S3-compatible)...", id="supp-online", compact=True)
        yield Static("", id="supp-step-result")

    @on(Button.Pressed, "#supp-online")
    def choose_online(self) -> None:
        """The Online storage dialog (Test) for the path: its tested location goes into the field."""
        if self.job_running("supp-make"):
            return
        path = self.query_one("#supp-path", Input)

        def chosen(choice: OnlineChoice | None) -> None:
            if choice is None:
                self.query_one("#supp-online").focus()
                return
            path.value = choice.location
            self.online_choice = choice
            self.query_one("#supp-enabled", Checkbox).value = True
            self.problem(None)
            self.say("supp-step-result", f"Online storage: the keys work for {choice.location}. Press Next to "
                     "make the supplemental repository there.")
            self.query_one("#next").focus()

        from engine.places import is_online

        current = path.value.strip() if is_online(path.value) else ""
        self.app.push_screen(OnlineStorageDialog(current, first_copy_bytes=self.draft.estimated_bytes(),
                                                 purpose="supplemental copy"), chosen)

    def lock_days(self, path: str) -> int:
        """The Object Lock days chosen in the dialog for ``path`` (0 for any other path)."""
        choice = self.online_choice
        return choice.object_lock_days if choice is not None and choice.location == path else 0

    def focus_first(self) -> None:
        self.query_one("#supp-enabled").focus()

    def typed(self) -> SupplementalSettings:
        base = self.draft.supplemental or (self.draft.saved.supplemental if self.draft.saved else
                                           SupplementalSettings())
        return replace(base, enabled=self.query_one("#supp-enabled", Checkbox).value,
                       path=_normal(self.query_one("#supp-path", Input).value))

    def next_requested(self) -> None:
        new = self.typed()
        if not new.enabled:
            self.draft.supplemental = new
            self.go_next()
            return
        if self.shown_key and self.draft.supplemental == new:
            self.go_next()
            return
        if not new.path:
            self.problem("Type the Backup Copy Network Path, or leave supplemental copies off.")
            return
        found = change_problems(self.draft.to_settings(), new)
        if found:
            self.problem(found[0])
            return
        main = self.draft.repository
        self.say("supp-step-result", "Making the supplemental repository...")
        self.start_job("supp-make", lambda: self.Ready(self._prepare(new.path, main)))

    def _prepare(self, path: str, main: str) -> Prepared:
        """In the worker: with the setup's passphrase, or the session's (asked for, then this runs
        again), make or accept the repository; without, only accept one there already."""
        secret = passphrase_first(self.draft.secret, self.app.secret)
        if not secret:
            return ready_without_secret(path, main)
        return prepare(path, main, secret, object_lock_days=self.lock_days(path))

    def on_supplemental_step_ready(self, message: Ready) -> None:
        done = message.prepared
        self.draft.supplemental = self.typed()
        if not done.made:
            self.say("supp-step-result", f"{done.path} already holds the supplemental repository.")
            self.go_next()
            return
        self.shown_key = True
        if not done.recovery_key:
            self.say("supp-step-result", f"Made the supplemental repository at {done.path}; your passphrase and "
                     "recovery key open it too (no new key to write down). Press Next.")
            return
        self.say("supp-step-result", f"Made the supplemental repository at {done.path}; the passphrase opens it. "
                 "The backups were made by an older odbackup, so their recovery key does not: write down this "
                 f"one and keep it with it:\n{done.recovery_key}\nThen press Next.")

    def on_job_failed(self, message) -> None:  # noqa: ANN001 - JobFailed
        error = message.error
        self.say("supp-step-result", "")
        self.problem(f"{error.message} {error.hint or ''}".strip())
        message.stop()

    def next_step(self) -> Screen | None:
        from .finish import FinishStep

        return FinishStep(self.draft)
