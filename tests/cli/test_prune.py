"""``odbackup prune`` with only the machine's write-only credentials: killed at any moment the
repository stays valid and every remaining snapshot (folders and a database) restores exactly;
a backup running at the same time never loses data; a nearly full disk still gets space back."""
from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from cli_helpers import (
    Repo,
    cli_command,
    describe_tree,
    events,
    explain,
    init_repo,
    json_lines,
    ok,
    random_file,
    run_cli,
    shared_env,
    summary,
)

from engine.repository.prune import MAX_UNUSED_SHARE

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "database"))
from dbhelpers import server_conn  # noqa: E402
from exactcopy import describe  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SEEDS = range(12)


def _change(source: Path, rng: random.Random, step: int, n: int = 12) -> None:
    """Delete ``n`` files of the folder and add ``n`` new ones (a changing images folder)."""
    files = sorted(p for p in source.rglob("*") if p.is_file())
    for f in rng.sample(files, min(n, len(files))):
        f.unlink()
    for i in range(n):
        random_file(source / "ABC"[i % 3] / f"step{step}-{i}.jpg", rng.randrange(30_000, 160_000))


def _make_database(name: str) -> None:
    conn = server_conn()
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}`")
            cur.execute(f"CREATE TABLE `{name}`.patient (PatNum INT PRIMARY KEY, LName VARCHAR(40), "
                        "Photo BLOB, Balance DOUBLE) ENGINE=MyISAM")
            rows = [(i, f"Name{i}", os.urandom(300), i * 1.1) for i in range(1, 2001)]
            cur.executemany(f"INSERT INTO `{name}`.patient VALUES (%s, %s, %s, %s)", rows)
    finally:
        conn.close()


def _drop(*names: str) -> None:
    conn = server_conn()
    try:
        with conn.cursor() as cur:
            for name in names:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        conn.close()


def _describe_db(name: str) -> dict:
    conn = server_conn()
    try:
        return describe(conn, name)
    finally:
        conn.close()


def back_up_a_changing_folder(repo: Repo, base: Path, *, seed: int, files: int, backups: int,
                              db_prefix: str) -> tuple[list, dict, Path]:
    """Back up a folder of ``files`` random scans ``backups`` times with the machine's credentials,
    changing it in between, the last time with a database too: (snapshot ID, tree) per backup, the
    database as it was, and the folder."""
    rng = random.Random(seed)
    source = base / "src" / "Images"
    for i in range(files):
        random_file(source / "ABC"[i % 3] / f"scan{i}.jpg", rng.randrange(30_000, 160_000))
    db = f"{db_prefix}_{uuid.uuid4().hex[:8]}"
    _make_database(db)
    try:
        expected = []
        for step in range(backups):
            args = ["--db", f"mysql://root@127.0.0.1:3306/{db}"] if step == backups - 1 else []
            doc = summary(ok(repo.run(["backup", "--repo", repo.path, "--path", source, *args, "--json"],
                                      passphrase=None)))
            expected.append((doc["snapshot_id"], describe_tree(source)))
            if step < backups - 1:
                _change(source, rng, step)
        database = _describe_db(db)
    finally:
        _drop(db)
    return expected, database, source


@pytest.fixture(scope="module")
def forgotten(tmp_path_factory):
    """A repository (machine enrolled) whose 6 snapshots of a changing folder were cut to the newest
    2 (the newest with a database too), so that much stored data is unused; with what those 2 hold."""
    base = tmp_path_factory.mktemp("prune")
    repo = init_repo(base / "repo", base_env=shared_env(base / "home"))
    ok(repo.run(["enroll", "--repo", repo.path]))
    expected, database, _source = back_up_a_changing_folder(repo, base, seed=14, files=45, backups=6,
                                                            db_prefix="odb_prune")
    ok(repo.run(["forget", "--repo", repo.path, "--keep-last", "2"]))
    yield repo, expected[-2:], database


def _copy(forgotten_repo: Repo, path: Path) -> Repo:
    shutil.copytree(forgotten_repo.path, path, symlinks=True)
    return Repo(path, forgotten_repo.recovery_key, forgotten_repo.repo_id, forgotten_repo.base_env)


def _assert_restores_exactly(repo: Repo, expected: list, database: dict, out: Path) -> None:
    ok(repo.run(["check", "--repo", repo.path, "--read-data"]))
    for snap_id, tree in expected:
        target = out / snap_id[:8]
        ok(repo.restore(target, snapshot=snap_id[:8]))
        assert describe_tree(target / "Images") == tree
    restored = f"odb_prune_r_{uuid.uuid4().hex[:8]}"
    try:
        ok(repo.run(["restore-db", "--repo", repo.path, expected[-1][0][:8], "--into",
                     f"mysql://root@127.0.0.1:3306/{restored}"]))
        assert _describe_db(restored) == database
    finally:
        _drop(restored)


def _prune(repo: Repo, *args: str, code: int = 0):
    return ok(repo.run(["prune", "--repo", repo.path, *args], passphrase=None), code)


def test_prune_with_machine_credentials_frees_space_and_everything_left_restores(tmp_path, forgotten):
    original, expected, database = forgotten
    repo = _copy(original, tmp_path / "repo")
    before = repo.size()
    dry = summary(_prune(repo, "--dry-run", "--json"))
    assert dry["packs_deleted"] == 0 and dry["bytes_to_free"] > 0 and repo.size() == before
    cp = _prune(repo, "--json")
    planned = events(cp, "prune_planned")[0]
    assert planned["packs_unused"] > 0 and planned["packs_repack"] > 0, explain(cp)
    doc = summary(cp)
    assert doc["packs_written"] > 0 and doc["bytes_freed"] > 0.25 * before
    assert before - repo.size() >= doc["bytes_freed"] * 0.95
    _assert_restores_exactly(repo, expected, database, tmp_path / "out")
    again = summary(_prune(repo, "--json"))  # nothing left to do
    assert again["packs_deleted"] == 0 and again["packs_written"] == 0


def _pack_files(repo: Repo) -> set[str]:
    return {p for p in repo.files("data")}


def _killed_prune(repo: Repo, changes: int) -> subprocess.CompletedProcess:
    """``prune`` run by kill_after.py: SIGKILLed right after its ``changes``-th file-system change
    (0: not killed, the count is printed)."""
    command = [sys.executable, str(Path(__file__).with_name("kill_after.py")), str(changes),
               "prune", "--repo", str(repo.path)]
    return subprocess.run(command, cwd=ROOT, env=repo.env(None), capture_output=True, text=True, timeout=120)


def test_prune_killed_at_random_moments_leaves_a_valid_repository(tmp_path, forgotten):
    """Twelve seeded kills with SIGKILL: half at a random time, half right after a random one of
    prune's file-system changes (publishing an index or pack, deleting a file), so that every
    phase is interrupted somewhere. Each time: check --read-data passes, both remaining snapshots
    (folders and a database) restore exactly, and a later prune finishes the work."""
    original, expected, database = forgotten
    reference = _copy(original, tmp_path / "reference")
    started = time.monotonic()
    counted = _killed_prune(reference, 0)
    total = time.monotonic() - started
    assert counted.returncode == 0, counted.stderr
    changes = int(counted.stderr.rsplit("changes:", 1)[1])
    assert changes > 20
    before, after = _pack_files(original), _pack_files(reference)
    in_the_middle = 0
    for seed in SEEDS:
        rng = random.Random(seed)
        repo = _copy(original, tmp_path / f"seed{seed}")
        if seed % 2:
            cp = _killed_prune(repo, rng.randint(1, changes))
            assert cp.returncode == -signal.SIGKILL, cp.stderr
        else:
            proc = subprocess.Popen(cli_command(["prune", "--repo", repo.path]), cwd=ROOT, env=repo.env(None),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0, total))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        in_the_middle += _pack_files(repo) not in (before, after)
        _assert_restores_exactly(repo, expected, database, tmp_path / f"out{seed}")
        ok(repo.run(["prune", "--repo", repo.path], passphrase=None))  # a later run finishes the work
        ok(repo.run(["check", "--repo", repo.path], passphrase=None))
        # A killed prune's packs end at other places than a clean one's, so the follow-up prune may
        # stop repacking at another point: both leave at most MAX_UNUSED_SHARE (10 %) unused.
        assert repo.size() <= reference.size() * (1 + MAX_UNUSED_SHARE)
    assert in_the_middle >= 3, f"only {in_the_middle} kill(s) landed while prune was changing the packs"


def test_prune_while_a_backup_runs_never_loses_the_backups_data(tmp_path, forgotten):
    original, _expected, _database = forgotten
    repo = _copy(original, tmp_path / "repo")
    big = tmp_path / "Big"
    for i in range(6):
        random_file(big / f"x{i}.bin", 25 * 1024 * 1024)
    backup = subprocess.Popen(cli_command(["backup", "--repo", repo.path, "--path", big, "--json"]), cwd=ROOT,
                              env=repo.env(None), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (repo.path / "locks" / "exclusive").exists():
            assert time.monotonic() < deadline and backup.poll() is None, "the backup never took its lock"
            time.sleep(0.01)
        refused = _prune(repo, code=5)
        assert "in use by backup" in refused.stderr
        waiting = subprocess.Popen(cli_command(["prune", "--repo", repo.path, "--wait", "3", "--json"]), cwd=ROOT,
                                   env=repo.env(None), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = backup.communicate(timeout=300)
        assert backup.returncode == 0, err
        pout, perr = waiting.communicate(timeout=300)
        assert waiting.returncode == 0, perr
    finally:
        for p in (backup,):
            if p.poll() is None:
                p.kill()
    snap_id = [d for d in json_lines(out) if d["event"] == "summary"][0]["snapshot_id"]
    assert [d for d in json_lines(pout) if d["event"] == "summary"][0]["snapshots"] == 3
    ok(repo.run(["check", "--repo", repo.path, "--read-data"]))
    ok(repo.restore(tmp_path / "out", snapshot=snap_id[:8]))
    assert describe_tree(tmp_path / "out" / "Big") == describe_tree(big)


@pytest.fixture
def small_disk(tmp_path):
    """A 48 MiB tmpfs (the tests run as root, as CI does), unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def test_prune_on_a_full_disk_frees_whole_unused_packs_first(tmp_path, forgotten, small_disk):
    original, expected, database = forgotten
    repo = _copy(original, small_disk / "repo")
    filler = small_disk / "filler"
    st = os.statvfs(small_disk)
    left = st.f_bavail * st.f_frsize - 48 * 1024  # leave 48 KiB: less than one new pack needs
    with open(filler, "wb") as f:
        while left > 0:
            left -= f.write(b"\0" * min(left, 1 << 20))
    free_before = os.statvfs(small_disk).f_bavail * st.f_frsize
    cp = repo.run(["prune", "--repo", repo.path, "--json"], passphrase=None)
    free_after = os.statvfs(small_disk).f_bavail * st.f_frsize
    assert free_before < 64 * 1024 and free_after - free_before > 1024 * 1024, explain(cp)
    filler.unlink()
    _assert_restores_exactly(repo, expected, database, tmp_path / "out")
    ok(repo.run(["prune", "--repo", repo.path], passphrase=None))  # with room again, it finishes
    ok(repo.run(["check", "--repo", repo.path], passphrase=None))
    assert run_cli(["--version"]).returncode == 0


def test_prune_deletes_nothing_in_a_repository_missing_data_a_snapshot_uses(tmp_path, forgotten):
    """Prune decides what is unused from what the snapshots name: when a blob they name is missing,
    that decision cannot be trusted, so it stops (exit 6) before deleting anything."""
    original, _expected, _database = forgotten
    repo = _copy(original, tmp_path / "repo")
    ok(repo.run(["prune", "--repo", repo.path], passphrase=None))
    biggest = max((repo.path / "data").rglob("*"), key=lambda p: p.stat().st_size if p.is_file() else 0)
    biggest.unlink()  # a pack the remaining snapshots use (everything unused is gone now)
    files = repo.files()
    cp = _prune(repo, code=6)
    assert "nothing was deleted" in cp.stderr or "deletes nothing" in cp.stderr, explain(cp)
    assert repo.files() == files
