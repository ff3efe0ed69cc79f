"""cron lines, where systemd is absent.

cron has no catch-up: a night the machine was off is simply missed, which
``odbackup status`` reports as a missed run. Overlap is prevented by
``odbackup run`` itself (a second run of a job records "skipped").
"""
from __future__ import annotations

import shlex

from .model import Calendar, ScheduledJob


def _field(values: list[int]) -> str:
    if len(values) > 2 and values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]}-{values[-1]}"
    return ",".join(str(v) for v in values)


def schedule_fields(calendar: Calendar) -> str:
    """The five time fields, e.g. ``0 8-18 * * 1-5``. cron counts Sunday as 0."""
    if len(calendar.days) == 7:
        days = "*"
    else:
        days = _field(sorted((d + 1) % 7 for d in calendar.days))
    return f"{calendar.minute} {_field(list(calendar.hours))} * * {days}"


def command_text(argv: tuple[str, ...]) -> str:
    """The command for the shell cron runs, ``%`` escaped (cron turns it into a newline)."""
    return " ".join(shlex.quote(a) for a in argv).replace("%", "\\%")


def cron_line(job: ScheduledJob, user: str | None = None) -> str:
    """One line: for ``/etc/cron.d`` give ``user``; for a user's crontab leave it out."""
    who = f" {user}" if user else ""
    return f"{schedule_fields(job.calendar)}{who} {command_text(job.command)}"


def cron_file(jobs: list[ScheduledJob], user: str | None = None) -> str:
    """A cron file with a comment naming each job."""
    lines = ["# odbackup: scheduled jobs (odbackup schedule install writes this; remove with"
             " odbackup schedule remove)"]
    for job in jobs:
        lines += [f"# {job.unit_name}: {job.description}, {job.calendar.describe()}", cron_line(job, user)]
    return "\n".join(lines) + "\n"
