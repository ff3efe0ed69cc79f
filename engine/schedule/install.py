"""Installing the schedule: what every operating-system scheduler's installer shares.

One installer and reader per scheduler: :mod:`.install_systemd` (timers and
services), :mod:`.install_cron` (``/etc/cron.d`` or a user's crontab) and
:mod:`.install_windows` (Task Scheduler through ``schtasks``). Each has
``install(jobs)``, ``remove()`` and ``show()``; ``show`` asks the operating
system what it really has (registered, enabled, next run), never what we
believe we wrote.

The command a scheduler starts names this machine's folders explicitly
(``odbackup run JOB --scheduled --config-dir DIR --cache-dir DIR --log-dir
DIR``): a system-wide timer runs as root and a task as SYSTEM, whose own
folders are not the ones the setup saved the settings and this machine's
credentials in. The command never holds a secret.

Tests point every absolute path of the operating system (``/run/systemd``,
``/etc/cron.d``, ``/proc``...) below ``ODBACKUP_TEST_SCHEDULE_ROOT``, so no test
ever writes into the real system's schedule. There a user's crontab is a file
(:func:`crontab_standin`), and the real ``crontab``, ``systemctl`` and
``schtasks`` are never run (:func:`guard`): only a stand-in program placed
below that folder is.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

from .. import paths, runlog
from ..errors import OdbackupError
from .model import ScheduledJob

TEST_ROOT_ENV = "ODBACKUP_TEST_SCHEDULE_ROOT"
KINDS = ("systemd", "cron", "windows")
SCHEDULER_TOOLS = ("crontab", "systemctl", "schtasks")
MARKER = "Written by 'odbackup schedule install'; removed by 'odbackup schedule remove'."


class ScheduleInstallError(OdbackupError):
    """The schedule could not be installed, read or removed."""

    title = "Schedule problem"


class NoScheduler(ScheduleInstallError):
    """No scheduler of the operating system is running here: nothing would start the jobs."""

    title = "No scheduler running"
    hint = ("Install and start cron (Debian/Ubuntu: apt-get install cron), then run this again (or, where cron "
            "runs but was not found, 'odbackup schedule install --for cron'); 'odbackup schedule install --print' "
            "writes the units, cron lines or task XML without installing anything.")


@dataclass(frozen=True)
class JobState:
    """One job as the operating system's scheduler has it."""

    job: str
    registered: bool
    """The scheduler knows it (unit files loaded, cron line present, task registered)."""
    enabled: bool
    """The scheduler will start it (timer enabled and active, task enabled, cron running)."""
    next_run: str | None = None
    """The next start as the scheduler (or, for cron, its line) says, ISO 8601; None if unknown."""
    detail: str = ""
    """What the scheduler said, in its words (state, last result...)."""


def os_path(path: str) -> str:
    """An absolute path of the operating system, below the test root when tests set one."""
    root = os.environ.get(TEST_ROOT_ENV)
    return os.path.join(root, path.lstrip("/\\")) if root else path


def is_admin() -> bool:
    """Root on Linux (system-wide units, ``/etc/cron.d``); on Windows, schtasks itself says."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


def program() -> tuple[str, ...]:
    """How to start odbackup: the ``odbackup`` beside this Python (a virtualenv's, or the
    installed one), else on the PATH, else this Python with ``-m tui.cli``."""
    folder = os.path.dirname(os.path.abspath(sys.executable))
    for name in ("odbackup.exe", "odbackup") if os.name == "nt" else ("odbackup",):
        candidate = os.path.join(folder, name)
        if os.path.isfile(candidate):
            return (candidate,)
    found = shutil.which("odbackup")
    return (os.path.abspath(found),) if found else (os.path.abspath(sys.executable), "-m", "tui.cli")


def run_command(job: str, start: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The command a scheduler runs for ``job``, naming this machine's folders."""
    return (*(start or program()), "run", job, "--scheduled",
            "--config-dir", os.path.abspath(paths.config_dir()),
            "--cache-dir", os.path.abspath(paths.cache_dir()),
            "--log-dir", os.path.abspath(runlog.log_dir()))


