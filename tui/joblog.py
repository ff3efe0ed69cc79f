"""Job logs: one text file per job (backup, verify, restore, demo), one line per milestone.

An event sink the app chains with its own: progress ticks are left out, every
milestone becomes a line with the time and a level, and problems are marked
``ERROR`` (or ``WARN``) so the Logs screen and a person reading the file find
them. The wording is the CLI's text printer's, so a log reads like a
scheduled run's output. Files live in ``ODBACKUP_LOG_DIR`` or the platformdirs
log folder (:func:`engine.runlog.log_dir`, where the run records of ``odbackup
run`` go too); the newest ``KEEP`` are kept.
"""
from __future__ import annotations

import io
import os
import re
import threading
from dataclasses import dataclass
from datetime import datetime

from engine import events as ev
from engine.errors import OdbackupError
from engine.runlog import log_dir

from .printers import TextPrinter

KEEP = 500
_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (INFO|WARN|ERROR) +(.*)$")
_NAME = re.compile(r"^(\d{8}-\d{6})-([a-z-]+)(?:-\d+)?\.log$")


def level_of(event: ev.Event) -> str:
    """How a log line of this event is marked."""
    if isinstance(event, ev.FileSkipped | ev.TableSkipped | ev.LockGaveUp):
        return "WARN"
    if isinstance(event, ev.RestoreProblem | ev.DamageFound):
        return "ERROR"
    if isinstance(event, ev.CheckProblem):
        return "ERROR" if event.severity == "error" else "WARN"
    if isinstance(event, ev.TableVerified):
        return "INFO" if event.ok else "ERROR"
    if isinstance(event, ev.VerifyFinished):
        return "INFO" if event.ok else "ERROR"
    if isinstance(event, ev.DatabaseRestored):
        return "ERROR" if event.problems else "INFO"
    return "INFO"


class JobLog:
    """The log file of one job; call it with engine events (from any thread)."""

    def __init__(self, job: str, folder: str | None = None) -> None:
        self.folder = folder or log_dir()
        os.makedirs(self.folder, exist_ok=True)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        self.path = os.path.join(self.folder, f"{stamp}-{job}.log")
        n = 1
        while os.path.exists(self.path):
            n += 1
            self.path = os.path.join(self.folder, f"{stamp}-{job}-{n}.log")
        self._lock = threading.Lock()
        self._buffer = io.StringIO()
        self._printer = TextPrinter(out=self._buffer, err=self._buffer)
        self.errors = 0
        _prune(self.folder)

    def __call__(self, event: ev.Event) -> None:
        with self._lock:
            self._printer(event)
            text = self._buffer.getvalue()
            self._buffer.seek(0)
            self._buffer.truncate()
        level = level_of(event)
        for line in text.splitlines():
            if line.strip():
                self.write(line, level)

    def write(self, text: str, level: str = "INFO") -> None:
        """Append one line (``level`` is INFO, WARN or ERROR)."""
        stamp = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        with self._lock:
            if level == "ERROR":
                self.errors += 1
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(f"{stamp} {level:<5} {text}\n")

    def error(self, exc: OdbackupError) -> None:
        """The job failed: what happened and what to do."""
        self.write(f"{exc.title}: {exc.message}", "ERROR")
        if exc.hint:
            self.write(f"What to do: {exc.hint}", "ERROR")


def _prune(folder: str) -> None:
    names = sorted(n for n in os.listdir(folder) if _NAME.match(n))
    for name in names[:-KEEP]:
        try:
            os.remove(os.path.join(folder, name))
        except OSError:
            continue  # another app may have removed it already


# --- reading logs back (the Logs screen) ---------------------------------------------------------


@dataclass(frozen=True)
class LogFile:
    """One job's log file."""

    path: str
    job: str
    started: datetime
    errors: int
    warnings: int


@dataclass(frozen=True)
class LogLine:
    """One line of a log; ``level`` is INFO, WARN or ERROR."""

    time: str
    level: str
    text: str


def read_log(path: str) -> list[LogLine]:
    """The lines of a log file (lines not written by odbackup count as INFO)."""
    lines = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            match = _LINE.match(raw.rstrip("\n"))
            lines.append(LogLine(*match.groups()) if match else LogLine("", "INFO", raw.rstrip("\n")))
    return lines


def list_logs(folder: str | None = None) -> list[LogFile]:
    """The job logs, newest first."""
    folder = folder or log_dir()
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        match = _NAME.match(name)
        if not match:
            continue
        path = os.path.join(folder, name)
        lines = read_log(path)
        found.append(LogFile(path, match.group(2), datetime.strptime(match.group(1), "%Y%m%d-%H%M%S"),
                             sum(ln.level == "ERROR" for ln in lines), sum(ln.level == "WARN" for ln in lines)))
    return sorted(found, key=lambda f: (f.started, f.path), reverse=True)
