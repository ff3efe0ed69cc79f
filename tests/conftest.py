"""Shared test setup: every test runs with its own temporary home, config, data, cache,
state, log and reports folders, a weak (fast) key-derivation cost and small packs, so
tests are fast and never touch the developer's real configuration or home folder
(tests/test_real_home.py proves it).

Two layers: the whole session (module- and session-scoped fixtures and the processes
they start run before any test's own setup) and each test (its own folders).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from sched_tripwire import _TRIPWIRE_LOGS, TRIPWIRE_LOG_ENV, tripwire, tripwire_calls


def isolate(base: Path, setenv) -> None:
    """Point everything odbackup (or platformdirs, or ``~``) would write to below ``base``.

    The ``ODBACKUP_*_DIR`` variables are odbackup's own overrides (engine/paths.py,
    engine/verify.py, tui/joblog.py); HOME and the XDG variables catch what goes through
    platformdirs or ``~`` (the demo's images, the data folder, a user's ~/.my.cnf)."""
    folders = {
        "HOME": "home",
        "XDG_CONFIG_HOME": "home/.config",
        "XDG_DATA_HOME": "home/.local/share",
        "XDG_CACHE_HOME": "home/.cache",
        "XDG_STATE_HOME": "home/.local/state",
        "ODBACKUP_CONFIG_DIR": "config",
        "ODBACKUP_CACHE_DIR": "cache",
        "ODBACKUP_LOG_DIR": "logs",
        "ODBACKUP_REPORTS_DIR": "reports",
    }
    for name, rel in folders.items():
        setenv(name, str(base / rel))
    os.makedirs(base / "home", exist_ok=True)
    setenv("ODBACKUP_TEST_WEAK_KDF", "1")
    setenv("ODBACKUP_TEST_PACK_SIZE", str(256 * 1024))
    # The operating system's scheduler too (/etc/cron.d, systemd's folders, /proc): a test that
    # installs the schedule (the setup's last step does) never touches the real one.
    setenv("ODBACKUP_TEST_SCHEDULE_ROOT", str(base / "system"))


def pytest_sessionfinish(session, exitstatus):
    calls = tripwire_calls()
    if calls:
        print(f"\nA test ran the real scheduler tools (caught by the tripwire): {calls}")
        session.exitstatus = 1


@pytest.fixture(autouse=True, scope="session")
def isolated_session(tmp_path_factory):
    """The session's folders, for what runs before (or outside) a test's own setup; the
    scheduler tools' tripwire first on the PATH."""
    with pytest.MonkeyPatch.context() as mp:
        wires = tmp_path_factory.mktemp("odbackup-tripwire")
        log = tripwire(wires)
        _TRIPWIRE_LOGS[:] = [str(log)]
        mp.setenv(TRIPWIRE_LOG_ENV, str(log))
        mp.setenv("PATH", f"{wires}{os.pathsep}{os.environ.get('PATH', '')}")
        isolate(tmp_path_factory.mktemp("odbackup-session"), mp.setenv)
        mp.delenv("ODBACKUP_PASSPHRASE", raising=False)
        mp.delenv("ODBACKUP_DB_PASSWORD", raising=False)
        yield


@pytest.fixture(autouse=True)
def isolated_env(isolated_session, tmp_path_factory, monkeypatch):
    """This test's own folders (returned: the base they live under)."""
    base = tmp_path_factory.mktemp("odbackup-home")
    isolate(base, monkeypatch.setenv)
    monkeypatch.delenv("ODBACKUP_PASSPHRASE", raising=False)
    return base
