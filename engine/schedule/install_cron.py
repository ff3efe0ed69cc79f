"""cron, where systemd is absent: ``/etc/cron.d/odbackup`` for root, else the user's crontab.

Root gets a file of its own (cron reads every file in ``/etc/cron.d``);
removing the schedule deletes it. A user's crontab is shared with whatever
else the user scheduled: ours is one block between two marker lines, and
install and remove replace or delete exactly that block (``crontab -l``, then
``crontab -`` with the new text), leaving every other line as it was.

``show`` reads back the file or ``crontab -l``: a job is registered when its
line is there, enabled when a cron daemon runs, and its next run is what its
line's fields say (cron has no "next run" of its own to ask).
"""
from __future__ import annotations

import os
import re
from datetime import UTC, datetime

from .cron import cron_file, cron_line
from .install import (
    MARKER,
    JobState,
    ScheduleInstallError,
    checked,
    cron_running,
    crontab_standin,
    is_admin,
    os_path,
    run_tool,
)
from .model import Calendar, ScheduledJob, next_runs

SYSTEM_FILE = "/etc/cron.d/odbackup"
BEGIN = "# >>> odbackup schedule: " + MARKER
END = "# <<< odbackup schedule"
_OURS = re.compile(r"^(\S+) (\S+) \* \* (\S+) (?:(\S+) )?(.*) run (\S+) --scheduled(?: |$)")


def system_wide() -> bool:
    """Root writes ``/etc/cron.d``; anyone else their own crontab."""
    return is_admin()


def where() -> str:
    """Where the lines go, in words."""
    return os_path(SYSTEM_FILE) if system_wide() else "your crontab (crontab -l)"


def render(jobs: list[ScheduledJob], *, system: bool) -> str:
    """The text install writes: the whole ``/etc/cron.d`` file, or the block of a crontab."""
    if system:
        return f"# {MARKER}\nSHELL=/bin/sh\n" + cron_file(jobs, user="root")
    return "\n".join([BEGIN, *(cron_line(job) for job in jobs), END]) + "\n"


def without_block(crontab: str) -> str:
    """A crontab's text without our block (every other line kept, in order)."""
    kept, inside = [], False
    for line in crontab.splitlines():
        if line.strip() == BEGIN:
            inside = True
        elif inside and line.strip() == END:
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept) + ("\n" if kept else "")


def _read_crontab() -> str:
    standin = crontab_standin()
    if standin is not None:
        try:
            with open(standin, encoding="utf-8") as f:
                return f.read()
        except FileNotFoundError:
            return ""
    cp = run_tool(["crontab", "-l"])
    if cp.returncode != 0:
        if "no crontab" in (cp.stderr + cp.stdout).lower():
            return ""
        checked(cp, "read your crontab")
    return cp.stdout


def _write_crontab(text: str) -> None:
    standin = crontab_standin()
    if standin is not None:
        os.makedirs(os.path.dirname(standin), exist_ok=True)
        with open(standin, "w", encoding="utf-8") as f:
            f.write(text)
        return
    checked(run_tool(["crontab", "-"], stdin=text), "write your crontab")


def install(jobs: list[ScheduledJob]) -> list[str]:
    """Write the lines; returns what was done, in words."""
    if system_wide():
        path = os_path(SYSTEM_FILE)
        if not jobs:
            return remove()
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(render(jobs, system=True))
        os.chmod(tmp, 0o644)  # cron ignores files others can write; it needs to read it
        os.replace(tmp, path)
        return [f"Wrote {path} ({len(jobs)} job(s))."]
    base = without_block(_read_crontab())
    _write_crontab(base + (render(jobs, system=False) if jobs else ""))
    return [f"Wrote {len(jobs)} line(s) into your crontab."]


def remove() -> list[str]:
    """Remove exactly what install wrote; returns what was done, in words."""
    if system_wide():
        path = os_path(SYSTEM_FILE)
        try:
            with open(path, encoding="utf-8") as f:
                ours = MARKER in f.read()
        except FileNotFoundError:
            return [f"{path} was not there."]
        if not ours:
            raise ScheduleInstallError(f"{path} was not written by odbackup; it is left alone.")
        os.remove(path)
        return [f"Removed {path}."]
    current = _read_crontab()
    if BEGIN not in current:
        return ["Your crontab had no odbackup lines."]
    _write_crontab(without_block(current))
    return ["Removed the odbackup lines from your crontab."]


def _installed_text() -> str:
    if system_wide():
        try:
            with open(os_path(SYSTEM_FILE), encoding="utf-8") as f:
                return f.read()
        except FileNotFoundError:
            return ""
    text = _read_crontab()
    start = text.find(BEGIN)
    return text[start:] if start >= 0 else ""


def parse_lines(text: str) -> dict[str, Calendar]:
    """Job name -> its calendar, from our lines in a cron file or crontab (others ignored)."""
    found = {}
    for line in text.splitlines():
        match = _OURS.match(line.strip())
        if match:
            minute, hours, days = match[1], match[2], match[3]
            found[match[6]] = Calendar(_days(days), tuple(_numbers(hours)), int(minute))
    return found


def _numbers(field: str) -> list[int]:
    values: list[int] = []
    for part in field.split(","):
        first, _, last = part.partition("-")
        values += range(int(first), int(last or first) + 1)
    return values


def _days(field: str) -> frozenset[int]:
    if field == "*":
        return frozenset(range(7))
    return frozenset((d - 1) % 7 for d in _numbers(field))  # cron: 0 = Sunday; ours: 0 = Monday


def show(jobs: tuple[str, ...], now: datetime | None = None) -> list[JobState]:
    """What cron has, for each of ``jobs``."""
    calendars = parse_lines(_installed_text())
    running = cron_running()
    now = now or datetime.now(UTC)
    states = []
    for job in jobs:
        calendar = calendars.get(job)
        if calendar is None:
            states.append(JobState(job, False, False, None, "no cron line"))
            continue
        upcoming = next_runs(calendar, now, 1)[0].isoformat(timespec="minutes")
        states.append(JobState(job, True, running, upcoming,
                               "cron is running" if running else "cron is NOT running: nothing will start it"))
    return states
