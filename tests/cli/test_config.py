"""``odbackup config``: the settings the setup saves, read and set headless by a script.

Real subprocesses of the command on real folders; the file they write is read back with
the app's own ``load_settings``; refused values are compared with the engine's words (the
ones the setup shows).
"""
from __future__ import annotations

import json
import os
import secrets
import subprocess
from pathlib import Path

import pymysql
import pytest
from cli_helpers import cli_command, cli_env, explain, json_lines, ok, run_cli, summary

from engine.config_keys import all_keys
from engine.jobsettings import RetentionSettings, ScheduleSettings
from engine.offsite.settings import OffsiteSettings
from engine.places import (
    check_destination,
    extra_folder_problem,
    folder_problem,
    repository_inside_problem,
)
from engine.settings import DatabaseSettings, Settings, load_settings, settings_path
from engine.supplemental.settings import SupplementalSettings


def config(*args, code: int = 0) -> subprocess.CompletedProcess:
    return ok(run_cli(["config", *args]), code)


def set_json(key: str, *words: str) -> dict:
    return summary(config("set", key, *words, "--json"))


def show_json() -> dict:
    return summary(config("show", "--json"))


def folder(path: Path) -> str:
    path.mkdir(parents=True, exist_ok=True)
    return str(path)


def settings_bytes() -> bytes | None:
    try:
        return Path(settings_path()).read_bytes()
    except FileNotFoundError:
        return None


# --- every key ------------------------------------------------------------------------------------------


def test_each_key_is_set_shown_and_loaded_by_the_app_as_set(tmp_path):
    images, docs, exports = (folder(tmp_path / n) for n in ("OpenDentImages", "Docs", "Exports"))
    repository = str(tmp_path / "usb" / "odbackup")
    supplemental = str(tmp_path / "nas" / "odbackup-supplemental")
    table = {  # key: (words typed, value expected back)
        "repository": ([repository], repository),
        "folders.images": ([images], images),
        "folders.extra": ([docs, exports], [docs, exports]),
        "database.host": (["db1.office"], "db1.office"),
        "database.port": (["3307"], 3307),
        "database.user": (["backup"], "backup"),
        "database.name": (["opendental"], "opendental"),
        "database.lock_mode": (["per-table"], "per-table"),
        "database.lock_timeout": (["7.5"], 7.5),
        "schedule.nightly": (["22:15"], "22:15"),
        "schedule.nightly_days": (["wed,Mon", "Fri"], ["Mon", "Wed", "Fri"]),
        "schedule.intraday": (["08:00-17:00"], "08:00-17:00"),
        "schedule.intraday_days": (["tue"], ["Tue"]),
        "schedule.intraday_lock_mode": (["consistent"], "consistent"),
        "schedule.maintenance": (["off"], "off"),
        "schedule.maintenance_days": (["Sat"], ["Sat"]),
        "schedule.account": (["OFFICE\\backup"], "OFFICE\\backup"),
        "schedule.archive": (["09:45,", "22:45"], "09:45, 22:45"),
        "schedule.archive_days": (["fri,mon", "Wed"], ["Mon", "Wed", "Fri"]),
        "retention.within": (["7d"], "7d"),
        "retention.last": (["3"], 3),
        "retention.hourly": (["12"], 12),
        "retention.daily": (["14"], 14),
        "retention.weekly": (["8"], 8),
        "retention.monthly": (["-1"], -1),
        "retention.yearly": (["3"], 3),
        "retention.reports_years": (["7"], 7),
        "supplemental.path": ([supplemental], supplemental),
        "supplemental.window": (["22:30-05:00"], "22:30-05:00"),  # (before it is on: 22:00 holds the nightly 22:15)
        "supplemental.enabled": (["on"], True),
        "supplemental.images": (["off"], False),
        "offsite.enabled": (["on"], True),
        "offsite.location": (["s3:https://s3.example.com/office-bucket/odbackup"],
                             "s3:https://s3.example.com/office-bucket/odbackup"),
        "offsite.window": (["22:45-06:00"], "22:45-06:00"),
        "offsite.days": (["sat,Mon"], ["Mon", "Sat"]),
        "offsite.limit_upload": (["20Mbit"], "20Mbit"),
        "offsite.alert_days": (["5"], 5),
    }
    assert set(table) == set(all_keys()), "a key without a test"
    assert settings_bytes() is None
    for key, (words, expected) in table.items():
        doc = set_json(key, *words)
        assert (doc["key"], doc["value"]) == (key, expected)
        assert summary(config("get", key, "--json"))["value"] == expected

    shown = show_json()["settings"]
    for key, (_words, expected) in table.items():
        section, _, name = key.rpartition(".")
        assert (shown[section] if section else shown)[name] == expected, key
    assert load_settings() == Settings(
        repository=repository, images_folder=images, extra_folders=(docs, exports),
        database=DatabaseSettings("db1.office", 3307, "backup", "opendental", "per-table", 7.5),
        schedule=ScheduleSettings("22:15", ("Mon", "Wed", "Fri"), "08:00-17:00", ("Tue",), "consistent",
                                  "off", ("Sat",), "OFFICE\\backup", "09:45, 22:45", ("Mon", "Wed", "Fri")),
        retention=RetentionSettings("7d", 3, 12, 14, 8, -1, 3, 7),
        supplemental=SupplementalSettings(True, supplemental, "22:30-05:00", False),
        offsite=OffsiteSettings(True, "s3:https://s3.example.com/office-bucket/odbackup", "22:45-06:00",
                                ("Mon", "Sat"), "20Mbit", 5))

    text = config("show").stdout
    for key, meaning in ((k, v.meaning) for k, v in all_keys().items()):
        value = json.dumps(table[key][1])
        assert f"\n{key.rpartition('.')[2]} = {value}\n" in text, key
        assert meaning and meaning.split()[0] in text, key
    assert "Still to set" not in text


