"""Setup step 2: which database, what its engine mix means for the office, and the lock mode."""
from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual import on
from textual.widget import Widget
from textual.widgets import DataTable, Input, RadioSet, Static

from engine.database.preflight import DatabaseSummary, guess_lock_seconds

from ...widgets import fmt
from ...widgets.choices import Choice, Field
from .base import SetupStep, field_row
from .draft import SetupDraft

OPEN_DENTAL_NAME = "opendental"


def engine_advice(db: DatabaseSummary) -> Text:
    """What this database's engine mix means for the office during a backup."""
    text = Text()
    text.append(f"{db.name}: {fmt.count(db.tables, 'table')}, {fmt.size(db.bytes)}. ", style="bold")
    if db.non_transactional_tables:
        wait = fmt.duration(guess_lock_seconds(db.non_transactional_data_bytes, db.non_transactional_tables))
        text.append(f"{fmt.count(db.non_transactional_tables, 'MyISAM table')} "
                    f"({fmt.size(db.non_transactional_bytes)}): during a consistent backup, the office's "
                    f"changes wait for about {wait} the first time (later backups read only the tables "
                    "that changed); choose per-table to shorten each pause to the time one table takes. ")
    if db.transactional_tables:
        text.append(f"{fmt.count(db.transactional_tables, 'InnoDB table')}: never block anyone.")
    if not db.tables:
        text.append("This database is empty.", style="yellow")
    return text


class DatabaseStep(SetupStep):
    """Pick the database (with sizes), see what locking means, choose the lock mode."""

    STEP = 2
    HEADING = "What to back up: the database"

    def __init__(self, draft: SetupDraft, databases: list[DatabaseSummary]) -> None:
        super().__init__(draft)
        self.databases = databases

    def body(self) -> Iterable[Widget]:
        yield Static("Choose the practice's database (Open Dental's is usually 'opendental'):")
        yield DataTable(id="databases", cursor_type="row", zebra_stripes=True)
        yield Static("", id="engine-mix")
        yield Static("How to lock the MyISAM tables while they are read:", classes="section-title")
        with RadioSet(id="lock-mode", compact=True):
            yield Choice("Consistent: every table from one instant (changes wait meanwhile)",
                              self.draft.lock_mode == "consistent", id="consistent")
            yield Choice("Per-table: each table paused only while it is read (shortest pauses)",
                              self.draft.lock_mode == "per-table", id="per-table")
        yield field_row("Lock timeout", Field(f"{self.draft.lock_timeout:g}", type="number", id="timeout",
                                              placeholder="seconds"))

    def on_mount(self) -> None:
        table = self.query_one("#databases", DataTable)
        table.add_columns("Database", "Tables", "Size", "MyISAM", "InnoDB")
        for db in self.databases:
            table.add_row(db.name, str(db.tables), fmt.size(db.bytes), str(db.non_transactional_tables),
                          str(db.transactional_tables), key=db.name)
        wanted = self.draft.database or OPEN_DENTAL_NAME
        names = [d.name for d in self.databases]
        if wanted in names:
            table.move_cursor(row=names.index(wanted))
        self._show_mix()

    def focus_first(self) -> None:
        self.query_one("#databases", DataTable).focus()

    def selected(self) -> DatabaseSummary | None:
        table = self.query_one("#databases", DataTable)
        if not self.databases or table.cursor_row < 0:
            return None
        return self.databases[min(table.cursor_row, len(self.databases) - 1)]

    @on(DataTable.RowHighlighted, "#databases")
    def _show_mix(self) -> None:
        db = self.selected()
        self.query_one("#engine-mix", Static).update(engine_advice(db) if db else "No databases on this server.")

    @on(DataTable.RowSelected, "#databases")
    def _chosen(self) -> None:
        self.query_one("#lock-mode", RadioSet).focus()

    def check(self) -> str | None:
        db = self.selected()
        if db is None:
            return "Choose a database (or go Back and uncheck 'Back up a database')."
        timeout = self.query_one("#timeout", Input).value.strip()
        try:
            seconds = float(timeout)
        except ValueError:
            return "The lock timeout is a number of seconds (10 is a good start)."
        if not 1 <= seconds <= 600:
            return "The lock timeout must be between 1 and 600 seconds."
        pressed = self.query_one("#lock-mode", RadioSet).pressed_button
        self.draft.database, self.draft.database_bytes = db.name, db.bytes
        self.draft.lock_mode = pressed.id if pressed is not None and pressed.id else "consistent"
        self.draft.lock_timeout = seconds
        return None

    def next_step(self) -> SetupStep:
        from .folders import FoldersStep

        return FoldersStep(self.draft)
