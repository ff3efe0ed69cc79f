"""No test ever changes this machine's real schedule, as root or not.

Under ``ODBACKUP_TEST_SCHEDULE_ROOT`` (tests/conftest.py sets it for every test) the
installers refuse to run the real ``crontab``, ``systemctl`` and ``schtasks``, and a user's
crontab is a file below that folder. Behind that, tests/conftest.py puts a tripwire of the
same three names first on the PATH: a call that got past the installers (a program a test
starts, a new code path) is written down, and the whole run fails at its end.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from sched_tripwire import SCHEDULER_TOOLS, TRIPWIRE_LOG_ENV, tripwire, tripwire_calls

from engine.jobsettings import ScheduleSettings
from engine.schedule import install, install_cron

PROGRAM = ("/opt/odbackup/bin/odbackup",)


@pytest.mark.parametrize("tool", SCHEDULER_TOOLS)
def test_the_tripwire_comes_first_on_the_path(tool):
    found = shutil.which(tool)
    assert found is not None
    assert Path(found).parent == Path(os.environ[TRIPWIRE_LOG_ENV]).parent


@pytest.mark.parametrize("argv", [["crontab", "-l"], ["crontab", "-"], ["systemctl", "daemon-reload"],
                                  ["systemctl", "--user", "enable", "--now", "odbackup-backup.timer"],
                                  ["schtasks", "/Create", "/XML", "x.xml", "/TN", "\\odbackup\\backup", "/F"],
                                  ["/usr/bin/crontab", "-l"], ["SCHTASKS.EXE", "/Query"]])
def test_the_installers_refuse_the_real_tools_under_the_test_root(argv):
    before = tripwire_calls()
    with pytest.raises(install.ScheduleInstallError) as err:
        install.run_tool(argv)
    assert "must never change this machine's schedule" in err.value.message
    assert tripwire_calls() == before  # refused before anything ran


def test_a_stand_in_program_below_the_test_root_may_run(tmp_path, monkeypatch):
    root = Path(os.environ[install.TEST_ROOT_ENV])
    bin_dir = root / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "systemctl").write_text("#!/bin/sh\necho \"stand-in $*\"\n")
    (bin_dir / "systemctl").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    cp = install.run_tool(["systemctl", "show", "x"])
    assert (cp.returncode, cp.stdout) == (0, "stand-in show x\n")


def test_the_tripwire_writes_down_a_call_and_fails_it(tmp_path):
    """What would catch a call past the installers (here into a log of this test's own, so the
    session's stays empty)."""
    log = tripwire(tmp_path / "wires")
    env = {**os.environ, TRIPWIRE_LOG_ENV: str(log)}
    cp = subprocess.run([str(tmp_path / "wires" / "crontab"), "-r"], env=env, capture_output=True, text=True)
    assert cp.returncode == 1 and "must not run the real crontab" in cp.stderr
    assert log.read_text() == "crontab -r\n"


def test_a_users_crontab_is_a_file_below_the_test_root(monkeypatch):
    """The path a user other than root takes (crontab -l, crontab -), played by a file."""
    monkeypatch.setattr(install_cron, "system_wide", lambda: False)
    standin = Path(install.crontab_standin() or "")
    assert str(standin).startswith(os.environ[install.TEST_ROOT_ENV])
    standin.parent.mkdir(parents=True)
    standin.write_text("MAILTO=dentist@example.com\n5 4 * * * /usr/local/bin/other-job\n")
    jobs = install.scheduled_jobs(ScheduleSettings().calendars(), PROGRAM)
    assert install_cron.install(jobs) == [f"Wrote {len(jobs)} line(s) into your crontab."]
    text = standin.read_text()
    assert text.startswith("MAILTO=dentist@example.com\n5 4 * * * /usr/local/bin/other-job\n")
    assert install_cron.BEGIN in text and "run backup --scheduled" in text
    assert [s.registered for s in install_cron.show(("backup", "intraday"))] == [True, False]
    assert install_cron.remove() == ["Removed the odbackup lines from your crontab."]
    assert standin.read_text() == "MAILTO=dentist@example.com\n5 4 * * * /usr/local/bin/other-job\n"
    assert tripwire_calls() == []
