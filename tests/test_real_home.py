"""The test run leaves the real home folder alone.

A part of the suite that writes every kind of file odbackup keeps on a machine
(repositories' caches from module-scoped fixtures and subprocesses, a verify
report in the data folder) is run as a developer would run it, in a plain
environment, but with HOME pointing at an empty folder: the folder must stay
empty. ``tests/conftest.py`` is what keeps it so.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUBSET = [
    "tests/database/test_verify_stops.py",  # verify reports (the data folder)
    "tests/cli/test_closed_output.py",      # a module-scoped repository, CLI subprocesses
    "tests/engine/test_folders_cache.py",   # the files cache, in process
]


def plain_environment(home: Path) -> dict[str, str]:
    """This environment without what the test run itself set up, and with HOME at ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ODBACKUP_", "XDG_"))}
    env.update(HOME=str(home), PYTHONDONTWRITEBYTECODE="1")
    return env


def test_a_test_run_writes_nothing_into_the_home_folder(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    cp = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SUBSET], cwd=ROOT,
                        env=plain_environment(home), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                        timeout=600)
    assert cp.returncode == 0, cp.stdout[-3000:] + cp.stderr[-3000:]
    written = sorted(str(p.relative_to(home)) for p in home.rglob("*"))
    assert written == []
