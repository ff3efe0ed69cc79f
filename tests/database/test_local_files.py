"""A server can answer any query with "send me this local file" (LOAD DATA LOCAL). odbackup
sends only its own restore streams: a rogue or impersonated server asking a backup's
connection for a file of this machine gets nothing."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
from engine.database.connection import DbTarget, connect
conn = connect(DbTarget(host="127.0.0.1", port=3306, user="root", password=""), database=sys.argv[1])
with conn.cursor() as cur:
    cur.execute("CREATE TABLE stolen (line TEXT)")
    try:
        cur.execute("LOAD DATA LOCAL INFILE %s INTO TABLE stolen", (sys.argv[2],))
        print("SENT")
    except Exception as exc:
        print("REFUSED", exc)
    cur.execute("SELECT COUNT(*) FROM stolen")
    print("ROWS", cur.fetchone()[0])
"""


def test_a_server_asking_for_a_local_file_gets_nothing(admin, fresh_db, tmp_path):
    """In a process that never restored anything (as a scheduled backup): the server's request
    for a local file is refused; nothing of the file reaches the server."""
    db = fresh_db("rogue")
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
    secret = tmp_path / "db-credentials.json"
    secret.write_text('{"root@127.0.0.1:3306": "hunter2"}\n')
    cp = subprocess.run([sys.executable, "-c", PROBE, db, str(secret)], cwd=ROOT, capture_output=True, text=True,
                        timeout=60)
    assert cp.returncode == 0, cp.stderr
    assert "REFUSED" in cp.stdout and "odbackup refuses" in cp.stdout, cp.stdout
    assert "ROWS 0" in cp.stdout, cp.stdout
