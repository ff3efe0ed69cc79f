"""``odbackup run JOB`` end to end, as the operating system's scheduler starts it: the real
program in a subprocess, stdin not a terminal, no passphrase and no database password in its
environment: only the saved settings, this machine's write-only credentials and the database
password ``enroll --db`` remembered. The snapshot then restores exactly with the passphrase.
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from engine import runlog
from engine.database.connection import DbTarget
from engine.database.dump import GLOBAL_SCOPE
from engine.jobsettings import ScheduleSettings
from engine.settings import DatabaseSettings, Settings, save_settings

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "run job test passphrase"


def odbackup(args: list, *, passphrase: str | None = None, db_password: str | None = None,
             code: int = 0) -> subprocess.CompletedProcess:
    env = dict(os.environ)  # the root conftest's isolated config, cache and log folders
    env.pop("ODBACKUP_PASSPHRASE", None)
    env.pop("ODBACKUP_DB_PASSWORD", None)
    if passphrase is not None:
        env["ODBACKUP_PASSPHRASE"] = passphrase
    if db_password is not None:
        env["ODBACKUP_DB_PASSWORD"] = db_password
    cp = subprocess.run([sys.executable, "-m", "tui.cli", *(str(a) for a in args)], cwd=ROOT, env=env,
                        stdin=subprocess.DEVNULL, capture_output=True, text=True, encoding="utf-8", timeout=300)
    assert cp.returncode == code, f"exit {cp.returncode}\n--- stdout ---\n{cp.stdout}\n--- stderr ---\n{cp.stderr}"
    return cp


def summary(cp: subprocess.CompletedProcess) -> dict:
    docs = [json.loads(line) for line in cp.stdout.splitlines() if line.strip()]
    return next(d for d in docs if d["event"] == "summary")


def checksums(conn, db: str) -> dict[str, int]:
    with conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (db,))
        found = {}
        for (name,) in sorted(cur.fetchall()):
            cur.execute(f"CHECKSUM TABLE `{db}`.`{name}` EXTENDED")
            found[name] = cur.fetchone()[1]
    return found


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def office_user(admin):
    """A MySQL user of this test only, with a password; dropped afterwards."""
    name, password = f"odbt_run_{secrets.token_hex(5)}", f"pw-{secrets.token_hex(8)}"
    with admin.cursor() as cur:
        cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (name, password))
        cur.execute(f"GRANT ALL ON *.* TO '{name}'@'%'")
    yield name, password
    with admin.cursor() as cur:
        cur.execute("DROP USER IF EXISTS %s@'%%'", (name,))


@pytest.fixture
def practice(admin, fresh_db, tmp_path, office_user):
    """A database (MyISAM and InnoDB), an images folder, a repository, this machine enrolled with
    the database password remembered, and the settings saved, as the setup leaves them."""
    db = fresh_db("run")
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
        cur.execute(f"CREATE TABLE `{db}`.patient (PatNum BIGINT PRIMARY KEY, LName VARCHAR(50)) ENGINE=MyISAM")
        cur.execute(f"INSERT INTO `{db}`.patient SELECT seq, CONCAT('Patient ', seq) FROM `{db}`.seq_1_to_2000")
        cur.execute(f"CREATE TABLE `{db}`.securitylog (id INT PRIMARY KEY, what TEXT) ENGINE=InnoDB")
        cur.execute(f"INSERT INTO `{db}`.securitylog VALUES (1, 'login'), (2, 'logout')")
    images = tmp_path / "OpenDentImages"
    (images / "S" / "SmithJohn1234").mkdir(parents=True)
    (images / "S" / "SmithJohn1234" / "xray.jpg").write_bytes(os.urandom(300_000))
    (images / "A" / "notes.txt").parent.mkdir()
    (images / "A" / "notes.txt").write_text("Grüße\n", encoding="utf-8")
    repo = tmp_path / "repo"
    user, password = office_user
    odbackup(["init", repo], passphrase=PASSPHRASE)
    url = f"mysql://{quote(user)}@127.0.0.1:3306/{quote(db)}"
    odbackup(["enroll", "--repo", repo, "--db", url], passphrase=PASSPHRASE, db_password=password)
    save_settings(Settings(repository=str(repo), images_folder=str(images),
                           database=DatabaseSettings(user=user, name=db, lock_mode="consistent"),
                           schedule=ScheduleSettings(intraday="08:00-18:00", intraday_lock_mode="per-table")))
    return db, images, repo, password


def test_run_backup_with_machine_credentials_only_restores_exactly(practice, admin, fresh_db, tmp_path):
    db, images, repo, password = practice
    cp = odbackup(["run", "backup", "--json", "--scheduled"])
    assert PASSPHRASE not in cp.stdout + cp.stderr and password not in cp.stdout + cp.stderr
    done = summary(cp)
    assert done["result"] == "ok" and done["exit_code"] == 0 and done["trigger"] == "schedule"
    assert done["databases"] == 1 and done["files"] == 2 and done["snapshot_id"]
    lines = [json.loads(line) for line in cp.stdout.splitlines()]
    assert [e["scope"] for e in lines if e["event"] == "lock_taken"] == [GLOBAL_SCOPE]  # the saved mode
    assert "snapshot_saved" in [e["event"] for e in lines]
    record = runlog.last_run("backup")
    assert record is not None and record.snapshot_id == done["snapshot_id"] and record.office_wait > 0
    assert runlog.history("backup", 5) == [record]

    restored = tmp_path / "restored"
    odbackup(["restore", "--repo", repo, record.snapshot_id, "--to", restored], passphrase=PASSPHRASE)
    assert tree(restored / "OpenDentImages") == tree(images)
    copy = fresh_db("run_copy")
    odbackup(["restore-db", "--repo", repo, record.snapshot_id, "--into",
              DbTarget("127.0.0.1", 3306, "root", copy).url()], passphrase=PASSPHRASE)
    assert checksums(admin, copy) == checksums(admin, db)


def test_run_intraday_saves_the_database_only_table_by_table(practice, admin):
    db, _images, _repo, _password = practice
    cp = odbackup(["run", "intraday", "--json"])
    done = summary(cp)
    assert done["result"] == "ok" and done["trigger"] == "manual"
    assert done["databases"] == 1 and done["files"] == 0
    lines = [json.loads(line) for line in cp.stdout.splitlines()]
    taken = [e for e in lines if e["event"] == "lock_taken"]
    assert [e["scope"] for e in taken] == ["patient"], taken  # per-table: the MyISAM table, never the global lock
    assert not [e for e in lines if e["event"] == "backup_progress" and e.get("files_done")]
    assert [r.job for r in runlog.history(n=10)] == ["intraday"]


def test_run_without_enrolling_fails_and_is_recorded(tmp_path):
    repo = tmp_path / "repo"
    folder = tmp_path / "Docs"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    odbackup(["init", repo], passphrase=PASSPHRASE)
    save_settings(Settings(repository=str(repo), extra_folders=(str(folder),)))
    cp = odbackup(["run", "backup"], code=4)  # even with the passphrase nowhere, nothing is asked
    assert "enroll" in cp.stderr
    record = runlog.last_run("backup")
    assert record is not None and record.result == "failed" and record.exit_code == 4
    assert "enroll" in record.message


def test_two_runs_of_a_job_never_overlap_and_a_killed_run_does_not_block_the_next(practice, admin):
    """The first run waits for its table lock (the test holds a write lock on the MyISAM table);
    a second run of the same job is skipped at once, exit 7, recorded; once the first is killed
    with SIGKILL, the next run goes through."""
    db = practice[0]
    env = {k: v for k, v in os.environ.items() if k not in ("ODBACKUP_PASSPHRASE", "ODBACKUP_DB_PASSWORD")}
    with admin.cursor() as cur:
        cur.execute(f"LOCK TABLES `{db}`.patient WRITE")
    first = subprocess.Popen([sys.executable, "-m", "tui.cli", "run", "intraday", "--json", "--scheduled"],
                             cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
    try:
        for line in first.stdout:  # bounded: the run gives up its lock request after 3 x 10 s
            if json.loads(line)["event"] == "lock_requested":
                break
        else:
            pytest.fail("the first run ended before asking for its lock")
        second = odbackup(["run", "intraday", "--json", "--scheduled"], code=7)
        skipped = summary(second)
        assert skipped["result"] == "skipped" and skipped["exit_code"] == 7
        assert skipped["message"].startswith("skipped: previous run still going")
        assert f"process {first.pid}" in skipped["message"]
        assert runlog.last_run("intraday").result == "skipped"
        first.kill()  # SIGKILL: no cleanup of any kind
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
        first.stdout.close()
        with admin.cursor() as cur:
            cur.execute("UNLOCK TABLES")
    after = summary(odbackup(["run", "intraday", "--json"]))
    assert after["result"] == "ok", after
    assert [r.result for r in runlog.history("intraday", 5)] == ["ok", "skipped"]  # the killed run left none


def test_a_run_stopped_by_sigterm_releases_its_locks_and_is_recorded(practice, admin):
    """systemd's time limit or a shutdown sends SIGTERM: the run stops as on Ctrl+C and says so."""
    db = practice[0]
    env = {k: v for k, v in os.environ.items() if k not in ("ODBACKUP_PASSPHRASE", "ODBACKUP_DB_PASSWORD")}
    with admin.cursor() as cur:
        cur.execute(f"LOCK TABLES `{db}`.patient WRITE")
    run = subprocess.Popen([sys.executable, "-m", "tui.cli", "run", "intraday", "--json", "--scheduled"],
                           cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
    try:
        for line in run.stdout:
            if json.loads(line)["event"] == "lock_requested":
                break
        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=60) == 130
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        run.stdout.close()
        with admin.cursor() as cur:
            cur.execute("UNLOCK TABLES")
    record = runlog.last_run("intraday")
    assert record is not None and (record.result, record.exit_code) == ("failed", 130)
    assert "Stopped before the end" in record.message
    assert summary(odbackup(["run", "intraday", "--json"]))["result"] == "ok"  # nothing left locked
