"""Messages the app's screens receive from their jobs ("messages up").

Engine events arrive from worker threads: a sink made by
:func:`tui.screens.common.post_events` wraps each one in an :class:`EngineEvent`
and posts it (``post_message`` is thread-safe). Progress events replace the
ones still waiting in the queue, so a slow screen never falls behind.

How a job ends is a message too. A job's work (run in a thread by
:meth:`tui.screens.common.JobScreen.start_job`) returns its outcome: a
:class:`JobDone` subclass declared inside the screen that runs the job
(``BackupScreen.Finished``, handled by ``on_backup_screen_finished``), so each
result has a type and the screen that receives it is in its name. A job that
raises becomes one :class:`JobFailed`, which the screen may answer and which
then reaches the App, the one place errors are shown.
"""
from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from engine import events as ev
from engine.errors import OdbackupError

PROGRESS_EVENTS: tuple[type[ev.Event], ...] = (
    ev.BackupProgress, ev.TableProgress, ev.RestoreProgress, ev.CheckProgress, ev.LockStatus, ev.DemoProgress,
    ev.CopyProgress,
)

NOT_IN_APP: frozenset[type[ev.Event]] = frozenset({
    ev.ScanFinished,  # its totals arrive in the next backup_progress
    ev.PackWritten,  # storage detail
    ev.StaleLockRemoved, ev.RestoreResumed,  # said in the job's log only
    ev.RestoreProblem, ev.RestoreFinished,  # the restore job's result shows them when it ends
    ev.VerifyStarted, ev.VerifyFinished,  # the verify screen says them itself, from its job's result
    # check, forget and prune run from the command line (odbackup check/forget/prune) only
    ev.CheckProgress, ev.CheckProblem, ev.DamageFound, ev.CheckFinished,
    ev.SnapshotKept, ev.SnapshotForgotten, ev.PrunePlanned, ev.PruneProgress, ev.PruneFinished,
    # copy's per-snapshot lines and totals (the Archives screen shows the plan, the progress and the end)
    ev.SnapshotCopied, ev.CopyFinished,
    ev.AdminPasswordsChecked,  # the preflight screen and the dashboard show it from their own results
})
"""Engine events that no screen of the app shows (the job's log file still has the text
printer's words for them).

Where the others go: each screen that runs engine work handles the events of its job with
methods annotated with their classes (:meth:`tui.screens.common.JobScreen.on_engine_event`);
``tests/cli/test_event_coverage.py`` lists which screen shows which event and fails when an
event class is neither shown by a screen nor listed here."""


def is_progress(event: ev.Event) -> bool:
    """Throttled counters (dropped when a newer one of the same kind is waiting), not milestones."""
    return isinstance(event, PROGRESS_EVENTS)


class EngineEvent(Message):
    """One engine event, posted from the worker thread that runs the engine call."""

    def __init__(self, event: ev.Event, job: str = "") -> None:
        super().__init__()
        self.event = event
        self.job = job

    def can_replace(self, message: Message) -> bool:
        """A newer tick of the same progress counter supersedes this one."""
        return (isinstance(message, EngineEvent) and type(message.event) is type(self.event)
                and is_progress(self.event))


class ScanProgress(Message):
    """The background count of a folder (files and bytes so far; ``done`` at the end)."""

    def __init__(self, path: str, files: int, size: int, done: bool) -> None:
        super().__init__()
        self.path, self.files, self.size, self.done = path, files, size, done

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ScanProgress) and message.path == self.path and not self.done


class JobDone(Message):
    """How a job ended well: the base of every job's outcome message (see the module docstring).

    Outcomes are dataclasses but not frozen ones: Textual keeps its own bookkeeping on a message.
    The screen posts the outcome once the job's worker has succeeded, never from the thread: a job
    that was cancelled or replaced by a newer one of its name (its thread still runs on) must not
    deliver a stale result after the newer one.
    """


@dataclass
class JobFailed(Message):
    """A screen's job failed. Its screen may say so in its own words and ``stop()`` the message
    (a setup step's problem line, a cancelled backup); otherwise it bubbles up to the App, which
    shows the error (title, message, what to do) in one place."""

    job: str
    """The job's name, as given to ``start_job``."""
    error: OdbackupError

