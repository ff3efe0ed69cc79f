"""Snapshots: every backup by date, its size, and whether (and how) it was verified."""
from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Static

from engine.listing import SnapshotRow, list_snapshots
from engine.settings import Settings

from ..messages import JobDone
from ..widgets import fmt
from .common import JobScreen, open_repo


def load_snapshots(settings: Settings, secret: str | None) -> list[SnapshotRow]:
    """Newest first, the damaged ones left out (machine credentials are enough)."""
    repo = open_repo(settings.repository, full=False, secret=secret)
    return [row for row in reversed(list_snapshots(repo)) if not row.damaged]


def verified_text(row: SnapshotRow) -> str:
    if row.verified_at is None:
        return "never"
    return f"{'PASSED' if row.verified_ok else 'FAILED'} {fmt.local(row.verified_at)[:10]}"


class SnapshotsScreen(JobScreen):
    """The list of snapshots; verify or restore the highlighted one."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("v", "verify", "Verify this"),
        Binding("r", "restore", "Restore from this"),
        Binding("g", "refresh", "Refresh"),
    ]

    @dataclass
    class Loaded(JobDone):
        """The snapshots were read, newest first."""

        rows: list[SnapshotRow]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[SnapshotRow] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Reading the snapshots...", id="snapshots-summary")
        yield DataTable(id="snapshots", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Snapshots"
        table = self.query_one(DataTable)
        table.add_columns("Date", "ID", "Files", "Size", "Status", "Verified")
        table.focus()
        self.action_refresh()

    def action_refresh(self) -> None:
        settings = self.settings
        self.start_job("snapshots", lambda: self.Loaded(load_snapshots(settings, self.app.secret)))

    def on_snapshots_screen_loaded(self, message: Loaded) -> None:
        self.show_rows(message.rows)

    def show_rows(self, rows: list[SnapshotRow]) -> None:
        self.rows = rows
        table = self.query_one(DataTable)
        table.clear()
        for r in rows:
            table.add_row(fmt.local(r.time), r.snapshot_id[:8], f"{r.files:,}", fmt.size(r.bytes),
                          "complete" if r.complete else "INCOMPLETE", verified_text(r),
                          key=r.snapshot_id)
        never = sum(r.verified_at is None for r in rows)
        summary = (f"{fmt.count(len(rows), 'snapshot')}, newest first; {never} never verified."
                   if rows else "No snapshots yet: back up first (b on the home screen).")
        self.query_one("#snapshots-summary", Static).update(summary)

    def selected(self) -> str | None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row < 0:
            return None
        return self.rows[min(table.cursor_row, len(self.rows) - 1)].snapshot_id

    def action_verify(self) -> None:
        from .verify import VerifyScreen

        self.app.push_screen(VerifyScreen(self.selected()))

    def action_restore(self) -> None:
        from .restore import RestoreScreen

        self.app.push_screen(RestoreScreen(self.selected()))
