"""The Supplemental screen (the dashboard's ``p``): odbackup's nightly last-resort copy, in the
words of Open Dental's own Supplemental Backups tab, with Open Dental's settings beside it.

"Supplemental Backups Enabled", "Date/Time Last Local Supplemental" (read-only: the last
successful ``odbackup run supplemental``), "Backup Copy Network Path" (checked in a worker:
reachable, writable, space, whether the repository is there) and the window; "Save Defaults"
writes them through the settings' one locked path, checked as ``odbackup config set`` checks
them. "Make repository" makes the supplemental repository at the path, related to the main one
(it asks for the passphrase). "Copy now" runs the supplemental job as ``odbackup run
supplemental --force`` does (outside its window too; once at a time; its record and log written),
saying in plain words how far it is and how it ended; "Verify" opens the verify flow on the
supplemental repository (a restore where it cannot hurt, its report kept in that repository).
Open Dental's own settings (its ``preference`` rows) are shown read-only: odbackup never
changes them. The admin-password finding is shown too.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Checkbox, Footer, Header, Input, Label, Static

from engine import events as ev
from engine.credentials import Sources
from engine.places import DestinationCheck, check_destination
from engine.runlog import RunRecord
from engine.settings import Settings, update_settings
from engine.supplemental.alerts import SupplementalState
from engine.supplemental.settings import SupplementalSettings

from ..joblog import JobLog
from ..messages import JobDone, JobFailed
from ..widgets import fmt
from .common import JobScreen, post_events
from .verify import VerifyScreen


def last_copy_words(state: SupplementalState | None, now: datetime | None = None) -> str:
    """``Mon 07 Dec 2026 22:14 (10 hours ago)``, ``never``, or ``reading...``."""
    from engine.words import ago, when

    from ..widgets import fmt

    if state is None:
        return "reading..."
    if state.last_copy is None:
        return "never"
    at = when(state.last_copy)
    return f"{at.astimezone():%a %d %b %Y %H:%M} ({ago(at, now or fmt.now())})"


def open_dental_text(state: SupplementalState | None, admins) -> Text:
    """Open Dental's own Supplemental settings, read-only, and its admin users without a password."""
    from engine.opendental.admins import HINT, finding, summary_words

    text = Text("Open Dental's own Supplemental Backups (read-only; odbackup never changes them):\n", style="bold")
    od = state.open_dental if state is not None else None
    if od is None:
        text.append("  not read (no database set up, or it cannot be reached)\n", style="dim")
    else:
        for label, value in od.words():
            text.append(f"  {label}: {value}\n")
    if admins is not None:
        said = finding(admins)
        text.append(f"{said}: {HINT}.\n" if said else summary_words(admins) + "\n",
                    style="bold yellow" if said else "dim")
    return text


def gather(settings: Settings, secret: str | None) -> tuple[SupplementalState, object]:
    """The copy's state, Open Dental's settings and the admin audit (slow: a worker)."""
    from engine.supplemental.alerts import gather as gather_part

    found = gather_part(settings, Sources.here(session=secret), database_ok=True)
    if "supplemental" not in found:  # a folders-only setup: the copy's own state still shows
        from engine.supplemental.alerts import gather_copy

        found["supplemental"] = gather_copy(settings, Sources.here(session=secret))
    return found["supplemental"], found.get("admin_passwords")