def test_text_values_and_lists_come_back_for_a_script(tmp_path):
    odd = folder(tmp_path / 'Smith, "John" Ü')
    plain = folder(tmp_path / "Plain")
    config("set", "folders.extra", odd, plain)
    assert config("get", "folders.extra").stdout.splitlines() == [odd, plain]  # one per line: commas are safe
    assert load_settings().extra_folders == (odd, plain)
    config("set", "folders.extra", "--remove", odd)
    config("set", "folders.extra", "--add", odd)
    assert load_settings().extra_folders == (plain, odd)
    config("set", "schedule.nightly_days", "--remove", "Sun", "Sat")
    assert load_settings().schedule.nightly_days == ("Mon", "Tue", "Wed", "Thu", "Fri")


# --- refused values: the engine's (the setup's) words, nothing written ------------------------------------


def _cases(tmp: Path) -> list[tuple[str, list[str], str]]:
    images = tmp / "OpenDentImages"
    (tmp / "used").mkdir()
    (tmp / "used" / "letter.txt").write_text("not a repository")
    (tmp / "a-file").write_text("x")
    return [
        ("database.port", ["70000"], DatabaseSettings(port=70000).problems()[0]),
        ("database.port", ["0"], DatabaseSettings(port=0).problems()[0]),
        ("database.host", [" "], DatabaseSettings(host=" ").problems()[0]),
        ("database.user", [""], DatabaseSettings(user="").problems()[0]),
        ("database.name", [""], DatabaseSettings(name="").problems()[0]),
        ("database.lock_mode", ["fast"], DatabaseSettings(lock_mode="fast").problems()[0]),
        ("database.lock_timeout", ["0"], DatabaseSettings(lock_timeout=0).problems()[0]),
        ("database.lock_timeout", ["601"], DatabaseSettings(lock_timeout=601).problems()[0]),
        ("schedule.nightly", ["9pm"], ScheduleSettings(nightly="9pm").problems()[0]),
        ("schedule.nightly", ["24:00"], ScheduleSettings(nightly="24:00").problems()[0]),
        ("schedule.nightly_days", ["Mon,Funday"], ScheduleSettings(nightly_days=("Mon", "Funday")).problems()[0]),
        ("schedule.intraday", ["18:00-08:00"], ScheduleSettings(intraday="18:00-08:00").problems()[0]),
        ("schedule.intraday", ["08:00"], ScheduleSettings(intraday="08:00").problems()[0]),
        ("schedule.intraday_lock_mode", ["fast"], ScheduleSettings(intraday_lock_mode="fast").problems()[0]),
        ("schedule.account", ["OFFICE\\back:up"], ScheduleSettings(account="OFFICE\\back:up").problems()[0]),
        ("schedule.maintenance", ["noon"], ScheduleSettings(maintenance="noon").problems()[0]),
        ("schedule.archive", ["10:00,23:30"], ScheduleSettings(archive="10:00, 23:30").problems()[0]),
        ("schedule.archive", [","], ScheduleSettings(archive="").problems()[0]),
        ("retention.within", ["2 days"], RetentionSettings(within="2 days").problems()[0]),
        ("retention.daily", ["-5"], RetentionSettings(daily=-5).problems()[0]),
        ("retention.reports_years", ["1"], RetentionSettings(reports_years=1).problems()[0]),
        ("supplemental.window", ["2200"], SupplementalSettings(window="2200").problems("off")[0]),
        ("supplemental.window", ["21:00-21:00"], SupplementalSettings(window="21:00-21:00").problems("off")[0]),
        ("supplemental.path", [str(images / "copies")], "The Backup Copy Network Path cannot be inside a folder"),
        ("supplemental.path", [str(tmp / "a-file" / "x")], check_destination(str(tmp / "a-file" / "x")).problem),
        ("folders.images", [str(tmp / "missing")], folder_problem(str(tmp / "missing"))),
        ("folders.images", [str(tmp / "a-file")], folder_problem(str(tmp / "a-file"))),
        ("folders.extra", [str(images / "S")], extra_folder_problem(str(images / "S"), str(images), [])),
        ("folders.extra", [str(tmp)], extra_folder_problem(str(tmp), str(images), [])),
        ("repository", [str(tmp / "used")], check_destination(str(tmp / "used")).problem),
        ("repository", [str(tmp / "a-file" / "odbackup")], check_destination(str(tmp / "a-file" / "odbackup")).problem),
        ("repository", [str(images / "backups")], repository_inside_problem(str(images / "backups"), [str(images)])),
        ("folders.images", [""], folder_problem("")),
    ]


