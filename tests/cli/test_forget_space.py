"""What forgetting would free, measured read-only with the machine's write-only credentials
(the Frequency screen's estimate and ``forget --dry-run``), and ``forget`` itself killed with
SIGKILL at seeded random moments: the repository stays valid, every remaining snapshot
restores exactly, and running forget again finishes the job."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import cli_command, describe_tree, events, json_lines, ok, random_file, summary

from engine import credentials
from engine.repository.prune import estimate_freed

ROOT = Path(__file__).resolve().parents[2]
KEEP = 3
SEEDS = range(8)


def _snapshots(repo) -> list[str]:
    cp = ok(repo.run(["snapshots", "--repo", repo.path, "--json"]))
    return [e["id"] for e in json_lines(cp.stdout) if e["event"] == "snapshot"]


def _change(source: Path, rng: random.Random, step: int) -> list[Path]:
    """Delete 3 files and add 3 new ones; returns the new files."""
    for f in rng.sample(sorted(p for p in source.iterdir() if p.is_file()), 3):
        f.unlink()
    return [random_file(source / f"step{step}-{i}.jpg", rng.randrange(20_000, 90_000)) for i in range(3)]


@pytest.fixture
def history(tmp_path, repo):
    """An enrolled repository whose stored policy keeps the newest 3, then 8 unattended backups of a
    changing folder (so 5 are due to go); with each snapshot's tree and the bytes of the files that
    only the 5 oldest backups hold."""
    ok(repo.run(["enroll", "--repo", repo.path]))
    rng = random.Random(1414)
    source = tmp_path / "Images"
    for i in range(12):
        random_file(source / f"scan{i}.jpg", rng.randrange(20_000, 90_000))
    trees: dict[str, dict] = {}
    sizes: dict[str, int] = {}
    last_seen: dict[str, int] = {}
    for step in range(8):
        snap_id = repo.backup(source, env=repo.env(None))["snapshot_id"]
        trees[snap_id] = describe_tree(source)
        if step == 0:  # stored while nothing is due, so storing it removes nothing
            ok(repo.run(["forget", "--repo", repo.path, "--keep-last", str(KEEP), "--save-policy"]))
        for path in source.iterdir():
            sizes[path.name], last_seen[path.name] = path.stat().st_size, step
        _change(source, rng, step)
    only_removed = sum(sizes[name] for name, step in last_seen.items() if step < 8 - KEEP)
    return repo, trees, only_removed


def _tree_state(root: Path) -> dict[str, tuple]:
    """Every file and folder below ``root``: its bytes (files) and modification time."""
    state: dict[str, tuple] = {}
    for dirpath, _dirs, files in os.walk(root):
        state[dirpath] = ("dir", os.stat(dirpath).st_mtime_ns)
        for name in files:
            path = os.path.join(dirpath, name)
            state[path] = (Path(path).read_bytes(), os.stat(path).st_mtime_ns)
    return state


def _unused(repo) -> int:
    """What prune's own plan counts as stored bytes no snapshot uses (a dry run deletes nothing)."""
    cp = ok(repo.run(["prune", "--repo", repo.path, "--dry-run", "--json"], passphrase=None))
    return events(cp, "prune_planned")[0]["bytes_unused"]


