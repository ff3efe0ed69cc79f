"""The fields of a new archive drive: the folder on it, its label, rotating or monthly."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label

from .choices import Field, Tick


class ArchiveDriveForm(Vertical):
    """Folder, label and kind of a drive to make an archive drive (read with :meth:`read`)."""

    DEFAULT_CSS = """
    ArchiveDriveForm { height: auto; }
    ArchiveDriveForm .form-row { height: 1; margin: 0 0 1 0; }
    ArchiveDriveForm .form-row Label { width: 10; }
    ArchiveDriveForm .form-row Input { width: 1fr; }
    ArchiveDriveForm Tick { margin: 0; }
    """

    def compose(self) -> ComposeResult:
        with Horizontal(classes="form-row"):
            yield Label("Folder")
            yield Field(placeholder="/media/office/DRIVE_B/odbackup or E:\\odbackup", id="drive-path", compact=True)
        with Horizontal(classes="form-row"):
            yield Label("Label")
            yield Field(placeholder="Drive B, kept at home", id="drive-label", compact=True)
        yield Tick("Monthly archive: keeps everything; sealed when full", id="drive-monthly", compact=True)

    def read(self) -> tuple[str, str, str] | str:
        """(folder, label, kind), or what is missing in plain words."""
        path = self.query_one("#drive-path", Input).value.strip()
        label = self.query_one("#drive-label", Input).value.strip()
        if not path:
            return "Type the folder on the drive (an empty one, or the blank drive itself)."
        if not label:
            return "Give the drive a label people will recognize, e.g. 'Drive B, kept at home'."
        return path, label, "monthly" if self.query_one("#drive-monthly", Tick).value else "rotating"

    def clear(self) -> None:
        for field in self.query(Input):
            field.value = ""
        self.query_one("#drive-monthly", Tick).value = False
