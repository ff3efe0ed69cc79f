"""``odbackup backup`` and ``verify`` on the demo practice with files missing from its images
folder: the real program in a subprocess, the real MariaDB, real files. The backup's preflight
warns of them today; verify's verdict names them (exit 6)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from engine.opendental.demo import create_demo

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "cli patient files passphrase"


def _run(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def test_backup_warns_and_verify_fails_naming_the_missing_files(admin, fresh_db, tmp_path):
    db, images = fresh_db("demo"), str(tmp_path / "OpenDentImages")
    create_demo(admin, db, images, scale=0.05)
    files = sorted(os.path.relpath(os.path.join(d, f), images).replace(os.sep, "/")
                   for d, _s, names in os.walk(images) for f in names)
    for gone in files[:3]:
        os.remove(os.path.join(images, gone))
    env = dict(os.environ, ODBACKUP_PASSPHRASE=PASSPHRASE, ODBACKUP_DB_PASSWORD="", PYTHONIOENCODING="utf-8",
               ODBACKUP_REPORTS_DIR=str(tmp_path / "reports"))
    repo = str(tmp_path / "repo")
    assert _run("init", repo, env=env).returncode == 0
    backup = _run("backup", "--repo", repo, "--db", f"mysql://root@127.0.0.1:3306/{db}", "--path", images, env=env)
    assert backup.returncode == 0, backup.stderr
    assert ("warning: 3 patient files the database names are missing from the images folder today"
            in backup.stdout)
    assert f"missing: {files[0]}" in backup.stdout
    verify = _run("verify", "--repo", repo, env=env)
    assert verify.returncode == 6, verify.stderr
    assert "Verification FAILED for snapshot" in verify.stdout
    assert "restores, but 3 patient files the database names are not in the backup" in verify.stdout
    assert f"missing: {files[0]}" in verify.stdout
