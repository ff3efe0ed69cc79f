"""Windows Task Scheduler: one task per job, as the XML ``schtasks /Create /XML`` takes.

The settings that matter for a practice's server, each set on purpose
(Task Scheduler's defaults are in brackets):

- ``StartWhenAvailable`` true [false]: a run missed while the server was off
  starts once it is back;
- ``DisallowStartIfOnBatteries`` and ``StopIfGoingOnBatteries`` false [true]: a
  server on a UPS reports "on battery" during a power cut and the backup
  would be refused or killed;
- ``MultipleInstancesPolicy`` IgnoreNew: a run still going is never doubled;
- ``ExecutionTimeLimit`` sized to the job [72 hours];
- the task runs as SYSTEM (``S-1-5-18``) by default, or as a chosen account
  (``schedule.account``, e.g. ``OFFICE\\backup``) with ``LogonType`` Password.
  Neither puts a password in the task XML, in our files or in a command line:
  for a chosen account ``schtasks /RP *`` asks for it at the console, and Task
  Scheduler keeps it in Windows' own credential store.

Why Password and not S4U for a chosen account: Task Scheduler's schema has
``Password`` (the password is kept by Windows; the task has the account's
network access), ``S4U`` (no password kept, but the task gets no network
credentials: it cannot reach a network share, a NAS, or a mapped drive),
``InteractiveToken`` (runs only while that user is logged on) and
``ServiceAccount`` (SYSTEM, LOCAL SERVICE, NETWORK SERVICE). A practice's
backup usually goes to a network share, and must run with nobody logged on,
so a chosen account is registered with ``Password``; SYSTEM reaches a share
only as the computer's own domain account (``DOMAIN\\SERVER$``).

One calendar trigger per hour of the job, rather than a repetition pattern:
"every hour from 8 to 6" then means exactly those eleven runs.
"""
from __future__ import annotations

import re
from datetime import date, timedelta
from xml.sax.saxutils import escape

from .model import Calendar, ScheduledJob

NAMESPACE = "http://schemas.microsoft.com/windows/2004/02/mit/task"
DAY_ELEMENTS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
TASK_FOLDER = "\\odbackup\\"
SYSTEM_SID = "S-1-5-18"
SYSTEM_NAMES = ("", "system", "nt authority\\system", SYSTEM_SID.lower())
# An account as Windows names it: DOMAIN\user, .\user, user@domain.example, or user. Characters
# Windows refuses in user names ("/[]:;|=,+*?<>) and control characters are refused here too.
_ACCOUNT = re.compile(r'^(?:[^\\/"\[\]:;|=,+*?<>@\x00-\x1f]{1,253}\\)?[^\\/"\[\]:;|=,+*?<>\x00-\x1f]{1,256}$')


def is_system(account: str) -> bool:
    """The account is SYSTEM (or none was chosen): the task needs no password at all."""
    return account.strip().lower() in SYSTEM_NAMES


def account_problem(account: str) -> str | None:
    """What is wrong with ``account`` as a task's user, in plain words; None when usable."""
    if is_system(account):
        return None
    name = account.strip()
    if name != account or not _ACCOUNT.match(name) or name.endswith((".", " ")):
        return (f"'{account}' is not a Windows account name: write it as DOMAIN\\user, .\\user (this computer) "
                "or user@domain, or SYSTEM.")
    return None


def principal(account: str = "") -> str:
    """The task's ``<Principal>``: SYSTEM, or ``account`` logged on with a password Windows keeps."""
    if is_system(account):
        user, logon = SYSTEM_SID, "ServiceAccount"
    else:
        user, logon = account.strip(), "Password"
    return (f'    <Principal id="Author"><UserId>{escape(user)}</UserId><LogonType>{logon}</LogonType>'
            "<RunLevel>HighestAvailable</RunLevel></Principal>\n")


def task_name(job: ScheduledJob) -> str:
    r"""``\odbackup\backup``: every task of ours in one folder of the Task Scheduler library."""
    return f"{TASK_FOLDER}{job.name}"


def duration(span: timedelta) -> str:
    """An ISO 8601 duration as the schema takes it, e.g. ``PT12H`` or ``PT90M``."""
    minutes = int(span.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes or not hours else "")


def _triggers(calendar: Calendar, start: date) -> str:
    days = "".join(f"<{DAY_ELEMENTS[d]} />" for d in sorted(calendar.days))
    parts = []
    for t in calendar.times():
        parts.append(
            "    <CalendarTrigger>\n"
            f"      <StartBoundary>{start.isoformat()}T{t.isoformat(timespec='seconds')}</StartBoundary>\n"
            "      <Enabled>true</Enabled>\n"
            f"      <ScheduleByWeek><DaysOfWeek>{days}</DaysOfWeek>"
            "<WeeksInterval>1</WeeksInterval></ScheduleByWeek>\n"
            "    </CalendarTrigger>\n"
        )
    return "".join(parts)


def task_xml(job: ScheduledJob, start: date, account: str = "") -> str:
    """The task definition. ``start`` is the first day the triggers apply (today); ``account``
    the user it runs as (empty or SYSTEM: SYSTEM). Never holds a password."""
    program, *arguments = job.command
    args = " ".join(_quote_argument(a) for a in arguments)
    return (
        '<?xml version="1.0" encoding="UTF-16"?>\n'
        f'<Task version="1.2" xmlns="{NAMESPACE}">\n'
        "  <RegistrationInfo>\n"
        f"    <Description>{escape(f'odbackup {job.name}: {job.description}')}</Description>\n"
        f"    <URI>{escape(task_name(job))}</URI>\n"
        "  </RegistrationInfo>\n"
        f"  <Triggers>\n{_triggers(job.calendar, start)}  </Triggers>\n"
        "  <Principals>\n"
        f"{principal(account)}"
        "  </Principals>\n"
        "  <Settings>\n"
        "    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>\n"
        "    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>\n"
        "    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>\n"
        "    <AllowHardTerminate>true</AllowHardTerminate>\n"
        "    <StartWhenAvailable>true</StartWhenAvailable>\n"
        "    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>\n"
        "    <IdleSettings><StopOnIdleEnd>false</StopOnIdleEnd><RestartOnIdle>false</RestartOnIdle></IdleSettings>\n"
        "    <AllowStartOnDemand>true</AllowStartOnDemand>\n"
        "    <Enabled>true</Enabled>\n"
        "    <Hidden>false</Hidden>\n"
        "    <RunOnlyIfIdle>false</RunOnlyIfIdle>\n"
        "    <WakeToRun>false</WakeToRun>\n"
        f"    <ExecutionTimeLimit>{duration(job.time_limit)}</ExecutionTimeLimit>\n"
        "    <Priority>7</Priority>\n"
        "  </Settings>\n"
        '  <Actions Context="Author">\n'
        f"    <Exec><Command>{escape(program)}</Command><Arguments>{escape(args)}</Arguments></Exec>\n"
        "  </Actions>\n"
        "</Task>\n"
    )


def _quote_argument(arg: str) -> str:
    """Quoted the way Windows programs split their command line (CommandLineToArgvW)."""
    if arg and not any(c in arg for c in ' \t"'):
        return arg
    out, backslashes = ['"'], 0
    for char in arg:
        if char == "\\":
            backslashes += 1
            continue
        if char == '"':
            out.append("\\" * (2 * backslashes + 1) + '"')
        else:
            out.append("\\" * backslashes + char)
        backslashes = 0
    out.append("\\" * (2 * backslashes) + '"')
    return "".join(out)
