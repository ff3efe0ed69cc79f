"""The settings of the scheduled jobs and of retention, as settings.toml keeps them.

Plain values a person can type (``"21:00"``, ``"08:00-18:00"``, ``["Mon",
"Fri"]``, ``"48h"``), each turned into the engine's own types here: a
:class:`engine.schedule.model.Calendar` per job, a
:class:`engine.retention.Policy`. ``problems()`` says in plain words what
cannot be used, the same checks for the app, ``odbackup config set`` and a
hand-edited file.

The defaults are the practice's (docs: the Frequency issue and
shared/docs/research/next_features.md): the nightly backup at 9:00 pm every
day, after the office closes and before Open Dental's own Supplemental
window (10 pm to 4 am); office-hours database backups off; maintenance
(retention, reclaiming space, a check) on Sunday at 11:30 pm; the copy to the
archive drive at 11:00 pm (after the nightly backup) and again at 10:00 am,
so a drive swapped in the morning is copied the same day (a drive not plugged
in is a skipped run and a reminder, never a failure); every backup
kept 48 hours, then 30 daily, 13 weekly, 24 monthly and 7 yearly.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .retention import Duration, Policy
from .schedule.model import WEEKDAY_NAMES, Calendar, ScheduleError
from .schedule.windows import account_problem

OFF = "off"
ALL_DAYS = WEEKDAY_NAMES
OFFICE_DAYS = WEEKDAY_NAMES[:5]
JOBS = ("backup", "intraday", "maintenance", "archive")
"""The scheduled jobs: the nightly ``backup`` (database and every folder), ``intraday``
(the database only, in office hours), ``maintenance`` (retention, reclaiming space, a check) and
``archive`` (the snapshots each plugged-in archive drive lacks; started only once a drive is set up:
``Settings.calendars()``)."""
SCHEDULED_JOBS = (*JOBS, "supplemental", "offsite")
"""Every job the operating system may start: the ``[schedule]`` table's, the supplemental copy
at its window's start (``[supplemental]``) and the offsite copy at its window's start (``[offsite]``)."""

_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")


def parse_clock(text: str) -> tuple[int, int]:
    """``"21:00"`` -> (21, 0); raises ScheduleError in plain words."""
    match = _CLOCK.fullmatch(text.strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ScheduleError(f"'{text}' is not a time of day: write it like 21:00")
    return int(match[1]), int(match[2])


def parse_days(days: tuple[str, ...]) -> frozenset[int]:
    """``("Mon", "Fri")`` -> {0, 4}; names in any case; raises ScheduleError."""
    lookup = {name.lower(): i for i, name in enumerate(WEEKDAY_NAMES)}
    wrong = [d for d in days if d.strip().lower()[:3] not in lookup]
    if wrong or not days:
        raise ScheduleError(f"Days are written Mon, Tue, Wed, Thu, Fri, Sat, Sun (got {', '.join(wrong) or 'none'})")
    return frozenset(lookup[d.strip().lower()[:3]] for d in days)


@dataclass(frozen=True)
class ScheduleSettings:
    """When each scheduled job runs. A time of ``"off"`` turns that job off."""

    nightly: str = "21:00"
    """The nightly backup's time (database and every folder), or ``off``."""
    nightly_days: tuple[str, ...] = ALL_DAYS
    """The days the nightly backup runs."""
    intraday: str = OFF
    """Office-hours database backups, every hour over a range such as ``08:00-18:00``, or ``off``."""
    intraday_days: tuple[str, ...] = OFFICE_DAYS
    """The days of the office-hours backups."""
    intraday_lock_mode: str = "per-table"
    """The lock mode in office hours: ``per-table`` keeps each pause shortest."""
    maintenance: str = "23:30"
    """Maintenance's time (retention, reclaiming space, a check), or ``off``."""
    maintenance_days: tuple[str, ...] = ("Sun",)
    """The days maintenance runs."""
    account: str = ""
    """Windows only: the account the tasks run as (DOMAIN\\user), or empty for SYSTEM. Never a password:
    schtasks asks for it at install and Windows keeps it."""
    archive: str = "10:00, 23:00"
    """The copies to the archive drive that is plugged in: times of day on the same minute, such as
    10:00, 23:00, or ``off``. A drive not plugged in is a skipped run and a reminder."""
    archive_days: tuple[str, ...] = ALL_DAYS
    """The days of the copies to the archive drive."""

    def calendars(self) -> dict[str, Calendar]:
        """Job name -> when it runs, for the jobs that are on. Raises ScheduleError."""
        found: dict[str, Calendar] = {}
        if self.nightly.strip().lower() != OFF:
            hour, minute = parse_clock(self.nightly)
            found["backup"] = Calendar(parse_days(self.nightly_days), (hour,), minute)
        if self.intraday.strip().lower() != OFF:
            found["intraday"] = _hourly(self.intraday, parse_days(self.intraday_days))
        if self.maintenance.strip().lower() != OFF:
            hour, minute = parse_clock(self.maintenance)
            found["maintenance"] = Calendar(parse_days(self.maintenance_days), (hour,), minute)
        if self.archive.strip().lower() != OFF:
            found["archive"] = _times(self.archive, parse_days(self.archive_days))
        return found

    def problems(self) -> list[str]:
        """What cannot be used, in plain words (empty when all is well)."""
        try:
            self.calendars()
        except ScheduleError as exc:
            return [str(exc)]
        problem = account_problem(self.account)
        if problem:
            return [problem]
        if self.intraday_lock_mode not in ("consistent", "per-table"):
            return [f"The office-hours lock mode '{self.intraday_lock_mode}' is unknown: use consistent or per-table."]
        return []


