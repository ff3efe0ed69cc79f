"""The database commands end to end, as a scheduled task or a tech at a console runs them:
the real ``odbackup`` program in a subprocess, against the real MariaDB, on real files.

The engine's own tests (busy office, faults, corpora) prove the details; these prove
the commands a practice uses put them together: the preflight's words, the read-only
lines, the JSON events, ``restore-db``'s refusal and replace, ``verify``'s verdict in
``snapshots``, and Ctrl+C (a real SIGINT) under the global read lock.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from faulthelpers import OfficeWriter, Writer, create_big_table, kill, processlist, wait_until

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "cli database test passphrase"
SERVER = "mysql://root@127.0.0.1:3306"


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)  # the root conftest's isolated config and cache folders, weak KDF
    env.pop("ODBACKUP_DB_PASSWORD", None)
    env.update(ODBACKUP_PASSPHRASE=PASSPHRASE, ODBACKUP_DB_PASSWORD="", PYTHONIOENCODING="utf-8", **extra)
    return env


def _command(args: list) -> list[str]:
    return [sys.executable, "-m", "tui.cli", *(str(a) for a in args)]


def odbackup(args: list, code: int = 0, **extra: str) -> subprocess.CompletedProcess:
    cp = subprocess.run(_command(args), cwd=ROOT, env=_env(**extra), stdin=subprocess.DEVNULL,
                        capture_output=True, text=True, encoding="utf-8", timeout=300)
    assert cp.returncode == code, f"exit {cp.returncode}\n--- stdout ---\n{cp.stdout}\n--- stderr ---\n{cp.stderr}"
    return cp


def events_of(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def events(cp: subprocess.CompletedProcess) -> list[dict]:
    return events_of(cp.stdout)


def url(db: str) -> str:
    return f"{SERVER}/{quote(db, safe='')}"


def checksums(conn, db: str) -> dict[str, int]:
    with conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s"
                    " AND TABLE_TYPE = 'BASE TABLE'", (db,))
        names = sorted(r[0] for r in cur.fetchall())
        found = {}
        for name in names:
            cur.execute(f"CHECKSUM TABLE `{db}`.`{name}` EXTENDED")
            found[name] = cur.fetchone()[1]
    return found


def _practice(admin, db: str) -> None:
    """A small practice: a MyISAM table (locked by a consistent backup), an InnoDB table, a view,
    and a trigger, a procedure and an event that name their own database (as typed by a DBA)."""
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
        cur.execute(f"CREATE TABLE `{db}`.patient (PatNum BIGINT PRIMARY KEY, LName VARCHAR(100),"
                    " Birthdate DATE NOT NULL) ENGINE=MyISAM")
        cur.execute(f"INSERT INTO `{db}`.patient SELECT seq, CONCAT('Patient ', seq), '0000-00-00'"
                    f" FROM `{db}`.seq_1_to_3000")
        cur.execute(f"CREATE TABLE `{db}`.securitylog (id INT PRIMARY KEY, what VARCHAR(30)) ENGINE=InnoDB")
        cur.execute(f"INSERT INTO `{db}`.securitylog VALUES (1, 'login'), (2, 'logout')")
        cur.execute(f"CREATE VIEW `{db}`.recent AS SELECT PatNum, LName FROM `{db}`.patient WHERE PatNum > 2990")
        cur.execute(f"CREATE TRIGGER `{db}`.log_new AFTER INSERT ON `{db}`.patient FOR EACH ROW"
                    f" INSERT INTO `{db}`.securitylog VALUES (NEW.PatNum + 100000, 'new patient')")
        cur.execute(f"CREATE PROCEDURE `{db}`.count_patients() SELECT COUNT(*) FROM `{db}`.patient")
        cur.execute(f"CREATE EVENT `{db}`.tidy ON SCHEDULE EVERY 1 DAY DO DELETE FROM `{db}`.securitylog"
                    " WHERE id > 1000000000")


def test_backup_restore_and_verify_from_the_command_line(admin, fresh_db, tmp_path):
    db = fresh_db("cli.practice one")  # a dot and a space in the name: percent-encoded in the URL
    _practice(admin, db)
    repo = tmp_path / "repo"
    odbackup(["init", repo])

    # first run, in words: what will be locked, a first-run guess of for how long, and when it ends
    cp = odbackup(["backup", "--repo", repo, "--db", url(db)])
    first = cp.stderr  # progress goes to stderr, the result to stdout
    assert " saved: 1 database (" in cp.stdout, cp.stdout  # not "0 files, 0 Bytes"
    assert f"Database {db} on 127.0.0.1:3306: 2 tables (1 MyISAM" in first
    assert ("the office's changes to every table on this server wait (a global read lock): under a second "
            "(a first-run guess") in first  # every database's, not only this one's
    assert "READ-ONLY for the office now" in first
    assert "Lock released after" in first and "the office can write again" in first

    # second run, as JSON events: the estimate is now the one the first run measured
    second = events(odbackup(["backup", "--repo", repo, "--db", url(db), "--json"]))
    kinds = [e["event"] for e in second]
    preflight = next(e for e in second if e["event"] == "database_preflight")
    assert preflight["estimated_lock_seconds"] is not None and preflight["first_run_guess_seconds"] is None
    assert preflight["non_transactional"] == ["patient"]
    assert kinds.index("lock_taken") < kinds.index("lock_released") < kinds.index("summary")
    released = next(e for e in second if e["event"] == "lock_released")
    assert 0 < released["held"] <= released["office_wait"] < 30
    dumped = next(e for e in second if e["event"] == "database_dumped")
    summary = second[-1]
    assert summary["event"] == "summary" and summary["lock_window"] == round(dumped["lock_window"], 3)
    again = odbackup(["backup", "--repo", repo, "--db", url(db)]).stderr
    assert "(measured by the last run)" in again

    # restore into a new database; then refused over it, unless replaced and confirmed
    copy = fresh_db("cli copy")
    odbackup(["restore-db", "--repo", repo, "latest", "--into", url(copy)])
    assert checksums(admin, copy) == checksums(admin, db)
    refused = odbackup(["restore-db", "--repo", repo, "latest", "--into", url(copy)], code=1)
    assert "already exists and is not empty" in refused.stderr and "--replace --confirm" in refused.stderr
    odbackup(["restore-db", "--repo", repo, "latest", "--into", url(copy), "--replace", "--confirm", "wrong"],
             code=1)
    with admin.cursor() as cur:
        cur.execute(f"DELETE FROM `{copy}`.patient WHERE PatNum > 10")
    odbackup(["restore-db", "--repo", repo, "latest", "--into", url(copy), "--replace", "--confirm", copy])
    assert checksums(admin, copy) == checksums(admin, db)
    with admin.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM `{copy}`.recent")
        assert cur.fetchone()[0] == 10
    _programs_act_on_their_own_database(admin, source=db, copy=copy)

    # verify: a verdict, a dated report, and snapshots shows it
    reports = tmp_path / "reports"
    verified = odbackup(["verify", "--repo", repo, "latest", "--server", SERVER],
                        ODBACKUP_REPORTS_DIR=str(reports)).stdout
    assert "Verification PASSED" in verified
    assert sorted(p.suffix for p in reports.iterdir()) == [".json", ".txt"]
    listing = odbackup(["snapshots", "--repo", repo]).stdout.splitlines()
    assert "PASSED" in listing[-1] and all("PASSED" not in line for line in listing[1:-1])
    assert all("0 Bytes" not in line for line in listing[1:]), listing  # a database has a size


def _programs_act_on_their_own_database(admin, *, source: str, copy: str) -> None:
    """The copy's trigger, procedure and event are the copy's and act on it; the source (the
    live database) is exactly as it was."""
    before = checksums(admin, source)
    with admin.cursor() as cur:
        cur.execute("SELECT TRIGGER_SCHEMA, EVENT_OBJECT_SCHEMA FROM information_schema.TRIGGERS"
                    " WHERE TRIGGER_SCHEMA IN (%s, %s) ORDER BY TRIGGER_SCHEMA = %s", (source, copy, copy))
        assert cur.fetchall() == ((source, source), (copy, copy))
        cur.execute(f"INSERT INTO `{copy}`.patient VALUES (5000, 'New', '2024-01-01')")
        cur.execute(f"SELECT COUNT(*) FROM `{copy}`.securitylog WHERE id = 105000")
        assert cur.fetchone()[0] == 1
        cur.execute(f"CALL `{copy}`.count_patients()")
        assert cur.fetchone()[0] == 3001
        cur.execute("SELECT EVENT_DEFINITION FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s", (copy,))
        assert f"`{copy}`.securitylog" in cur.fetchone()[0]
    assert checksums(admin, source) == before


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGKILL, -signal.SIGKILL)],
                         ids=["ctrl-c", "crash"])
def test_ctrl_c_or_a_crash_under_the_global_read_lock_releases_it_at_once(sig, code, admin, fresh_db, tmp_path):
    """A real SIGINT (Ctrl+C), or SIGKILL (a crash: nothing of odbackup runs), while the
    office's inserts wait for the global read lock: the office's waiting insert completes at
    once, no snapshot is saved and no session of ours is left on the server; after a crash
    the next backup clears the dead run's repository lock and succeeds."""
    db = fresh_db("cli ctrl c")
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
    create_big_table(admin, db, "procedurelog", rows=1_500_000)  # read for a second or more
    repo = tmp_path / "repo"
    odbackup(["init", repo])
    office = OfficeWriter(db, "procedurelog", first_id=10_000_000)
    with admin.cursor() as cur:
        cur.execute("SELECT ID FROM information_schema.PROCESSLIST")
        before = {r[0] for r in cur.fetchall()}
    office.start()
    backup = subprocess.Popen(_command(["backup", "--repo", repo, "--db", url(db), "--json"]), cwd=ROOT,
                              env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, encoding="utf-8")
    lines: list[str] = []  # its JSON events, as they come
    reading = threading.Thread(target=lambda: lines.extend(iter(backup.stdout.readline, "")), daemon=True)
    reading.start()
    try:
        def office_waits() -> bool:
            if backup.poll() is not None:
                return True
            if not any('"lock_requested"' in line for line in list(lines)):
                return False  # the office waits for another job's lock on the shared server: not ours
            with admin.cursor() as cur:
                cur.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = %s"
                            " AND STATE IN ('Waiting for backup lock', 'Waiting for global read lock')",
                            (office.thread_id,))
                return cur.fetchone()[0] > 0

        wait_until(office_waits, what="the office's insert to wait for the global read lock (MariaDB: the backup lock)", interval=0.01)
        assert backup.poll() is None, "the backup ended before the test could interrupt it"
        done_before = len(office.ok)
        interrupted = time.monotonic()
        backup.send_signal(sig)
        backup.wait(timeout=30)
        reading.join(10)
        out, err = "".join(lines), backup.stderr.read()
        wait_until(lambda: len(office.ok) > done_before + 2 or office.failed,
                   what="the office to go on writing after Ctrl+C")
    finally:
        if backup.poll() is None:
            backup.kill()
        office.stop()

    assert backup.returncode == code, f"exit {backup.returncode}\n{out}\n{err}"
    assert office.failed == [], office.failed[:3]
    resumed = office.ok[done_before][0]
    assert resumed - interrupted < 3.0, f"the office waited {resumed - interrupted:.1f} s more after Ctrl+C"
    assert "snapshot_saved" not in [e["event"] for e in events_of(out)]
    listed = events(odbackup(["snapshots", "--repo", repo, "--json"]))
    assert [e for e in listed if e["event"] == "snapshot"] == []
    with admin.cursor() as cur:
        cur.execute("SELECT ID, USER, STATE, INFO, DB FROM information_schema.PROCESSLIST")
        # Ours: new sessions on the test's own database or naming it (other jobs may share the server).
        left = [r[:4] for r in cur.fetchall() if r[0] not in before and r[0] != office.thread_id
                and (r[4] == db or db in (r[3] or ""))]
    assert left == [], f"sessions left on the server: {left}"
    if sig == signal.SIGKILL:
        again = odbackup(["backup", "--repo", repo, "--db", url(db)])
        assert "stale lock of a dead run" in again.stderr and " saved: 1 database" in again.stdout


