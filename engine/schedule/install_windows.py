r"""Windows Task Scheduler: one task per job in the ``\odbackup\`` folder, through ``schtasks``.

Install writes each task's XML (:mod:`.windows`) to a temporary file as
UTF-16, as schtasks expects, and registers it with ``schtasks /Create /XML
FILE /TN \odbackup\JOB /F`` (replacing an older definition); tasks of jobs
that were turned off are deleted. Creating a task that runs as SYSTEM needs
an administrator: schtasks answers "Access is denied", which is said in
plain words.

A task for a chosen account (``schedule.account``) is registered with
``/RU ACCOUNT /RP *``: schtasks itself asks for the account's password at the
console (so this needs a console: the app's screens cannot do it), Windows
keeps it, and it is never in our files, in the XML or in a command line. ``show`` asks ``schtasks /Query /TN \odbackup\JOB /V /FO CSV``
and reads the columns by position (the headers are translated on a
non-English Windows; their order is not).
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
from datetime import date

from .install import JobState, ScheduleInstallError, run_tool
from .model import ScheduledJob
from .windows import TASK_FOLDER, account_problem, is_system, task_xml

# Columns of "schtasks /Query /V /FO CSV" (English headers, for reference): HostName, TaskName,
# Next Run Time, Status, Logon Mode, Last Run Time, Last Result, Author, Task To Run, Start In,
# Comment, Scheduled Task State, ...
_NAME, _NEXT, _STATUS, _LAST_RUN, _LAST_RESULT, _STATE = 1, 2, 3, 5, 6, 11
ADMIN_HINT = "Run the command prompt (or the app) as an administrator: a task that runs as SYSTEM needs one."


def where() -> str:
    return f"Task Scheduler, folder {TASK_FOLDER}"


def task_path(job: str) -> str:
    return f"{TASK_FOLDER}{job}"


def create_command(job: ScheduledJob, xml_file: str, account: str = "") -> list[str]:
    """The ``schtasks`` command that registers ``job`` from its XML file; for a chosen account,
    ``/RP *`` makes schtasks ask for its password (never given here)."""
    user = [] if is_system(account) else ["/RU", account.strip(), "/RP", "*"]
    return ["schtasks", "/Create", "/XML", xml_file, "/TN", task_path(job.name), *user, "/F"]


def delete_command(job: str) -> list[str]:
    return ["schtasks", "/Delete", "/TN", task_path(job), "/F"]


def query_command(job: str) -> list[str]:
    return ["schtasks", "/Query", "/TN", task_path(job), "/V", "/FO", "CSV"]


def write_xml(job: ScheduledJob, folder: str, start: date | None = None, account: str = "") -> str:
    """The task's XML in ``folder`` as UTF-16 (with its byte order mark); returns the file."""
    path = os.path.join(folder, f"odbackup-{job.name}.xml")
    with open(path, "w", encoding="utf-16") as f:
        f.write(task_xml(job, start or date.today(), account))
    return path


def _checked(cp, what: str):  # noqa: ANN001, ANN202 - a CompletedProcess
    if cp.returncode != 0:
        said = (cp.stderr or cp.stdout).strip()
        if "access is denied" in said.lower():
            raise ScheduleInstallError(f"Could not {what}: Windows needs an administrator for this.",
                                       hint=ADMIN_HINT)
        raise ScheduleInstallError(f"Could not {what}: {said.splitlines()[-1] if said else cp.returncode}.")
    return cp


def _all_jobs() -> tuple[str, ...]:
    from ..jobs import JOBS

    return tuple(JOBS)


def install(jobs: list[ScheduledJob], account: str = "", *, console: bool = False) -> list[str]:
    """Register (or replace) a task per job, as SYSTEM or ``account``; delete ours of jobs not in
    ``jobs``. A chosen account needs ``console`` (schtasks asks for its password there)."""
    problem = account_problem(account)
    if problem:
        raise ScheduleInstallError(problem)
    if not is_system(account) and not console:
        raise ScheduleInstallError(
            f"Tasks that run as {account} need its password, which only schtasks may ask for, at a console.",
            hint="Run 'odbackup schedule install' in a command prompt opened as an administrator.")
    done = []
    with tempfile.TemporaryDirectory(prefix="odbackup-tasks-") as folder:
        for job in jobs:
            argv = create_command(job, write_xml(job, folder, account=account), account)
            cp = run_tool(argv) if is_system(account) else run_tool(argv, console=True)
            _checked(cp, f"register {task_path(job.name)}")
            done.append(f"Registered {task_path(job.name)}" + ("." if is_system(account) else f" to run as {account}."))
    wanted = {job.name for job in jobs}
    for name in _all_jobs():
        if name not in wanted and registered(name):
            _checked(run_tool(delete_command(name)), f"delete {task_path(name)}")
            done.append(f"Deleted {task_path(name)} (turned off).")
    return done


def remove() -> list[str]:
    """Delete our tasks."""
    done = []
    for name in _all_jobs():
        if registered(name):
            _checked(run_tool(delete_command(name)), f"delete {task_path(name)}")
            done.append(f"Deleted {task_path(name)}.")
    return done or [f"No odbackup tasks in {TASK_FOLDER}."]


def registered(job: str) -> bool:
    return run_tool(query_command(job)).returncode == 0


def parse_query(job: str, text: str) -> JobState:
    """A job's state from ``schtasks /Query /V /FO CSV``'s output (one row per trigger)."""
    rows = [r for r in csv.reader(io.StringIO(text)) if len(r) > _STATE]
    rows = [r for r in rows if r[_NAME].strip().lower() == task_path(job).lower()]
    if not rows:
        return JobState(job, False, False, None, "not registered")
    first = rows[0]
    state = first[_STATE].strip()
    enabled = state.lower() != "disabled" and first[_STATUS].strip().lower() != "disabled"
    upcoming = [r[_NEXT].strip() for r in rows if r[_NEXT].strip() and r[_NEXT].strip() != "N/A"]
    detail = f"status {first[_STATUS].strip()}, last run {first[_LAST_RUN].strip()} " \
             f"(result {first[_LAST_RESULT].strip()})"
    return JobState(job, True, enabled, upcoming[0] if upcoming else None, detail)


def show(jobs: tuple[str, ...]) -> list[JobState]:
    """What Task Scheduler has, for each of ``jobs``."""
    states = []
    for job in jobs:
        cp = run_tool(query_command(job))
        states.append(parse_query(job, cp.stdout) if cp.returncode == 0 else
                      JobState(job, False, False, None, "not registered"))
    return states
