"""Run records: what every run of a job left behind, for ``odbackup status`` and the dashboard.

Each run of a job (``odbackup run JOB``, scheduled or by hand) ends with one
:class:`RunRecord`, written twice in the ``runs`` folder of the log folder:

- appended as one JSON line to ``runs.jsonl`` (the history, oldest first);
- as ``last-JOB.json``, the small result file of the job's latest run,
  replaced atomically (a reader never sees half a file).

A run that is skipped because the previous one is still going leaves a
record too (result ``skipped``): a schedule that keeps colliding with itself
is something a person must hear about. Readers: :func:`last_runs` and
:func:`history`. The folder is ``ODBACKUP_LOG_DIR`` or the platformdirs log
folder, the same as the job logs'.
"""
from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime

import platformdirs

from .paths import APP

RESULTS = ("ok", "failed", "skipped", "incomplete")
TRIGGERS = ("schedule", "manual")
HISTORY_FILE = "runs.jsonl"
_append_lock = threading.Lock()


def log_dir() -> str:
    """Where job logs and run records are written (``ODBACKUP_LOG_DIR`` overrides)."""
    return os.environ.get("ODBACKUP_LOG_DIR") or platformdirs.user_log_dir(APP, False)


def runs_dir(folder: str | None = None) -> str:
    """The folder of the run records (and of the jobs' run locks)."""
    return os.path.join(folder or log_dir(), "runs")


def now_iso() -> str:
    """The current time, as run records keep it (UTC, ISO 8601)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class RunRecord:
    """One run of a job, as it ended."""

    job: str
    """The job's name (``backup``, ``intraday``, ``maintenance``)."""
    trigger: str
    """``schedule`` (started by the operating system's scheduler) or ``manual``."""
    started: str
    """When it started (UTC, ISO 8601)."""
    finished: str
    """When it ended (UTC, ISO 8601)."""
    result: str
    """``ok``, ``failed``, ``skipped`` (the previous run was still going) or ``incomplete``
    (saved, but some files could not be read; maintenance: a step had to be skipped)."""
    message: str
    """What happened, in plain words."""
    exit_code: int
    """The exit code of ``odbackup run`` (docs/CLI.md)."""
    snapshot_id: str | None = None
    """The snapshot the run saved, if it saved one."""
    files: int = 0
    """Files in the snapshot."""
    bytes: int = 0
    """Bytes in the snapshot: the folders' files and the databases' dumps."""
    databases: int = 0
    """Databases in the snapshot."""
    office_wait: float = 0.0
    """Seconds the office's writes could wait for the backup's read locks."""
    pid: int = 0
    """The process that ran it."""

    def __post_init__(self) -> None:
        if self.result not in RESULTS:
            raise ValueError(f"unknown run result {self.result!r}")
        if self.trigger not in TRIGGERS:
            raise ValueError(f"unknown run trigger {self.trigger!r}")

    @property
    def seconds(self) -> float:
        """How long the run took."""
        return (datetime.fromisoformat(self.finished) - datetime.fromisoformat(self.started)).total_seconds()

    def to_json(self) -> str:
        """One line of JSON."""
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RunRecord:
        """A record from :meth:`to_json`'s text; keys a newer version added are ignored."""
        doc = json.loads(text)
        if not isinstance(doc, dict):
            raise ValueError("a run record is a JSON object")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in doc.items() if k in known})


def write_record(record: RunRecord, folder: str | None = None) -> str:
    """Append ``record`` to the history and replace its job's result file; returns that file."""
    where = runs_dir(folder)
    os.makedirs(where, exist_ok=True)
    line = record.to_json()
    with _append_lock, open(os.path.join(where, HISTORY_FILE), "a", encoding="utf-8") as f:
        f.write(line + "\n")
    path = result_path(record.job, folder)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(line + "\n")
    os.replace(tmp, path)
    return path


def result_path(job: str, folder: str | None = None) -> str:
    """The result file of ``job``'s latest run."""
    return os.path.join(runs_dir(folder), f"last-{job}.json")


def last_run(job: str, folder: str | None = None) -> RunRecord | None:
    """The latest run of ``job``, or None when it never ran (or its file cannot be read)."""
    try:
        with open(result_path(job, folder), encoding="utf-8") as f:
            return RunRecord.from_json(f.read())
    except (OSError, ValueError, TypeError):
        return None


def last_runs(folder: str | None = None) -> dict[str, RunRecord]:
    """Job name -> its latest run, for every job that has run."""
    try:
        names = os.listdir(runs_dir(folder))
    except FileNotFoundError:
        return {}
    found = {}
    for name in sorted(names):
        if name.startswith("last-") and name.endswith(".json"):
            record = last_run(name[5:-5], folder)
            if record is not None:
                found[record.job] = record
    return found


def history(job: str | None = None, n: int = 50, folder: str | None = None) -> list[RunRecord]:
    """The newest ``n`` runs (of ``job``, or of every job), newest first. A damaged line (a
    run killed while it wrote) is passed over."""
    try:
        with open(os.path.join(runs_dir(folder), HISTORY_FILE), encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
    except FileNotFoundError:
        return []
    found: list[RunRecord] = []
    for line in reversed(lines):
        try:
            record = RunRecord.from_json(line)
        except (ValueError, TypeError):
            continue
        if job is None or record.job == job:
            found.append(record)
            if len(found) == n:
                break
    return found