def test_ctrl_c_while_the_lock_request_waits_withdraws_it_within_a_second(admin, fresh_db, tmp_path):
    """The backup's FLUSH TABLES WITH READ LOCK waits behind a long UPDATE (and the office's
    writes wait behind it): a real SIGINT withdraws the request within a second (not at the
    30 s lock timeout), and the output says what happened: never granted, and for how long the
    office's changes could wait."""
    db = fresh_db("cli ctrl c asking")
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
        cur.execute(f"CREATE TABLE `{db}`.report (id INT PRIMARY KEY, v INT) ENGINE=MyISAM")
        cur.execute(f"INSERT INTO `{db}`.report VALUES (1, 0)")
    repo = tmp_path / "repo"
    odbackup(["init", repo])
    blocker = Writer().start(f"UPDATE `{db}`.report SET v = SLEEP(60) WHERE id = 1")
    backup = None
    try:
        wait_until(lambda: processlist(admin, "ID = %s AND STATE = 'User sleep'", (blocker.thread_id,)),
                   what="the report to run")
        with admin.cursor() as cur:
            cur.execute("SELECT ID FROM information_schema.PROCESSLIST")
            before = {r[0] for r in cur.fetchall()}

        def our_requests() -> list[tuple]:
            return [r for r in processlist(admin, "INFO LIKE 'FLUSH TABLES WITH READ LOCK%%'") if r[0] not in before]

        backup = subprocess.Popen(_command(["backup", "--repo", repo, "--db", url(db), "--lock-timeout", 30]),
                                  cwd=ROOT, env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, encoding="utf-8")
        wait_until(lambda: any((r[3] or "").lower().startswith("waiting") for r in our_requests())
                   or backup.poll() is not None, what="the backup's lock request to wait")
        wait_until(lambda: any(r[5] > 1500 for r in our_requests()) or backup.poll() is not None,
                   what="the request to wait a second and a half")  # the log says so after a second
        assert backup.poll() is None, "the backup ended before the test could interrupt it"
        backup.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        wait_until(lambda: not our_requests(), timeout=10.0, interval=0.02,
                   what="the lock request to leave the process list")
        gone_after = time.monotonic() - interrupted
        out, err = backup.communicate(timeout=30)
    finally:
        if backup is not None and backup.poll() is None:
            backup.kill()
        kill(blocker.thread_id, query_only=True)
        blocker.close()

    print(f"Ctrl+C -> the lock request gone after {gone_after:.2f} s\n{err}")
    assert gone_after < 1.0, f"the lock request stayed {gone_after:.1f} s after Ctrl+C"
    assert backup.returncode == 130, f"exit {backup.returncode}\n{out}\n{err}"
    said = re.search(r"Lock request withdrawn \(the backup was stopped\); it was never granted: the office's "
                     r"changes could wait ([0-9.]+) s\.", err)
    assert said and 1.5 <= float(said[1]) < 30, err
    assert re.search(r"Asking for the lock, \d+ s: the office's changes wait now", err), err
    assert "released at once" not in err
