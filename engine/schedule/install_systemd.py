"""systemd: a timer and a service per job, system-wide for root, else the user's own units.

Root's go to ``/etc/systemd/system`` (they run whether anyone is logged in
or not); anyone else's to ``~/.config/systemd/user`` (``systemctl --user``;
they run while that user has a session, or always after ``loginctl
enable-linger USER``). Every file starts with a marker comment: remove
deletes exactly the files that carry it, so a unit of the same name written
by someone else is never touched.

``show`` asks systemd itself: ``systemctl show odbackup-JOB.timer -p
LoadState,ActiveState,UnitFileState,NextElapseUSecRealtime``.
"""
from __future__ import annotations

import os
from datetime import UTC, datetime

from .install import MARKER, JobState, ScheduleInstallError, checked, is_admin, os_path, run_tool
from .model import ScheduledJob
from .systemd import units

SYSTEM_DIR = "/etc/systemd/system"
PROPERTIES = ("LoadState", "ActiveState", "UnitFileState", "NextElapseUSecRealtime")


def system_wide() -> bool:
    return is_admin()


def unit_dir() -> str:
    """Where the unit files go."""
    if system_wide():
        return os_path(SYSTEM_DIR)
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(config, "systemd", "user")


def where() -> str:
    return unit_dir()


def _systemctl(*args: str) -> list[str]:
    return ["systemctl", *(() if system_wide() else ("--user",)), *args]


def render(job: ScheduledJob) -> dict[str, str]:
    """File name -> text, each with the marker comment first."""
    return {name: f"# {MARKER}\n{text}" for name, text in units(job).items()}


def _ours(folder: str) -> list[str]:
    """Our unit files in ``folder`` (those carrying the marker)."""
    found = []
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return []
    for name in names:
        if name.startswith("odbackup-") and name.endswith((".timer", ".service")):
            with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as f:
                if MARKER in f.readline():
                    found.append(name)
    return found


def install(jobs: list[ScheduledJob]) -> list[str]:
    """Write the units, reload systemd, enable and start the timers; stale ones of ours removed."""
    done = remove(keep={f"odbackup-{job.name}" for job in jobs}) if _ours(unit_dir()) else []
    folder = unit_dir()
    os.makedirs(folder, exist_ok=True)
    written = []
    for job in jobs:
        for name, text in render(job).items():
            tmp = os.path.join(folder, f".{name}.tmp")
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(text)
            os.chmod(tmp, 0o644)
            os.replace(tmp, os.path.join(folder, name))
            written.append(os.path.join(folder, name))
    timers = [f"odbackup-{job.name}.timer" for job in jobs]
    try:
        checked(run_tool(_systemctl("daemon-reload")), "reload systemd")
        if timers:
            checked(run_tool(_systemctl("enable", "--now", *timers)), "enable the timers")
    except ScheduleInstallError:
        for path in written:  # nothing half installed: the files systemd did not take are taken back
            os.remove(path)
        raise
    return done + [f"Wrote and enabled {', '.join(timers) or 'no timers'} in {folder}."]


def remove(keep: set[str] | None = None) -> list[str]:
    """Stop, disable and delete our units (except those named in ``keep``), then reload."""
    folder = unit_dir()
    names = [n for n in _ours(folder) if n.rsplit(".", 1)[0] not in (keep or set())]
    if not names:
        return [f"No odbackup units in {folder}."]
    timers = [n for n in names if n.endswith(".timer")]
    if timers:
        checked(run_tool(_systemctl("disable", "--now", *timers)), "disable the timers")
    for name in names:
        os.remove(os.path.join(folder, name))
    checked(run_tool(_systemctl("daemon-reload")), "reload systemd")
    return [f"Removed {', '.join(names)} from {folder}."]


def parse_show(text: str) -> dict[str, str]:
    """``systemctl show -p ...``'s ``Key=value`` lines."""
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def state_of(job: str, props: dict[str, str]) -> JobState:
    """A job's state from its timer's properties."""
    registered = props.get("LoadState") == "loaded"
    enabled = registered and props.get("UnitFileState") == "enabled" and props.get("ActiveState") == "active"
    detail = ", ".join(f"{k}={props.get(k, '?')}" for k in PROPERTIES[:3])
    return JobState(job, registered, enabled, _next(props.get("NextElapseUSecRealtime", "")), detail)


def _next(value: str) -> str | None:
    """systemd's ``NextElapseUSecRealtime``: microseconds, or a time like ``Mon 2026-12-07 21:00:00 UTC``."""
    value = value.strip()
    if not value or value in ("0", "n/a"):
        return None
    if value.isdigit():
        return datetime.fromtimestamp(int(value) / 1e6, UTC).isoformat(timespec="minutes")
    return value


def show(jobs: tuple[str, ...]) -> list[JobState]:
    """What systemd has, for each of ``jobs``."""
    states = []
    for job in jobs:
        cp = checked(run_tool(_systemctl("show", f"odbackup-{job}.timer", "-p", ",".join(PROPERTIES))),
                     f"ask systemd about odbackup-{job}.timer")
        states.append(state_of(job, parse_show(cp.stdout)))
    return states
