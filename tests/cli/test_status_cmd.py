"""``odbackup status``: the alerts in plain words and an exit code a monitoring tool can use
(0 all well, 8 warnings only, 9 critical), on states prepared as a practice gets them: a real
repository, settings through ``config set``, run records through ``engine.runlog``, and the
operating system's schedule below ``ODBACKUP_TEST_SCHEDULE_ROOT`` (tests/cli/test_schedule_cli.py)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from cli_helpers import PASSPHRASE, explain, json_lines, ok, random_file, run_cli, summary

from engine import runlog
from engine.runlog import RunRecord

OK, WARNING, CRITICAL = 0, 8, 9
AS_ROOT = pytest.mark.skipif(os.geteuid() != 0, reason="the cron schedule is installed in /etc/cron.d as root "
                                                        "(a user's would go into the real crontab)")


@pytest.fixture
def office(tmp_path, repo):
    """Settings made with ``config set`` for an images folder backed up into ``repo``; this
    machine enrolled; a stand-in for the operating system where cron runs and nothing is installed."""
    images = tmp_path / "Images"
    images.mkdir()
    random_file(images / "scan.jpg", 30_000)
    system = tmp_path / "system"
    (system / "etc" / "cron.d").mkdir(parents=True)
    (system / "proc" / "7").mkdir(parents=True)
    (system / "proc" / "7" / "comm").write_text("cron\n")
    office = Office(repo, images, system)
    for key, value in (("repository", repo.path), ("folders.images", images), ("database", "off")):
        office.run(["config", "set", key, value])
    office.run(["enroll", "--repo", repo.path], passphrase=True)
    return office


class Office:
    """The office's server: its repository, images folder and operating system stand-in."""

    def __init__(self, repo, images: Path, system: Path) -> None:
        self.repo, self.images, self.system = repo, images, system

    def run(self, args: list, code: int = 0, passphrase: bool = False):
        """The command as the office's server runs it: machine credentials only unless ``passphrase``."""
        env = self.repo.env(PASSPHRASE if passphrase else None, ODBACKUP_TEST_SCHEDULE_ROOT=str(self.system))
        return ok(run_cli(args, env), code)

    def status(self, code: int) -> tuple[str, dict]:
        text = self.run(["status"], code).stdout
        doc = summary(self.run(["status", "--json"], code))
        assert doc["exit_code"] == code
        return text, doc


def kinds(doc: dict) -> list[str]:
    return [a["kind"] for a in doc["alerts"]]


def test_a_new_office_with_nothing_installed_is_critical(office):
    office.system.joinpath("proc", "7", "comm").write_text("bash\n")  # no scheduler runs at all
    text, doc = office.status(CRITICAL)
    assert doc["level"] == "critical"
    assert kinds(doc) == ["no_backup", "schedule_unreadable", "no_retention_policy"], doc
    assert "CRITICAL  No backup yet: back up now." in text
    assert "Neither systemd nor cron is running" in text
    assert "Next backup: " in text and "(not installed)" in text
    assert [(n["job"], n["installed"]) for n in doc["next_runs"]] == [("backup", False), ("maintenance", False)]


@AS_ROOT
def test_all_good_only_when_it_is_then_a_failed_run_is_critical(office):
    repo = office.repo
    office.run(["schedule", "install"])
    done = summary(office.run(["run", "backup", "--scheduled", "--json"]))
    assert done["result"] == "ok", done
    office.run(["verify", "--repo", repo.path], passphrase=True)
    office.run(["forget", "--repo", repo.path, "--save-policy"], passphrase=True)  # the settings' retention
    assert summary(office.run(["run", "maintenance", "--json"]))["result"] == "ok"
    text, doc = office.status(OK)
    assert kinds(doc) == ["all_good"] and "OK        All good: nothing needs attention." in text, text
    assert [(n["job"], n["installed"]) for n in doc["next_runs"]] == [("backup", True), ("maintenance", True)]
    assert "Next backup: " in text and "not installed" not in text

    at = runlog.now_iso()
    runlog.write_record(RunRecord("backup", "schedule", at, at, "failed", "Repository locked: a backup from "
                                  "host frontdesk is running.", 5), os.environ["ODBACKUP_LOG_DIR"])
    text, doc = office.status(CRITICAL)
    assert kinds(doc) == ["run_failed"]
    assert f"CRITICAL  The scheduled backup run ({at}) failed: Repository locked: a backup from host frontdesk " \
           "is running." in text


@AS_ROOT
def test_maintenance_without_a_stored_policy_is_a_warning(office):
    office.run(["schedule", "install"])
    assert summary(office.run(["run", "backup", "--scheduled", "--json"]))["result"] == "ok"
    office.run(["verify", "--repo", office.repo.path], passphrase=True)
    cp = office.run(["run", "maintenance", "--json"], code=3)
    assert "retention skipped: no retention policy stored" in summary(cp)["message"], explain(cp)
    text, doc = office.status(WARNING)
    assert kinds(doc) == ["no_retention_policy"]
    assert ("WARNING   The repository holds no retention policy, so maintenance cannot free space: the "
            "passphrase holder runs odbackup forget --save-policy.") in text


@AS_ROOT
def test_a_schedule_removed_from_the_operating_system_is_critical(office):
    office.run(["schedule", "install"])
    assert summary(office.run(["run", "backup", "--json"]))["result"] == "ok"
    office.run(["schedule", "remove"])
    text, doc = office.status(CRITICAL)
    assert [(a["kind"], a["level"]) for a in doc["alerts"]] == [
        ("never_verified", "warning"), ("schedule_not_installed", "critical"),
        ("schedule_not_installed", "warning"), ("no_retention_policy", "warning")]
    assert "CRITICAL  The backup job is scheduled in the settings but not installed in the operating system" in text
    assert "WARNING   The maintenance job is scheduled" in text
    assert all(line.get("event") == "summary" for line in json_lines(office.run(["status", "--json"],
                                                                                 CRITICAL).stdout))
