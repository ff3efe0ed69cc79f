"""Setup step 3: the A to Z images folder (checked, then counted in the background) and
other office folders."""
from __future__ import annotations

import os
from collections.abc import Iterable

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Button, Input, OptionList, Static
from textual.worker import get_current_worker

from engine.progress import TreeCounter

from ...messages import ScanProgress
from ...widgets import fmt
from ...widgets.choices import Field
from .base import SetupStep, field_row
from .draft import extra_folder_problem, folder_problem, images_folder_problem

SCAN_TICK = 0.25
DEBOUNCE = 0.5


def scan_folder(screen: SetupStep, path: str) -> None:
    """Count the files and bytes below ``path``, posting the running count (a worker; the last
    :class:`ScanProgress` says it is done)."""
    counter = TreeCounter([path], get_current_worker().cancelled_event)
    counter.start()
    while counter.is_alive():
        counter.join(SCAN_TICK)
        screen.post_message(ScanProgress(path, counter.files, counter.bytes, False))
    screen.post_message(ScanProgress(path, counter.files, counter.bytes, True))


def normal(path: str) -> str:
    return os.path.abspath(os.path.expanduser(path.strip())) if path.strip() else ""


class FoldersStep(SetupStep):
    """The images folder and extra folders."""

    STEP = 3
    HEADING = "What to back up: folders"
    OWN_ENTER = ("extra",)
    _timer: Timer | None = None
    _images_said = ""
    """The problem line's text when it was put there about the images folder."""
    BINDINGS = SetupStep.BINDINGS + [Binding("delete", "remove", "Remove folder", show=False)]

    def body(self) -> Iterable[Widget]:
        yield Static("Open Dental's A to Z images folder (often C:\\OpenDentImages, or the share "
                     "\\\\SERVER\\OpenDentImages). Leave empty to back up only the database.")
        yield field_row("Images folder", Field(self.draft.images_folder, id="images",
                                               placeholder="e.g. /srv/OpenDentImages"))
        yield Static("", id="images-scan")
        yield Static("Other office folders to back up (optional): type one and press Enter.",
                     classes="section-title")
        yield field_row("Add folder", Field("", id="extra", placeholder="e.g. /srv/OfficeDocs, then Enter"))
        yield OptionList(*self.draft.extra_folders, id="extra-list")
        yield Static("Delete removes the highlighted folder from the list.", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#extra-list").display = bool(self.draft.extra_folders)
        if self.draft.images_folder:
            self._validate_images()

    # --- the images folder --------------------------------------------------------------------------

    @on(Input.Changed, "#images")
    def _images_changed(self) -> None:
        self.query_one("#images-scan", Static).update("")  # the count shown was another path's
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE, self._validate_images)

    def _validate_images(self) -> None:
        self._timer = None  # done (or never waited for)
        path = self.query_one("#images", Input).value
        found = folder_problem(path) if path.strip() else None
        self._say_images_problem(found)
        if found or not path.strip():
            return
        self.query_one("#images-scan", Static).update(f"Counting the files in {normal(path)}...")
        self.start_job("scan-images", scan_folder, self, normal(path))

    def _say_images_problem(self, found: str | None) -> None:
        """The images folder's problem is said in one place, the problem line (in view at
        80x24); a path that is fine again takes its own old message away, not another's."""
        if found:
            self.problem(found)
        elif self._images_said and self.problem_text == self._images_said:
            self.problem(None)
        self._images_said = found or ""

    def on_scan_progress(self, message: ScanProgress) -> None:
        if message.path == normal(self.query_one("#images", Input).value):
            state = "" if message.done else " so far (still counting)"
            self.query_one("#images-scan", Static).update(Text(
                f"{fmt.count(message.files, 'file')}, {fmt.size(message.size)}{state}.",
                style="green" if message.done else ""))
            if message.done:
                self.draft.images_bytes = message.size
        elif message.done:
            self.draft.extra_bytes[message.path] = message.size

    # --- extra folders ----------------------------------------------------------------------------------

    @on(Input.Submitted, "#extra")
    def add_folder(self) -> None:
        field = self.query_one("#extra", Input)
        if not field.value.strip():
            self.query_one("#next", Button).focus()
            return
        path = normal(field.value)
        images = normal(self.query_one("#images", Input).value)
        found = folder_problem(field.value) or extra_folder_problem(path, images, self.draft.extra_folders)
        if found:
            self.problem(found)
            return
        self.problem(None)
        self.draft.extra_folders.append(path)
        listing = self.query_one("#extra-list", OptionList)
        listing.add_option(path)
        listing.display = True
        field.value = ""
        self.start_job(f"scan-{path}", scan_folder, self, path)

    def action_remove(self) -> None:
        listing = self.query_one("#extra-list", OptionList)
        index = listing.highlighted
        if self.focused is not listing or index is None or index >= len(self.draft.extra_folders):
            return
        self.draft.extra_folders.pop(index)
        listing.remove_option_at_index(index)
        listing.display = bool(self.draft.extra_folders)

    # --- Next ------------------------------------------------------------------------------------------------

    def check(self) -> str | None:
        if self._timer is not None:  # the field's check still waits: now, or later it would clear Next's problem
            self._timer.stop()
            self._validate_images()
        path = self.query_one("#images", Input).value
        if path.strip():
            found = folder_problem(path) or images_folder_problem(normal(path), self.draft.extra_folders)
            if found:
                self._images_said = found
                return found
        self.draft.images_folder = normal(path)
        if not self.draft.use_database and not self.draft.folders_chosen():
            return "Nothing to back up: choose the images folder or another folder (or go Back to the database)."
        return None

    def next_step(self) -> SetupStep:
        from .destination import DestinationStep

        return DestinationStep(self.draft)
