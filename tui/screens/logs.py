"""Logs: every job's log (backups, verifications, restores, demo), errors highlighted."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Footer, Header, OptionList, RichLog, Static
from textual.widgets.option_list import Option

from ..joblog import LogFile, LogLine, list_logs, log_dir, read_log
from ..messages import JobDone
from .common import JobScreen

STYLES = {"ERROR": "bold red", "WARN": "yellow", "INFO": ""}


def log_label(log: LogFile) -> Text:
    """``2025-06-30 18:05 backup  2 errors``."""
    text = Text(f"{log.started:%Y-%m-%d %H:%M} {log.job:<7}")
    if log.errors:
        text.append(f" {log.errors} err", style="bold red")
    elif log.warnings:
        text.append(f" {log.warnings} warn", style="yellow")
    return text


class LogsScreen(JobScreen):
    """Job logs, newest first; the highlighted one is shown on the right."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("e", "next_error", "Next error"),
        Binding("g", "refresh", "Refresh"),
    ]

    @dataclass
    class Listed(JobDone):
        """The job logs, newest first."""

        logs: list[LogFile]

    @dataclass
    class Read(JobDone):
        """The lines of the highlighted log."""

        lines: list[LogLine]

    def __init__(self) -> None:
        super().__init__()
        self.logs: list[LogFile] = []
        self.shown_lines: list[Any] = []
        self._error_cursor = -1

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"Job logs in {log_dir()}", id="logs-where", classes="hint")
        with Horizontal():
            yield OptionList(id="log-list")
            yield RichLog(id="log-view", wrap=True, markup=False, highlight=False, min_width=20)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Logs"
        self.query_one("#log-list").focus()
        self.action_refresh()

    def action_refresh(self) -> None:
        self.start_job("list", lambda: self.Listed(list_logs()))

    def on_logs_screen_listed(self, message: Listed) -> None:
        self.logs = message.logs
        listing = self.query_one("#log-list", OptionList)
        listing.clear_options()
        listing.add_options([Option(log_label(log), id=log.path) for log in message.logs])
        if message.logs:
            listing.highlighted = 0
        else:
            self.query_one("#log-view", RichLog).write("No job logs yet: they appear after a backup, "
                                                       "verification or restore.")

    @on(OptionList.OptionHighlighted, "#log-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        path = event.option.id
        if path:
            self.start_job("read", lambda: self.Read(read_log(path)))

    def on_logs_screen_read(self, message: Read) -> None:
        self._show(message.lines)

    def _show(self, lines: list) -> None:
        self.shown_lines = lines
        self._error_cursor = -1
        view = self.query_one("#log-view", RichLog)
        view.clear()
        for line in lines:
            view.write(Text(f"{line.time[11:]} {line.text}" if line.time else line.text,
                            style=STYLES.get(line.level, "")))

    def action_next_error(self) -> None:
        errors = [n for n, line in enumerate(self.shown_lines) if line.level == "ERROR"]
        if not errors:
            self.notify("No errors in this log.")
            return
        later = [n for n in errors if n > self._error_cursor]
        self._error_cursor = later[0] if later else errors[0]
        self.query_one("#log-view", RichLog).scroll_to(y=self._error_cursor, animate=False)
