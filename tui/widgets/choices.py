"""Form controls tuned for terminals over SSH and RDP: a checkbox and a radio button whose
state shows in the glyph itself (X or blank), not only in its colour (readable in 16 colours
or a text capture), and a text field whose cursor does not blink."""
from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Checkbox, Input, RadioButton


class Tick(Checkbox):
    """A checkbox: ``[X]`` when checked, ``[ ]`` when not."""

    @property  # type: ignore[override]
    def BUTTON_INNER(self) -> str:  # noqa: N802 - Textual reads this class attribute's name
        return "X" if self.value else " "


class Choice(RadioButton):
    """A radio button: ``(●)`` when chosen, ``( )`` when not."""

    @property  # type: ignore[override]
    def BUTTON_INNER(self) -> str:  # noqa: N802
        return "●" if self.value else " "


class Field(Input):
    """A text field whose cursor does not blink: no redraw twice a second over a slow SSH or
    RDP link (and steady pictures in the snapshot tests)."""

    cursor_blink = reactive(False, init=False)
