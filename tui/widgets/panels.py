"""Bordered panels of plain lines, and the alert list."""
from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.widgets import Static


class InfoPanel(Static):
    """A titled box of a few lines of text (set with :meth:`show`)."""

    DEFAULT_CSS = """
    InfoPanel { border: round $primary; padding: 0 1; height: auto; }
    """

    def __init__(self, title: str, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes)
        self.border_title = title
        self.lines: list[str] = []

    def show(self, lines: Iterable[str | Text]) -> None:
        """Replace the panel's lines."""
        items = list(lines)
        self.lines = [item.plain if isinstance(item, Text) else item for item in items]
        text = Text()
        for n, item in enumerate(items):
            if n:
                text.append("\n")
            text.append(item if isinstance(item, Text) else Text(item))
        self.update(text)


class AlertList(InfoPanel):
    """The alerts: errors in red, warnings in yellow, or one green line when all is well."""

    def show_alerts(self, alerts: Iterable[tuple[str, str]]) -> None:
        """``alerts``: (level, text) pairs; level is ``error`` or ``warning``."""
        items = list(alerts)
        if not items:
            self.show([Text("All good: nothing needs attention.", style="bold green")])
            self.set_class(False, "-alarm")
            return
        self.set_class(any(level == "error" for level, _ in items), "-alarm")
        self.show([Text(f"{'!!' if level == 'error' else '! '} {text}",
                        style="bold red" if level == "error" else "yellow") for level, text in items])
