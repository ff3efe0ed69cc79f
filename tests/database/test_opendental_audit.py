"""What odbackup reads of Open Dental's own security and Supplemental settings, on the real
MariaDB: the admin-password audit (engine.opendental.admins) and the Supplemental Backups
preferences (engine.opendental.supplemental), both read-only.

The 21.1.9 corpus (groups through ``usergroupattach``) and the 16.3 corpus (groups
through ``userod.UserGroupNum``) are loaded into databases of the test's own, where a
SecurityAdmin user's password is set and blanked; the 3.4 corpus has no user accounts,
the demo practice has no permission tables, and a plain database is no Open Dental one.
"""
from __future__ import annotations

import corpora
import pytest
from dbhelpers import target

from engine.opendental.admins import (
    CHECKED,
    NO_USERS,
    NOT_OPEN_DENTAL,
    NOT_READ,
    PASSWORDS_ONLY,
    check_live,
    check_quietly,
    finding,
    summary_words,
)
from engine.opendental.demo import create_demo
from engine.opendental.supplemental import NO_PREFS, READ, read_live

SHA3 = "SHA3-512$c2FsdA==$" + "A" * 86 + "=="
"""The shape of a hashed password as Open Dental stores it (HashType$Salt$Hash)."""


def _sql(admin, *statements: str) -> None:
    with admin.cursor() as cur:
        cur.execute("SET SESSION sql_mode = ''")  # as Open Dental writes its rows (columns left to defaults)
        for statement in statements:
            cur.execute(statement)


def _checksum(admin, db: str) -> list:
    with admin.cursor() as cur:
        cur.execute(f"CHECKSUM TABLE `{db}`.userod, `{db}`.grouppermission")
        return list(cur.fetchall())


@pytest.mark.usefixtures("corpora_here")
def test_od_21_blank_admin_passwords_are_found_and_the_auto_login_user_named(admin, fresh_db):
    db = fresh_db("od21")
    corpora.load("opendental", db)
    before = _checksum(admin, db)
    found = check_live(target(db))
    # the corpus as Open Dental ships it: its one admin, 'Admin', has an empty password
    assert (found.state, found.schema, found.admins) == (CHECKED, "usergroupattach", 1)
    assert found.without_password == ("Admin",) and found.auto_login == "Admin"
    assert finding(found) == ("1 Open Dental admin user without a password: 'Admin'; Open Dental opens "
                              "without a login, as 'Admin'")
    assert _checksum(admin, db) == before  # read-only

    prefs = read_live(target(db))  # Open Dental's own Supplemental settings, as the corpus has them
    assert (prefs.state, prefs.enabled, prefs.last_complete, prefs.network_path) == (READ, True, "", "")
    with admin.cursor() as cur:
        for name, value in (("Enabled", "0"), ("NetworkPath", r"\\nas\od"), ("DateLastComplete", "2026-12-06 23:14:05")):
            cur.execute(f"UPDATE `{db}`.preference SET ValueString = %s WHERE PrefName = %s",
                        (value, "SupplementalBackup" + name))
    prefs = read_live(target(db))
    assert (prefs.enabled, prefs.last_complete, prefs.network_path) == (False, "2026-12-06 23:14:05", r"\\nas\od")
    assert prefs.words()[1] == ("Date/Time Last Local Supplemental", "2026-12-06 23:14:05")

    _sql(admin, f"UPDATE `{db}`.userod SET Password = '{SHA3}' WHERE UserName = 'Admin'")
    found = check_live(target(db))
    assert found.without_password == () and found.auto_login == "" and finding(found) is None
    assert summary_words(found) == "Admin passwords: all 1 Open Dental admin user(s) have a password."

    # more users: a hidden admin with the blank hash form, a visible one with a salt and no hash,
    # an admin with a domain login, and a plain user with no password (not an admin: not listed)
    _sql(admin,
         f"INSERT INTO `{db}`.userod (UserNum, UserName, Password, UserGroupNum, IsHidden, DomainUser) VALUES"
         " (2, 'aaron', 'None$$', 2, 1, ''), (3, 'zoe', 'None$c2FsdA==$', 2, 0, ''),"
         " (4, 'dora', '', 2, 0, 'OFFICE\\\\dora'), (5, 'bob', '', 2, 0, '')",
         f"INSERT INTO `{db}`.usergroupattach (UserNum, UserGroupNum) VALUES (2, 1), (3, 1), (4, 1), (5, 2)",
         f"UPDATE `{db}`.userod SET Password = 'None$$' WHERE UserName = 'Admin'")
    found = check_live(target(db))
    assert found.admins == 4
    assert found.without_password == ("aaron", "Admin", "dora", "zoe")  # Open Dental's order: by name
    assert found.hidden == ("aaron",) and found.domain == ("dora",)
    # the first visible admin by name is 'Admin', whose None$$ is not empty to Open Dental: no auto-login
    assert found.auto_login == ""
    assert "'aaron' (hidden)" in finding(found) and "'dora' (domain login)" in finding(found)

    _sql(admin, f"UPDATE `{db}`.userod SET Password = NULL WHERE UserName = 'Admin'")
    assert check_live(target(db)).auto_login == "Admin"


