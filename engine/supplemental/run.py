"""The supplemental job's one step: in its window, a fresh backup into the supplemental
repository, then a check of that repository.

The backup is the nightly one's (:func:`engine.backup.run_backup` through the
jobs' own step), pointed at the repository at ``supplemental.path`` and limited
to the database and, when ``supplemental.images`` is on, the images folder. It
reads the live server and folder only, never the main repository: losing the
main drive does not touch it. The repository is opened with this machine's
write-only credentials (those of the main repository serve a related one).
"""
from __future__ import annotations

import dataclasses
from datetime import datetime

from ..joblock import JobBusy, JobLock
from ..jobs import JobFailed, JobSkipped, RunContext, _backup, _check, lock_path
from ..places import check_destination
from ..settings import Settings
from .settings import SupplementalSettings, inside, window_end

DISABLED_SKIP = "skipped: supplemental copies are off (odbackup config set supplemental.enabled on)"
OUTSIDE_SKIP = "skipped: outside the supplemental window"
BACKUP_STILL_RUNNING = "skipped: the nightly backup was still running when the supplemental window closed"
FORCED_WAIT = 3600.0
"""Seconds a forced run (outside the window) waits for a nightly backup that is running."""
POLL = 30.0
"""Seconds between looks at whether the nightly backup has finished."""


def deadline(supp: SupplementalSettings, now: datetime, force: bool) -> float:
    """Seconds from ``now`` (the office's local time) until the window closes; a forced run
    outside it gets ``FORCED_WAIT``. Raises JobSkipped outside the window unless forced."""
    start, end = supp.bounds()
    if inside(now.time(), start, end):
        return (window_end(now, start, end) - now).total_seconds()
    if force:
        return FORCED_WAIT
    raise JobSkipped(f"{OUTSIDE_SKIP} ({supp.window}; it is {now:%H:%M}). It starts in its window, or by hand "
                     "with odbackup run supplemental --force.")


def wait_for_nightly(ctx: RunContext, seconds: float) -> None:
    """Never overlap the nightly backup: while its run holds its lock, wait (at most ``seconds``)."""
    waited = 0.0
    probe = JobLock(lock_path("backup"), "backup")
    while True:
        try:
            probe.acquire()
        except JobBusy:
            if waited >= seconds or ctx.cancel.is_set():
                raise JobSkipped(BACKUP_STILL_RUNNING + ".") from None
            ctx.cancel.wait(min(POLL, seconds - waited))
            waited += min(POLL, seconds - waited)
            continue
        probe.release()
        return


def copy_settings(settings: Settings) -> Settings:
    """The settings of what the copy saves: the database and (by choice) the images folder, into
    the supplemental repository."""
    supp = settings.supplemental
    return dataclasses.replace(settings, repository=supp.path, extra_folders=(),
                               images_folder=settings.images_folder if supp.images else "")


def _ready(settings: Settings) -> None:
    """Refuse plainly what cannot be copied, before anything is opened."""
    path = settings.supplemental.path.strip()
    if not path:
        raise JobFailed("No Backup Copy Network Path is set, so there is nowhere to make the supplemental copy.",
                        hint="Set it: odbackup config set supplemental.path PATH (or the Supplemental screen).")
    place = check_destination(path)
    if not place.exists:
        raise JobFailed(f"The Backup Copy Network Path {path} cannot be reached.",
                        hint="Check that the network share is connected (and mounted) and the path is right.")
    if not place.is_repository:
        raise JobFailed(f"There is no odbackup repository at the Backup Copy Network Path {path}.",
                        hint=f"The passphrase holder makes it once: odbackup init {path} --related-to "
                             f"{settings.repository or 'MAIN'} (see docs/CLI.md, Supplemental copy).")
    if settings.database is None and not (settings.supplemental.images and settings.images_folder):
        raise JobFailed("The supplemental copy saves the database and the images folder, and neither is set up.")


def run_supplemental(ctx: RunContext, now: datetime | None = None) -> None:
    """The step: skip when off or outside the window (unless forced), wait for a running nightly
    backup, back up into the supplemental repository, then check it."""
    supp = ctx.settings.supplemental
    if not supp.enabled:
        raise JobSkipped(DISABLED_SKIP + ".")
    seconds = deadline(supp, now or datetime.now(), ctx.force)
    _ready(ctx.settings)
    wait_for_nightly(ctx, seconds)
    copy = RunContext(copy_settings(ctx.settings), ctx.on_event, ctx.cancel, force=ctx.force)
    _backup(copy, databases_only=ctx.settings.database is not None and not copy.settings.images_folder)
    _check(copy)
    for name in ("snapshot_id", "files", "bytes", "databases", "office_wait", "incomplete"):
        setattr(ctx, name, getattr(copy, name))
    ctx.said.append(f"Supplemental copy at {supp.path}: " + " ".join(copy.said))
