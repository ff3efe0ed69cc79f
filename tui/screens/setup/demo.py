"""Try it with a demo practice: ``odbackup demo`` behind the scenes, into the user's data
folder, then the setup with every answer filled in for it."""
from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import platformdirs
from rich.text import Text
from textual.widget import Widget
from textual.widgets import Input, ProgressBar, Static
from textual.worker import get_current_worker

from engine import events as ev
from engine.database.connection import connect
from engine.database.preflight import list_databases
from engine.errors import OdbackupError

from ...joblog import JobLog
from ...messages import JobDone, JobFailed
from ...widgets import fmt
from ...widgets.choices import Field
from ..common import post_events
from .base import SetupStep, field_row
from .draft import SetupDraft

if TYPE_CHECKING:
    from engine.opendental.demo import DemoResult

DEFAULT_NAME = "opendental_demo"
PHASES = {"database": "Writing patients, appointments and claims", "indexes": "Building the indexes",
          "images": "Writing the A to Z images"}


def demo_folder() -> str:
    """Where the demo's images and backups go (the user's data folder)."""
    return os.path.join(platformdirs.user_data_dir("odbackup", False), "demo")


def unused(path: str) -> str:
    """``path``, or ``path-2``, ``path-3`` ...: the first that does not exist or is empty."""
    candidate, n = path, 1
    while os.path.exists(candidate) and (not os.path.isdir(candidate) or os.listdir(candidate)):
        n += 1
        candidate = f"{path}-{n}"
    return candidate


def free_database_name(draft: SetupDraft) -> str:
    """opendental_demo, or opendental_demo_2 ... (a worker: asks the server)."""
    taken = {d.name for d in list_databases(draft.target()) if d.tables}
    name, n = DEFAULT_NAME, 1
    while name in taken:
        n += 1
        name = f"{DEFAULT_NAME}_{n}"
    return name


class DemoStep(SetupStep):
    """Creates the demo practice, then starts the setup filled in for it."""

    HEADING = "Try it with a demo practice"
    NEXT_JOBS = ("demo",)
    NEXT_LABEL = "Create the demo practice"

    @dataclass
    class NameFound(JobDone):
        """A name no database on the server has yet."""

        name: str

    @dataclass
    class Created(JobDone):
        """The demo practice was created."""

        result: DemoResult

    def body(self) -> Iterable[Widget]:
        d = self.draft
        yield Static("odbackup creates a made-up Open Dental practice (about 50 MB of tables, all MyISAM, and "
                     "an A to Z images folder of about 1,000 files) so you can try a backup and a "
                     "verification. It never touches an existing database or folder.")
        yield field_row("Server", Field(d.host, id="host"))
        yield field_row("Port", Field(str(d.port), type="integer", id="port"))
        yield field_row("User", Field(d.user, id="user"))
        yield field_row("Password", Field(d.password or "", password=True, id="password",
                                          placeholder="empty: the saved one (or none)"))
        yield field_row("New database", Field(DEFAULT_NAME, id="database"))
        yield field_row("Images folder", Field(unused(os.path.join(demo_folder(), "OpenDentImages")), id="images"))
        yield Static("", id="demo-phase")
        yield ProgressBar(id="demo-progress", show_eta=False)

    def on_mount(self) -> None:
        self.query_one("#demo-progress").display = False
        self.start_job("names", lambda: self.NameFound(free_database_name(self.draft)))

    def _read(self) -> str | None:
        d = self.draft
        d.host = self.query_one("#host", Input).value.strip() or "127.0.0.1"
        d.user = self.query_one("#user", Input).value.strip() or "root"
        d.password = self.query_one("#password", Input).value or None
        port = self.query_one("#port", Input).value.strip()
        if not port.isdigit():
            return "The port is a number (usually 3306)."
        d.port = int(port)
        if not self.query_one("#database", Input).value.strip():
            return "Name the new database (letters, digits and underscores)."
        return None

    def next_requested(self) -> None:
        found = self._read()
        if found:
            self.problem(found)
            return
        name = self.query_one("#database", Input).value.strip()
        images = os.path.abspath(self.query_one("#images", Input).value.strip())
        self.query_one("#demo-progress").display = True
        self.query_one("#demo-phase", Static).update("Connecting...")
        self.start_job("demo", self._create, name, images)

    def _create(self, name: str, images: str) -> DemoStep.Created:
        from engine.opendental.demo import create_demo

        log = JobLog("demo")
        conn = connect(self.draft.target())
        try:
            return self.Created(create_demo(conn, name, images, on_event=post_events(self, "demo", log),
                                            cancel=get_current_worker().cancelled_event))
        except OdbackupError as exc:
            log.error(exc)
            raise
        finally:
            conn.close()

    def show_demo_progress(self, e: ev.DemoProgress) -> None:
        """Dispatched by class (JobScreen.on_engine_event)."""
        shown = f"{fmt.size(e.done)} of {fmt.size(e.total)}" if e.phase == "images" else f"{e.done:,} of {e.total:,}"
        self.query_one("#demo-phase", Static).update(f"{PHASES.get(e.phase, e.phase)}: {shown}")
        self.query_one("#demo-progress", ProgressBar).update(total=max(e.total, 1), progress=e.done)

    def on_demo_step_name_found(self, message: NameFound) -> None:
        field = self.query_one("#database", Input)
        if field.value == DEFAULT_NAME:  # the user has not typed a name of their own
            field.value = message.name

    def on_demo_step_created(self, message: Created) -> None:
        result, d = message.result, self.draft
        d.demo, d.use_database, d.database, d.database_bytes = True, True, result.database, result.bytes
        d.images_folder, d.images_bytes = result.images_dir, result.image_bytes
        d.repository = unused(os.path.join(demo_folder(), "backups"))
        self.query_one("#demo-phase", Static).update(Text(
            f"Created {result.database} ({fmt.count(result.tables, 'table')}, {result.rows:,} rows) and "
            f"{fmt.count(result.image_files, 'image file')} in {result.seconds:.0f} s.", style="green"))
        self.app.notify("The demo practice is ready. The setup is filled in for it: press Next on each step.",
                        title="Demo ready")
        from .server import ServerStep

        self.app.switch_screen(ServerStep(d))

    def on_job_failed(self, message: JobFailed) -> None:
        message.stop()  # said on the step itself
        error = message.error
        if message.job == "names":
            return  # the server is not reachable yet: the user sees it when creating
        self.query_one("#demo-progress").display = False
        self.query_one("#demo-phase", Static).update("")
        self.problem(f"{error.title}: {error.message} {error.hint or ''}".strip())
