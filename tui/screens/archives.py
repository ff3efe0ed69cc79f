"""The Archives screen (the dashboard's ``a``): each archive drive with its label, where it is now,
its last copy, the snapshots it holds, its room and whether it is due; add a drive; copy now.

Copy now runs the ``archive`` job exactly as ``odbackup run archive`` does (engine/jobs.py: the
machine's write-only credentials, a run record, the job's log), in a worker, with the copy's
progress; when a drive is done it says "you may unplug it now". Adding a drive needs the
passphrase (asked once per session) and shows the drive's recovery key once.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, ProgressBar, Static

from engine import events as ev
from engine.archive.drives import ArchiveBook, Located, blank_drives, load_book, locate_all
from engine.archive.forecast import room_words, rotation_due
from engine.offsite.make import MadeOffsite
from engine.runlog import RunRecord
from engine.settings import Settings, update_settings

from ..joblog import JobLog
from ..messages import JobDone, JobFailed
from ..widgets import fmt
from .common import JobScreen, post_events


def load_drives() -> tuple[ArchiveBook, list[Located], list[str]]:
    """The book, where each drive is now, and the drives plugged in that could become archive
    drives (reads only)."""
    book = load_book()
    return book, locate_all(book), blank_drives()


def drive_row(spot: Located, book: ArchiveBook, now: datetime) -> tuple[str, ...]:
    """One drive as the table shows it (80 columns: the full words are in the line below the table
    when a row is chosen, and on the dashboard)."""
    d = spot.drive
    due = "-" if d.sealed else "DUE" if rotation_due(d, book, now) else "no"
    label = d.label if len(d.label) <= 22 else d.label[:21] + "…"
    return (label, d.kind, "yes" if spot.place else "no",
            fmt.ago(d.last_copy, now) if d.last_copy else "never", str(d.snapshots), room_short(d), due)


def room_short(drive) -> str:
    """The room left in a few characters: ``~3 months``, ``71.0 GiB``, ``sealed``."""
    from engine.archive.forecast import months_left

    left = months_left(drive)
    if drive.sealed:
        return "sealed"
    if left is not None and left != float("inf"):
        return "<1 month" if left < 1 else f"~{int(left)} months"
    return fmt.size(drive.free_bytes) if drive.free_bytes is not None else "?"


def dashboard_lines(book: ArchiveBook | None, now: datetime) -> list[str | Text]:
    """Each archive drive in one line, for the dashboard's panel."""
    if book is None or not book.drives:
        return []
    lines: list[str | Text] = []
    for d in book.drives:
        last = f"copied {fmt.ago(d.last_copy, now)}" if d.last_copy else "never copied"
        due = rotation_due(d, book, now)
        line = Text(f"{d.label}: {last}, {d.snapshots} snapshot(s), {room_words(d)}")
        if d.sealed:
            line.append(" (sealed)", style="dim")
        elif due:
            line.append(" - swap it in", style="yellow")
        lines.append(line)
    return lines


def copy_now(screen: ArchivesScreen, settings: Settings) -> JobDone:
    """The archive job, as ``odbackup run archive`` runs it (its record and log written)."""
    from textual.worker import get_current_worker

    from engine import jobs

    job = jobs.get_job("archive")
    log = JobLog(job.name)
    log.write(f"Run of {job.name} (started in the app): {job.description}.")
    record = jobs.run(job, settings, on_event=post_events(screen, "copy", log),
                      cancel=get_current_worker().cancelled_event, trigger="manual")
    log.write(f"{record.result}: {record.message}", "INFO" if record.result == "ok" else "WARN")
    return ArchivesScreen.Copied(record)


