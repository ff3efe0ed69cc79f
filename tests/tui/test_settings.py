"""engine.settings (the one model of what the setup saves) and engine.database.preflight."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from tuihelpers import admin_conn

from engine.database.connection import DbTarget
from engine.database.preflight import (
    expected_lock_window,
    guess_lock_seconds,
    list_databases,
    preflight,
)
from engine.settings import (
    DatabaseSettings,
    Settings,
    SettingsError,
    check_destination,
    from_dict,
    load_settings,
    save_settings,
    settings_path,
    to_toml,
)


def test_round_trip_and_no_secret(tmp_path):
    weird = 'C:\\Office "Docs"\tÜ\n'
    settings = Settings(repository="\\\\SERVER\\Backups\\odbackup", images_folder="/srv/OpenDentImages",
                        extra_folders=(weird, "/srv/Exports"),
                        database=DatabaseSettings(host="db1", port=3307, user="backup", name="opendental",
                                                  lock_mode="per-table", lock_timeout=7.5))
    path = save_settings(settings)
    assert path == settings_path()
    assert load_settings() == settings
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert "password" not in open(path).read()


def test_first_run_has_no_settings():
    assert load_settings() is None


def test_unknown_keys_are_kept(tmp_path):
    doc = {"repository": "/r", "schedule": {"daily": "23:00"}, "version": 2,
           "folders": {"images": "/i", "extra": []}}
    settings = from_dict(doc)
    assert settings.extra == {"schedule": {"daily": "23:00"}, "version": 2}
    again = from_dict(__import__("tomllib").loads(to_toml(settings)))
    assert again.extra == settings.extra and again == settings


@pytest.mark.parametrize("text, message", [
    ("repository = [", "not valid TOML"),
    ("repository = 3", "'repository' has the wrong type"),
    ("[database]\nport = 'x'", "'port' has the wrong type"),
    ("[folders]\nextra = [1]", "folders.extra must be a list"),
])
def test_bad_files_say_what_is_wrong(text, message):
    os.makedirs(os.path.dirname(settings_path()), exist_ok=True)
    with open(settings_path(), "w") as f:
        f.write(text)
    with pytest.raises(SettingsError, match=message) as info:
        load_settings()
    assert "Run the setup again" in info.value.hint


def test_validation_names_every_problem():
    bad = Settings(repository="", database=DatabaseSettings(name="", lock_mode="fast", lock_timeout=0))
    problems = bad.problems()
    assert "No repository (backup destination) is set." in problems
    assert "No database was chosen." in problems
    assert any("lock mode 'fast'" in p for p in problems)
    assert any("between 1 and 600 seconds" in p for p in problems)
    with pytest.raises(SettingsError):
        save_settings(bad)
    assert Settings(repository="/r").problems() == ["Nothing to back up: choose a database or at least one folder."]


def test_backup_plan_follows_the_settings(monkeypatch):
    monkeypatch.setenv("ODBACKUP_DB_PASSWORD", "from-env")
    plan = Settings("/r", "/i", ("/x",), DatabaseSettings(name="opendental", lock_mode="per-table")).backup_plan()
    assert plan.folders == ("/i", "/x")
    (db,) = plan.databases
    assert db.target.database == "opendental" and db.target.password == "from-env" and db.lock_mode == "per-table"


def test_destination_checks(tmp_path):
    new = check_destination(str(tmp_path / "usb" / "odbackup"), 1000)
    assert new.problem is None and not new.exists and new.writable and new.free_bytes > 1000
    full = check_destination(str(tmp_path / "odbackup"), 1 << 60)
    assert "the first backup needs about" in full.problem and full.nearly_full
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "letter.txt").write_text("x")
    assert "already holds other files" in check_destination(str(tmp_path / "used")).problem
    (tmp_path / "a-file").write_text("x")
    assert "cannot be reached" in check_destination(str(tmp_path / "a-file" / "odbackup")).problem
    assert check_destination("").problem == "Type the folder to keep backups in."


def test_preflight_lists_databases_and_tells_what_is_locked(small_db):
    target = DbTarget(password="", database=small_db)
    (found,) = [d for d in list_databases(target) if d.name == small_db]
    assert (found.tables, found.non_transactional_tables, found.transactional_tables) == (3, 2, 1)
    assert dict(found.engines) == {"MyISAM": 2, "InnoDB": 1}
    conn = admin_conn()  # someone of the office is connected
    try:
        p = preflight(target, lock_mode="per-table")
        assert p.database == small_db and p.tables == 3 and p.transactional == 1
        assert set(p.non_transactional) == {"patient", "procedurelog"}
        assert p.lock_mode == "per-table" and p.estimated_lock_seconds is None
        assert any(c.startswith("root@") for c in p.connections) and p.sees_all_connections
    finally:
        conn.close()
    seconds, measured = expected_lock_window(target)
    assert not measured and seconds == guess_lock_seconds(found.non_transactional_data_bytes,
                                                          found.non_transactional_tables)


def test_engine_parts_stay_free_of_the_ui():
    code = ("import sys, engine.settings, engine.database.preflight\n"
            "print(','.join(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'tui')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_backups_inside_a_folder_being_backed_up_are_a_problem_of_the_settings(tmp_path):
    """The setup's destination step refused it; now the settings themselves do (config set, a hand edit)."""
    images = str(tmp_path / "OpenDentImages")
    inside = Settings(repository=os.path.join(images, "backups"), images_folder=images)
    assert inside.problems() == [f"The backups cannot go inside a folder being backed up ({images})."]
    with pytest.raises(SettingsError, match="cannot go inside a folder being backed up"):
        save_settings(inside)
    assert Settings(repository=str(tmp_path / "usb"), images_folder=images).problems() == []


