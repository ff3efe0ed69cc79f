"""Verify-restore: pick a snapshot (the latest by default) and the server to restore onto
(the same one by default), watch each table being compared, get one clear verdict and the
path of the dated report."""
from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Header, Input, Label, ProgressBar, Select, Static
from textual.worker import get_current_worker

from engine import events as ev
from engine.database.connection import DbTarget, resolve_password
from engine.errors import Cancelled, OdbackupError, UsageError
from engine.repository.records import DatabaseSource
from engine.settings import Settings

from ..joblog import JobLog
from ..messages import JobDone, JobFailed
from ..widgets import fmt
from ..widgets.choices import Field, Picker
from ..widgets.live import TableList
from ..widgets.verdict import Verdict
from .common import JobScreen, open_repo, post_events


@dataclass(frozen=True)
class SnapshotChoice:
    """A snapshot to pick, with the databases it holds (name, server, user)."""

    snapshot_id: str
    time: str
    complete: bool
    databases: tuple[tuple[str, str, str], ...]

    def label(self) -> str:
        return f"{fmt.local(self.time)}  {self.snapshot_id[:8]}  {'complete' if self.complete else 'INCOMPLETE'}"


@dataclass(frozen=True)
class VerifyOutcome:
    """The report and what else the screen shows."""

    ok: bool
    problems: tuple[str, ...]
    report_text: str
    objects: int
    verdict: str = ""
    """The verdict in plain words (``engine.verify.verdict_words``)."""


def load_choices(settings: Settings, secret: str | None) -> list[SnapshotChoice]:
    """Snapshots, newest first (needs the passphrase: their contents are read)."""
    repo = open_repo(settings.repository, full=True, secret=secret)
    return [SnapshotChoice(s.snapshot_id, s.time, s.complete,
                           tuple((src.name, src.server, src.user or "root")
                                 for src in s.sources if isinstance(src, DatabaseSource)))
            for s in reversed(repo.snapshots())]


def parse_server(text: str, user: str) -> DbTarget:
    """``host:port`` (port optional) -> a target."""
    host, _, port = text.strip().rpartition(":") if ":" in text else (text.strip(), "", "3306")
    if not host or not port.isdigit():
        raise UsageError(f"'{text}' is not a server: write HOST:PORT, e.g. 127.0.0.1:3306.")
    return DbTarget(host=host, port=int(port), user=user.strip() or "root")


def verify_job(screen: VerifyScreen, settings: Settings, snapshot_id: str, server: DbTarget | None,
               password: str | None, secret: str | None) -> VerifyOutcome:
    """The worker: verify the snapshot, log it, count the objects checked."""
    from engine.database.restore import database_sources
    from engine.verify import verdict_words, verify_snapshot

    log = JobLog("verify")
    try:
        repo = open_repo(settings.repository, full=True, secret=secret)
        snap = repo.find_snapshot(snapshot_id)
        report, text_path, _json = verify_snapshot(
            repo, snap, server=server, images_folder=settings.images_folder,
            password_for=lambda t: t.with_password(password) if password else resolve_password(t),
            on_event=post_events(screen, "verify", log), cancel=get_current_worker().cancelled_event)
        objects = sum(len(repo.read_tree(bytes.fromhex(s.tree))["programs"])
                      for s in database_sources(repo, snap))
    except OdbackupError as exc:
        log.error(exc)
        raise
    return VerifyOutcome(report.ok, tuple(report.problems), text_path, objects, verdict_words(report))


