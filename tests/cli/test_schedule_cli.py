"""``odbackup schedule`` and ``odbackup run maintenance`` end to end, as the real command.

Every absolute path of the operating system the installers use (``/etc/cron.d``,
``/run/systemd/system``, ``/proc``) is put below a temporary folder with
``ODBACKUP_TEST_SCHEDULE_ROOT``: no test touches the real system's schedule. A
"running cron" there is a ``proc/<pid>/comm`` file saying ``cron``.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_helpers import explain, ok, run_cli, summary

from engine.archive.drives import ArchiveDrive, update_book
from engine.jobsettings import ScheduleSettings
from engine.schedule.model import next_runs
from engine.settings import Settings, save_settings

NS = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}


@pytest.fixture
def saved(tmp_path) -> Settings:
    folder = tmp_path / "Docs"
    folder.mkdir()
    (folder / "letter.txt").write_text("Dear patient\n")
    settings = Settings(repository=str(tmp_path / "repo"), extra_folders=(str(folder),),
                        schedule=ScheduleSettings(intraday="08:00-17:00"))
    save_settings(settings)
    # an archive drive is set up, so the archive copies are scheduled too (before one is, they are not)
    update_book(lambda book: replace(book, drives=(ArchiveDrive("a" * 64, "Drive A"),)))
    return settings


@pytest.fixture
def system(tmp_path) -> Path:
    """An empty stand-in for the operating system's folders."""
    root = tmp_path / "system"
    (root / "etc" / "cron.d").mkdir(parents=True)
    (root / "proc").mkdir()
    return root


def odbackup(args: list, system: Path | None = None, code: int = 0) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if system is not None:
        env["ODBACKUP_TEST_SCHEDULE_ROOT"] = str(system)
    return ok(run_cli(args, env), code)


