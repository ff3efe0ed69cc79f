"""The ``--json`` wire format tells the truth: a figure not known yet is ``null`` (never a
0 that reads as "nothing"), and the summary line carries what a script needs about the
databases (tables, rows, bytes, how long the office's writes could wait)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "cli json test passphrase"


def odbackup(args: list) -> list[dict]:
    env = dict(os.environ, ODBACKUP_PASSPHRASE=PASSPHRASE, ODBACKUP_DB_PASSWORD="")
    cp = subprocess.run([sys.executable, "-m", "tui.cli", *(str(a) for a in args)], cwd=ROOT, env=env,
                        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    assert cp.returncode == 0, f"exit {cp.returncode}\n{cp.stdout}\n{cp.stderr}"
    return [json.loads(line) for line in cp.stdout.splitlines() if line.strip()]


def test_backup_summary_carries_the_database_figures(admin, fresh_db, tmp_path):
    db = fresh_db("json")
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
        cur.execute(f"CREATE TABLE `{db}`.patient (PatNum BIGINT PRIMARY KEY, LName VARCHAR(40)) ENGINE=MyISAM")
        cur.execute(f"INSERT INTO `{db}`.patient VALUES (1, 'Smith'), (2, 'Jones'), (3, 'Brown')")
        cur.execute(f"CREATE TABLE `{db}`.claim (ClaimNum BIGINT PRIMARY KEY) ENGINE=InnoDB")
        cur.execute(f"INSERT INTO `{db}`.claim VALUES (7)")
    repo = tmp_path / "repo"
    odbackup(["init", repo, "--json"])
    lines = odbackup(["backup", "--repo", repo, "--db", f"mysql://root@127.0.0.1:3306/{quote(db)}", "--json"])
    dumped = next(e for e in lines if e["event"] == "database_dumped")
    summary = lines[-1]
    assert summary["event"] == "summary"
    assert (summary["databases"], summary["db_tables"], summary["db_rows"]) == (1, 2, 4)
    assert summary["db_bytes"] == dumped["bytes"] > 0
    assert summary["lock_window"] == round(dumped["lock_window"], 3) > 0
    assert [d["database"] for d in summary["per_database"]] == [db]
    per = summary["per_database"][0]
    assert (per["tables"], per["rows"], per["bytes"], per["lock_window"]) == (
        dumped["tables"], dumped["rows"], dumped["bytes"], dumped["lock_window"])
