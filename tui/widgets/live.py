"""Live views of long jobs: the lock banner and the per-table list."""
from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import DataTable, Static

from engine import events as ev

from . import fmt

GLOBAL_PREFIX = "all tables"
EVERY_TABLE = "every table on this server"
"""What a global read lock (consistent mode) blocks: every database's tables, not only ours."""
clock = time.monotonic
"""The banner's timer (tests freeze it)."""


class LockBanner(Static):
    """A banner that cannot be missed while the office's changes wait on our read lock, or on
    our request for it (a request that waits blocks them too): which tables, how many statements
    wait and for how long, and the timer. Hidden when no lock is held or requested."""

    DEFAULT_CSS = """
    LockBanner { display: none; height: auto; background: $error; color: $text; text-style: bold;
                 border: heavy $warning; padding: 0 1; }
    LockBanner.-shown { display: block; }
    LockBanner.-acquiring { background: $warning; color: $background; border: heavy $error; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.scope = ""
        self.tables: tuple[str, ...] = ()
        self.acquiring = False
        self.since = 0.0
        self.waiting = 0
        self.longest_wait = 0.0
        self.waiting_tables: tuple[str, ...] = ()
        self.lock_timeout = 0.0
        self.reported_age = 0.0
        """The lock's age as the engine's monitor last reported it."""

    @property
    def shown(self) -> bool:
        return self.has_class("-shown")

    def on_mount(self) -> None:
        self.set_interval(0.5, self._redraw)

    def requested(self, event: ev.LockRequested, timeout: float = 0.0) -> None:
        self.scope, self.tables, self.acquiring, self.since = event.scope, event.tables, True, clock()
        self.lock_timeout = timeout
        self.waiting, self.longest_wait, self.waiting_tables, self.reported_age = 0, 0.0, (), 0.0
        self._show()

    def taken(self, event: ev.LockTaken) -> None:
        self.scope, self.tables, self.acquiring, self.since = event.scope, event.tables, False, clock()
        self.reported_age = 0.0
        self._show()

    def status(self, event: ev.LockStatus) -> None:
        if not self.shown or event.scope != self.scope:
            return
        self.waiting, self.longest_wait, self.waiting_tables = event.waiting, event.longest_wait, event.waiting_tables
        self.reported_age = event.lock_age
        self._redraw()

    def released(self) -> None:
        """The lock is gone (released, given up, cancelled): hide the banner."""
        self.scope = ""
        self.remove_class("-shown", "-acquiring")

    def _show(self) -> None:
        self.add_class("-shown")
        self.set_class(self.acquiring, "-acquiring")
        self._redraw()

    @property
    def is_global(self) -> bool:
        return self.scope.startswith(GLOBAL_PREFIX)

    def what_is_read_only(self) -> str:
        if self.is_global:
            return f"EVERY table on this server (the {len(self.tables)} of this database and every other database's)"
        return f"table {self.scope}"

    def text(self) -> Text:
        """What the banner says now (tests read it)."""
        age = fmt.short_duration(max(clock() - self.since, self.reported_age))
        if self.acquiring:
            which = f"to {EVERY_TABLE}" if self.is_global else f"to table {self.scope}"
            head = f"ASKING FOR THE LOCK: the office's changes {which} wait now, {age}"
            if self.lock_timeout:
                head += f" (given up at {self.lock_timeout:g} s if not granted)"
        else:
            head = f"READ-ONLY FOR THE OFFICE NOW: {self.what_is_read_only()}. Lock held {age}"
        if self.waiting:
            where = f" on {', '.join(self.waiting_tables[:5])}" if self.waiting_tables else ""
            wait = (f"{fmt.count(self.waiting, 'statement')} of the office waiting{where}, "
                    f"longest {self.longest_wait:.1f} s")
        else:
            wait = "Nobody is waiting right now."
        return Text(f"{head}\n{wait}")

    def _redraw(self) -> None:
        if self.shown:
            self.update(self.text())


class TableList(DataTable):
    """Tables of a database, filled in as each one is stored (or verified).

    Rows are added a few times a second, not one by one: adding and scrolling
    to a row per table costs this (UI) thread milliseconds, and while the
    backup holds the office's read lock it would take them from the engine's
    thread (measured on the 379-table Open Dental schema: a lock window of
    1.8 s in the app against 0.23 s on the command line). ``flush`` shows
    the rows still waiting at once (the screens call it when a job ends)."""

    FLUSH_SECONDS = 0.25

    BACKUP_COLUMNS = ("Table", "Rows", "Size", "Time", "Note")
    VERIFY_COLUMNS = ("Table", "Rows", "Restored", "Content", "CHECK TABLE")
    """Narrow enough for CHECK TABLE to show at 80 columns beside long table names and row counts."""

    def __init__(self, columns: tuple[str, ...] = BACKUP_COLUMNS, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.columns_wanted = columns
        self.bad_rows = 0
        self.definitions = 0
        """Verified tables that are a restored definition only (a note, not a problem)."""
        self._waiting: list[tuple[object, ...]] = []

    def on_mount(self) -> None:
        self.add_columns(*self.columns_wanted)
        self.set_interval(self.FLUSH_SECONDS, self.flush)

    def done(self, event: ev.TableDumped) -> None:
        note = "unchanged: not read again" if event.unchanged else ""
        self._add(event.table, f"{event.rows:,}", fmt.size(event.bytes),
                  "" if event.unchanged else f"{event.seconds:.1f} s", note)

    def skipped(self, event: ev.TableSkipped) -> None:
        self._add(event.table, "", "", "", Text(f"SKIPPED: {event.reason}", style="bold yellow"))

    def verified(self, event: ev.TableVerified) -> None:
        definition = event.check_table == ev.DEFINITION_ONLY
        self.definitions += definition and event.ok
        if definition:
            verdict = Text("restored", style="green") if event.ok else Text("NOT CREATED", style="bold red")
        else:
            verdict = Text("same", style="green") if event.checksum_ok else Text("DIFFERENT", style="bold red")
        check = Text(event.check_table, style="dim" if definition else "green" if event.ok else "bold red")
        self._add(event.table, f"{event.rows_expected:,}", f"{event.rows_restored:,}", verdict, check,
                  bad=not event.ok)

    def _add(self, *cells: object, bad: bool = False) -> None:
        self.bad_rows += bad
        self._waiting.append(cells)

    def flush(self) -> None:
        """Show the rows received since the last flush, and the last of them."""
        if self._waiting:
            rows, self._waiting = self._waiting, []
            self.add_rows(rows)
            self.move_cursor(row=self.row_count - 1)
