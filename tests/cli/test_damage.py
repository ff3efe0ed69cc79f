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
    ok,
    random_file,
    run_cli,
    sha256,
    summary,
)

from engine.folders import browse
from engine.repository.pack import pack_name
from engine.repository.repo import Repository

DAMAGED = "Clinic/Patients/xray-damaged.bin"


def make_clinic(root: Path) -> Path:
    random_file(root / "Patients" / "xray-damaged.bin", 3 * 1024 * 1024 + 777)
    random_file(root / "Patients" / "xray-fine.bin", 2 * 1024 * 1024)
    (root / "Patients" / "notes.txt").write_text("chart notes\n")
    (root / "readme.txt").write_text("hello\n")
    return root


def flip_bytes_in_chunk(repo_path: Path, snapshot_path: str, which: str) -> Path:
    """Flip 16 bytes in the middle of one stored chunk of ``snapshot_path``; returns the pack file."""
    repo = Repository.open(str(repo_path))
    repo.unlock(PASSPHRASE)
    entry = browse.find(repo, repo.find_snapshot("latest"), snapshot_path)
    content = entry.node["content"]
    assert len(content) >= 3, "the test file should span several chunks"
    chunk_id = content[{"first": 0, "middle": len(content) // 2, "last": -1}[which]][0]
    loc = repo.index.get(bytes.fromhex(chunk_id))
    pack = repo_path / pack_name(loc.pack_id)
    with open(pack, "r+b") as f:
        f.seek(loc.offset + loc.length // 2)
        data = f.read(16)
        f.seek(loc.offset + loc.length // 2)
        f.write(bytes(b ^ 0xFF for b in data))
    return pack


@pytest.fixture
def damaged(tmp_path, repo, request):
    """Two snapshots sharing a chunk of DAMAGED, then that chunk flipped on disk."""
    source = make_clinic(tmp_path / "Clinic")
    first = repo.backup(source)["snapshot_id"]
    second = repo.backup(source)["snapshot_id"]
    flip_bytes_in_chunk(repo.path, DAMAGED, getattr(request, "param", "middle"))
    return repo, source, {first, second}


def test_check_without_read_data_does_not_crash(damaged):
    repo, _, _ = damaged
    cp = run_cli(["check", "--repo", repo.path])
    assert cp.returncode in (0, 6), explain(cp)
    assert "Traceback" not in cp.stderr


def test_check_read_data_names_snapshots_and_file(damaged):
    repo, _, snapshot_ids = damaged
    cp = ok(run_cli(["check", "--repo", repo.path, "--read-data", "--json"]), 6)
    found = events(cp, "damage_found")
    assert {e["path"] for e in found} == {DAMAGED}  # only the damaged file, nothing else
    assert {e["snapshot_id"] for e in found} == snapshot_ids
    finished = events(cp, "check_finished")[0]
    assert set(finished["damaged_snapshots"]) == snapshot_ids
    assert summary(cp)["ok"] is False


def test_check_read_data_text_output_names_file(damaged):
    repo, _, _ = damaged
    cp = ok(run_cli(["check", "--repo", repo.path, "--read-data"]), 6)
    assert DAMAGED in cp.stdout + cp.stderr
    assert "Traceback" not in cp.stderr


@pytest.mark.parametrize("damaged", ["first", "middle", "last"], indirect=True)
def test_restore_never_writes_damaged_content(tmp_path, damaged):
    repo, source, _ = damaged
    target = tmp_path / "restored"
    cp = ok(repo.restore(target), 6)
    assert DAMAGED in {e["path"] for e in events(cp, "restore_problem")}
    restored = describe_tree(target / "Clinic")
    original = describe_tree(source)
    for rel, what in restored.items():  # nothing partial, nothing wrong
        assert rel in original, f"unexpected file in the restore: {rel}"
        assert what == original[rel], rel
    assert "Patients/xray-damaged.bin" not in restored
    # Everything undamaged was restored.
    assert set(original) - set(restored) == {"Patients/xray-damaged.bin"}


# --- a backup killed half-way -----------------------------------------------------------


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def test_killed_backup_leaves_usable_repository(tmp_path, repo):
    source = tmp_path / "BigImages"
    for i in range(24):  # 192 MiB of incompressible data
        random_file(source / f"folder{i % 4}" / f"scan{i:02}.raw", 8 * 1024 * 1024)
    tree_bytes = 24 * 8 * 1024 * 1024

    proc = subprocess.Popen(
        cli_command(["backup", "--repo", repo.path, "--path", source, "--json"]),
        cwd=ROOT, env=cli_env(), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        # Packs exist and at least one index file lists some of them.
        wait_for(lambda: any((repo.path / "index").iterdir()) or proc.poll() is not None, 60, "an index file")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not any((repo.path / "snapshots").iterdir()), "the backup finished before it could be killed"
    assert any(p.is_file() for p in (repo.path / "data").rglob("*") if not p.name.startswith(".tmp-"))
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
