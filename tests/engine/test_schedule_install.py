"""The schedule installers' pure parts: what they write and how they read back what the
operating system says (systemctl show, crontab -l, schtasks /Query output as Windows prints it)."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from engine.jobsettings import ScheduleSettings
from engine.schedule import install, install_cron, install_systemd, install_windows

PROGRAM = ("/opt/odbackup/bin/odbackup",)
CALENDARS = ScheduleSettings(intraday="08:00-18:00").calendars()


def jobs():
    return install.scheduled_jobs(CALENDARS, PROGRAM)


def test_the_command_names_this_machines_folders_and_no_secret(monkeypatch, tmp_path):
    monkeypatch.setenv("ODBACKUP_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setenv("ODBACKUP_PASSPHRASE", "never in a command line")
    command = install.run_command("backup", PROGRAM)
    assert command[:4] == (*PROGRAM, "run", "backup", "--scheduled")
    assert command[command.index("--config-dir") + 1] == str(tmp_path / "cfg")
    assert "--log-dir" in command and "--cache-dir" in command
    assert not any("never" in part for part in command)


@pytest.mark.parametrize("system", [True, False])
def test_cron_lines_read_back_as_the_calendars_they_came_from(system):
    assert install_cron.parse_lines(install_cron.render(jobs(), system=system)) == CALENDARS


def test_a_users_crontab_keeps_every_line_that_is_not_ours():
    theirs = "MAILTO=office@example.com\n15 7 * * 1-5 /usr/local/bin/send-recalls\n"
    installed = install_cron.without_block(theirs) + install_cron.render(jobs(), system=False)
    assert installed.startswith(theirs) and install_cron.parse_lines(installed) == CALENDARS
    again = install_cron.without_block(installed) + install_cron.render(jobs()[:1], system=False)
    assert list(install_cron.parse_lines(again)) == ["backup"] and again.startswith(theirs)
    assert install_cron.without_block(again) == theirs
    assert install_cron.parse_lines(theirs) == {}


def test_cron_show_reads_the_file_and_computes_the_next_run(monkeypatch, tmp_path):
    monkeypatch.setenv(install.TEST_ROOT_ENV, str(tmp_path))
    monkeypatch.setattr(install_cron, "system_wide", lambda: True)
    (tmp_path / "etc" / "cron.d").mkdir(parents=True)
    (tmp_path / "etc" / "cron.d" / "odbackup").write_text(install_cron.render(jobs()[:1], system=True))
    states = install_cron.show(("backup", "intraday"), now=datetime(2026, 12, 7, 12, 0, tzinfo=UTC))
    assert [(s.job, s.registered, s.enabled) for s in states] == [("backup", True, False), ("intraday", False, False)]
    assert states[0].next_run is not None and "NOT running" in states[0].detail


SYSTEMCTL_ENABLED = """LoadState=loaded
ActiveState=active
UnitFileState=enabled
NextElapseUSecRealtime=Mon 2026-12-07 21:00:00 UTC
"""
SYSTEMCTL_MISSING = "LoadState=not-found\nActiveState=inactive\nUnitFileState=\nNextElapseUSecRealtime=0\n"
SYSTEMCTL_DISABLED = ("LoadState=loaded\nActiveState=inactive\nUnitFileState=disabled\n"
                      "NextElapseUSecRealtime=1796677200000000\n")


@pytest.mark.parametrize("text, registered, enabled, next_run", [
    (SYSTEMCTL_ENABLED, True, True, "Mon 2026-12-07 21:00:00 UTC"),
    (SYSTEMCTL_MISSING, False, False, None),
    (SYSTEMCTL_DISABLED, True, False, "2026-12-07T21:00+00:00"),
])
def test_systemctl_show_is_read_as_systemd_says_it(text, registered, enabled, next_run):
    state = install_systemd.state_of("backup", install_systemd.parse_show(text))
    assert (state.registered, state.enabled, state.next_run) == (registered, enabled, next_run)


def test_systemd_units_carry_the_marker_that_remove_looks_for(tmp_path, monkeypatch):
    files = install_systemd.render(jobs()[0])
    assert all(text.startswith(f"# {install.MARKER}\n") for text in files.values())
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "odbackup-other.service").write_text("[Service]\nExecStart=/bin/true\n")  # not ours
    assert install_systemd._ours(str(tmp_path)) == sorted(files)


HEADER = ('"HostName","TaskName","Next Run Time","Status","Logon Mode","Last Run Time","Last Result","Author",'
          '"Task To Run","Start In","Comment","Scheduled Task State","Idle Time","Power Management","Run As User"')
READY = ('"SERVER","\\odbackup\\backup","12/7/2026 9:00:00 PM","Ready","Interactive/Background",'
         '"12/6/2026 9:00:01 PM","0","SERVER\\Admin","C:\\odbackup\\odbackup.exe run backup --scheduled","N/A",'
         '"odbackup backup","Enabled","Disabled","","SYSTEM"')
DISABLED = ('"SERVER","\\odbackup\\intraday","N/A","Disabled","Interactive/Background","11/30/1999 12:00:00 AM",'
            '"267011","SERVER\\Admin","C:\\odbackup\\odbackup.exe run intraday --scheduled","N/A",'
            '"odbackup intraday","Disabled","Disabled","","SYSTEM"')


def test_schtasks_query_output_is_read_by_position():
    ready = install_windows.parse_query("backup", f"\r\n{HEADER}\r\n{READY}\r\n{READY}\r\n")  # a row per trigger
    assert (ready.registered, ready.enabled, ready.next_run) == (True, True, "12/7/2026 9:00:00 PM")
    assert "result 0" in ready.detail
    off = install_windows.parse_query("intraday", f"{HEADER}\n{DISABLED}\n")
    assert (off.registered, off.enabled, off.next_run) == (True, False, None)
    assert not install_windows.parse_query("maintenance", f"{HEADER}\n{READY}\n").registered


def test_schtasks_commands_and_the_xml_file_in_utf16(tmp_path):
    job = jobs()[0]
    path = install_windows.write_xml(job, str(tmp_path))
    raw = open(path, "rb").read()
    assert raw[:2] in (b"\xff\xfe", b"\xfe\xff")  # UTF-16 with its byte order mark, as schtasks wants
    task = ET.fromstring(raw.decode("utf-16").split("\n", 1)[1])
    assert task.find("{*}RegistrationInfo/{*}URI").text == "\\odbackup\\backup"
    assert install_windows.create_command(job, path) == ["schtasks", "/Create", "/XML", path, "/TN",
                                                         "\\odbackup\\backup", "/F"]
    assert install_windows.delete_command("backup") == ["schtasks", "/Delete", "/TN", "\\odbackup\\backup", "/F"]
    assert install_windows.query_command("backup")[-3:] == ["/V", "/FO", "CSV"]


def test_access_denied_is_said_as_needing_an_administrator():
    import subprocess

    denied = subprocess.CompletedProcess(["schtasks"], 1, "", "ERROR: Access is denied.\r\n")
    with pytest.raises(install.ScheduleInstallError) as err:
        install_windows._checked(denied, "register \\odbackup\\backup")
    assert "needs an administrator" in err.value.message and err.value.hint == install_windows.ADMIN_HINT
