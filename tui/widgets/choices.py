"""Form controls tuned for terminals over SSH and RDP: a checkbox and a radio button whose
state shows in the glyph itself (X or blank), not only in its colour (readable in 16 colours
or a text capture), and a text field whose cursor does not blink and whose keys land in the
order they were typed."""
from __future__ import annotations

from textual import events
from textual.reactive import reactive
from textual.widgets import Checkbox, Input, RadioButton, Select


class Tick(Checkbox):
    """A checkbox: ``[X]`` when checked, ``[ ]`` when not."""

    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]  # noqa: N802 - Textual reads this class attribute's name
        return "X" if self.value else " "


class Choice(RadioButton):
    """A radio button: ``(●)`` when chosen, ``( )`` when not."""

    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]  # noqa: N802
        return "●" if self.value else " "


class Field(Input):
    """A text field whose cursor does not blink: no redraw twice a second over a slow SSH or
    RDP link (and steady pictures in the snapshot tests).

    Its own keys (Backspace, Delete, the arrows, Enter...) act here, in the order typed.
    Textual's Input inserts a printable key at once, but lets a bound key bubble up through
    every container's message queue to the App, which then runs the Input's binding: in a
    burst (a held Backspace then typing, over a slow link) the letters typed after the
    Backspaces were inserted first and then deleted by them, and Enter submitted what was
    left (``opendental_demo`` became ``opendental_de``)."""

    cursor_blink = reactive(False, init=False)

    async def _on_key(self, event: events.Key) -> None:
        if not event.is_printable:
            for binding in self._bindings.key_to_bindings.get(event.key, ()):
                if not binding.priority and await self.app.run_action(binding.action, self):
                    event.stop()
                    event.prevent_default()
                    return
        await super()._on_key(event)


class Picker(Select):
    """A list to pick from that says what it is doing (``prompt``, e.g. "Reading the snapshots...")
    until its options arrive, then offers only them: the prompt is no longer a choice, which
    would empty everything shown for the chosen option."""

    def offer(self, options: list[tuple[str, str]], value: str | None = None, *, empty: str = "None yet") -> None:
        """Offer ``options`` (choosing ``value``, else the first); with none, the prompt says ``empty``."""
        self._allow_blank = not options  # Select reads it in set_options: no blank entry once there are options
        if not options:
            self.prompt = empty
        self.set_options(options)
        if value is not None:
            self.value = value