class VerifyScreen(JobScreen):
    """Verify a snapshot by restoring it where it cannot hurt."""

    BINDINGS = [
        Binding("ctrl+n", "start", "Start verifying"),
        Binding("escape", "back", "Back"),
    ]

    @dataclass
    class ChoicesLoaded(JobDone):
        """The snapshots to choose from, newest first."""

        choices: list[SnapshotChoice]

    @dataclass
    class Finished(JobDone):
        """The verification ran to its verdict (passed or failed)."""

        outcome: VerifyOutcome

    def __init__(self, snapshot_id: str | None = None) -> None:
        super().__init__()
        self.wanted = snapshot_id
        self.choices: list[SnapshotChoice] = []
        self.state = "loading"
        """loading, ready, running, stopping, done, failed."""
        self.outcome: VerifyOutcome | None = None
        self.files_line = ""
        self.patient_checks: list[ev.PatientFilesChecked] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="verify-form"):
            yield Picker([], id="snapshot", prompt="Reading the snapshots...", compact=True)
            with Horizontal(classes="form-row"):
                yield Label("Restore onto")
                yield Field("", id="server", placeholder="HOST:PORT", compact=True)
                yield Field("", id="user", placeholder="user", compact=True)
                yield Field("", id="password", password=True, placeholder="password",
                            compact=True)
            yield Static("", id="scratch", classes="hint")
            yield Button("Start verifying (Ctrl+N)", id="start", variant="primary", compact=True, disabled=True)
        yield Static("", id="phase", classes="section-title")
        yield ProgressBar(id="progress", show_eta=False)
        yield TableList(TableList.VERIFY_COLUMNS, id="results")
        yield Static("", id="checked")
        yield Verdict(id="verdict")
        yield Static("", id="report-path")
        yield Footer()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "start":
            return self.state == "ready"
        return True

    def on_mount(self) -> None:
        self.sub_title = "Verify"
        self.query_one("#progress").display = False
        settings = self.settings
        self.start_job("load", lambda: self.ChoicesLoaded(load_choices(settings, self.app.secret)))

    # --- choosing --------------------------------------------------------------------------------------

    def chosen(self) -> SnapshotChoice | None:
        value = self.query_one("#snapshot", Select).value
        return next((c for c in self.choices if c.snapshot_id == value), None)

    @on(Select.Changed, "#snapshot")
    def _snapshot_changed(self) -> None:
        choice = self.chosen()
        if choice is None:
            return
        if choice.databases:
            _name, server, user = choice.databases[0]
            self.query_one("#server", Input).value = server
            self.query_one("#user", Input).value = user
        self._explain()

    @on(Input.Changed, "#server")
    def _explain(self) -> None:
        choice = self.chosen()
        if choice is None:
            return
        where = self.query_one("#server", Input).value or "its own server"
        if choice.databases:
            names = ", ".join(f"odbackup_verify_{choice.snapshot_id[:8]}_{name}_<random>"
                              for name, _s, _u in choice.databases)
            text = (f"Restores into a scratch database ({names}) on {where}, never an existing one; compares "
                    "every table, view, routine and file; then deletes it. The live database is not touched.")
        else:
            text = "This snapshot holds no database: every file is decrypted and checked."
        self.query_one("#scratch", Static).update(text)

    # --- running --------------------------------------------------------------------------------------

    @on(Button.Pressed, "#start")
    def action_start(self) -> None:
        choice = self.chosen()
        if self.state != "ready" or choice is None:
            return
        try:
            server = (parse_server(self.query_one("#server", Input).value, self.query_one("#user", Input).value)
                      if choice.databases else None)
        except UsageError as exc:
            self.query_one("#scratch", Static).update(Text(exc.message, style="bold red"))
            return
        password = self.query_one("#password", Input).value or None
        self.state = "running"
        self.refresh_bindings()
        self.query_one("#verify-form").display = False
        self.query_one("#progress").display = True
        self.query_one("#phase", Static).update(f"Verifying snapshot {choice.snapshot_id[:8]} of "
                                                f"{fmt.local(choice.time)}...")
        self.app.busy = "a verification"
        settings = self.settings
        self.start_job("verify", lambda: self.Finished(verify_job(self, settings, choice.snapshot_id, server,
                                                                  password, self.app.secret)))

    # --- events (dispatched by class: JobScreen.on_engine_event) -------------------------------

    def show_database_restore_started(self, e: ev.DatabaseRestoreStarted) -> None:
        self.query_one("#phase", Static).update(f"Restoring {e.database} into {e.target} "
                                                f"({fmt.count(e.tables, 'table')}, {fmt.size(e.bytes)})...")
        self.query_one(ProgressBar).update(total=max(e.tables, 1) * 2, progress=0)

    def show_table_restored(self, e: ev.TableRestored) -> None:
        self.query_one(ProgressBar).advance(1)

    def show_database_restored(self, e: ev.DatabaseRestored) -> None:
        self.query_one("#phase", Static).update(f"Comparing the tables of {e.database}...")

    def show_table_verified(self, e: ev.TableVerified) -> None:
        self.query_one(ProgressBar).advance(1)
        self.query_one(TableList).verified(e)

    def show_files_verified(self, e: ev.FilesVerified) -> None:
        damaged = f"; {len(e.damaged)} DAMAGED" if e.damaged else "; none damaged"
        self.files_line = (f"Files: {fmt.count(e.files, 'file')} decrypted and matched their hashes "
                           f"({fmt.size(e.bytes)}){damaged}.")
        self.query_one("#phase", Static).update("Writing the report...")

    def show_patient_files_checked(self, e: ev.PatientFilesChecked) -> None:
        self.patient_checks.append(e)

    def on_verify_screen_finished(self, message: Finished) -> None:
        self.outcome = result = message.outcome
        self._finish("done")
        from engine.opendental.documents import summary_words
        from engine.verify import tables_line

        tables = self.query_one(TableList)
        tables.flush()
        self.query_one("#phase", Static).update(tables_line(tables.row_count, tables.bad_rows,
                                                            tables.definitions) + ".")
        self.query_one("#checked", Static).update(
            f"Views, routines, triggers and events: {result.objects} checked. {self.files_line}"
            + "".join(f"\n{summary_words(c)}" for c in self.patient_checks))
        meaning = ("This backup restores completely and exactly." if result.ok else
                   "; ".join(result.problems[:3]) + (" ..." if len(result.problems) > 3 else ""))
        if result.verdict.startswith("FAILED: "):  # only patient files are missing: the words say so
            words = result.verdict.removeprefix("FAILED: ")
            missing = [p for c in self.patient_checks for p in c.missing]
            meaning = (words[0].upper() + words[1:] + " Missing: " + ", ".join(missing[:3])
                       + (" ..." if sum(c.missing_total for c in self.patient_checks) > 3 else ""))
        self.query_one(Verdict).show(result.ok, meaning)
        self.query_one("#report-path", Static).update(f"Report: {result.report_text}")

    def on_verify_screen_choices_loaded(self, message: ChoicesLoaded) -> None:
        self.choices = choices = message.choices
        wanted = next((c.snapshot_id for c in choices if c.snapshot_id == self.wanted), None)
        self.query_one("#snapshot", Picker).offer([(c.label(), c.snapshot_id) for c in choices], wanted,
                                                   empty="No snapshots yet")
        if not choices:
            self.query_one("#scratch", Static).update("No snapshots yet: back up first.")
            return
        self.state = "ready"
        self.refresh_bindings()
        start = self.query_one("#start", Button)
        start.disabled = False
        start.focus()

    def on_job_failed(self, message: JobFailed) -> None:
        error = message.error
        if message.job == "verify":
            self._finish("cancelled" if isinstance(error, Cancelled) else "failed")
            self.query_one("#phase", Static).update(Text(
                "Verification stopped: the scratch database was deleted." if isinstance(error, Cancelled)
                else f"Verification could not run: {error.title}.", style="bold yellow"))
            if isinstance(error, Cancelled):
                message.stop()  # the line above says what happened (the engine's note speaks of its inner restore)

    def _finish(self, state: str) -> None:
        self.state = state
        self.app.busy = None
        self.query_one("#progress").display = False

    def action_back(self) -> None:
        if self.state == "running":
            from .modals import ConfirmScreen

            self.app.push_screen(ConfirmScreen("Stop the verification?", "The scratch database is deleted; "
                                               "nothing else changes.", yes="Stop", no="Keep going"),
                                 self._stop)
        elif self.state != "stopping":
            self.app.pop_screen()

    def _stop(self, yes: bool | None) -> None:
        if yes and self.state == "running":
            self.state = "stopping"
            self.query_one("#phase", Static).update("Stopping...")
            for worker in self.workers:
                if worker.node is self and worker.name == "verify":
                    worker.cancelled_event.set()
