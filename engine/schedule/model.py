"""When each job runs: a small calendar model and ``next_runs``, both pure.

The user never sees cron or systemd syntax: a job runs on chosen weekdays at
chosen hours (one hour for the nightly, a range for office hours) at one
minute past the hour. That repertoire is all the presets need, and every
scheduler we write to (systemd, cron, Windows Task Scheduler) can say it
exactly, so what the operating system will do and what ``next_runs`` says
are the same thing (the tests check it against ``systemd-analyze`` and a
cron evaluator).

Times are wall-clock times in the machine's zone. Across a daylight-saving
change: a time that does not exist that night (2:30 when clocks jump from 2
to 3) is skipped; a time that happens twice (1:30 when clocks go back) runs
once, the first time. None of the presets falls in those hours.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from .localzone import local_zone

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
EVERY_DAY = frozenset(range(7))
WEEKDAYS = frozenset(range(5))


class ScheduleError(ValueError):
    """A calendar that cannot be used, in plain words."""


@dataclass(frozen=True)
class Calendar:
    """Runs on ``days`` (0 = Monday) at each of ``hours``, ``minute`` minutes past."""

    days: frozenset[int]
    hours: tuple[int, ...]
    minute: int = 0

    def __post_init__(self) -> None:
        if not self.days or not self.hours:
            raise ScheduleError("a schedule needs at least one day and one time")
        if not self.days <= EVERY_DAY:
            raise ScheduleError("days are 0 (Monday) to 6 (Sunday)")
        if any(not 0 <= h <= 23 for h in self.hours) or not 0 <= self.minute <= 59:
            raise ScheduleError("times run from 00:00 to 23:59")
        if list(self.hours) != sorted(set(self.hours)):
            raise ScheduleError("hours are listed once each, in order")

    @classmethod
    def daily(cls, at: time, days: frozenset[int] = EVERY_DAY) -> Calendar:
        """Once a day at ``at``, on ``days``."""
        return cls(days, (at.hour,), at.minute)

    @classmethod
    def hourly(cls, first: int, last: int, days: frozenset[int] = WEEKDAYS, minute: int = 0) -> Calendar:
        """Every hour from ``first``:MM to ``last``:MM inclusive, on ``days``."""
        if last < first:
            raise ScheduleError("the last hour comes before the first")
        return cls(days, tuple(range(first, last + 1)), minute)

    def times(self) -> list[time]:
        return [time(h, self.minute) for h in self.hours]

    def describe(self) -> str:
        """In plain words: "every day at 9:00 pm", "every hour from 8:00 am to 6:00 pm, Mon-Fri"."""
        if len(self.hours) == 1:
            when = f"at {clock(self.times()[0])}"
        else:
            when = f"every hour from {clock(self.times()[0])} to {clock(self.times()[-1])}"
            if list(self.hours) != list(range(self.hours[0], self.hours[-1] + 1)):
                when = "at " + ", ".join(clock(t) for t in self.times())
        return f"{when}, {days_words(self.days)}" if self.days != EVERY_DAY else f"every day {when}"


def clock(t: time) -> str:
    """9:00 pm, 12:30 am: the way an office says a time."""
    hour = t.hour % 12 or 12
    return f"{hour}:{t.minute:02d} {'am' if t.hour < 12 else 'pm'}"


def days_words(days: frozenset[int]) -> str:
    """Mon-Fri, Sun, Mon, Wed, Fri: a run of days as a range, else a list."""
    ordered = sorted(days)
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{WEEKDAY_NAMES[ordered[0]]}-{WEEKDAY_NAMES[ordered[-1]]}"
    return ", ".join(WEEKDAY_NAMES[d] for d in ordered)


def _exists(naive: datetime, zone: tzinfo) -> bool:
    """False for a wall-clock time skipped by a daylight-saving change in ``zone``."""
    aware = naive.replace(tzinfo=zone)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive


def _local_slots(calendar: Calendar, start: date) -> Iterator[datetime]:
    day = start
    while True:
        if day.weekday() in calendar.days:
            for t in calendar.times():
                yield datetime.combine(day, t)
        day += timedelta(days=1)


def next_runs(calendar: Calendar, after: datetime, n: int, *, tz: tzinfo | None = None) -> list[datetime]:
    """The next ``n`` run times strictly after ``after`` (aware), in ``tz`` (local when None)."""
    if after.tzinfo is None:
        raise ScheduleError("next_runs needs a time with its zone")
    zone = tz if tz is not None else local_zone()
    start = after.astimezone(zone)
    runs: list[datetime] = []
    for naive in _local_slots(calendar, start.date()):
        if not _exists(naive, zone):
            continue
        moment = naive.replace(tzinfo=zone, fold=0)
        if moment.astimezone(UTC) > after.astimezone(UTC):
            runs.append(moment)
            if len(runs) == n:
                return runs
    return runs  # pragma: no cover - the generator never ends


@dataclass(frozen=True)
class ScheduledJob:
    """One job as the operating system's scheduler will start it."""

    name: str
    """The job's name, as ``odbackup run NAME`` takes it (``backup``, ``intraday``, ...)."""
    calendar: Calendar
    description: str
    """What it does, in plain words (shown in the scheduler's own tools)."""
    time_limit: timedelta
    """How long one run may take before the scheduler stops it."""
    command: tuple[str, ...]
    """The program and its arguments, e.g. ``("/usr/local/bin/odbackup", "run", "backup")``."""

    @property
    def unit_name(self) -> str:
        """``odbackup-backup``: the name used for the timer, cron comment and task."""
        return f"odbackup-{self.name}"