def test_wrong_values_are_refused_in_the_setup_s_words_and_nothing_is_written(tmp_path):
    images = folder(tmp_path / "OpenDentImages")
    folder(tmp_path / "OpenDentImages" / "S")
    config("set", "folders.images", images)
    before = settings_bytes()
    for key, words, words_of_the_app in _cases(tmp_path):
        assert words_of_the_app, key
        cp = config("set", key, *words, code=2)
        assert words_of_the_app in cp.stderr, f"{key} {words}: {explain(cp)}"
        assert settings_bytes() == before, key
        error = json_lines(config("set", key, *words, "--json", code=2).stdout)[-1]
        assert error["event"] == "error" and words_of_the_app in error["message"] and error["exit_code"] == 2


def test_a_value_of_the_wrong_type_is_refused_plainly():
    for key, word in (("database.port", "abc"), ("retention.daily", "many"), ("database.lock_timeout", "inf")):
        cp = config("set", key, word, code=2)
        assert f"'{key}' is a " in cp.stderr and f"not '{word}'" in cp.stderr
    assert "'supplemental.enabled' is on or off, not 'maybe'" in config("set", "supplemental.enabled", "maybe",
                                                                         code=2).stderr
    assert "takes one value" in config("set", "database.host", "a", "b", code=2).stderr
    assert "--add is for lists" in config("set", "database.host", "--add", "x", code=2).stderr
    assert settings_bytes() is None


def test_secrets_and_unknown_keys_are_refused_saying_where_secrets_go(tmp_path):
    secret = "hunter2-" + secrets.token_hex(4)
    config("set", "folders.images", folder(tmp_path / "OpenDentImages"))
    for key in ("database.password", "passphrase", "recovery_key", "database.passwd", "no.such.key"):
        cp = config("set", key, secret, code=2)
        assert "ODBACKUP_DB_PASSWORD" in cp.stderr and "odbackup enroll" in cp.stderr, explain(cp)
        assert secret not in cp.stdout + cp.stderr
        assert secret.encode() not in settings_bytes()
    assert "is a secret" in config("set", "database.password", secret, code=2).stderr
    assert "is not a setting" in config("get", "no.such.key", code=2).stderr
    for name in os.listdir(os.path.dirname(settings_path())):
        assert secret.encode() not in Path(settings_path()).with_name(name).read_bytes()


# --- building a setup up, check, unset, database off ------------------------------------------------------


def test_a_first_set_creates_the_settings_and_what_is_missing_is_said_until_done(tmp_path):
    assert settings_bytes() is None
    assert show_json()["saved"] is False
    assert "No settings are saved yet" in config("check", code=1).stdout
    cp = config("set", "schedule.nightly", "20:30")
    assert "Still to set before a backup can run" in cp.stderr and "No repository" in cp.stderr
    assert load_settings().schedule.nightly == "20:30"
    check = summary(config("check", "--json", code=1))
    assert check["ready"] is False and check["problems"] == Settings().problems()
    config("set", "repository", str(tmp_path / "usb" / "odbackup"))
    config("set", "folders.images", folder(tmp_path / "OpenDentImages"))
    check = summary(config("check", "--json"))
    assert check == {"event": "summary", "path": settings_path(), "ready": True, "problems": []}
    assert "a backup can run" in config("check").stdout