class ArchivesScreen(JobScreen):
    """The archive drives (module docstring)."""

    DEFAULT_CSS = """
    ArchivesScreen #drives { height: auto; max-height: 10; }
    ArchivesScreen #copy-progress { margin: 0 1; }
    ArchivesScreen #archive-said { padding: 0 1; height: auto; }
    ArchivesScreen #archives-summary { padding: 0 1; }
    """

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("a", "add", "Add a drive"),
        Binding("c", "copy", "Copy now"),
        Binding("o", "offsite", "Offsite copy"),
        Binding("x", "stop", "Stop", show=False),
        Binding("g", "refresh", "Refresh"),
    ]

    @dataclass
    class Loaded(JobDone):
        """The book was read and the drives looked for."""

        book: ArchiveBook
        found: list[Located]
        blank: list[str]
        """Drives plugged in that hold no backups (they could become archive drives)."""

    @dataclass
    class Copied(JobDone):
        """The archive job ended (its run record)."""

        record: RunRecord

    @dataclass
    class OffsiteMade(JobDone):
        """The offsite repository was made (or found) in online storage."""

        made: MadeOffsite

    def __init__(self) -> None:
        super().__init__()
        self.book: ArchiveBook | None = None
        self.found: list[Located] = []
        self.blank: str | None = None
        """A drive plugged in that holds no backups (offered when adding a drive)."""
        self.said: list[Text] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Looking for the archive drives...", id="archives-summary")
        yield DataTable(id="drives", cursor_type="row", zebra_stripes=True)
        progress = ProgressBar(id="copy-progress", show_eta=False)
        progress.display = False
        yield progress
        yield Static("", id="archive-said")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Archive drives"
        table = self.query_one(DataTable)
        table.add_columns("Drive", "Kind", "Here", "Last copy", "Snaps", "Room", "Due")
        table.focus()
        self.action_refresh()

    def action_refresh(self) -> None:
        self.start_job("drives", lambda: self.Loaded(*load_drives()))

    def on_archives_screen_loaded(self, message: Loaded) -> None:
        self.show_drives(message.book, message.found, message.blank)

    def show_drives(self, book: ArchiveBook, found: list[Located], blank: list[str] | None = None) -> None:
        self.book, self.found = book, found
        now = fmt.now()
        table = self.query_one(DataTable)
        table.clear()
        for spot in found:
            table.add_row(*drive_row(spot, book, now), key=spot.drive.repo_id)
        here = [s.drive.label for s in found if s.place]
        if not found:
            summary = "No archive drive yet. Plug in a blank drive and press a to make it an archive drive."
        elif here:
            summary = f"Plugged in: {', '.join(here)}. Press c to copy to it now."
        else:
            summary = "No archive drive is plugged in. Plug one in, then press c (or wait for tonight's run)."
        if blank:
            summary += f" A drive without backups is at {blank[0]}: press a to make it an archive drive."
            self.blank = blank[0]
        self.query_one("#archives-summary", Static).update(summary)

    # --- copy now -------------------------------------------------------------------------------------

    def action_copy(self) -> None:
        if self.job_running("copy"):
            return
        self.said = [Text("Copying...")]
        self._show_said()
        self.app.busy = "an archive copy"
        self.start_job("copy", copy_now, self, self.settings)

    def action_stop(self) -> None:
        for worker in self.workers:
            if worker.name == "copy":
                worker.cancel()

    def show_found(self, e: ev.ArchiveDriveFound) -> None:
        moved = " (found by its ID at a new place)" if e.moved else ""
        self._say(Text(f"{e.label}: plugged in at {e.location}{moved}."))

    def show_missing(self, e: ev.ArchiveDriveMissing) -> None:
        self._say(Text(f"{e.label}: not plugged in.", style="dim"))

    def show_planned(self, e: ev.CopyPlanned) -> None:
        bar = self.query_one(ProgressBar)
        bar.display = bool(e.bytes)
        bar.update(total=max(e.bytes, 1), progress=0)
        if not e.snapshots:
            self._say(Text(f"Nothing new to copy: all {e.snapshots_present} snapshot(s) are already there."))
            return
        self._say(Text(f"Copying {e.snapshots} snapshot(s), {fmt.size(e.bytes)} "
                       f"({e.snapshots_present} already there)."))

    def show_progress(self, e: ev.CopyProgress) -> None:
        self.query_one(ProgressBar).update(total=max(e.bytes_total, 1), progress=e.bytes_done)

    def show_done(self, e: ev.ArchiveCopyDone) -> None:
        self.query_one(ProgressBar).display = False
        self._say(Text(f"{e.label}: {e.snapshots_copied} snapshot(s) copied, {e.snapshots_held} held, {e.room}. "
                       "Checked: you may unplug it now.", style="bold green"))

    def show_sealed(self, e: ev.ArchiveSealed) -> None:
        self._say(Text(f"{e.label} is full and was sealed (its final verification is {e.report}). Put it in "
                       "storage and add the next drive.", style="bold yellow"))

    def _say(self, line: Text) -> None:
        self.said = [s for s in self.said if s.plain != "Copying..."] + [line]
        self._show_said()

    def _show_said(self) -> None:
        text = Text()
        for n, line in enumerate(self.said[-6:]):
            text.append(("\n" if n else "") + line.plain, style=line.style)
        self.query_one("#archive-said", Static).update(text)

    def on_archives_screen_copied(self, message: Copied) -> None:
        self.app.busy = None
        self.query_one(ProgressBar).display = False
        record = message.record
        style = {"ok": "green", "skipped": "yellow", "incomplete": "yellow"}.get(record.result, "bold red")
        if record.result != "ok":
            self._say(Text(f"{record.result.upper()}: {record.message}", style=style))
        self.action_refresh()

    # --- the offsite copy (online storage) --------------------------------------------------------------

    def action_offsite(self) -> None:
        """The Online storage dialog (Test), then the offsite repository made there and the offsite
        copy turned on (the setup's Archives step does the same)."""
        if self.job_running("offsite"):
            return
        from .setup.archives import offsite_job
        from .setup.online import OnlineChoice, OnlineStorageDialog

        def chosen(choice: OnlineChoice | None) -> None:
            if choice is None:
                return
            main = self.settings.repository
            self._say(Text(f"Making the offsite repository at {choice.location}..."))
            self.start_job("offsite", lambda: self.OffsiteMade(offsite_job(choice, main, self.app.secret)))

        self.app.push_screen(OnlineStorageDialog(self.settings.offsite.location, purpose="offsite copy"), chosen)

    def on_archives_screen_offsite_made(self, message: OffsiteMade) -> None:
        made = message.made
        saved = update_settings(lambda old: replace(old or self.settings, offsite=replace(
            (old or self.settings).offsite, enabled=True, location=made.location)))
        self.app.settings = saved
        how = "made" if made.created else "found (made before: used as it is)"
        words = (f"{saved.offsite.describe()}. The offsite repository was {how}. Install the schedule from "
                 "Frequency (f) so it runs each night.")
        if made.recovery_key:
            words += (" Your backups were made by an older odbackup, so their recovery key does not open it: "
                      f"this RECOVERY KEY does, shown only now. Write it down: {made.recovery_key}")
        self._say(Text(words, style="bold green"))

    def on_job_failed(self, message: JobFailed) -> None:
        if message.job == "offsite":
            self._say(Text(f"No offsite copy: {message.error.message} {message.error.hint or ''}".strip(),
                           style="bold red"))
            message.stop()
            return
        if message.job == "copy":
            self.app.busy = None
            self.query_one(ProgressBar).display = False
            self._say(Text(f"The copy stopped: {message.error.message}", style="bold red"))
            message.stop()

    # --- adding a drive ------------------------------------------------------------------------------

    def action_add(self) -> None:
        from .archives_add import AddDriveScreen

        self.app.push_screen(AddDriveScreen(self.settings, self.blank), lambda added: self.action_refresh())

    def action_back(self) -> None:
        if self.job_running("copy"):
            self._say(Text("A copy is running: press x to stop it first.", style="yellow"))
            return
        self.app.pop_screen()

    @on(DataTable.RowSelected)
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        spot = next((s for s in self.found if s.drive.repo_id == event.row_key.value), None)
        if spot is not None:
            d = spot.drive
            where = f"plugged in at {spot.place}" if spot.place else f"not plugged in (last seen at {d.hint})"
            self._say(Text(f"{d.label} ({d.kind}, ID {d.repo_id[:8]}): {where}; {room_words(d)}. "
                           f"{d.last_message}".strip()))
