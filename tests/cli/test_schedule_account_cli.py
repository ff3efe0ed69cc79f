"""``odbackup schedule ... --account``: Windows tasks that run as a chosen account, end to end.

Windows' ``schtasks`` is played by a stand-in program below ``ODBACKUP_TEST_SCHEDULE_ROOT``
(the installers run no real scheduler tool there): it writes down its command line, keeps the
task XML it was given and, as the real one does for ``/RP *``, asks for the password on the
console and keeps it in its own "credential store". The password must reach only that.
"""
from __future__ import annotations

import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from cli_helpers import ROOT, cli_command, cli_env, explain, ok, run_cli
from sched_tripwire import tripwire_calls
from test_schedule_cli import NS, split_files

from engine.jobsettings import ScheduleSettings
from engine.settings import Settings, save_settings

SECRET = "Molar-Crown-7734"

STAND_IN = r"""#!/bin/sh
# schtasks, played: /Create keeps the XML and asks for the /RP * password; /Query knows nothing.
here=$(dirname "$0")/..
printf '%s\n' "$*" >> "$here/argv.log"
case "$1" in
/Create)
    xml= ; prompt=
    while [ $# -gt 0 ]; do
        [ "$1" = /XML ] && xml=$2
        [ "$1" = /RP ] && [ "$2" = "*" ] && prompt=yes
        shift
    done
    cp "$xml" "$here/tasks/$(basename "$xml")"
    if [ -n "$prompt" ]; then
        printf 'Please enter the run as password: '
        read -r password
        printf '%s\n' "$password" >> "$here/credential-store"
    fi
    echo "SUCCESS: The scheduled task has successfully been created."
    exit 0 ;;
*)
    echo "ERROR: The system cannot find the file specified." >&2
    exit 1 ;;
esac
"""


@pytest.fixture
def saved(tmp_path) -> Settings:
    folder = tmp_path / "Docs"
    folder.mkdir()
    settings = Settings(repository=str(tmp_path / "repo"), extra_folders=(str(folder),),
                        schedule=ScheduleSettings(maintenance="off"))
    save_settings(settings)
    return settings


@pytest.fixture
def windows(tmp_path) -> Path:
    root = tmp_path / "system"
    (root / "bin").mkdir(parents=True)
    (root / "tasks").mkdir()
    (root / "bin" / "schtasks").write_text(STAND_IN)
    (root / "bin" / "schtasks").chmod(0o755)
    return root


def env_for(root: Path) -> dict[str, str]:
    return cli_env(ODBACKUP_TEST_SCHEDULE_ROOT=str(root), ODBACKUP_DB_PASSWORD="db-" + SECRET,
                   PATH=f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}")


def principal(xml: str) -> dict[str, str]:
    task = ET.fromstring(xml.split("\n", 1)[1])
    return {el.tag.split("}")[1]: el.text or "" for el in task.find("t:Principals/t:Principal", NS)}


def test_print_names_the_account_given_or_saved(saved):
    cp = ok(run_cli(["schedule", "show", "--print", "--for", "windows", "--account", "OFFICE\\backup"]))
    files = split_files(cp.stdout)
    assert sorted(files) == ["\\odbackup\\backup"]
    assert principal(files["\\odbackup\\backup"]) == {"UserId": "OFFICE\\backup", "LogonType": "Password",
                                                      "RunLevel": "HighestAvailable"}
    ok(run_cli(["config", "set", "schedule.account", ".\\odbackup"]))
    saved_one = split_files(ok(run_cli(["schedule", "show", "--print", "--for", "windows"])).stdout)
    assert principal(saved_one["\\odbackup\\backup"])["UserId"] == ".\\odbackup"
    system = split_files(ok(run_cli(["schedule", "show", "--print", "--for", "windows", "--account",
                                     "SYSTEM"])).stdout)
    assert principal(system["\\odbackup\\backup"])["UserId"] == "S-1-5-18"


def test_a_wrong_account_is_refused_as_a_usage_error(saved):
    cp = ok(run_cli(["schedule", "show", "--print", "--for", "windows", "--account", "OFFICE\\a:b"]), 2)
    assert "is not a Windows account name" in cp.stderr


def test_install_as_an_account_lets_schtasks_ask_for_the_password_and_keeps_it_nowhere_else(
        saved, windows, isolated_env):
    cp = subprocess.run(cli_command(["schedule", "install", "--for", "windows", "--account", "OFFICE\\backup"]),
                        cwd=ROOT, env=env_for(windows), input=SECRET + "\n", capture_output=True, text=True,
                        timeout=120)
    assert cp.returncode == 0, explain(cp)
    assert "Registered \\odbackup\\backup to run as OFFICE\\backup." in cp.stderr + cp.stdout
    assert "Please enter the run as password" in cp.stdout  # schtasks's own prompt, on the console
    argv = (windows / "argv.log").read_text().splitlines()
    create = [line for line in argv if line.startswith("/Create")]
    assert len(create) == 1 and create[0].endswith("/TN \\odbackup\\backup /RU OFFICE\\backup /RP * /F")
    (xml_file,) = (windows / "tasks").iterdir()
    assert principal(xml_file.read_bytes().decode("utf-16"))["UserId"] == "OFFICE\\backup"
    assert (windows / "credential-store").read_text() == SECRET + "\n"  # only schtasks got it
    for path in Path(isolated_env).rglob("*"):
        if path.is_file() and windows not in path.parents:
            assert SECRET.encode() not in path.read_bytes(), path
    assert SECRET not in "\n".join(argv) + cp.stderr
    assert tripwire_calls() == []
