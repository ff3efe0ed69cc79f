"""systemd timers: one ``.timer`` and one ``.service`` per job.

``Persistent=true`` makes systemd remember the last run on disk and start a
run missed while the machine was off once, at boot. A timer never starts a
second copy of a service that is still running, so two runs of a job cannot
overlap (``odbackup run`` also guards against it, for cron and manual runs).
"""
from __future__ import annotations

from .model import WEEKDAY_NAMES, Calendar, ScheduledJob


def on_calendar(calendar: Calendar) -> str:
    """The ``OnCalendar=`` expression, e.g. ``Mon..Fri *-*-* 08..18:00:00``."""
    days = ",".join(WEEKDAY_NAMES[d] for d in sorted(calendar.days))
    return f"{days} *-*-* {_hours(calendar.hours)}:{calendar.minute:02d}:00"


def _hours(hours: tuple[int, ...]) -> str:
    if len(hours) > 2 and list(hours) == list(range(hours[0], hours[-1] + 1)):
        return f"{hours[0]:02d}..{hours[-1]:02d}"
    return ",".join(f"{h:02d}" for h in hours)


def quote_exec(argv: tuple[str, ...]) -> str:
    """``ExecStart=``'s quoting: each word in double quotes, ``\\``, ``"``, ``%`` and ``$`` escaped."""
    def word(arg: str) -> str:
        escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
        return f'"{escaped}"'

    return " ".join(word(a) for a in argv)


def timer_unit(job: ScheduledJob) -> str:
    """The ``.timer`` file's text."""
    return (
        "[Unit]\n"
        f"Description=odbackup {job.name}: {job.calendar.describe()}\n\n"
        "[Timer]\n"
        f"OnCalendar={on_calendar(job.calendar)}\n"
        "Persistent=true\n"
        f"Unit={job.unit_name}.service\n\n"
        "[Install]\n"
        "WantedBy=timers.target\n"
    )


def service_unit(job: ScheduledJob) -> str:
    """The ``.service`` file's text: one run of the job, at low CPU and disk priority."""
    seconds = int(job.time_limit.total_seconds())
    return (
        "[Unit]\n"
        f"Description=odbackup {job.name}: {job.description}\n"
        "Wants=network-online.target\n"
        "After=network-online.target mariadb.service mysql.service\n\n"
        "[Service]\n"
        "Type=oneshot\n"
        f"ExecStart={quote_exec(job.command)}\n"
        f"TimeoutStartSec={seconds}\n"
        "Nice=10\n"
        "IOSchedulingClass=best-effort\n"
        "IOSchedulingPriority=7\n"
    )


def units(job: ScheduledJob) -> dict[str, str]:
    """File name -> text, for the timer and its service."""
    return {f"{job.unit_name}.timer": timer_unit(job), f"{job.unit_name}.service": service_unit(job)}