@pytest.mark.usefixtures("corpora_here")
def test_od_16_groups_come_from_the_user_row(admin, fresh_db):
    db = fresh_db("od16")
    corpora.load("opendental-canada", db)
    found = check_live(target(db))
    assert (found.state, found.schema) == (CHECKED, "userod.UserGroupNum")
    assert read_live(target(db)).state == NO_PREFS  # 16.3 is older than Open Dental's Supplemental Backups
    assert found.without_password == ("Admin",) and found.auto_login == "Admin"
    _sql(admin, f"UPDATE `{db}`.userod SET Password = '{SHA3}'")
    found = check_live(target(db))
    assert found.admins == 1 and found.without_password == () and finding(found) is None


@pytest.mark.usefixtures("corpora_here")
def test_old_and_foreign_databases_are_said_plainly(admin, fresh_db):
    old = fresh_db("od34")
    corpora.load("opendental-3.4", old)
    found = check_live(target(old))
    assert found.state == NO_USERS and "no userod table" in summary_words(found)

    plain = fresh_db("plain")
    _sql(admin, f"CREATE DATABASE `{plain}`", f"CREATE TABLE `{plain}`.t (id INT)")
    found = check_live(target(plain))
    assert found.state == NOT_OPEN_DENTAL and finding(found) is None
    assert "not an Open Dental database" in read_live(target(plain)).note
    assert summary_words(found) == ("Admin passwords not checked: not an Open Dental database (it has no userod "
                                    "table of users): no admin passwords to check.")
    gone = check_quietly(target(fresh_db("absent")))
    assert gone.state == NOT_READ and "could not be checked" in gone.note


def test_demo_practice_has_passwords_and_a_blanked_one_is_found(admin, fresh_db):
    db = fresh_db("demo")
    create_demo(admin, db, None, scale=0.02)
    found = check_live(target(db))
    # the sample practice has users but no permission tables: every user is looked at
    assert found.state == PASSWORDS_ONLY and found.without_password == ()
    assert summary_words(found) == "Admin passwords: every Open Dental user has a password."
    _sql(admin, f"UPDATE `{db}`.userod SET Password = 'None$$' WHERE UserNum = 2")
    found = check_live(target(db))
    assert len(found.without_password) == 1
    assert "which users are admins cannot be told" in finding(found)


@pytest.mark.usefixtures("corpora_here")
def test_the_backup_s_preflight_warns_and_backs_up_all_the_same(fresh_db, repo):
    """``odbackup backup --db`` on the 21.1.9 corpus (its 'Admin' has no password): the warning
    is said before the backup, which still runs; ``--json`` gives the event."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from dbhelpers import PASSPHRASE

    db = fresh_db("od21_backup")
    corpora.load("opendental", db)
    env = {**os.environ, "ODBACKUP_PASSPHRASE": PASSPHRASE}
    args = [sys.executable, "-m", "tui.cli", "backup", "--repo", repo.location, "--db",
            f"mysql://root@127.0.0.1:3306/{db}"]
    root = Path(__file__).resolve().parents[2]
    text = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert text.returncode == 0, text.stderr
    assert ("warning: 1 Open Dental admin user without a password: 'Admin'; Open Dental opens without a login, "
            "as 'Admin': give each admin user a password") in text.stdout
    lines = subprocess.run([*args, "--json"], cwd=root, env=env, capture_output=True, text=True, timeout=300)
    events = [json.loads(line) for line in lines.stdout.splitlines()]
    found = next(e for e in events if e["event"] == "admin_passwords_checked")
    assert (found["without_password"], found["auto_login"], found["state"]) == (["Admin"], "Admin", CHECKED)
    assert events[-1]["event"] == "summary" and events[-1]["complete"]


def test_a_server_that_does_not_answer_is_said_never_raised():
    from engine.database.connection import DbTarget
    from engine.opendental.supplemental import NOT_READ as PREFS_NOT_READ
    from engine.supplemental.alerts import read_open_dental

    admins, prefs = read_open_dental(DbTarget("127.0.0.1", 1, "root", "opendental"))
    assert admins.state == NOT_READ and "does not answer" in admins.note and finding(admins) is None
    assert prefs.state == PREFS_NOT_READ and "does not answer" in prefs.note
