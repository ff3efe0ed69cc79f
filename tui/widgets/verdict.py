"""The verdict of a verification in large words (two rows of block letters), plus plain words."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

# Two-row block letters (as in figlet's "future" font): readable in any terminal font that
# has the CP437 half blocks (Windows Terminal, the RDP console, xterm, PuTTY).
LETTERS = {
    "P": ("█▀█", "█▀▀"), "A": ("▄▀█", "█▀█"), "S": ("█▀", "▄█"), "E": ("█▀▀", "██▄"),
    "D": ("█▀▄", "█▄▀"), "F": ("█▀▀", "█▀ "), "I": ("█", "█"), "L": ("█  ", "█▄▄"), " ": ("  ", "  "),
}


def big(word: str) -> str:
    """``word`` (letters of PASSED / FAILED) in two rows of block letters."""
    rows = [" ".join(LETTERS[c][n] for c in word.upper()) for n in (0, 1)]
    return "\n".join(rows)


class Verdict(Static):
    """PASSED (green) or FAILED (red), large, with one line saying what it means."""

    DEFAULT_CSS = """
    Verdict { height: auto; padding: 0 1; display: none; }
    Verdict.-shown { display: block; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.ok: bool | None = None

    def show(self, ok: bool, meaning: str) -> None:
        self.ok = ok
        style = "bold green" if ok else "bold red"
        text = Text(big("PASSED" if ok else "FAILED"), style=style)
        text.append(f"\n{meaning}", style=style)
        self.update(text)
        self.add_class("-shown")
