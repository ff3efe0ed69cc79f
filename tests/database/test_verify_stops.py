"""Verify-restore when it is stopped or fails while comparing: it stops at once, says what
happened in plain words, and never leaves its scratch database behind."""
from __future__ import annotations

import threading
import time

import pymysql
import pytest
from dbhelpers import target

from engine.backup import BackupPlan, run_backup
from engine.database import compare
from engine.database.dump import DatabasePlan
from engine.errors import Cancelled
from engine.verify import verify_snapshot


def _practice(admin, db: str) -> None:
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
        for name in ("patient", "procedurelog", "commlog"):
            cur.execute(f"CREATE TABLE `{db}`.{name} (id INT PRIMARY KEY, note VARCHAR(40)) ENGINE=MyISAM")
            cur.execute(f"INSERT INTO `{db}`.{name} SELECT seq, CONCAT('n', seq) FROM `{db}`.seq_1_to_3000")


def _scratch_databases(admin, db: str) -> list[str]:
    with admin.cursor() as cur:
        cur.execute("SHOW DATABASES LIKE 'odbackup\\_verify\\_%%'")
        return [r[0] for r in cur.fetchall() if db[:24] in r[0]]


@pytest.fixture
def slow_check_table(monkeypatch):
    """CHECK TABLE of a big database: batch after batch, 5 s each (a sleep on its connection),
    30 s in all. Ending only the running statement would leave the next batches to run."""
    real = compare.check_tables

    def slow(conn, names):
        for _ in range(6):
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT SLEEP(5)")
            except pymysql.err.MySQLError:
                pass  # like CHECK TABLE, whose interrupted batch is a result, not an error
        return real(conn, names)

    monkeypatch.setattr(compare, "check_tables", slow)


def test_stopping_while_comparing_ends_check_table_and_drops_the_scratch_database(admin, fresh_db, repo,
                                                                                   monkeypatch, slow_check_table):
    db = fresh_db("vstop")
    _practice(admin, db)
    run_backup(repo, BackupPlan(databases=(DatabasePlan(target(db)),)))
    cancel = threading.Event()
    real = compare._checksum

    def checksum(raw, table, parts, *, scan, stop):
        cancel.set()  # the user presses Stop as the first table is compared
        return real(raw, table, parts, scan=scan, stop=stop)

    monkeypatch.setattr(compare, "_checksum", checksum)
    started = time.monotonic()
    with pytest.raises(Cancelled):
        verify_snapshot(repo, repo.find_snapshot("latest"), server=target(), cancel=cancel)
    assert time.monotonic() - started < 10, "the stop waited for CHECK TABLE"
    assert _scratch_databases(admin, db) == []


def test_a_comparison_that_fails_is_named_and_the_scratch_database_dropped(admin, fresh_db, repo, monkeypatch,
                                                                            slow_check_table):
    """The server drops one reader's connection mid-way: the verdict is FAILED with the server's
    words (not a crash, not "cancelled"), the other readers stop, CHECK TABLE is ended."""
    db = fresh_db("vfail")
    _practice(admin, db)
    run_backup(repo, BackupPlan(databases=(DatabasePlan(target(db)),)))
    real = compare._checksum

    def checksum(raw, table, parts, *, scan, stop):
        if table.name == "commlog":
            raise pymysql.err.OperationalError(2013, "Lost connection to server during query")
        return real(raw, table, parts, scan=scan, stop=stop)

    monkeypatch.setattr(compare, "_checksum", checksum)
    started = time.monotonic()
    report, text_path, _ = verify_snapshot(repo, repo.find_snapshot("latest"), server=target())
    assert time.monotonic() - started < 10, "the failure waited for CHECK TABLE"
    assert not report.ok
    assert any("Lost connection" in p for p in report.problems), report.problems
    assert "FAILED" in open(text_path, encoding="utf-8").read()
    assert _scratch_databases(admin, db) == []