def _hourly(text: str, days: frozenset[int]) -> Calendar:
    first, _, last = text.partition("-")
    if not last:
        raise ScheduleError(f"'{text}' is not a range of hours: write it like 08:00-18:00")
    (h1, m1), (h2, m2) = parse_clock(first), parse_clock(last)
    if m1 != m2:
        raise ScheduleError("Office-hours backups run on the same minute of each hour: write 08:00-18:00")
    return Calendar.hourly(h1, h2, days, minute=m1)


def _times(text: str, days: frozenset[int]) -> Calendar:
    """``"10:00, 23:00"`` -> a calendar at those hours on one minute; raises ScheduleError."""
    clocks = sorted({parse_clock(part) for part in text.split(",") if part.strip()})
    if not clocks:
        raise ScheduleError(f"'{text}' is not a list of times: write it like 10:00, 23:00")
    if len({m for _h, m in clocks}) > 1:
        raise ScheduleError("The archive copies run on the same minute of each hour: write 10:00, 23:00")
    return Calendar(days, tuple(h for h, _m in clocks), clocks[0][1])


@dataclass(frozen=True)
class RetentionSettings:
    """How long snapshots are kept (restic's rules; see engine.retention). 0 turns a rule off."""

    within: str = "48h"
    """Every backup newer than this before the newest one (e.g. 48h, 7d)."""
    last: int = 0
    """The newest N backups."""
    hourly: int = 0
    """The newest backup of each of the last N hours."""
    daily: int = 30
    """The newest backup of each of the last N days."""
    weekly: int = 13
    """The newest backup of each of the last N weeks."""
    monthly: int = 24
    """The newest backup of each of the last N months."""
    yearly: int = 7
    """The newest backup of each of the last N years."""
    reports_years: int = 6
    """Verification reports are kept at least this many years, also after their snapshot is gone."""

    def policy(self) -> Policy:
        """The retention policy. Raises ValueError for a wrong ``within``."""
        within = Duration() if self.within.strip().lower() in ("", OFF, "0") else Duration.parse(self.within)
        return Policy(last=self.last, hourly=self.hourly, daily=self.daily, weekly=self.weekly,
                      monthly=self.monthly, yearly=self.yearly, within=within)

    def problems(self) -> list[str]:
        """What cannot be used, in plain words (empty when all is well)."""
        found = []
        try:
            self.policy()
        except ValueError as exc:
            found.append(str(exc))
        counts = (self.last, self.hourly, self.daily, self.weekly, self.monthly, self.yearly)
        if any(c < -1 for c in counts):
            found.append("Retention counts are whole numbers: 0 turns a rule off, -1 keeps every period.")
        if self.reports_years < 6:
            found.append("Verification reports are kept at least 6 years (HIPAA keeps testing records 6 years).")
        return found