class SupplementalScreen(JobScreen):
    """The supplemental copy's settings and state (module docstring)."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+s", "save", "Save Defaults"),
        Binding("ctrl+o", "copy", "Copy now"),
        Binding("ctrl+v", "verify", "Verify"),
    ]

    DEFAULT_CSS = """
    SupplementalScreen #supp-body { padding: 0 1; }
    SupplementalScreen #supp-problem { padding: 0 1; }
    SupplementalScreen #supp-path-check, SupplementalScreen #supp-od { margin-top: 1; }
    SupplementalScreen #supp-run { height: auto; }
    SupplementalScreen .buttons Button { min-width: 0; margin-right: 1; }
    """

    @dataclass
    class Gathered(JobDone):
        """The copy's state, Open Dental's settings and the admin audit were read."""

        state: SupplementalState
        admins: object

    @dataclass
    class PathChecked(JobDone):
        """The Backup Copy Network Path was looked at."""

        check: DestinationCheck

    @dataclass
    class Copied(JobDone):
        """The supplemental job ended (its run record)."""

        record: RunRecord

    @dataclass
    class Made(JobDone):
        """The supplemental repository is ready at the path."""

        words: str

    def __init__(self) -> None:
        super().__init__()
        self.state: SupplementalState | None = None

    def compose(self) -> ComposeResult:
        supp = self.settings.supplemental
        yield Header()
        with VerticalScroll(id="supp-body"):
            yield Static("odbackup's own nightly last-resort copy, in its own repository (the main one is not "
                         "needed to restore it), checked after each copy.", id="supp-intro")
            yield Checkbox("Supplemental Backups Enabled", supp.enabled, id="supp-enabled", compact=True)
            yield _row("Date/Time Last Local Supplemental", Static("reading...", id="supp-last"))
            yield _row("Backup Copy Network Path", Input(supp.path, placeholder="//server/share/odbackup-supplemental", id="supp-path",
                                                          compact=True))
            yield _row("When (window, e.g. 22:00-04:00)", Input(supp.window, id="supp-window", compact=True))
            yield Checkbox("Also copy the images folder", supp.images, id="supp-images", compact=True)
            yield Static("", id="supp-path-check")
            yield Static("", id="supp-run")
            yield Static(Text("Reading Open Dental's settings...", style="dim"), id="supp-od")
        problem = Static("", id="supp-problem", classes="problem")
        problem.display = False
        yield problem
        with Horizontal(classes="buttons"):
            yield Button("Back", id="back", compact=True)
            yield Button("Save Defaults", id="save", variant="primary", compact=True)
            yield Button("Check path", id="check", compact=True)
            yield Button("Make repository", id="make", compact=True)
            yield Button("Copy now", id="copy", compact=True)
            yield Button("Verify", id="verify", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Supplemental"
        self.query_one("#supp-enabled").focus()
        settings, secret = self.settings, self.app.secret
        self.start_job("gather", lambda: self.Gathered(*gather(settings, secret)))
        self.action_check()

    # --- what is shown ------------------------------------------------------------------------------

    def problem(self, text: str | None) -> None:
        line = self.query_one("#supp-problem", Static)
        line.update(text or "")
        line.display = bool(text)

    @property
    def problem_text(self) -> str:
        return str(self.query_one("#supp-problem", Static).content)

    def on_supplemental_screen_gathered(self, message: Gathered) -> None:
        self.state = message.state
        self.query_one("#supp-last", Static).update(last_copy_words(message.state))
        self.query_one("#supp-od", Static).update(open_dental_text(message.state, message.admins))

    def on_supplemental_screen_path_checked(self, message: PathChecked) -> None:
        from engine.supplemental.place import path_words

        self.query_one("#supp-path-check", Static).update(path_words(message.check))

    def on_supplemental_screen_made(self, message: Made) -> None:
        self.query_one("#supp-path-check", Static).update(message.words)  # (the recovery key stays in view)
        self.problem(None)

    def on_supplemental_screen_copied(self, message: Copied) -> None:
        self.app.busy = None
        self.query_one("#supp-run", Static).update(copied_words(message.record))
        settings, secret = self.settings, self.app.secret
        self.start_job("gather", lambda: self.Gathered(*gather(settings, secret)))  # the new last copy

    def show_backup_started(self, e: ev.BackupStarted) -> None:
        self.query_one("#supp-run", Static).update(f"Copying into {e.repository}...")

    def show_backup_progress(self, e: ev.BackupProgress) -> None:
        from engine.words import size

        of = f" of {e.files_total:,}" if e.files_total is not None else ""
        self.query_one("#supp-run", Static).update(
            f"Copying: {e.files_done:,}{of} file(s), {size(e.bytes_done)} read, {size(e.bytes_stored)} new.")

    def show_database_dumped(self, e: ev.DatabaseDumped) -> None:
        self.query_one("#supp-run", Static).update(f"Copying: database {e.database} saved ({e.tables} tables).")

    def on_job_failed(self, message: JobFailed) -> None:
        if message.job == "copy":
            self.app.busy = None
            self.query_one("#supp-run", Static).update(Text("The copy did not run.", style="bold red"))
        error = message.error
        self.problem(f"{error.message} {error.hint or ''}".strip())
        message.stop()

    # --- actions ----------------------------------------------------------------------------------------

    def typed(self) -> SupplementalSettings:
        return SupplementalSettings(
            enabled=self.query_one("#supp-enabled", Checkbox).value,
            path=_normal(self.query_one("#supp-path", Input).value),
            window=self.query_one("#supp-window", Input).value.strip(),
            images=self.query_one("#supp-images", Checkbox).value)

    def action_back(self) -> None:
        self.app.pop_screen()

    @on(Button.Pressed, "#back")
    def _back(self) -> None:
        self.action_back()

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        """Save Defaults: refused, saying why, when it brings a problem (as ``config set``)."""
        new = self.typed()
        found = change_problems(self.settings, new)
        if found:
            self.problem(found[0])
            return
        self.problem(None)
        saved = update_settings(lambda old: replace(old or self.settings, supplemental=new))
        self.app.settings = saved
        note = " Install the schedule from Frequency (f) so it runs each night." if new.enabled else ""
        self.notify("Saved." + note, title="Supplemental")

    @on(Button.Pressed, "#check")
    def action_check(self) -> None:
        path = _normal(self.query_one("#supp-path", Input).value)
        self.query_one("#supp-path-check", Static).update("Checking the Backup Copy Network Path..." if path else "")
        if path:
            self.start_job("check", lambda: self.PathChecked(check_destination(path)))

    @on(Input.Submitted, "#supp-path")
    def _path_entered(self) -> None:
        self.action_check()

    @on(Button.Pressed, "#copy")
    def action_copy(self) -> None:
        """Copy now: the supplemental job, forced (outside its window too); never two at once."""
        if self.job_running("copy"):
            self.notify("A supplemental copy is already running.", title="Supplemental")
            return
        if not self.settings.supplemental.path.strip():
            self.problem("Type the Backup Copy Network Path and Save Defaults first.")
            return
        self.problem(None)
        self.app.busy = "a supplemental copy"
        self.query_one("#supp-run", Static).update("Starting the supplemental copy...")
        self.start_job("copy", copy_now, self, self.settings)

    @on(Button.Pressed, "#verify")
    def action_verify(self) -> None:
        """Verify: the verify flow, on the supplemental repository."""
        if not self.settings.supplemental.path.strip():
            self.problem("Type the Backup Copy Network Path and Save Defaults first.")
            return
        self.problem(None)
        self.app.push_screen(SupplementalVerifyScreen())

    @on(Button.Pressed, "#make")
    def action_make(self) -> None:
        """Make the supplemental repository at the path (the passphrase is asked for when needed)."""
        if self.job_running("make"):
            return
        path = _normal(self.query_one("#supp-path", Input).value)
        if not path:
            self.problem("Type the Backup Copy Network Path first.")
            return
        if not self.app.secret:
            self.ask_secret_then(self.action_make, lambda: self.problem(
                "Making the supplemental repository needs the passphrase."))
            return
        main = self.settings.repository
        self.query_one("#supp-path-check", Static).update("Making the supplemental repository...")
        # the session's secret read when the job runs: asked again (the recovery key will not do), it restarts
        self.start_job("make", lambda: self.Made(make_words(path, main, self.app.secret or "")))


class SupplementalVerifyScreen(VerifyScreen):
    """The verify flow on the supplemental repository (its snapshots, its report kept there)."""

    @property
    def settings(self) -> Settings:
        from engine.supplemental.run import copy_settings

        saved = self.app.settings
        assert saved is not None, "this screen needs saved settings"
        return copy_settings(saved)

    def repository_location(self) -> str:
        return self.settings.repository


def copy_now(screen: SupplementalScreen, settings: Settings) -> JobDone:
    """The supplemental job, as ``odbackup run supplemental --force`` runs it (record and log written)."""
    from textual.worker import get_current_worker

    from engine import jobs

    job = jobs.get_job("supplemental")
    log = JobLog(job.name)
    log.write(f"Run of {job.name} (started in the app, Copy now): {job.description}.")
    record = jobs.run(job, settings, on_event=post_events(screen, "copy", log),
                      cancel=get_current_worker().cancelled_event, trigger="manual", force=True)
    log.write(f"{record.result}: {record.message}", "INFO" if record.result == "ok" else "WARN")
    return SupplementalScreen.Copied(record)


def copied_words(record: RunRecord) -> Text:
    """How Copy now ended, in plain words."""
    if record.result == "ok":
        return Text(f"Copied ({fmt.ago(record.finished)}): {record.message}", style="green")
    style = "bold red" if record.result == "failed" else "yellow"
    return Text(f"The copy {record.result}: {record.message}", style=style)


def _row(label: str, widget: Static | Input) -> Horizontal:
    """A label of the manual's words and its value on one line (the labels line up)."""
    title = Label(label)
    title.styles.width = 34
    row = Horizontal(title, widget, classes="form-row")
    row.styles.height = 1
    return row


def _normal(text: str) -> str:
    from engine.places import normal

    return normal(text) if text.strip() else ""


def change_problems(settings: Settings, new: SupplementalSettings) -> list[str]:
    """What ``new`` brings that the settings did not have (``odbackup config set``'s rule), and a
    path that cannot be used."""
    before = set(settings.problems())
    found = [p for p in replace(settings, supplemental=new).problems() if p not in before]
    if new.path and new.path != settings.supplemental.path:
        problem = check_destination(new.path).problem
        if problem:
            found.append(problem)
    return found


def make_words(path: str, main: str, secret: str) -> str:
    """Make (or accept) the supplemental repository; what happened, in plain words."""
    from engine.supplemental.place import prepare

    done = prepare(path, main, secret)
    if not done.made:
        return f"{path} already holds the supplemental repository (related to {main})."
    if not done.recovery_key:
        return (f"Made the supplemental repository at {path}; the passphrase and the main recovery key open "
                "it (no new key to write down).")
    return (f"Made the supplemental repository at {path}; the passphrase opens it. {main} was made by an older "
            f"odbackup, so its recovery key does not: write down this one and keep it with it: "
            f"{done.recovery_key}")
