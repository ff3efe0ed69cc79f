"""Turning engine events into output: plain text for people, JSON lines for scripts.

One event stream, two printers (restic's ``ui/backup/text.go`` and
``json.go`` are the model). Text progress is redrawn in place on a terminal
and left out otherwise, so a scheduled run's log holds only milestones.

Both dispatch by class (:func:`engine.events.dispatch`): a method whose first
parameter is annotated with an event class handles it. The JSON printer has one
handler for every :class:`~engine.events.Event`; the text printer has words for
each class, or lists it in :attr:`TextPrinter.SILENT`
(``tests/cli/test_event_coverage.py`` holds both to it).
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import sys
import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar, TextIO

import humanize

from engine import events as ev
from engine.errors import OdbackupError
from engine.progress import Eta

if TYPE_CHECKING:
    from engine.status import Alert, State
    from engine.upcoming import NextRun


def size(n: int) -> str:
    return humanize.naturalsize(n, binary=True)


def _when(iso: str) -> str:
    """A snapshot's time in this machine's local time, to the second."""
    from datetime import datetime

    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def tables(n: int) -> str:
    return f"{n:,} table" if n == 1 else f"{n:,} tables"


EVERY_TABLE = "every table on this server"
"""What a global read lock makes read-only: every database's tables, not only the one backed up."""


def _is_global(scope: str) -> bool:
    return scope.startswith("all tables")


def _waiting(e: ev.LockStatus) -> str:
    if not e.waiting:
        return "nobody waiting"
    on = f" ({', '.join(e.waiting_tables[:4])})" if e.waiting_tables else ""
    return f"{e.waiting} statement(s) waiting, longest {e.longest_wait:.1f} s{on}"


def watch_lost_words(e: ev.LockWatchLost) -> str:
    """The warning that the lock watchdog went blind, in plain words (the CLI and the app)."""
    lock = "the lock request" if e.acquiring else "the lock"
    return (f"warning: the lock watchdog cannot watch the office any more: {e.failures} looks at the database "
            f"server's connections failed in a row ({e.reason}). Rather than leave the office read-only unwatched, "
            f"{lock} is ended now and this backup stops.")


def _eta(eta: Eta, done: int, total: int | None, elapsed: float) -> str:
    seconds = eta.seconds_left(done, total, elapsed)
    if seconds is None:
        return ""
    return f"ETA {humanize.precisedelta(timedelta(seconds=int(seconds)), minimum_unit='seconds', format='%d')}"


EXIT_OUTPUT_CLOSED = 141
"""The reader of the output went away (``odbackup snapshots | head -1``): 128 + SIGPIPE, as
other command-line tools stopped by a closed pipe report."""


def is_closed_output(exc: BaseException) -> bool:
    """True for the error a write into a pipe whose reader has gone raises (on Windows a
    closed pipe can also answer EINVAL)."""
    return isinstance(exc, BrokenPipeError) or (
        os.name == "nt" and isinstance(exc, OSError) and exc.errno == errno.EINVAL)


def silence(stream: TextIO) -> None:
    """Point ``stream``'s file descriptor at the null device, so that what is still buffered,
    later writes and the interpreter's flush at exit go nowhere instead of failing again."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file (a test's StringIO): nothing will flush at exit
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


class _ClosedOutput:
    """What both printers share: once their output is closed, the command stops (every later
    write raises BrokenPipeError again, from whichever thread) and nothing more is said."""

    output_closed = False

    def _write(self, stream: TextIO, text: str) -> None:
        if self.output_closed:
            raise BrokenPipeError(errno.EPIPE, "the output was closed")
        try:
            stream.write(text)
            stream.flush()
        except OSError as exc:
            if not is_closed_output(exc):
                raise
            self.output_closed = True
            silence(stream)
            raise


class JsonPrinter(_ClosedOutput):
    """One JSON object per line on stdout: every engine event, then a summary. Events come from
    several engine threads (the database readers, the lock monitor): one line at a time."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self.out = out
        self._lock = threading.Lock()

    def __call__(self, event: ev.Event) -> None:
        ev.dispatch(self, event)

    def on_event(self, e: ev.Event) -> None:
        """Every event, whatever its class: its generic JSON form (docs/CLI.md, "JSON lines")."""
        self.emit(ev.to_dict(e))

    def emit(self, doc: dict) -> None:
        line = json.dumps(doc, default=str) + "\n"
        with self._lock:
            self._write(self.out, line)

    def summary(self, doc: dict) -> None:
        self.emit({"event": "summary", **doc})

    def error(self, exc: OdbackupError) -> None:
        if self.output_closed:
            return
        self.emit({"event": "error", "title": exc.title, "message": exc.message, "hint": exc.hint,
                   "exit_code": exc.exit_code})

    def info(self, text: str) -> None:
        """Plain notices go to stderr so stdout stays pure JSON."""
        if not self.output_closed:
            print(text, file=sys.stderr)

    def result(self, text: str) -> None:
        pass


