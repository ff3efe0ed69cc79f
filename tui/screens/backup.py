"""Back up now: live progress, the lock banner, cancel, and the result.

The backup runs ``engine.backup.run_backup`` in a thread worker; its events
arrive as messages. Cancel (``c``, Escape or Ctrl+C) asks once, then sets the
worker's cancel event: the engine stops at its next check, the database
session holding the lock, or asking for it, is ended at once (the server drops
its locks and the request), and no snapshot is saved. The screen says
"stopped" only when the engine has really stopped, and what happened to the
lock only as the engine measured it.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Footer, Header, ProgressBar, Static
from textual.worker import get_current_worker

from engine import events as ev
from engine.backup import BackupResult, run_backup
from engine.errors import Cancelled, OdbackupError
from engine.progress import Eta
from engine.settings import Settings

from ..joblog import JobLog
from ..messages import JobDone, JobFailed
from ..printers import watch_lost_words
from ..widgets import fmt
from ..widgets.live import LockBanner, TableList
from ..widgets.panels import InfoPanel
from .common import JobScreen, open_repo, post_events


def _seconds(seconds: float) -> str:
    """A short measured time as it was: ``0.04 s`` (``short_duration`` would say ``0.0 s``)."""
    return f"{seconds:.2f} s" if seconds < 1 else fmt.short_duration(seconds)


def backup_job(screen: BackupScreen, settings: Settings, lock_mode: str | None, secret: str | None
               ) -> tuple[BackupResult, str]:
    """The worker: open the repository (machine credentials suffice) and run the backup."""
    log = JobLog("backup")
    try:
        plan = settings.backup_plan()
        if lock_mode is not None:
            plan = dataclasses.replace(plan, databases=tuple(
                dataclasses.replace(d, lock_mode=lock_mode) for d in plan.databases))
        repo = open_repo(settings.repository, full=False, secret=secret)
        result = run_backup(repo, plan, on_event=post_events(screen, "backup", log),
                            cancel=get_current_worker().cancelled_event)
    except OdbackupError as exc:
        log.error(exc)
        raise
    return result, log.path


class BackupScreen(JobScreen):
    """The backup, live."""

    BINDINGS = [
        Binding("c", "cancel", "Cancel backup"),
        Binding("ctrl+c", "cancel", "Cancel backup", show=False),  # not Textual's "press ctrl+q to quit"
        Binding("escape", "back", "Back"),
    ]

    @dataclass
    class Finished(JobDone):
        """The backup ended with a snapshot (complete or not)."""

        result: BackupResult
        log_path: str

    def __init__(self, lock_mode: str | None) -> None:
        super().__init__()
        self.lock_mode = lock_mode
        self.state = "starting"
        """starting, running, stopping, done, failed, cancelled."""
        self.table_started = time.monotonic()
        self.tables_total = 0
        self.tables_done = 0
        self.tables_shown = 0
        self.skipped: list[str] = []
        self.databases: list[str] = []
        self.log_path = ""
        self.lock_timeout = 0.0
        self.has_folders = True  # set from the settings on mount
        self.eta = Eta()
        self.stop_asked: float | None = None
        """When the user confirmed the stop (monotonic)."""
        self.lock_asked = False
        """A database lock was asked for during this backup."""
        self.lock_ending = ""
        """What happened to the lock when the backup stopped, as the engine measured it."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield LockBanner(id="lock-banner")
        with Vertical(id="live"):
            yield Static("Starting...", id="phase", classes="section-title")
            yield Static("", id="current")
            yield Static("", id="counters")
            yield ProgressBar(id="progress", show_eta=False)
            yield TableList(id="tables")
            yield Static("", id="folders")
        yield InfoPanel("Result", id="result")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Back up now"
        self.query_one("#result").display = False
        self.query_one("#tables").display = False
        settings = self.settings
        self.lock_timeout = settings.database.lock_timeout if settings.database else 0.0
        self.has_folders = bool(settings.images_folder or settings.extra_folders)
        self.app.busy = "a backup"
        self.state = "running"
        self.set_interval(TableList.FLUSH_SECONDS, self._show_tables_done)
        self.start_job("backup", lambda: self.Finished(*backup_job(self, settings, self.lock_mode, self.app.secret)))

    # --- events -------------------------------------------------------------------------------------

    def _set(self, widget_id: str, text: str | Text) -> None:
        self.query_one(f"#{widget_id}", Static).update(text)

    def show_backup_started(self, e: ev.BackupStarted) -> None:
        self._set("phase", f"Backing up to {e.repository}")
        if any(s.startswith("mysql://") for s in e.sources):
            self._set("current", "Reading the database's table definitions (nothing is locked yet)...")

    def show_database_preflight(self, e: ev.DatabasePreflight) -> None:
        self.tables_total = e.tables
        self.query_one("#tables").display = True
        self._set("phase", f"Database {e.database}: {fmt.count(e.tables, 'table')}, {fmt.size(e.data_bytes)} "
                           f"({e.lock_mode} locking)")
        self.query_one(ProgressBar).update(total=max(e.tables, 1), progress=0)

    def show_lock_requested(self, e: ev.LockRequested) -> None:
        self.lock_asked = True
        self.query_one(LockBanner).requested(e, self.lock_timeout)
        self._set("current", "Asking for the read lock (while it is not granted, the office's changes wait)...")

    def show_lock_taken(self, e: ev.LockTaken) -> None:
        self.query_one(LockBanner).taken(e)
        self._set("current", "Reading the locked tables as fast as possible...")

    def show_lock_status(self, e: ev.LockStatus) -> None:
        self.query_one(LockBanner).status(e)

    def show_lock_gave_up(self, e: ev.LockGaveUp) -> None:
        self.query_one(LockBanner).released()
        blockers = f" In the way: {e.blocking_queries[0]}" if e.blocking_queries else ""
        waited = f" The office's changes waited {fmt.short_duration(e.waited)} for it." if e.waited else ""
        self.notify(f"{e.scope}: {e.reason} (try {e.attempt}).{waited}{blockers}", title="Lock not granted",
                    severity="warning", timeout=10)

    def show_lock_released(self, e: ev.LockReleased) -> None:
        self.query_one(LockBanner).released()
        self._set("current", f"Lock released after {fmt.short_duration(e.held)}: the office can work again.")

    def show_lock_withdrawn(self, e: ev.LockWithdrawn) -> None:
        self.query_one(LockBanner).released()
        when = (f" {_seconds(time.monotonic() - self.stop_asked)} after you asked to stop"
                if self.stop_asked is not None else " as the backup stopped")
        if e.granted:
            self.lock_ending = (f"The database lock was released{when}; the office's changes could wait "
                                f"{fmt.short_duration(e.office_wait)} in all.")
        else:
            self.lock_ending = (f"The lock request was withdrawn{when}; it was never granted. The office's "
                                f"changes could wait {fmt.short_duration(e.office_wait)} while it was asked for.")
        self._set("current", self.lock_ending)

    def show_lock_watch_lost(self, e: ev.LockWatchLost) -> None:
        text = watch_lost_words(e).removeprefix("warning: ")
        self.notify(text[0].upper() + text[1:], title="Lock watchdog lost", severity="warning", timeout=15)

    def show_table_progress(self, e: ev.TableProgress) -> None:
        of = f" of about {e.rows_estimate:,}" if e.rows_estimate > e.rows else ""
        self._set("current", f"Table {e.table}: {e.rows:,}{of} rows, {fmt.size(e.bytes)}")
        elapsed = time.monotonic() - self.table_started
        self._set("counters", fmt.rate(e.bytes, elapsed))  # no time left: the row count is an estimate

    def _table_finished(self) -> None:
        # counted now, shown by _show_tables_done a few times a second: redrawing per table
        # would take the engine's time while the office's tables are locked (see TableList)
        self.tables_done += 1
        self.table_started = time.monotonic()

    def _show_tables_done(self) -> None:
        if self.tables_done != self.tables_shown and self.state == "running":
            self.tables_shown = self.tables_done
            self.query_one(ProgressBar).update(progress=self.tables_done)
            self._set("counters", f"{self.tables_done} of {fmt.count(self.tables_total, 'table')} stored")

    def show_table_dumped(self, e: ev.TableDumped) -> None:
        self.query_one(TableList).done(e)
        self._table_finished()

    def show_table_skipped(self, e: ev.TableSkipped) -> None:
        self.query_one(TableList).skipped(e)
        self.skipped.append(f"table {e.database}.{e.table}: {e.reason}")
        self._table_finished()

    def show_database_dumped(self, e: ev.DatabaseDumped) -> None:
        self.databases.append(f"Database {e.database}: {fmt.count(e.tables, 'table')}, {e.rows:,} rows, "
                              f"{fmt.size(e.bytes)}; the office's changes could wait "
                              f"{fmt.short_duration(e.lock_window)} in all.")
        self._set("phase", f"Database {e.database} stored: {fmt.count(e.tables, 'table')}, {e.rows:,} rows, "
                           f"{fmt.size(e.bytes)} in {fmt.short_duration(e.seconds)}; the office's changes could "
                           f"wait {fmt.short_duration(e.lock_window)} in all.")

    def show_backup_progress(self, e: ev.BackupProgress) -> None:
        if not self.has_folders:
            return  # a database alone: no folder line to fill
        if e.bytes_total:
            self.query_one(ProgressBar).update(total=max(e.bytes_total, 1), progress=e.bytes_done)
        total = f" of {e.files_total:,}" if e.files_total else ""
        of_bytes = f" of {fmt.size(e.bytes_total)}" if e.bytes_total else ""
        self._set("folders", f"Folders: {e.files_done:,}{total} files, {fmt.size(e.bytes_done)}{of_bytes}")
        self._set("current", e.current)
        left = self.eta.seconds_left(e.bytes_done, e.bytes_total, e.elapsed)
        self._set("counters", f"{fmt.rate(e.bytes_done, e.elapsed)}  {fmt.time_left(left)}")

    def show_file_skipped(self, e: ev.FileSkipped) -> None:
        self.skipped.append(f"{e.path}: {e.reason}")

    def show_snapshot_saved(self, e: ev.SnapshotSaved) -> None:
        self._set("phase", f"Snapshot {e.snapshot_id[:8]} saved.")

    # --- the end ----------------------------------------------------------------------------------------

    def on_backup_screen_finished(self, message: Finished) -> None:
        backup, self.log_path = message.result, message.log_path
        self._finish("done")
        head = Text("Backup saved" + ("" if backup.complete else " but INCOMPLETE"),
                    style="bold green" if backup.complete else "bold yellow")
        lines: list[str | Text] = [
            Text.assemble(head, f": snapshot {backup.snapshot_id[:8]}, took {fmt.duration(backup.duration)}."),
            *self.databases,
            *([f"Folders: {fmt.count(backup.files, 'file')}, {fmt.size(backup.bytes)}."] if self.has_folders else []),
            (f"{fmt.size(backup.bytes_added)} was new; {fmt.size(backup.bytes_stored)} written after "
             "compression and deduplication." if backup.bytes_added else
             "Nothing had changed since the last backup: nothing new was written."),
        ]
        lines += self._skipped_lines()
        lines.append(f"Log: {self.log_path}")
        self.query_one("#result", InfoPanel).show(lines)

    def _skipped_lines(self) -> list[str | Text]:
        if not self.skipped:
            return ["Nothing was skipped."]
        shown: list[str | Text] = [Text(f"Skipped: {s}", style="yellow") for s in self.skipped[:5]]
        if len(self.skipped) > 5:
            shown.append(Text(f"... and {len(self.skipped) - 5} more (see the log).", style="yellow"))
        return shown

    def on_job_failed(self, message: JobFailed) -> None:
        error = message.error
        cancelled = isinstance(error, Cancelled)
        self._finish("cancelled" if cancelled else "failed")
        if cancelled:
            lines: list[str | Text] = [Text("Backup cancelled.", style="bold yellow"), *self._lock_lines(),
                                       "The repository is valid and nothing partial was saved as a snapshot. "
                                       "What was already stored is reused by the next backup."]
        else:
            lines = [Text(f"Backup failed: {error.title}", style="bold red"), error.message, *self._lock_lines()]
            if error.hint:
                lines.append(f"What to do: {error.hint}")
        self.query_one("#result", InfoPanel).show(lines)
        if cancelled:  # said in the result alone: a note over it would hide it at 80x24
            self._set("phase", "Backup stopped.")
            message.stop()  # (a failure goes on to the App's dialog)

    def _lock_lines(self) -> list[str | Text]:
        """What happened to the database lock when the backup stopped (nothing said when none was used)."""
        if self.lock_ending:
            return [self.lock_ending]
        if self.lock_asked:
            return ["No database lock was held or asked for when the backup stopped."]
        return []

    def _finish(self, state: str) -> None:
        self.state = state
        self.app.busy = None
        self.query_one(LockBanner).released()
        self.query_one("#result").display = True
        self.query_one(ProgressBar).display = False
        self.query_one("#current", Static).update("")
        self.query_one("#counters", Static).update("")
        self.refresh_bindings()

    # --- keys ----------------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        running = self.state in ("starting", "running", "stopping")
        if action == "cancel":
            return running
        if action == "back":
            return True
        return True

    def action_back(self) -> None:
        if self.state in ("starting", "running"):
            self.action_cancel()
        elif self.state != "stopping":
            self.app.pop_screen()

    def action_cancel(self) -> None:
        if self.state != "running":
            return
        from .modals import ConfirmScreen

        self.app.push_screen(ConfirmScreen(
            "Stop the backup?", "A database lock, or a request for one, is ended at once and the repository "
            "stays valid; nothing partial is saved as a snapshot.", yes="Stop the backup", no="Keep going"),
            self._confirmed)

    def _confirmed(self, yes: bool | None) -> None:
        if not yes or self.state != "running":
            return
        self.state = "stopping"
        self.stop_asked = time.monotonic()
        banner = self.query_one(LockBanner)
        doing = ("withdrawing the lock request" if banner.acquiring else "releasing the lock") if banner.shown else (
            "finishing what is under way")
        self._set("phase", f"Stopping: {doing}...")
        for worker in self.workers:
            if worker.node is self and worker.name == "backup":
                worker.cancelled_event.set()  # the engine stops; the worker ends with Cancelled
        self.refresh_bindings()
