"""kill -9 while the app makes the offsite repository in a bucket (engine/offsite/make.py, the
setup's and the Archives screen's "Online storage" action), right after each of its PUTs in turn:
the main repository is untouched (``check --read-data``, its files the same); the bucket holds either
the whole offsite repository (the passphrase opens it, it is related to the main one, ``check
--read-data`` passes, a backup copied there restores exactly, and making it again finds it) or no
repository (no config): making it again then refuses in plain words and writes nothing."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import ROOT, random_file

from engine.backup import BackupPlan, run_backup
from engine.errors import RepositoryExists
from engine.folders.restore import restore
from engine.offsite.make import make_offsite
from engine.repository.copy import copy_snapshots
from engine.repository.repo import Repository

PASSPHRASE = "offsite crash passphrase"
RUNNER = """
import os, signal, sys
import obstore
limit, count, put = int(sys.argv[1]), [0], obstore.put
def counted(*args, **kwargs):
    result = put(*args, **kwargs)
    count[0] += 1
    if count[0] == limit:
        os.kill(os.getpid(), signal.SIGKILL)
    return result
obstore.put = counted
from engine.offsite.make import make_offsite
make_offsite(sys.argv[2], sys.argv[3], os.environ["ODBACKUP_PASSPHRASE"])
print("puts:", count[0])
"""


def _make(limit: int, location: str, main: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ODBACKUP_PASSPHRASE": PASSPHRASE}
    return subprocess.run([sys.executable, "-c", RUNNER, str(limit), location, main], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def _check(location: str) -> None:
    cp = subprocess.run([sys.executable, "-m", "tui.cli", "check", "--repo", location, "--read-data"], cwd=ROOT,
                        env={**os.environ, "ODBACKUP_PASSPHRASE": PASSPHRASE}, capture_output=True, text=True,
                        timeout=300)
    assert cp.returncode == 0, cp.stdout + cp.stderr


def _files(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def main_repo(tmp_path_factory) -> tuple[str, Path]:
    base = tmp_path_factory.mktemp("offsite-make")
    images = base / "Images"
    for i in range(6):
        random_file(images / f"scan{i}.jpg", 50_000 + i)
    repo, _recovery = Repository.init(str(base / "main"), PASSPHRASE)
    run_backup(repo, BackupPlan((str(images),)))
    return str(base / "main"), images


def test_making_the_offsite_repository_killed_after_each_put(seaweed, s3_env, prefix, main_repo, tmp_path):
    main, images = main_repo
    before = _files(Path(main))
    counted = _make(0, seaweed.location(f"{prefix}-count"), main)
    assert counted.returncode == 0, counted.stderr
    puts = int(counted.stdout.rsplit("puts:", 1)[1])
    assert puts >= 2
    complete = []
    for limit in range(1, puts + 1):
        location = seaweed.location(f"{prefix}-{limit}")
        killed = _make(limit, location, main)
        assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
        left = seaweed.objects(f"{prefix}-{limit}")
        complete.append(any(name.endswith("/config") or name == "config" for name in left))
        if complete[-1]:
            again = make_offsite(location, main, PASSPHRASE)
            assert not again.created
            offsite = Repository.open(location)
            offsite.unlock(PASSPHRASE)
            source = Repository.open(main)
            source.unlock(PASSPHRASE)
            assert offsite.related_to(source)
            copy_snapshots(source, offsite)
            _check(location)
            [snapshot] = offsite.snapshots()
            restore(offsite, snapshot, str(tmp_path / f"back-{limit}"), verify=True)
            back = next((tmp_path / f"back-{limit}").rglob("scan0.jpg")).parent
            assert _files(back) == _files(images)
        else:
            with pytest.raises(RepositoryExists, match="is not empty"):
                make_offsite(location, main, PASSPHRASE)
            assert seaweed.objects(f"{prefix}-{limit}") == left  # the retry wrote nothing
    assert complete == [False] * (puts - 1) + [True]  # the config is written last (docs/FORMAT.md)
    assert _files(Path(main)) == before  # the main repository only read
    _check(main)
