"""Turning engine events into output: plain text for people, JSON lines for scripts.

One event stream, two printers (restic's ``ui/backup/text.go`` and
``json.go`` are the model). Text progress is redrawn in place on a terminal
and left out otherwise, so a scheduled run's log holds only milestones.
"""
from __future__ import annotations

import json
import shutil
import sys
import threading
from datetime import timedelta
from typing import TextIO

import humanize

from engine import events as ev
from engine.errors import OdbackupError


def size(n: int) -> str:
    return humanize.naturalsize(n, binary=True)


def tables(n: int) -> str:
    return f"{n:,} table" if n == 1 else f"{n:,} tables"


def _eta(done: int, total: int, elapsed: float) -> str:
    if not total or not done or elapsed <= 0 or done >= total:
        return ""
    seconds = (total - done) / (done / elapsed)
    return f"ETA {humanize.precisedelta(timedelta(seconds=int(seconds)), minimum_unit='seconds', format='%d')}"


class JsonPrinter:
    """One JSON object per line on stdout: every engine event, then a summary. Events come from
    several engine threads (the database readers, the lock monitor): one line at a time."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self.out = out
        self._lock = threading.Lock()

    def __call__(self, event: ev.Event) -> None:
        self.emit(ev.to_dict(event))

    def emit(self, doc: dict) -> None:
        line = json.dumps(doc, default=str) + "\n"
        with self._lock:
            self.out.write(line)
            self.out.flush()

    def summary(self, doc: dict) -> None:
        self.emit({"event": "summary", **doc})

    def error(self, exc: OdbackupError) -> None:
        self.emit({"event": "error", "title": exc.title, "message": exc.message, "hint": exc.hint,
                   "exit_code": exc.exit_code})

    def info(self, text: str) -> None:
        """Plain notices go to stderr so stdout stays pure JSON."""
        print(text, file=sys.stderr)

    def result(self, text: str) -> None:
        pass


class TextPrinter:
    """Human-readable output: results on stdout, progress and notices on stderr."""

    def __init__(self, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> None:
        self.out, self.err = out, err
        self.live = err.isatty()
        self._line_open = False
        self._lock = threading.RLock()  # events come from several engine threads

    def __call__(self, event: ev.Event) -> None:
        handler = getattr(self, f"on_{ev.event_name(event)}", None)
        if handler is not None:
            with self._lock:
                handler(event)

    # --- plumbing ---------------------------------------------------------------------

    def _status(self, text: str) -> None:
        if not self.live:
            return
        width = shutil.get_terminal_size((100, 24)).columns - 1
        self.err.write("\r" + text[:width].ljust(width))
        self.err.flush()
        self._line_open = True

    def _line(self, text: str, *, stream: TextIO | None = None) -> None:
        if self._line_open:
            self.err.write("\r" + " " * (shutil.get_terminal_size((100, 24)).columns - 1) + "\r")
            self._line_open = False
        print(text, file=stream or self.err, flush=True)

    def info(self, text: str) -> None:
        self._line(text)

    def result(self, text: str) -> None:
        self._line(text, stream=self.out)

    def summary(self, doc: dict) -> None:
        pass

    def error(self, exc: OdbackupError) -> None:
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
        eta = _eta(e.bytes_done, e.bytes_total, e.elapsed)
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
        eta = _eta(e.bytes_done, e.bytes_total, e.elapsed)
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
            self._line(f"  During the consistent part, the office's changes wait: {guess}.")

    def on_lock_requested(self, e: ev.LockRequested) -> None:
        if e.scope.startswith("all tables"):
            self._line("Requesting the global read lock (writes wait from now until it is released)...")

    def on_lock_taken(self, e: ev.LockTaken) -> None:
        if e.scope.startswith("all tables"):
            self._line(f"READ-ONLY for the office now: {e.scope} (lock granted after {e.waited:.2f} s).")

    def on_lock_status(self, e: ev.LockStatus) -> None:
        what = "requesting lock on" if e.acquiring else "READ-ONLY for the office:"
        scope = e.scope if e.scope.startswith("all tables") else f"table {e.scope}"
        waiting = (f"{e.waiting} statement(s) waiting, longest {e.longest_wait:.1f} s"
                   + (f" ({', '.join(e.waiting_tables[:4])})" if e.waiting_tables else "")) if e.waiting else (
            "nobody waiting")
        self._status(f"{what} {scope} - {waiting} - lock {e.lock_age:.1f} s")

    def on_lock_gave_up(self, e: ev.LockGaveUp) -> None:
        self._line(f"warning: {e.scope}: {e.reason} (attempt {e.attempt}).")
        for q in e.blocking_queries[:5]:
            self._line(f"  in the way: {q}")

    def on_lock_released(self, e: ev.LockReleased) -> None:
        if e.scope.startswith("all tables"):
            self._line(f"Lock released after {e.held:.2f} s: the office can write again.")

    def on_table_progress(self, e: ev.TableProgress) -> None:
        self._status(f"{e.database}.{e.table}: {e.rows:,} rows, {size(e.bytes)}")

    def on_table_skipped(self, e: ev.TableSkipped) -> None:
        self._line(f"warning: table {e.database}.{e.table}: {e.reason}")

    def on_database_dumped(self, e: ev.DatabaseDumped) -> None:
        self._line(f"Database {e.database}: {tables(e.tables)}, {e.rows:,} rows, {size(e.bytes)} in {e.seconds:.1f} s;"
                   f" writes could wait for {e.lock_window:.2f} s in all.")

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
        if not e.checksum_ok or e.check_table != "OK":
            self._line(f"MISMATCH: {e.database}.{e.table}: rows {e.rows_restored}/{e.rows_expected}, "
                       f"check: {e.check_table}")
        else:
            self._status(f"verified {e.database}.{e.table}: {e.rows_restored:,} rows")

    def on_files_verified(self, e: ev.FilesVerified) -> None:
        self._line(f"Files: {e.files:,} decrypted and matched their hashes ({size(e.bytes)}); "
                   f"{len(e.damaged)} damaged.")

    def on_verify_finished(self, e: ev.VerifyFinished) -> None:
        verdict = "PASSED" if e.ok else "FAILED"
        self._line(f"Verification {verdict} for snapshot {e.snapshot_id[:8]}.", stream=self.out)
        for p in e.problems:
            self._line(f"  - {p}", stream=self.out)
        self._line(f"Report: {e.report_text}", stream=self.out)

    def on_demo_progress(self, e: ev.Event) -> None:
        phase, done, total = e.phase, e.done, e.total  # type: ignore[attr-defined]
        shown = f"{size(done)} / {size(total)}" if phase == "images" else f"{done:,} / {total:,}"
        self._status(f"demo: {phase} {shown}")
