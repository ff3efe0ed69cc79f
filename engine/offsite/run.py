"""The offsite job's one step: the snapshots the offsite repository lacks, copied into it over the
office's uplink, within the window and at most at the upload limit.

A run that starts outside the window (a catch-up after the machine was off) is skipped, unless it
was forced (``odbackup run offsite --force``), which then runs until it is done. At the window's end
the copy stops cleanly (:class:`engine.repository.uplink.Uplink`): complete packs are indexed in
the bucket as they are sent, so the next run sends only what is still missing. Such a run ends
``incomplete``, saying how much is still to send; it is not a failure.

With Object Lock on the offsite repository, every run that copied (or was stopped by the window)
then extends the locks that are running out and locks what a killed run left unlocked, under the
same lock: it is the only job that writes there, so it keeps them up (engine/repository/s3lock.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ..errors import Cancelled, NoCredentials, RepositoryNotFound
from ..events import CopyPlanned, CopyProgress, Event
from ..jobs import JobFailed, JobSkipped, RunContext
from ..supplemental.settings import inside, window_end
from ..words import size
from .settings import OffsiteSettings

if TYPE_CHECKING:
    from ..repository.lock import RepoLock
    from ..repository.repo import Repository

DISABLED_SKIP = "skipped: offsite copies are off (odbackup config set offsite.enabled on)"
OUTSIDE_SKIP = "skipped: outside the offsite window"
WINDOW_ENDED = "the upload window ended"


def window_close(off: OffsiteSettings, now: datetime, force: bool) -> datetime | None:
    """When the run must stop (``now``: local time, aware); None for a forced run outside the window.
    Raises JobSkipped outside the window unless forced."""
    start, end = off.bounds()
    if inside(now.time(), start, end):
        return window_end(now, start, end)
    if force:
        return None
    raise JobSkipped(f"{OUTSIDE_SKIP} ({off.window}; it is {now:%H:%M}). It starts in its window, or by hand "
                     "with odbackup run offsite --force.")


def open_offsite(off: OffsiteSettings, main: str) -> Repository:
    """The offsite repository, unlocked with this machine's write-only credentials (those of the main
    repository serve a related one). Refused plainly when it is not set up."""
    from ..repository.repo import Repository

    if not off.location.strip():
        raise JobFailed("No offsite location is set, so there is nowhere to copy to.",
                        hint="Set it: odbackup config set offsite.location s3:https://SERVER/BUCKET/FOLDER.")
    made = (f"The passphrase holder makes it once: odbackup init {off.location} --related-to {main or 'MAIN'} "
            "(docs/CLI.md, Offsite copy).")
    try:
        target = Repository.open(off.location)
        target.use_machine_credentials()
    except RepositoryNotFound as exc:
        raise JobFailed(f"There is no odbackup repository at the offsite location {off.location}.",
                        hint=made) from exc
    except NoCredentials as exc:
        raise NoCredentials(f"This machine cannot open the offsite repository at {off.location} with its "
                            "write-only credentials: it is not related to the main repository.", hint=made) from exc
    return target


@dataclass
class _Sent:
    """What the copy said so far: its plan and its progress (to say how much is left when it stops)."""

    planned: int = 0
    done: int = 0


def run_offsite(ctx: RunContext, now: datetime | None = None) -> None:
    """The step (module docstring)."""
    from ..repository.copy import copy_snapshots
    from ..repository.lock import RepoLock
    from ..repository.uplink import Uplink

    off = ctx.settings.offsite
    if not off.enabled:
        raise JobSkipped(DISABLED_SKIP + ".")
    until = window_close(off, now or datetime.now().astimezone(), ctx.force)
    target = open_offsite(off, ctx.settings.repository)
    source = ctx.repository()
    sent = _Sent()
    uplink = Uplink(ctx.cancel, limit=off.rate(), until=until)
    uplink.attach(target.backend)
    try:
        with source.reading("offsite"):
            lock, _replaced = RepoLock.acquire(target.backend, target.keys.maint_key, "offsite", mode="write")
            with lock:
                try:
                    result = copy_snapshots(source, target, None, on_event=_counting(ctx, sent),
                                            cancel=ctx.cancel, refresh=lock.refresh)
                except Cancelled:
                    if not uplink.window_closed:
                        raise
                    result = None
                uplink.close()
                _keep_locked(ctx, target, lock)
    finally:
        uplink.close()
    if result is None:
        _stopped(ctx, off, sent, until)
        return
    ctx.bytes = result.bytes_sent
    ctx.snapshot_id = result.snapshots[-1] if result.snapshots else None
    ctx.said.append(f"Offsite copy to {off.location}: {len(result.snapshots)} snapshot(s) copied "
                    f"({size(result.bytes_sent)} sent), {result.snapshots_present} already there.")


def _keep_locked(ctx: RunContext, target: Repository, lock: RepoLock) -> None:
    """With Object Lock, extend the locks running out and lock what a killed run left unlocked
    (s3lock.py): nothing else extends the offsite repository's locks. Also after the window
    ended: a first copy spanning weeks must not lose the locks of what it sent first."""
    extend = getattr(target.backend, "extend_locks", None)
    if extend is None:
        return
    extended = extend(lock.refresh)
    if extended:
        ctx.said.append(f"Object Lock extended on {extended:,} object(s) of the offsite copy.")


def _counting(ctx: RunContext, sent: _Sent):  # noqa: ANN202 - an EventSink
    def on_event(event: Event) -> None:
        if isinstance(event, CopyPlanned):
            sent.planned = event.bytes
        elif isinstance(event, CopyProgress):
            sent.done = event.bytes_done
        ctx.on_event(event)

    return on_event


def _stopped(ctx: RunContext, off: OffsiteSettings, sent: _Sent, until: datetime | None) -> None:
    """The window ended: a run that sent what it could, ``incomplete`` until the bucket has it all."""
    ctx.bytes = sent.done
    at = f" at {until:%H:%M}" if until is not None else ""
    ctx.said.append(f"Offsite copy to {off.location}: sent {size(sent.done)} of {size(sent.planned)}.")
    ctx.incomplete = (f"{WINDOW_ENDED}{at} with {size(max(0, sent.planned - sent.done))} still to send; "
                      "the next night's run continues from there")