class TextPrinter(_ClosedOutput):
    """Human-readable output: results on stdout, progress and notices on stderr."""

    SILENT: ClassVar[frozenset[type[ev.Event]]] = frozenset({
        ev.ScanFinished,  # its totals show in the next backup_progress line
        ev.PackWritten,  # storage detail; the snapshot line says what was written
        ev.TableDumped,  # one per table: the table_progress line and the database_dumped line say it
    })
    """Events the text has no words for, on purpose (every other event class has a handler)."""

    def __init__(self, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> None:
        self.out, self.err = out, err
        self.live = err.isatty()
        self._line_open = False
        self._asking_said = False  # the lock request's wait was said in the log
        self._lock = threading.RLock()  # events come from several engine threads
        self._backup_eta, self._restore_eta = Eta(), Eta()
        self._copy_eta = Eta()

    def __call__(self, event: ev.Event) -> None:
        with self._lock:
            ev.dispatch(self, event)  # an event in SILENT (or, in error, one with no words) says nothing

    # --- plumbing ---------------------------------------------------------------------

    def _status(self, text: str) -> None:
        if not self.live:
            return
        width = shutil.get_terminal_size((100, 24)).columns - 1
        self._write(self.err, "\r" + text[:width].ljust(width))
        self._line_open = True

    def _line(self, text: str, *, stream: TextIO | None = None) -> None:
        if self._line_open:
            self._line_open = False
            self._write(self.err, "\r" + " " * (shutil.get_terminal_size((100, 24)).columns - 1) + "\r")
        self._write(stream or self.err, text + "\n")

    def info(self, text: str) -> None:
        if not self.output_closed:
            self._line(text)

    def result(self, text: str) -> None:
        self._line(text, stream=self.out)

    def summary(self, doc: dict) -> None:
        pass

    def error(self, exc: OdbackupError) -> None:
        if self.output_closed:
            return
        self._line(f"{exc.title}: {exc.message}")
        if exc.hint:
            self._line(f"  What to do: {exc.hint}")

    # --- backup ------------------------------------------------------------------------

    def on_backup_started(self, e: ev.BackupStarted) -> None:
        self._line(f"Backing up {', '.join(e.sources)} to {e.repository}")

    def on_stale_lock_removed(self, e: ev.StaleLockRemoved) -> None:
        self._line(f"Cleared a stale lock of a dead run (process {e.pid} on {e.host}, {e.started}).")

    def on_backup_progress(self, e: ev.BackupProgress) -> None:
        rate = e.bytes_done / e.elapsed if e.elapsed > 0 else 0
        total = f" / {e.files_total:,} files  {size(e.bytes_done)} / {size(e.bytes_total)}" if e.bytes_total else (
            f" files  {size(e.bytes_done)}")
        eta = _eta(self._backup_eta, e.bytes_done, e.bytes_total, e.elapsed)
        self._status(f"{e.files_done:,}{total}  {size(int(rate))}/s  {eta}  {e.current}")

    def on_file_skipped(self, e: ev.FileSkipped) -> None:
        self._line(f"warning: {e.path}: {e.reason}")

    def on_snapshot_saved(self, e: ev.SnapshotSaved) -> None:
        state = "saved" if e.complete else "saved, INCOMPLETE (see the warnings above)"
        what = [f"{e.files:,} files, {size(e.bytes)}"] if e.files or not e.databases else []
        if e.databases:
            what.append("1 database" if e.databases == 1 else f"{e.databases} databases")
        files = " and ".join(what)
        self._line(
            f"Snapshot {e.snapshot_id[:8]} {state}: {files} "
            f"({size(e.bytes_added)} new, {size(e.bytes_stored)} written) in {e.duration:.1f} s.",
            stream=self.out,
        )

    # --- restore -----------------------------------------------------------------------

    def on_restore_started(self, e: ev.RestoreStarted) -> None:
        self._line(f"Restoring snapshot {e.snapshot_id[:8]} ({e.files_total:,} files, "
                   f"{size(e.bytes_total)}) into {e.target}")

    def on_restore_progress(self, e: ev.RestoreProgress) -> None:
        rate = e.bytes_done / e.elapsed if e.elapsed > 0 else 0
        eta = _eta(self._restore_eta, e.bytes_done, e.bytes_total, e.elapsed)
        self._status(f"{e.files_done:,} / {e.files_total:,} files  {size(e.bytes_done)} / "
                     f"{size(e.bytes_total)}  {size(int(rate))}/s  {eta}  {e.current}")

    def on_restore_resumed(self, e: ev.RestoreResumed) -> None:
        checked = " (by size and time; to be read back first)" if e.to_check else ""
        self._line(f"Finishing the unfinished restore recorded in {', '.join(e.journals)}: "
                   f"{e.complete:,} file(s) already complete{checked}, {e.partial:,} partly written.")

    def on_restore_problem(self, e: ev.RestoreProblem) -> None:
        self._line(f"problem: {e.path}: {e.reason}")

    def on_restore_finished(self, e: ev.RestoreFinished) -> None:
        checked = ", every file re-read and verified" if e.verified else ""
        self._line(f"Restored {e.files:,} files, {size(e.bytes)} in {e.duration:.1f} s{checked}; "
                   f"{e.problems} problem(s).", stream=self.out)
        if e.resumed:
            self._line(f"resumed: {e.already_complete:,} files already complete kept, {e.rewritten:,} rewritten",
                       stream=self.out)

    # --- check -------------------------------------------------------------------------

    def on_check_progress(self, e: ev.CheckProgress) -> None:
        self._status(f"check: {e.phase} {e.done}/{e.total}")

    def on_check_problem(self, e: ev.CheckProblem) -> None:
        self._line(f"{e.severity}: {e.what}: {e.message}")

    def on_damage_found(self, e: ev.DamageFound) -> None:
        self._line(f"damaged: snapshot {e.snapshot_id[:8]}: {e.path}")

    def on_check_finished(self, e: ev.CheckFinished) -> None:
        what = "structure and every byte of data" if e.read_data else "structure and references"
        verdict = "no errors found" if not e.errors else f"{e.errors} ERROR(S)"
        self._line(f"Checked {what}: {e.packs} packs, {e.blobs} blobs, {e.snapshots} snapshots: "
                   f"{verdict}, {e.warnings} warning(s).", stream=self.out)

    # --- forget and prune -------------------------------------------------------------------

    def on_snapshot_kept(self, e: ev.SnapshotKept) -> None:
        self._line(f"keep    {e.snapshot_id[:8]}  {_when(e.time)}  {'; '.join(e.reasons)}", stream=self.out)

    def on_snapshot_forgotten(self, e: ev.SnapshotForgotten) -> None:
        verb = "would remove" if e.dry_run else "removed"
        self._line(f"{verb:<7} {e.snapshot_id[:8]}  {_when(e.time)}  (no rule keeps it)", stream=self.out)

    def on_prune_planned(self, e: ev.PrunePlanned) -> None:
        self._line(f"{e.snapshots} snapshot(s) remain. Stored: {e.packs} packs, {size(e.bytes_total)}, of which "
                   f"{size(e.bytes_unused)} no snapshot uses. Deleting {e.packs_unused} unused pack(s) whole and "
                   f"rewriting {e.packs_repack} mostly-unused one(s) ({size(e.bytes_repack)} still used is "
                   f"copied) frees {size(e.bytes_to_free)}.", stream=self.out)

    def on_prune_progress(self, e: ev.PruneProgress) -> None:
        self._status(f"prune: {e.step} {e.done:,}" + (f"/{e.total:,}" if e.total else ""))

    def on_prune_finished(self, e: ev.PruneFinished) -> None:
        if e.dry_run:
            self._line("Dry run: nothing was deleted.", stream=self.out)
            return
        self._line(f"Freed {size(e.bytes_freed)}: {e.packs_deleted} pack(s) deleted, {e.packs_written} written, "
                   f"in {e.seconds:.1f} s.", stream=self.out)

    # --- copy ---------------------------------------------------------------------------------

    def on_copy_planned(self, e: ev.CopyPlanned) -> None:
        if not e.snapshots:
            self._line(f"Nothing to copy: {e.target} already holds all {e.snapshots_present} snapshot(s).",
                       stream=self.out)
            return
        self._line(f"Copying {e.snapshots} snapshot(s) to {e.target} ({e.snapshots_present} already there): "
                   f"{e.blobs:,} blob(s), {size(e.bytes)} to send"
                   + (f"; {e.packs_adopted} pack(s) left by an interrupted copy are kept." if e.packs_adopted
                      else "."), stream=self.out)

    def on_copy_progress(self, e: ev.CopyProgress) -> None:
        rate = f"  {size(int(e.bytes_done / e.elapsed))}/s" if e.elapsed > 0 else ""
        eta = _eta(self._copy_eta, e.bytes_done, e.bytes_total, e.elapsed)
        self._status(f"copy: {size(e.bytes_done)} of {size(e.bytes_total)}, {e.blobs_done:,}/{e.blobs_total:,} blobs"
                     f"{rate}  {eta}".rstrip())

    def on_snapshot_copied(self, e: ev.SnapshotCopied) -> None:
        self._line(f"copied  {e.snapshot_id[:8]}  {_when(e.time)}", stream=self.out)

    def on_copy_finished(self, e: ev.CopyFinished) -> None:
        if not e.snapshots:
            return
        self._line(f"Copied {e.snapshots} snapshot(s): {e.blobs:,} blob(s), {size(e.bytes_sent)} sent in "
                   f"{e.packs_written} pack(s), {e.seconds:.1f} s.", stream=self.out)

    # --- archive drives ----------------------------------------------------------------------

    def on_archive_drive_found(self, e: ev.ArchiveDriveFound) -> None:
        moved = " (it was somewhere else before: found by its ID)" if e.moved else ""
        self._line(f"Archive drive '{e.label}' is plugged in at {e.location}{moved}.", stream=self.out)

    def on_archive_drive_missing(self, e: ev.ArchiveDriveMissing) -> None:
        last = f"last copied {_when(e.last_copy)}" if e.last_copy else "never copied yet"
        self._line(f"Archive drive '{e.label}' is not plugged in ({last}).")

    def on_archive_copy_done(self, e: ev.ArchiveCopyDone) -> None:
        self._line(f"Archive drive '{e.label}': {e.snapshots_copied} snapshot(s) copied, {e.snapshots_held} held, "
                   f"{e.room}. Checked: you may unplug it now.", stream=self.out)

    def on_archive_sealed(self, e: ev.ArchiveSealed) -> None:
        self._line(f"Archive drive '{e.label}' is full and was sealed; its final verification report is "
                   f"{e.report}. Put it in storage and add the next drive.", stream=self.out)

    # --- databases -------------------------------------------------------------------------

    def on_database_preflight(self, e: ev.DatabasePreflight) -> None:
        self._line(f"Database {e.database} on {e.server}: {tables(e.tables)} ({len(e.non_transactional)} MyISAM or "
                   f"other non-transactional), {size(e.data_bytes)}; lock mode {e.lock_mode}.")
        others = f"{len(e.connections)} other connection(s)" if e.sees_all_connections else (
            "other connections not visible (the PROCESS privilege is missing)")
        self._line(f"  {others}" + (": " + ", ".join(e.connections[:6]) if e.connections else "") + ".")
        for q in e.long_queries:
            self._line(f"  long-running query (may delay the lock): {q}")
        if e.non_transactional and e.lock_mode == "consistent":
            if e.estimated_lock_seconds is not None:
                guess = f"about {e.estimated_lock_seconds:.1f} s (measured by the last run)"
            elif e.first_run_guess_seconds is not None:
                seconds = e.first_run_guess_seconds
                guess = ("under a second" if seconds < 1 else f"up to about {seconds:.0f} s") + (
                    " (a first-run guess; this run measures it, and later runs are quicker)")
            else:
                guess = "as long as reading the changed MyISAM tables takes"
            self._line(f"  During the consistent part, the office's changes to {EVERY_TABLE} wait "
                       f"(a global read lock): {guess}.")

    def on_lock_requested(self, e: ev.LockRequested) -> None:
        self._asking_said = False
        if _is_global(e.scope):
            self._line(f"Asking for the global read lock: the office's changes to {EVERY_TABLE} wait from now "
                       "until it is released...")

    def on_lock_taken(self, e: ev.LockTaken) -> None:
        if _is_global(e.scope):
            self._line(f"READ-ONLY for the office now: {EVERY_TABLE} (lock granted after {e.waited:.2f} s).")

    def on_lock_status(self, e: ev.LockStatus) -> None:
        if e.acquiring:
            self._asking(e)
            return
        scope = EVERY_TABLE if _is_global(e.scope) else f"table {e.scope}"
        self._status(f"READ-ONLY for the office: {scope} - {_waiting(e)} - lock held {e.lock_age:.1f} s")

    def _asking(self, e: ev.LockStatus) -> None:
        """A request that waits blocks the office as a granted lock does: said live on a terminal,
        and once (after a second) in a log. The seconds come first: the line is cut at the
        terminal's width (the line above said which tables)."""
        which = "" if _is_global(e.scope) else f" on table {e.scope}"
        text = f"Asking for the lock{which}, {e.lock_age:.0f} s: the office's changes wait now"
        if self.live:
            self._status(f"{text} - {_waiting(e)}")
        elif e.lock_age >= 1.0 and not self._asking_said:
            self._asking_said = True
            self._line(f"{text} ({_waiting(e)}).")

    def on_lock_gave_up(self, e: ev.LockGaveUp) -> None:
        waited = f" The office's changes waited {e.waited:.2f} s for it." if e.waited else ""
        self._line(f"warning: {e.scope}: {e.reason} (attempt {e.attempt}).{waited}")
        for q in e.blocking_queries[:5]:
            self._line(f"  in the way: {q}")

    def on_lock_released(self, e: ev.LockReleased) -> None:
        if _is_global(e.scope):
            asked = (f"; with the wait for it, the office's changes could wait {e.office_wait:.2f} s"
                     if e.office_wait - e.held >= 0.01 else "")
            self._line(f"Lock released after {e.held:.2f} s{asked}: the office can write again.")

    def on_lock_withdrawn(self, e: ev.LockWithdrawn) -> None:
        if e.granted:
            self._line(f"Lock released (the backup was stopped): the office's changes could wait "
                       f"{e.office_wait:.2f} s in all.")
        else:
            self._line(f"Lock request withdrawn (the backup was stopped); it was never granted: the office's "
                       f"changes could wait {e.office_wait:.2f} s.")

    def on_lock_watch_lost(self, e: ev.LockWatchLost) -> None:
        self._line(watch_lost_words(e))

    def on_table_progress(self, e: ev.TableProgress) -> None:
        self._status(f"{e.database}.{e.table}: {e.rows:,} rows, {size(e.bytes)}")

    def on_table_skipped(self, e: ev.TableSkipped) -> None:
        self._line(f"warning: table {e.database}.{e.table}: {e.reason}")

    def on_database_dumped(self, e: ev.DatabaseDumped) -> None:
        self._line(f"Database {e.database}: {tables(e.tables)}, {e.rows:,} rows, {size(e.bytes)} in {e.seconds:.1f} s;"
                   f" writes could wait for {e.lock_window:.2f} s in all (from each lock request to its release).")

    def on_database_restore_started(self, e: ev.DatabaseRestoreStarted) -> None:
        self._line(f"Restoring database {e.database} into {e.target} ({tables(e.tables)}, {size(e.bytes)})")

    def on_table_restored(self, e: ev.TableRestored) -> None:
        self._status(f"restored {e.database}.{e.table}: {e.rows:,} rows")

    def on_database_restored(self, e: ev.DatabaseRestored) -> None:
        self._line(f"Restored {e.database} as {e.target}: {tables(e.tables)}, {e.rows:,} rows in {e.seconds:.1f} s; "
                   f"{len(e.problems)} problem(s).", stream=self.out)
        for p in e.problems:
            self._line(f"  problem: {p}")

    def on_verify_started(self, e: ev.VerifyStarted) -> None:
        self._line(f"Verifying snapshot {e.snapshot_id[:8]} (scratch databases: {', '.join(e.scratch) or 'none'})")

    def on_table_verified(self, e: ev.TableVerified) -> None:
        if not e.ok:
            self._line(f"MISMATCH: {e.database}.{e.table}: rows {e.rows_restored}/{e.rows_expected}, "
                       f"check: {e.check_table}")
        else:
            self._status(f"verified {e.database}.{e.table}: {e.rows_restored:,} rows")

    def on_files_verified(self, e: ev.FilesVerified) -> None:
        self._line(f"Files: {e.files:,} decrypted and matched their hashes ({size(e.bytes)}); "
                   f"{len(e.damaged)} damaged.")

    def on_patient_files_checked(self, e: ev.PatientFilesChecked) -> None:
        from engine.opendental.documents import detail_lines, missing_words, summary_words

        if e.live and e.missing_total:  # before a backup: said as a warning, before it matters
            self._line(f"warning: {missing_words(e)} (they cannot be in this backup either).", stream=self.out)
        where = "" if e.live else f"{e.database}: "
        self._line(where + summary_words(e), stream=self.out)
        for line in detail_lines(e):
            self._line(f"  {line}", stream=self.out)

    def on_admin_passwords_checked(self, e: ev.AdminPasswordsChecked) -> None:
        from engine.opendental.admins import HINT, finding, summary_words

        found = finding(e)
        if found:  # before a backup: said as a warning (the backup still runs)
            self._line(f"warning: {found}: {HINT}.", stream=self.out)
        else:
            self._line(summary_words(e), stream=self.out)

    def on_verify_finished(self, e: ev.VerifyFinished) -> None:
        verdict = "PASSED" if e.ok else "FAILED"
        self._line(f"Verification {verdict} for snapshot {e.snapshot_id[:8]}.", stream=self.out)
        for p in e.problems:
            self._line(f"  - {p}", stream=self.out)
        self._line(f"Report: {e.report_text}", stream=self.out)

    def on_demo_progress(self, e: ev.DemoProgress) -> None:
        shown = f"{size(e.done)} / {size(e.total)}" if e.phase == "images" else f"{e.done:,} / {e.total:,}"
        self._status(f"demo: {e.phase} {shown}")


# --- odbackup status ----------------------------------------------------------------------

STATUS_MARKS = {"critical": "CRITICAL", "warning": "WARNING ", "ok": "OK      "}


def status_lines(state: State, alerts: list[Alert], nexts: list[NextRun], now: datetime) -> list[str]:
    """``odbackup status`` for a person: each alert marked by its level, then the next runs."""
    lines = [f"odbackup status of {state.location}:"]
    lines += [f"  {STATUS_MARKS[a.level]}  {a.text}" for a in alerts]
    if state.offsite is not None:
        from engine.offsite.alerts import summary_words

        lines.append(f"  {summary_words(state.offsite, now)}")
    lines += [f"  {n.words(now)}" for n in nexts] or ["  Nothing is scheduled in the settings."]
    return lines


def status_summary(state: State, alerts: list[Alert], nexts: list[NextRun], level: str, code: int) -> dict:
    """``odbackup status --json``'s one object."""
    return {"repository": state.location, "level": level, "exit_code": code,
            "alerts": [{"level": a.level, "kind": a.kind, "title": a.title, "message": a.message,
                        "hint": a.hint, "text": a.text} for a in alerts],
            "next_runs": [{"job": n.job, "at": n.at.isoformat(), "installed": n.installed} for n in nexts],
            "snapshots": state.snapshots, "last_success": state.last_success,
            "runs": {r.job: {"result": r.result, "started": r.started, "message": r.message} for r in state.runs},
            "offsite": None if state.offsite is None else {
                "last_copy": state.offsite.last_copy, "last_run": state.offsite.last_run,
                "to_send": state.offsite.to_send, "snapshots_missing": state.offsite.snapshots_missing,
                "problem": state.offsite.problem, "main_problem": state.offsite.main_problem}}