def split_files(text: str) -> dict[str, str]:
    """``--print``'s ``### NAME`` sections: name -> text."""
    parts = re.split(r"^### (\S+).*\n", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def config_dir() -> str:
    return os.environ["ODBACKUP_CONFIG_DIR"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze (Debian package systemd)")
def test_print_for_systemd_passes_systemd_analyze_verify(saved, tmp_path):
    files = split_files(odbackup(["schedule", "show", "--print", "--for", "systemd"]).stdout)
    jobs = ("backup", "intraday", "maintenance", "archive")
    assert sorted(files) == sorted(f"odbackup-{job}.{kind}" for job in jobs for kind in ("timer", "service"))
    folder = tmp_path / "units"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    cp = subprocess.run(["systemd-analyze", "verify", "--man=no", *sorted(str(p) for p in folder.iterdir())],
                        capture_output=True, text=True)
    assert cp.returncode == 0, cp.stderr
    exec_start = next(ln for ln in files["odbackup-backup.service"].splitlines() if ln.startswith("ExecStart="))
    program = exec_start.split('"')[1]
    assert os.access(program, os.X_OK)  # the virtualenv's own odbackup
    assert f'"--config-dir" "{config_dir()}"' in exec_start and '"--scheduled"' in exec_start
    assert "OnCalendar=Mon,Tue,Wed,Thu,Fri *-*-* 08..17:00:00" in files["odbackup-intraday.timer"]
    assert '"run" "archive"' in files["odbackup-archive.service"]


def test_print_for_cron_gives_lines_a_cron_evaluator_reads(saved):
    cronsim = pytest.importorskip("cronsim")
    text = odbackup(["schedule", "show", "--print", "--for", "cron"]).stdout
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#") and "=" not in ln.split()[0]]
    assert len(lines) == 4
    calendars = saved.schedule.calendars()
    after = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    for line in lines:
        fields = line.split()
        job = fields[fields.index("run") + 1]
        it = cronsim.CronSim(" ".join(fields[:5]), after.replace(tzinfo=None))
        expected = next_runs(calendars[job], after, 3, tz=UTC)
        assert [next(it) for _ in expected] == [e.replace(tzinfo=None) for e in expected], line
        assert f"--config-dir {config_dir()}" in line and "--scheduled" in line


def test_print_for_windows_gives_one_task_per_job_sized_and_pointed_at_our_folders(saved):
    files = split_files(odbackup(["schedule", "show", "--print", "--for", "windows"]).stdout)
    assert sorted(files) == ["\\odbackup\\archive", "\\odbackup\\backup", "\\odbackup\\intraday",
                             "\\odbackup\\maintenance"]
    limits = {}
    for name, text in files.items():
        task = ET.fromstring(text.split("\n", 1)[1])  # after the XML declaration (UTF-16 once written)
        arguments = task.find("t:Actions/t:Exec/t:Arguments", NS).text
        assert arguments.startswith(f"run {name.rsplit(chr(92), 1)[1]} --scheduled --config-dir ")
        assert config_dir() in arguments
        limits[name] = task.find("t:Settings/t:ExecutionTimeLimit", NS).text
        assert task.find("t:Settings/t:MultipleInstancesPolicy", NS).text == "IgnoreNew"
    assert limits == {"\\odbackup\\backup": "PT10H", "\\odbackup\\intraday": "PT45M",
                      "\\odbackup\\maintenance": "PT12H", "\\odbackup\\archive": "PT12H"}


def test_install_says_plainly_when_no_scheduler_runs(saved, system):
    cp = odbackup(["schedule", "install"], system, code=1)
    assert "Neither systemd nor cron is running" in cp.stderr and "--print" in cp.stderr
    assert list((system / "etc" / "cron.d").iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="the /etc/cron.d path is root's; a user's goes through crontab")
def test_cron_install_show_and_remove_as_root(saved, system, tmp_path):
    (system / "proc" / "4242").mkdir()
    (system / "proc" / "4242" / "comm").write_text("cron\n")  # cron runs
    foreign = system / "etc" / "cron.d" / "e2scrub_all"
    foreign.write_text("30 3 * * 0 root test -e /run/systemd/system || /sbin/e2scrub_all\n")

    cp = odbackup(["schedule", "install"], system)
    assert "the repository cannot be opened now" in cp.stderr  # the settings' repository is not made here
    path = system / "etc" / "cron.d" / "odbackup"
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    shown = summary(odbackup(["schedule", "show", "--json"], system))
    assert shown["scheduler"] == "cron"
    jobs = {j["job"]: j for j in shown["jobs"]}
    on = {name: j for name, j in jobs.items() if name not in ("supplemental", "offsite")}  # (those copies are off)
    assert all(j["registered"] and j["enabled"] for j in on.values()), jobs
    assert not jobs["supplemental"]["registered"] and not jobs["offsite"]["registered"]
    nightly = datetime.fromisoformat(jobs["backup"]["next_run"])
    assert (nightly.hour, nightly.minute) == (21, 0)
    archive = datetime.fromisoformat(jobs["archive"]["next_run"])
    assert (archive.hour, archive.minute) in ((10, 0), (23, 0))

    # turned off in the settings, then installed again: its line goes, the others stay
    save_settings(Settings(repository=saved.repository, extra_folders=saved.extra_folders,
                           schedule=ScheduleSettings(intraday="off")))
    odbackup(["schedule", "install"], system)
    assert "run intraday" not in path.read_text() and "run backup" in path.read_text()

    (system / "proc" / "4242" / "comm").write_text("bash\n")  # cron stopped: show says so
    jobs = {j["job"]: j for j in summary(odbackup(["schedule", "show", "--json"], system))["jobs"]}
    assert jobs["backup"]["registered"] and not jobs["backup"]["enabled"]

    cp = odbackup(["schedule", "remove"], system)
    assert not path.exists() and foreign.exists(), explain(cp)
    assert "NOT installed" in odbackup(["schedule", "show", "--for", "cron"], system).stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="the /etc/cron.d path is root's; a user's goes through crontab")
def test_install_warns_when_this_machine_is_not_enrolled(saved, repo, system):
    save_settings(Settings(repository=str(repo.path), extra_folders=saved.extra_folders))
    (system / "proc" / "7").mkdir()
    (system / "proc" / "7" / "comm").write_text("crond\n")
    cp = odbackup(["schedule", "install"], system)
    assert "not enrolled" in cp.stderr and f"odbackup enroll --repo {repo.path}" in cp.stderr
    ok(repo.run(["enroll", "--repo", repo.path]))
    assert "warning" not in odbackup(["schedule", "install"], system).stderr


def test_maintenance_checks_the_repository_with_machine_credentials(saved, repo):
    save_settings(Settings(repository=str(repo.path), extra_folders=saved.extra_folders))
    ok(repo.run(["enroll", "--repo", repo.path]))
    backup = summary(odbackup(["run", "backup", "--json"]))
    assert backup["result"] == "ok" and backup["files"] == 1
    ok(repo.run(["forget", "--repo", repo.path, "--save-policy", "--keep-last", "3"]))  # the passphrase holder
    cp = odbackup(["run", "maintenance", "--json"])
    done = summary(cp)
    assert done["result"] == "ok" and "check found no errors (1 snapshot" in done["message"]
    assert "check_finished" in [json.loads(line)["event"] for line in cp.stdout.splitlines()]
    text = odbackup(["run", "maintenance"]).stdout
    assert "found no errors" in text
    logs = sorted(Path(os.environ["ODBACKUP_LOG_DIR"]).glob("*-maintenance*.log"))
    last_log = logs[-1].read_text()
    assert len(logs) == 2 and "ok: Retention removed 0 snapshot(s) and kept 1" in last_log
    assert "The repository check found no errors" in last_log


@pytest.mark.skipif(os.path.isdir("/run/systemd/system") or os.geteuid() != 0,
                    reason="only where no real systemd could be reached (systemctl fails), as root")
def test_systemd_install_that_systemd_refuses_leaves_no_unit_behind(saved, system):
    (system / "run" / "systemd" / "system").mkdir(parents=True)  # systemd "present", but systemctl fails
    # systemctl, played below the stand-in root (the real one is never run by a test), failing as it
    # does where systemd is not the init
    (system / "bin").mkdir()
    (system / "bin" / "systemctl").write_text(
        "#!/bin/sh\necho 'System has not been booted with systemd as init system (PID 1).' >&2\n"
        "echo 'Failed to connect to bus: Host is down' >&2\nexit 1\n")
    (system / "bin" / "systemctl").chmod(0o755)
    units = system / "etc" / "systemd" / "system"
    env = {**os.environ, "ODBACKUP_TEST_SCHEDULE_ROOT": str(system),
           "PATH": f"{system / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    cp = ok(run_cli(["schedule", "install"], env), 1)
    assert "Could not reload systemd: Failed to connect to bus: Host is down." in cp.stderr, explain(cp)
    assert not units.exists() or list(units.iterdir()) == []