def test_the_estimate_is_read_only_and_exactly_what_the_forget_leaves_unused(history):
    repo, trees, only_removed = history
    ids = _snapshots(repo)
    assert len(ids) == 8
    before = _tree_state(repo.path)
    opened = credentials.open_repository(str(repo.path), credentials.Sources.here(session=None), full=False)
    assert not opened.can_read  # machine credentials only, as on the practice server
    estimate = estimate_freed(opened, ids[: 8 - KEEP])
    assert _tree_state(repo.path) == before  # read-only: not even a lock file was written

    assert estimate.snapshots_removed == 5 and estimate.bytes_unused_now == _unused(repo) == 0
    # Sealed random data is a little larger than the files: at least their bytes, and the rest is
    # the listings, refs lists and the seal of each blob.
    assert only_removed <= estimate.bytes_freed <= only_removed * 1.03 + 64 * 1024
    dry = ok(repo.run(["forget", "--repo", repo.path, "--dry-run", "--json"], passphrase=None))
    doc = summary(dry)
    assert (doc["would_free"], doc["unused_now"]) == (estimate.bytes_freed, 0)
    text = ok(repo.run(["forget", "--repo", repo.path, "--dry-run"], passphrase=None)).stdout
    assert "Forgetting them would free about " in text
    assert _snapshots(repo) == ids

    ok(repo.run(["forget", "--repo", repo.path], passphrase=None))
    assert _snapshots(repo) == ids[8 - KEEP:]
    assert _unused(repo) == estimate.bytes_freed  # exactly what prune then finds unused
    again = estimate_freed(opened, [])
    assert (again.bytes_freed, again.bytes_unused_now) == (0, estimate.bytes_freed)


def _killed_forget(repo, changes: int) -> subprocess.CompletedProcess:
    command = [sys.executable, str(Path(__file__).with_name("kill_after.py")), str(changes),
               "forget", "--repo", str(repo.path)]
    return subprocess.run(command, cwd=ROOT, env=repo.env(None), capture_output=True, text=True, timeout=120)


def _restores_exactly(repo, trees: dict[str, dict], out: Path) -> list[str]:
    ok(repo.run(["check", "--repo", repo.path, "--read-data"]))
    remaining = _snapshots(repo)
    for snap_id in remaining:
        ok(repo.restore(out / snap_id[:8], snapshot=snap_id[:8]))
        assert describe_tree(out / snap_id[:8] / "Images") == trees[snap_id]
    return remaining


def test_forget_killed_at_random_moments_leaves_a_valid_repository(tmp_path, history):
    """Forget (snapshot files deleted, without --prune) with machine credentials, SIGKILLed at
    seeded moments: half right after a random one of its file-system changes, half after a random
    time. Each time check --read-data passes, every snapshot left restores exactly, and forget run
    again leaves exactly the snapshots the policy keeps."""
    import shutil

    original, trees, _only = history
    ids = _snapshots(original)
    reference = tmp_path / "reference"
    shutil.copytree(original.path, reference, symlinks=True)
    counted_repo = type(original)(reference, original.recovery_key, original.repo_id, original.base_env)
    started = time.monotonic()
    counted = _killed_forget(counted_repo, 0)
    total = time.monotonic() - started
    assert counted.returncode == 0, counted.stderr
    changes = int(counted.stderr.rsplit("changes:", 1)[1])
    assert changes >= 8 - KEEP  # one per snapshot file, then the lock
    partial = 0
    for seed in SEEDS:
        rng = random.Random(seed)
        path = tmp_path / f"seed{seed}"
        shutil.copytree(original.path, path, symlinks=True)
        repo = type(original)(path, original.recovery_key, original.repo_id, original.base_env)
        if seed % 2:
            cp = _killed_forget(repo, rng.randint(1, changes))
            assert cp.returncode == -signal.SIGKILL, cp.stderr
        else:
            proc = subprocess.Popen(cli_command(["forget", "--repo", repo.path]), cwd=ROOT, env=repo.env(None),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0, total))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        remaining = _restores_exactly(repo, trees, tmp_path / f"out{seed}")
        assert set(ids[8 - KEEP:]) <= set(remaining)
        partial += len(remaining) not in (8, KEEP)
        ok(repo.run(["forget", "--repo", repo.path], passphrase=None))  # a later run finishes the job
        assert _snapshots(repo) == ids[8 - KEEP:]
        ok(repo.run(["check", "--repo", repo.path], passphrase=None))
    assert partial >= 2, f"only {partial} kill(s) landed between two snapshot deletions"
