"""Damaged repositories and interrupted backups."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from cli_helpers import (
    PASSPHRASE,
    ROOT,
    cli_command,
    cli_env,
    describe_tree,
    events,
    explain,
    init_repo,
    ok,
    random_file,
    run_cli,
    sha256,
    shared_env,
    summary,
)

from engine.folders import browse
from engine.repository.pack import pack_name
from engine.repository.repo import Repository

# One file per position of the damaged chunk in the file.
DAMAGED = {
    "first": "Clinic/Patients/xray-first.bin",
    "middle": "Clinic/Patients/xray-middle.bin",
    "last": "Clinic/Patients/xray-last.bin",
}


def make_clinic(root: Path) -> Path:
    for rel in DAMAGED.values():
        random_file(root.parent / rel, 3 * 1024 * 1024 + 777)  # several chunks each
    random_file(root / "Patients" / "xray-fine.bin", 2 * 1024 * 1024)
    (root / "Patients" / "notes.txt").write_text("chart notes\n")
    (root / "readme.txt").write_text("hello\n")
    (root / "Zed").mkdir()
    (root / "Zed" / "last.txt").write_text("after the damaged folder\n")
    return root


def unlocked(repo_path: Path) -> Repository:
    repo = Repository.open(str(repo_path))
    repo.unlock(PASSPHRASE)
    return repo


def flip_blob(repo_path: Path, blob_id: str) -> Path:
    """Invert a few bytes in the middle of one stored blob (inside its pack file)."""
    loc = unlocked(repo_path).index.get(bytes.fromhex(blob_id))
    pack = repo_path / pack_name(loc.pack_id)
    where, n = loc.offset + loc.length // 2, min(16, loc.length // 4)
    with open(pack, "r+b") as f:
        f.seek(where)
        data = f.read(n)
        f.seek(where)
        f.write(bytes(b ^ 0xFF for b in data))
    return pack


def flip_bytes_in_chunk(repo_path: Path, snapshot_path: str, which: str) -> Path:
    """Damage the first, middle or last stored chunk of the file ``snapshot_path``."""
    repo = unlocked(repo_path)
    content = browse.find(repo, repo.find_snapshot("latest"), snapshot_path).node.content
    assert len(content) >= 3, "the test file should span several chunks"
    return flip_blob(repo_path, content[{"first": 0, "middle": len(content) // 2, "last": -1}[which]][0])


def assert_only_correct_files(target: Path, source: Path) -> dict[str, tuple]:
    """Every file in ``target`` equals its original (nothing partial, nothing wrong)."""
    restored = describe_tree(target)
    original = describe_tree(source)
    for rel, what in restored.items():
        assert rel in original, f"unexpected file in the restore: {rel}"
        if what[0] != "dir":
            assert what == original[rel], rel
    return restored


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    """Two snapshots of the same tree, then one chunk of each DAMAGED file flipped on disk
    (its first, middle or last chunk). The tests only read the repository."""
    base = tmp_path_factory.mktemp("damaged")
    repo = init_repo(base / "repo", base_env=shared_env(base / "home"))
    source = make_clinic(base / "Clinic")
    snapshots = {repo.backup(source)["snapshot_id"], repo.backup(source)["snapshot_id"]}
    for which, path in DAMAGED.items():
        flip_bytes_in_chunk(repo.path, path, which)
    return repo, source, snapshots


def test_check_without_read_data_does_not_crash(damaged):
    repo, _, _ = damaged
    cp = repo.run(["check", "--repo", repo.path])
    assert cp.returncode in (0, 6), explain(cp)
    assert "Traceback" not in cp.stderr


def test_check_read_data_names_snapshots_and_files(damaged):
    repo, _, snapshot_ids = damaged
    cp = ok(repo.run(["check", "--repo", repo.path, "--read-data", "--json"]), 6)
    found = events(cp, "damage_found")
    assert {e["path"] for e in found} == set(DAMAGED.values())  # only damaged files, nothing else
    assert {(e["snapshot_id"], e["path"]) for e in found} == {
        (s, p) for s in snapshot_ids for p in DAMAGED.values()
    }
    finished = events(cp, "check_finished")[0]
    assert set(finished["damaged_snapshots"]) == snapshot_ids
    assert summary(cp)["ok"] is False


def test_check_read_data_text_output_names_files(damaged):
    repo, _, _ = damaged
    cp = ok(repo.run(["check", "--repo", repo.path, "--read-data"]), 6)
    for path in DAMAGED.values():
        assert path in cp.stdout + cp.stderr
    assert "Traceback" not in cp.stderr


def test_restore_never_writes_damaged_content(tmp_path, damaged):
    repo, source, _ = damaged
    target = tmp_path / "restored"
    cp = ok(repo.restore(target), 6)
    assert {e["path"] for e in events(cp, "restore_problem")} == set(DAMAGED.values())
    restored = assert_only_correct_files(target / "Clinic", source)
    # Exactly the damaged files are missing; everything else was restored.
    assert set(describe_tree(source)) - set(restored) == {p.removeprefix("Clinic/") for p in DAMAGED.values()}


@pytest.fixture(scope="module")
def damaged_folder(tmp_path_factory):
    """One snapshot whose listing of ``Clinic/Patients`` (a tree blob) is damaged."""
    base = tmp_path_factory.mktemp("damaged-folder")
    repo = init_repo(base / "repo", base_env=shared_env(base / "home"))
    source = make_clinic(base / "Clinic")
    snapshot_id = repo.backup(source)["snapshot_id"]
    opened = unlocked(repo.path)
    flip_blob(repo.path, browse.find(opened, opened.find_snapshot("latest"), "Clinic/Patients").node.subtree)
    return repo, source, snapshot_id


def test_check_read_data_names_damaged_folder(damaged_folder):
    repo, _, snapshot_id = damaged_folder
    cp = ok(repo.run(["check", "--repo", repo.path, "--read-data", "--json"]), 6)
    assert [(e["snapshot_id"], e["path"]) for e in events(cp, "damage_found")] == [(snapshot_id, "Clinic/Patients")]


def test_restore_continues_past_damaged_folder(tmp_path, damaged_folder):
    """One unreadable folder listing costs that folder, not the whole restore."""
    repo, source, _ = damaged_folder
    target = tmp_path / "restored"
    cp = ok(repo.restore(target), 6)
    restored = assert_only_correct_files(target / "Clinic", source)
    assert not any(rel.startswith("Patients/") for rel in restored)
    assert {"readme.txt", "Zed/last.txt"} <= set(restored), explain(cp)


@pytest.fixture
def damaged_snapshot_file(tmp_path, repo):
    """Two snapshots; the older snapshot file has a flipped byte."""
    source = tmp_path / "Office"
    (source / "Charts").mkdir(parents=True)
    (source / "Charts" / "chart.txt").write_text("chart\n")
    older = repo.backup(source)["snapshot_id"]
    (source / "new.txt").write_text("added later\n")
    newer = repo.backup(source)["snapshot_id"]
    path = repo.path / "snapshots" / older
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    return repo, source, older, newer


def test_check_names_damaged_snapshot_file(damaged_snapshot_file):
    repo, _, older, _ = damaged_snapshot_file
    cp = ok(run_cli(["check", "--repo", repo.path]), 6)
    assert older in cp.stderr


def test_damaged_snapshot_file_does_not_block_the_others(tmp_path, damaged_snapshot_file):
    """One damaged snapshot file costs that snapshot, not every other one."""
    repo, source, older, newer = damaged_snapshot_file
    target = tmp_path / "restored"
    cp = repo.restore(target, snapshot=newer[:8])
    assert cp.returncode == 0, explain(cp)
    assert describe_tree(target / "Office") == describe_tree(source)
    listing = run_cli(["snapshots", "--repo", repo.path, "--json"])
    assert newer in [e["id"] for e in events(listing, "snapshot")], explain(listing)


# --- a backup killed half-way -----------------------------------------------------------


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def published(folder: Path) -> list[Path]:
    """Files below ``folder`` under their final name (temporary files start with ``.tmp-``)."""
    return [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".tmp-")]


def test_killed_backup_leaves_usable_repository(tmp_path, repo):
    source = tmp_path / "BigImages"
    for i in range(20):  # 160 MiB of incompressible data
        random_file(source / f"folder{i % 4}" / f"scan{i:02}.raw", 8 * 1024 * 1024)
    tree_bytes = 20 * 8 * 1024 * 1024

    proc = subprocess.Popen(
        cli_command(["backup", "--repo", repo.path, "--path", source, "--json"]),
        cwd=ROOT, env=cli_env(), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        # Packs exist and at least one (published, not temporary) index file lists some of them.
        wait_for(lambda: published(repo.path / "index") or proc.poll() is not None, 60, "an index file")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not any((repo.path / "snapshots").iterdir()), "the backup finished before it could be killed"
    assert published(repo.path / "data")
    assert (repo.path / "locks" / "exclusive").exists()

    ok(run_cli(["check", "--repo", repo.path]))  # warnings (stray packs, temp files) are fine

    cp = ok(run_cli(["backup", "--repo", repo.path, "--path", source, "--json"]))
    stale = events(cp, "stale_lock_removed")
    assert [e["pid"] for e in stale] == [proc.pid]
    doc = summary(cp)
    assert doc["complete"] is True and doc["bytes"] == tree_bytes
    assert doc["bytes_added"] < tree_bytes  # what the killed run indexed is reused
    assert not (repo.path / "locks" / "exclusive").exists()

    ok(run_cli(["check", "--repo", repo.path, "--read-data"]))
    target = tmp_path / "restored"
    ok(repo.restore(target))
    for original in source.rglob("*.raw"):
        copy = target / "BigImages" / original.relative_to(source)
        assert sha256(copy) == sha256(original), copy