def test_unset_and_database_off_make_a_folders_only_setup(tmp_path):
    images = folder(tmp_path / "OpenDentImages")
    config("set", "database.name", "opendental")
    assert load_settings().database == DatabaseSettings()
    config("set", "retention.daily", "14")
    config("unset", "retention.daily")
    assert load_settings().retention.daily == RetentionSettings().daily
    config("set", "folders.images", images)
    assert config("get", "database").stdout == "on\n"
    config("set", "database", "off")
    assert load_settings().database is None and "[database]" not in settings_bytes().decode()
    assert show_json()["settings"]["database"] is None
    assert "Off: no database is backed up" in config("show").stdout
    # the only thing left to back up cannot go: the same words as Settings.problems
    cp = config("unset", "folders.images", code=2)
    assert Settings(repository="/r").problems()[0] in cp.stderr
    assert load_settings().images_folder == images
    config("set", "database", "on")
    assert load_settings().database == DatabaseSettings()
    assert "on (back up a database) or off" in config("set", "database", "maybe", code=2).stderr


def test_show_json_is_one_object_shaped_like_settings_toml():
    lines = json_lines(config("show", "--json").stdout)
    assert len(lines) == 1
    doc = lines[0]
    assert set(doc) == {"event", "path", "saved", "settings", "problems"}
    assert set(doc["settings"]) == {"repository", "folders", "database", "schedule", "retention", "supplemental",
                                       "offsite"}
    assert doc["settings"]["folders"] == {"images": "", "extra": []}
    assert doc["settings"]["schedule"]["nightly_days"] == list(ScheduleSettings().nightly_days)
    assert doc["settings"]["retention"]["daily"] == 30 and doc["problems"] == Settings().problems()


def test_config_path_follows_the_config_folder(tmp_path):
    assert config("path").stdout == settings_path() + "\n"
    moved = tmp_path / "elsewhere"
    cp = ok(run_cli(["config", "path", "--json"], cli_env(ODBACKUP_CONFIG_DIR=str(moved))))
    assert summary(cp) == {"event": "summary", "path": str(moved / "settings.toml"), "saved": False}


def test_sets_running_at_once_lose_no_update():
    """A script's loop started in the background: every change survives, the file is always whole."""
    values = {f"retention.{k}": str(n) for n, k in enumerate(("last", "hourly", "daily", "weekly", "monthly",
                                                               "yearly"), start=2)}
    values |= {"schedule.nightly": "20:05", "schedule.maintenance": "01:15", "database.host": "db9",
               "database.port": "3310", "database.user": "tech", "retention.within": "3d"}
    procs = [subprocess.Popen(cli_command(["config", "set", k, v]), env=cli_env(), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k, v in values.items()]
    for p in procs:
        _out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    shown = show_json()["settings"]
    for key, value in values.items():
        section, _, name = key.partition(".")
        assert str(shown[section][name]) == value, key


# --- a whole office from a script -------------------------------------------------------------------------


@pytest.fixture
def office_db():
    """A small database of this test's own (dropped afterwards)."""
    name = f"odbt_cfg_{secrets.token_hex(4)}"
    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}`")
            cur.execute(f"CREATE TABLE `{name}`.patient (PatNum BIGINT PRIMARY KEY, LName VARCHAR(50)) ENGINE=MyISAM")
            cur.execute(f"INSERT INTO `{name}`.patient VALUES (1, 'Smith'), (2, 'Jones')")
        yield name
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


def test_a_script_sets_up_an_office_from_nothing_and_backs_up_from_the_saved_settings(tmp_path, repo, office_db):
    images = folder(tmp_path / "OpenDentImages" / "S" / "SmithJohn1").rsplit(os.sep, 2)[0]
    (Path(images) / "S" / "SmithJohn1" / "xray.jpg").write_bytes(os.urandom(3000))
    docs = folder(tmp_path / "Docs")
    (Path(docs) / "letter.txt").write_text("dear patient")
    for args in (["repository", str(repo.path)], ["folders.images", images], ["folders.extra", docs],
                 ["database.host", "127.0.0.1"], ["database.port", "3306"], ["database.user", "root"],
                 ["database.name", office_db], ["database.lock_mode", "per-table"], ["schedule.nightly", "21:30"]):
        config("set", *args)
    assert summary(config("check", "--json"))["ready"] is True

    plan = load_settings().backup_plan()  # what a scheduled run will back up
    assert plan.folders == (images, docs)
    (db,) = plan.databases
    assert (db.target.database, db.lock_mode) == (office_db, "per-table")

    s = show_json()["settings"]  # a script reads the saved settings back and backs up from them
    d = s["database"]
    args = ["backup", "--repo", s["repository"], "--json", "--lock-mode", d["lock_mode"],
            "--db", f"mysql://{d['user']}@{d['host']}:{d['port']}/{d['name']}"]
    for path in [s["folders"]["images"], *s["folders"]["extra"]]:
        args += ["--path", path]
    done = summary(ok(run_cli(args, repo.env())))
    assert done["complete"] is True and done["databases"] == 1 and done["files"] == 2
