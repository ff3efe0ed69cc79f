"""Windows tasks run as SYSTEM or a chosen account, and no password is ever in our files, the
task XML or a command line: for an account, ``schtasks /RU ACCOUNT /RP *`` asks for it."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest
from sched_tripwire import tripwire_calls

from engine.config_keys import SettingRefused, set_value
from engine.jobsettings import ScheduleSettings
from engine.schedule import install, install_windows, windows
from engine.settings import Settings, load_settings, save_settings

PROGRAM = ("C:\\Program Files\\odbackup\\odbackup.exe",)
NS = {"t": windows.NAMESPACE}


def backup_job():
    return install.scheduled_jobs(ScheduleSettings().calendars(), PROGRAM)[0]


def principal(account: str) -> dict[str, str]:
    task = ET.fromstring(windows.task_xml(backup_job(), date(2026, 12, 7), account).split("\n", 1)[1])
    found = task.findall("t:Principals/t:Principal", NS)
    assert len(found) == 1 and found[0].get("id") == task.find("t:Actions", NS).get("Context")
    return {el.tag.split("}")[1]: el.text or "" for el in found[0]}


@pytest.mark.parametrize("account", ["", "SYSTEM", "system", "NT AUTHORITY\\SYSTEM", "S-1-5-18"])
def test_system_is_the_well_known_sid_as_a_service_account(account):
    assert principal(account) == {"UserId": "S-1-5-18", "LogonType": "ServiceAccount",
                                  "RunLevel": "HighestAvailable"}


@pytest.mark.parametrize("account", ["OFFICE\\backup", ".\\odbackup", "backup@office.example", "backup",
                                     "OFFICE\\R&D <x>", "OFFICE\\gmsa-backup$"])
def test_a_chosen_account_is_named_with_a_password_logon(account):
    assert principal(account) == {"UserId": account, "LogonType": "Password", "RunLevel": "HighestAvailable"}


@pytest.mark.parametrize("account", ["OFFICE\\back:up", "a\\b\\c", "OFFICE/backup", "\"backup\"", " backup",
                                     "backup\n", "OFFICE\\", "back*up", "x" * 300])
def test_what_is_not_an_account_name_is_refused_in_plain_words(account):
    problem = windows.account_problem(account)
    assert problem is not None and "is not a Windows account name" in problem
    assert ScheduleSettings(account=account).problems() == [problem]


def test_schtasks_asks_for_the_password_itself_and_the_command_holds_none(tmp_path, monkeypatch):
    monkeypatch.setenv("ODBACKUP_PASSPHRASE", "correct horse battery")
    monkeypatch.setenv("ODBACKUP_DB_PASSWORD", "db-secret-123")
    job = backup_job()
    path = install_windows.write_xml(job, str(tmp_path), account="OFFICE\\backup")
    argv = install_windows.create_command(job, path, "OFFICE\\backup")
    assert argv == ["schtasks", "/Create", "/XML", path, "/TN", "\\odbackup\\backup",
                    "/RU", "OFFICE\\backup", "/RP", "*", "/F"]
    written = Path(path).read_bytes().decode("utf-16")
    for text in (" ".join(argv), written):
        assert "correct horse" not in text and "db-secret" not in text
    assert "<LogonType>Password</LogonType>" in written and "<Password>" not in written
    assert install_windows.create_command(job, path, "SYSTEM") == \
        ["schtasks", "/Create", "/XML", path, "/TN", "\\odbackup\\backup", "/F"]


def test_an_account_install_away_from_a_console_is_refused_before_anything_runs():
    with pytest.raises(install.ScheduleInstallError) as err:
        install_windows.install([backup_job()], "OFFICE\\backup")
    assert "need its password" in err.value.message and "command prompt" in (err.value.hint or "")
    with pytest.raises(install.ScheduleInstallError, match="not a Windows account name"):
        install_windows.install([backup_job()], "OFFICE\\a:b", console=True)
    assert tripwire_calls() == []


def test_the_account_is_a_setting_and_never_a_password(tmp_path):
    (tmp_path / "Docs").mkdir()
    save_settings(Settings(repository=str(tmp_path / "repo"), extra_folders=(str(tmp_path / "Docs"),)))
    set_value("schedule.account", ["OFFICE\\backup"])
    loaded = load_settings()
    assert loaded is not None and loaded.schedule.account == "OFFICE\\backup"
    with pytest.raises(SettingRefused, match="not a Windows account name"):
        set_value("schedule.account", ["OFFICE\\back:up"])
    with pytest.raises(SettingRefused, match="secret"):
        set_value("schedule.account_password", ["hunter2"])
    loaded = load_settings()
    assert loaded is not None and loaded.schedule.account == "OFFICE\\backup"
