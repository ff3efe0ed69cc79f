"""The next run of each scheduled job, in plain words ("Next backup: tonight at 9:00 pm").

What the operating system's scheduler really has wins (``engine.schedule.install``'s
readers); a job it does not have (or whose time it does not say) gets the time
the settings give, marked "not installed". Pure: the scheduler's answer is an
argument (``engine.status.State.schedule``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from .schedule.install import JobState
from .schedule.model import next_runs
from .settings import Settings

LABELS = {"backup": "backup", "intraday": "office-hours backup", "maintenance": "maintenance",
          "supplemental": "supplemental copy", "archive": "archive copy",
          "offsite": "offsite copy"}
EVENING_HOUR = 18


@dataclass(frozen=True)
class NextRun:
    """When a job runs next."""

    job: str
    at: datetime
    installed: bool
    """The operating system's scheduler has the job and will start it (else: the settings' time)."""

    def words(self, now: datetime, tz: tzinfo | None = None) -> str:
        """``Next backup: tonight at 9:00 pm`` (``(not installed)`` after it when it is not)."""
        text = f"Next {LABELS.get(self.job, self.job)}: {time_words(self.at, now, tz)}"
        return text if self.installed else text + " (not installed)"


def upcoming(settings: Settings, schedule: tuple[JobState, ...] | None, now: datetime,
             tz: tzinfo | None = None) -> list[NextRun]:
    """The next run of every job on in the settings, in the jobs' order."""
    from .schedule.model import ScheduleError

    have = {s.job: s for s in schedule or ()}
    try:
        calendars = settings.calendars()
    except ScheduleError:
        return []
    found = []
    for job, calendar in calendars.items():
        state = have.get(job)
        installed = state is not None and state.registered and state.enabled
        at = _scheduler_time(state) if installed else None
        found.append(NextRun(job, at or next_runs(calendar, now, 1, tz=tz)[0], installed))
    return found


def _scheduler_time(state: JobState | None) -> datetime | None:
    if state is None or not state.next_run:
        return None
    try:
        at = datetime.fromisoformat(state.next_run)
    except ValueError:  # a scheduler's own words for it: the settings' time is as good
        return None
    return at if at.tzinfo else at.astimezone()


def time_words(at: datetime, now: datetime, tz: tzinfo | None = None) -> str:
    """``tonight at 9:00 pm``, ``today at 10:00 am``, ``tomorrow at 9:00 pm``, ``on Sunday at
    11:30 pm``, ``on Mon 12 Jan at 9:00 pm``: in ``tz`` (default: this machine's zone)."""
    local, today = (at.astimezone(tz), now.astimezone(tz)) if tz is not None else (at.astimezone(), now.astimezone())
    clock = local.strftime("%I:%M %p").lstrip("0").lower()
    days = (local.date() - today.date()).days
    if days == 0:
        return f"{'tonight' if local.hour >= EVENING_HOUR else 'today'} at {clock}"
    if days == 1:
        return f"tomorrow at {clock}"
    if 1 < days < 7:
        return f"on {local:%A} at {clock}"
    return f"on {local:%a} {local.day} {local:%b} at {clock}"
