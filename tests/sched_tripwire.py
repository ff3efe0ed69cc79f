"""The scheduler tools' tripwire (tests/conftest.py puts it first on the PATH for the whole run;
tests/engine/test_schedule_guard.py tests it)."""
from __future__ import annotations

import os
from pathlib import Path

SCHEDULER_TOOLS = ("crontab", "systemctl", "schtasks")
TRIPWIRE_LOG_ENV = "ODBACKUP_TEST_TRIPWIRE_LOG"


def tripwire(folder: Path) -> Path:
    """Programs named crontab, systemctl and schtasks in ``folder`` (put first on the PATH) that
    only write down that they were called and fail: if a test (or a program it starts) ever
    reaches for the real scheduler, the call lands here, and the run fails at its end
    (pytest_sessionfinish). Returns the log they write to."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "calls.log"
    for name in SCHEDULER_TOOLS:
        script = folder / name
        script.write_text(f'#!/bin/sh\necho "{name} $*" >> "${{{TRIPWIRE_LOG_ENV}:-{log}}}"\n'
                          f'echo "{name}: a test must not run the real {name}" >&2\nexit 1\n')
        script.chmod(0o755)
    return log


_TRIPWIRE_LOGS: list[str] = []  # (the environment is restored before the session's end)


def tripwire_calls() -> list[str]:
    """The scheduler-tool calls the tripwire caught so far in this run."""
    log = os.environ.get(TRIPWIRE_LOG_ENV) or (_TRIPWIRE_LOGS[0] if _TRIPWIRE_LOGS else None)
    if not log or not os.path.exists(log):
        return []
    with open(log, encoding="utf-8") as f:
        return f.read().splitlines()
