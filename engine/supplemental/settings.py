"""The ``[supplemental]`` settings and the supplemental copy's window (pure: no disk, no clock).

``window`` is a range of the office's local time such as ``22:00-04:00`` (past
midnight when the end is earlier than the start). The scheduler starts the job at
the window's start every day; a run that starts outside it (a catch-up after the
machine was off, a run by hand without ``--force``) is skipped.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from ..jobsettings import OFF, parse_clock
from ..schedule.model import EVERY_DAY, Calendar, ScheduleError

DEFAULT_WINDOW = "22:00-04:00"
"""Open Dental's own Supplemental window ("Backups occur nightly, typically between 10pm and 4am")."""


@dataclass(frozen=True)
class SupplementalSettings:
    """The supplemental copy ([supplemental])."""

    enabled: bool = False
    """Supplemental Backups Enabled: make the nightly last-resort copy (on or off)."""
    path: str = ""
    """The Backup Copy Network Path: the supplemental repository's folder (a mounted share, a UNC path
    or a folder), made once with odbackup init PATH --related-to MAIN."""
    window: str = DEFAULT_WINDOW
    """When the supplemental copy may run, such as 22:00-04:00; it starts at the first time."""
    images: bool = True
    """Also copy the images folder (folders.images); off: the database only."""

    def bounds(self) -> tuple[time, time]:
        """The window's start and end. Raises ScheduleError in plain words."""
        first, dash, last = self.window.partition("-")
        if not dash:
            raise ScheduleError(f"'{self.window}' is not a window: write it like 22:00-04:00")
        (h1, m1), (h2, m2) = parse_clock(first), parse_clock(last)
        if (h1, m1) == (h2, m2):
            raise ScheduleError("The supplemental window starts and ends at the same time: write it like 22:00-04:00")
        return time(h1, m1), time(h2, m2)

    def calendar(self) -> Calendar:
        """When the scheduler starts the job: the window's start, every day."""
        start, _end = self.bounds()
        return Calendar(EVERY_DAY, (start.hour,), start.minute)

    def problems(self, nightly: str) -> list[str]:
        """What cannot be used, in plain words; ``nightly`` is the nightly backup's time (or off)."""
        try:
            start, end = self.bounds()
        except ScheduleError as exc:
            return [str(exc)]
        if nightly.strip().lower() == OFF:
            return []
        try:
            hour, minute = parse_clock(nightly)
        except ScheduleError:
            return []  # the schedule's own check says it
        if inside(time(hour, minute), start, end):
            return [f"The nightly backup at {nightly} falls in the supplemental window {self.window}: they would "
                    "overlap. Move the nightly backup earlier, or the window later."]
        return []


def inside(at: time, start: time, end: time) -> bool:
    """``at`` is in the window [start, end) (a window past midnight when end < start)."""
    if start < end:
        return start <= at < end
    return at >= start or at < end


def window_end(now: datetime, start: time, end: time) -> datetime:
    """When the window ``now`` is in ends (``now``: the office's local time; naive or aware)."""
    close = now.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    return close if close > now else close + timedelta(days=1)
