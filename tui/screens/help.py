"""Help: the keys of every screen (read from the screens themselves) and the words used."""
from __future__ import annotations

import importlib

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

SCREENS = (
    ("Home", "tui.screens.dashboard", "DashboardScreen"),
    ("Back up now", "tui.screens.backup", "BackupScreen"),
    ("Before a backup", "tui.screens.preflight", "PreflightScreen"),
    ("Snapshots", "tui.screens.snapshots", "SnapshotsScreen"),
    ("Verify", "tui.screens.verify", "VerifyScreen"),
    ("Restore", "tui.screens.restore", "RestoreScreen"),
    ("Logs", "tui.screens.logs", "LogsScreen"),
    ("Frequency", "tui.screens.frequency", "FrequencyScreen"),
    ("Archive drives", "tui.screens.archives", "ArchivesScreen"),
    ("Supplemental", "tui.screens.supplemental", "SupplementalScreen"),
    ("Setup (every step)", "tui.screens.setup.base", "SetupStep"),
)
EVERYWHERE = (("Tab / Shift+Tab", "move between fields and buttons"), ("Enter", "press the focused button"),
              ("Escape", "go back (or close a dialog)"), ("F1", "this help"), ("Ctrl+Q", "quit"))
WORDS = (
    ("repository", "the folder (USB drive, network share, disk) that holds the encrypted backups"),
    ("snapshot", "one backup: the database and folders as they were at that moment"),
    ("verify", "restore a snapshot into a scratch database, compare every table and file, then delete it"),
    ("passphrase", "opens the backups; without it (or the recovery key) nobody can restore"),
    ("recovery key", "printed once at setup; opens the backups if the passphrase is forgotten"),
    ("archive drive", "a drive holding its own copy of the backups, known by its ID and label wherever it is "
                      "plugged in; rotating drives take turns, monthly ones keep everything"),
    ("lock", "while MyISAM tables are read, the office's changes to them wait (they are read-only)"),
    ("supplemental copy", "the nightly last-resort copy into its own repository at the Backup Copy Network "
                          "Path, checked after each copy"),
)


def _keys_of(module: str, name: str) -> list[tuple[str, str]]:
    cls = getattr(importlib.import_module(module), name)
    found = []
    for item in cls.BINDINGS:
        binding = item if isinstance(item, Binding) else Binding(*item)
        if binding.description:
            key = binding.key_display or binding.key.replace("question_mark", "?").replace(",", " / ")
            found.append((key, binding.description))
    return found


def help_renderable() -> Group:
    """The help text (also used by tests to check that every screen's keys are listed)."""
    parts: list = [Text("odbackup keeps encrypted, verified backups of Open Dental's database and the "
                        "A to Z images folder. Everything works from the keyboard; the bottom line "
                        "always shows the keys of the screen you are on.\n")]
    table = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    table.add_row(Text("Everywhere", style="bold underline"), "")
    for key, what in EVERYWHERE:
        table.add_row(key, what)
    for title, module, name in SCREENS:
        table.add_row("", "")
        table.add_row(Text(title, style="bold underline"), "")
        for key, what in _keys_of(module, name):
            table.add_row(key, what)
    words = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
    words.add_column(style="bold", no_wrap=True)
    words.add_column()
    for word, meaning in WORDS:
        words.add_row(word, meaning)
    return Group(*parts, table, Text("\nWords used", style="bold underline"), words)


class HelpScreen(Screen):
    """The keys of every screen, and what the words mean."""

    BINDINGS = [Binding("escape,q", "app.pop_screen", "Back")]

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll():
            yield Static(help_renderable(), id="help-text")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Help"
        self.query_one(VerticalScroll).focus()
