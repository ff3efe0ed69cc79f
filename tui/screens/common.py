"""What every screen that runs engine work shares.

Engine calls run in thread workers started by :meth:`JobScreen.start_job`.
Their events come back as :class:`~tui.messages.EngineEvent` messages (and
into the job's log file), dispatched by class to the screen's methods whose first
parameter is annotated with the event class (:func:`engine.events.dispatch`;
``def show_lock_status(self, e: ev.LockStatus)``); events a screen has no method
for are not shown. A job ends with a typed message: the outcome its work
returns (a :class:`~tui.messages.JobDone` declared in the screen), or a
:class:`~tui.messages.JobFailed` that the screen may answer and that the App
shows in one place. A job that needs the passphrase and has none asks for it
once and starts again.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, ParamSpec

from textual.message_pump import MessagePump
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from engine import credentials
from engine import events as ev
from engine.errors import NeedsFullKey, NeedsPassphrase, NoCredentials, OdbackupError
from engine.recovery import looks_like_recovery_key
from engine.repository.repo import Repository
from engine.settings import Settings

from ..joblog import JobLog
from ..messages import EngineEvent, JobDone, JobFailed
from ..widgets.live import TableList

if TYPE_CHECKING:
    from textual import getters

    from ..app import OdbackupApp

P = ParamSpec("P")
Job = Callable[[], JobDone | None]
"""A job's work: run in a thread, it returns the job's outcome (None: nothing to say)."""

ASKS_FOR_SECRET = (NoCredentials, NeedsFullKey)


def as_error(exc: BaseException) -> OdbackupError:
    """Any failure as an error with a title, a message and what to do."""
    if isinstance(exc, OdbackupError):
        return exc
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return OdbackupError(f"{exc.strerror or exc}{where}",
                             hint="Check that the drive or network share is connected and writable.")
    error = OdbackupError(f"Something unexpected went wrong ({type(exc).__name__}: {exc}).",
                          hint="Try again; if it happens again, send the job log (Logs) to your IT support.")
    error.title = "Unexpected problem"
    return error


def passphrase_first(*secrets: str | None) -> str | None:
    """The first of ``secrets`` that is a passphrase, else the first given (a recovery key).

    Making a related repository seals its key file with a passphrase: a session unlocked with the
    recovery key, then asked for the passphrase, must use the passphrase it was just given."""
    given = [s for s in secrets if s]
    return next((s for s in given if not looks_like_recovery_key(s)), given[0] if given else None)


def open_repo(location: str, *, full: bool, secret: str | None) -> Repository:
    """Open and unlock in the order of :mod:`engine.credentials`, ``secret`` being the passphrase
    typed in this session. Nobody is asked here (a worker thread): the screen asks with its dialog
    when this fails with ``NoCredentials`` or ``NeedsFullKey``, and starts the job again."""
    return credentials.open_repository(location, credentials.Sources.here(session=secret), full=full)


def post_events(target: MessagePump, job: str = "", log: JobLog | None = None) -> ev.EventSink:
    """An engine event sink (called from the worker thread) that logs and posts to ``target``."""

    def sink(event: ev.Event) -> None:
        if log is not None:
            log(event)
        target.post_message(EngineEvent(event, job))

    return sink


class JobScreen(Screen):
    """A screen whose engine work runs in thread workers (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._jobs: dict[str, Job] = {}

    if TYPE_CHECKING:  # Textual's typed app getter, for the type checker only (tui.app imports the screens)
        app = getters.app(OdbackupApp)
        """The odbackup app: its settings, the session's passphrase, what runs now."""

    @property
    def settings(self) -> Settings:
        """The saved settings (the screens that use them open from the dashboard, which is shown
        only once there are settings)."""
        settings = self.app.settings
        assert settings is not None, "this screen needs saved settings"
        return settings

    def start_job(self, name: str, work: Callable[P, JobDone | None], *args: P.args, **kwargs: P.kwargs
                  ) -> Worker[JobDone | None]:
        """Run ``work(*args, **kwargs)`` in a thread; one job of a name at a time (a new one replaces
        it). What it returns is posted to this screen when it has succeeded."""
        job = partial(work, *args, **kwargs)
        self._jobs[name] = job
        return self.run_worker(job, name=name, group=name, thread=True, exclusive=True, exit_on_error=False)

    def on_engine_event(self, message: EngineEvent) -> None:
        """An event of this screen's job: to the screen's method for its class, if it has one."""
        ev.dispatch(self, message.event)

    def job_running(self, name: str) -> bool:
        return any(w.node is self and w.name == name and w.state in (WorkerState.PENDING, WorkerState.RUNNING)
                   for w in self.workers)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            for tables in self.query(TableList):  # rows still waiting for their periodic flush
                tables.flush()
        if event.state == WorkerState.SUCCESS and isinstance(worker.result, JobDone):
            self.post_message(worker.result)
        elif event.state == WorkerState.ERROR and worker.error is not None:
            error = as_error(worker.error)
            if isinstance(error, ASKS_FOR_SECRET) and worker.name in self._jobs:
                self.ask_secret_then(lambda: self._restart(worker.name), lambda: self._failed(worker.name, error),
                                     why=f"{error.message} {error.hint}" if isinstance(error, NeedsPassphrase) else "")
                return
            self._failed(worker.name, error)

    def _restart(self, name: str) -> None:
        self.start_job(name, self._jobs[name])

    def ask_secret_then(self, then: Callable[[], None], otherwise: Callable[[], None], why: str = "") -> None:
        """Ask for the passphrase (kept in memory for this session), then call ``then``; ``why``: said
        in the dialog when it is asked again."""
        from .modals import PassphraseScreen

        location = self.repository_location()

        def done(secret: str | None) -> None:
            if secret:
                self.app.secret = secret
                then()
            else:
                otherwise()

        self.app.push_screen(PassphraseScreen(location, why), done)

    def repository_location(self) -> str:
        """The repository this screen works on (the saved one, unless a screen knows better)."""
        settings = self.app.settings
        return settings.repository if settings else ""

    def _failed(self, name: str, error: OdbackupError) -> None:
        """Tell this screen (``on_job_failed``), then the App, that job ``name`` failed."""
        self.post_message(JobFailed(name, error))