def scheduled_jobs(calendars: dict, start: tuple[str, ...] | None = None) -> list[ScheduledJob]:
    """The jobs that are on (``Settings.calendars()``), as the scheduler starts them."""
    from ..jobs import JOBS

    return [JOBS[name].scheduled(calendar, run_command(name, start)) for name, calendar in calendars.items()]


def crontab_standin() -> str | None:
    """Under the tests' stand-in of the operating system, the file that plays the user's crontab
    (``crontab -l`` reads it, ``crontab -`` writes it); None on a real system."""
    if not os.environ.get(TEST_ROOT_ENV):
        return None
    return os_path("/var/spool/cron/crontabs/odbackup-test-user")


def guard(argv: list[str]) -> None:
    """Refuse to run the real crontab, systemctl or schtasks under the tests' stand-in of the
    operating system (``ODBACKUP_TEST_SCHEDULE_ROOT``): a test must never change the real
    schedule, as root or not. A stand-in program below that folder may run."""
    root = os.environ.get(TEST_ROOT_ENV)
    name = os.path.basename(argv[0]).lower()
    if not root or name.removesuffix(".exe") not in SCHEDULER_TOOLS:
        return
    found = shutil.which(argv[0])
    inside = found is not None and os.path.commonpath(
        [os.path.realpath(found), os.path.realpath(root)]) == os.path.realpath(root)
    if not inside:
        raise ScheduleInstallError(f"Refused to run the real '{argv[0]}' while {TEST_ROOT_ENV} is set: a test "
                                   "must never change this machine's schedule.")


def run_tool(argv: list[str], *, stdin: str | None = None, console: bool = False) -> subprocess.CompletedProcess:
    """Run a tool of the operating system (systemctl, crontab, schtasks); its output as text.
    ``console``: the tool talks to the person at the console (schtasks asking for a password);
    only its error output is kept, and there is no time limit."""
    guard(argv)
    try:
        if console:
            return subprocess.run(argv, stderr=subprocess.PIPE, text=True, errors="replace")
        return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60,
                              errors="replace")
    except FileNotFoundError as exc:
        raise ScheduleInstallError(f"'{argv[0]}' is not on this machine.") from exc
    except subprocess.TimeoutExpired as exc:
        raise ScheduleInstallError(f"'{' '.join(argv[:3])}' did not answer within a minute.") from exc


def checked(cp: subprocess.CompletedProcess, what: str) -> subprocess.CompletedProcess:
    """``cp``, or the tool's own words as an error."""
    if cp.returncode != 0:
        said = (cp.stderr or cp.stdout).strip().splitlines()
        raise ScheduleInstallError(f"Could not {what}: {said[-1] if said else f'exit {cp.returncode}'}.")
    return cp


def systemd_running() -> bool:
    """systemd is the running init (it creates ``/run/systemd/system`` at boot)."""
    return os.path.isdir(os_path("/run/systemd/system"))


def cron_running() -> bool:
    """A cron daemon (cron, crond, cronie, busybox crond) is running."""
    proc = os_path("/proc")
    try:
        pids = [p for p in os.listdir(proc) if p.isdigit()]
    except OSError:
        return False
    for pid in pids:
        try:
            with open(os.path.join(proc, pid, "comm"), encoding="utf-8", errors="replace") as f:
                if f.read().strip() in ("cron", "crond", "cronie"):
                    return True
        except OSError:
            continue
    return False


def available_kind() -> str:
    """The scheduler this machine uses: windows, systemd, or cron; NoScheduler if none runs."""
    if os.name == "nt":
        return "windows"
    if systemd_running():
        return "systemd"
    if cron_running():
        return "cron"
    raise NoScheduler("Neither systemd nor cron is running on this machine, so nothing would start the "
                      "scheduled jobs (systemd is not the running init here: /run/systemd/system is missing).")


def installer(kind: str):  # noqa: ANN201 - one of the three modules
    """The installer module of ``kind``."""
    from . import install_cron, install_systemd, install_windows

    return {"systemd": install_systemd, "cron": install_cron, "windows": install_windows}[kind]