def test_update_settings_reads_changes_and_writes_under_the_lock(tmp_path):
    from dataclasses import replace

    from engine.settings import settings_lock, update_settings

    path = str(tmp_path / "settings.toml")
    first = update_settings(lambda old: replace(old or Settings(), repository="/r"), path)
    assert load_settings(path) == first and first.repository == "/r"
    with settings_lock(path), pytest.raises(SettingsError, match="being changed by another odbackup"):
        with settings_lock(path, wait=0.2):  # a second writer (another open file) waits, then gives up
            pass
    with pytest.raises(ZeroDivisionError):  # a change that fails leaves the file as it was
        update_settings(lambda old: 1 / 0, path)
    assert load_settings(path) == first


def test_the_database_checks_say_what_the_setup_says():
    """One check for the setup's server step, the saved settings and 'odbackup config set': the words a
    person sees in the setup (tests/tui/test_setup.py) are the engine's."""
    assert DatabaseSettings(port=70000).problems() == ["The port is a number between 1 and 65535 (usually 3306)."]
    assert DatabaseSettings(host=" ").problems() == [
        "Type the database server's name or address (127.0.0.1 when it is this computer)."]
    assert DatabaseSettings(user="").problems() == ["Type the database user name (Open Dental's is often root)."]


def test_the_setup_keeps_what_it_does_not_ask_about():
    """Changing the setup in the app keeps the schedule, retention and unknown keys a script set
    ('odbackup config set schedule.nightly 22:00'), instead of putting back the defaults."""
    from engine.jobsettings import RetentionSettings, ScheduleSettings
    from tui.screens.setup.draft import SetupDraft

    saved = from_dict({"repository": "/r", "folders": {"images": "/i"}, "version": 2,
                       "schedule": {"nightly": "22:00", "nightly_days": ["Mon"]}, "retention": {"daily": 14}})
    again = SetupDraft.from_settings(saved).to_settings()
    assert again == saved and again.extra == {"version": 2}
    assert again.schedule == ScheduleSettings(nightly="22:00", nightly_days=("Mon",))
    assert again.retention == RetentionSettings(daily=14)
