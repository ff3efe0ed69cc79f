"""A folder backup killed with SIGKILL at seeded moments leaves a valid repository.

The sealing pipeline's worker threads append sealed chunks to the pack and publish full
packs themselves (engine/pipeline.py), while the walk stores tree and refs blobs from the
main thread: a kill can land while a worker is writing, publishing a pack or saving the
index. kill_after.py stops the run right after its Nth file-system change (a pack or
index published, a file removed), for seeded N across the whole run.
"""
from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from cli_helpers import ROOT, Repo, describe_tree, ok, random_file, run_cli, summary

SEED = 1707


def _tree(root: Path) -> Path:
    """Small documents, x-ray-sized incompressible files and compressible scans (a few MB)."""
    rng = random.Random(SEED)
    for i in range(60):
        folder = root / chr(ord("A") + i % 5) / f"Patient{i:03}"
        random_file(folder / f"xray_{i}.jpg", rng.randint(40_000, 300_000))
        (folder / f"note_{i}.txt").write_bytes(f"visit {i}: ".encode() * rng.randint(50, 2000))
        if i % 7 == 0:
            words = [f"word{rng.randint(0, 500)}".encode() for _ in range(120_000)]
            (folder / f"scan_{i}.pdf").write_bytes(b" ".join(words))
    return root


def _killed_backup(repo, source: Path, changes: int) -> subprocess.CompletedProcess:
    """``backup`` SIGKILLed right after its ``changes``-th file-system change (0: counted only)."""
    command = [sys.executable, str(Path(__file__).with_name("kill_after.py")), str(changes),
               "backup", "--repo", str(repo.path), "--path", str(source), "--json"]
    return subprocess.run(command, cwd=ROOT, env=repo.env(), capture_output=True, text=True, timeout=120)


def _change_count(cp: subprocess.CompletedProcess) -> int:
    line = next(line for line in cp.stderr.splitlines() if line.startswith("changes: "))
    return int(line.split()[1])


def test_a_backup_killed_at_seeded_moments_leaves_a_valid_repository(tmp_path, repo):
    """Four seeded kills, each into a fresh repository: after each, check --read-data passes,
    the next backup completes (reusing what the killed run had stored) and restores exactly."""
    source = _tree(tmp_path / "OpenDentImages")
    empty = shutil.copytree(repo.path, tmp_path / "empty")
    counting = _killed_backup(repo, source, 0)  # a complete run: how many changes it makes
    assert counting.returncode == 0, counting.stderr
    changes = _change_count(counting)
    assert changes > 20  # packs of 256 KiB (tests/conftest.py): many publishes to stop between

    for n in sorted(random.Random(SEED).sample(range(1, changes), 4)):
        killed = Repo(shutil.copytree(empty, tmp_path / f"killed-{n}"), repo.recovery_key, repo.repo_id)
        cp = _killed_backup(killed, source, n)
        assert cp.returncode == -signal.SIGKILL, f"not killed after change {n} of {changes}: {cp.stderr}"
        assert not list((killed.path / "snapshots").iterdir()), n
        check = run_cli(["check", "--repo", killed.path, "--read-data"], killed.env())
        assert check.returncode == 0, f"after a kill at change {n}: {check.stdout}{check.stderr}"

        doc = summary(ok(run_cli(["backup", "--repo", killed.path, "--path", source, "--json"], killed.env())))
        assert doc["complete"] is True and doc["files"] == counting_files(counting), n
        ok(run_cli(["check", "--repo", killed.path, "--read-data"], killed.env()))
        target = tmp_path / f"restored-{n}"
        ok(killed.restore(target))
        assert describe_tree(target / "OpenDentImages") == describe_tree(source), n


def counting_files(cp: subprocess.CompletedProcess) -> int:
    """The file count of the complete run's summary line."""
    return int(next(json.loads(line) for line in cp.stdout.splitlines() if '"summary"' in line)["files"])
