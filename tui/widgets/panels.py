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
    """The alerts: critical ones in red, warnings in yellow, an ``ok`` one (all is well) in green."""

    def show_alerts(self, alerts: Iterable[tuple[str, str]]) -> None:
        """``alerts``: (level, text) pairs; level is ``critical``, ``warning`` or ``ok``."""
        items = list(alerts)
        self.set_class(any(level == "critical" for level, _ in items), "-alarm")
        self.show([_alert_line(level, text) for level, text in items])


def _alert_line(level: str, text: str) -> Text:
    if level == "ok":
        return Text(text, style="bold green")
    if level == "critical":
        return Text(f"!! {text}", style="bold red")
    return Text(f"!  {text}", style="yellow")
