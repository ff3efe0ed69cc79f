"""kill -9 during a backup into a bucket and during a copy into a bucket, at seeded random moments
(half right after a random one of the run's PUTs, half at a random time): ``check`` passes, the
next run completes and sends only what the bucket lacks (measured with the server's own list of
objects), and everything restores exactly."""
from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from cli_helpers import ROOT, Repo, cli_command, describe_tree, init_repo, ok, random_file, summary
from seaweed import Seaweed
from test_cli_s3 import init_at, module_env

SEEDS = range(6)
KILLER = str(Path(__file__).with_name("kill_after_puts.py"))
SLACK = 1.10  # "sends at most 10 % more than what was left"


def _data(server: Seaweed, prefix: str) -> dict[str, int]:
    return {n: s for n, s in server.objects(prefix).items() if n.startswith("data/")}


def _killed(repo: Repo, args: list, rng: random.Random, puts: int, seconds: float, seed: int) -> None:
    """Run ``odbackup ARGS`` and SIGKILL it: after a random PUT (odd seeds) or at a random time."""
    if seed % 2:
        cp = subprocess.run([sys.executable, KILLER, str(rng.randint(1, puts - 1)), *map(str, args)], cwd=ROOT,
                            env=repo.env(), capture_output=True, text=True, timeout=120)
        assert cp.returncode == -signal.SIGKILL, cp.stderr
        return
    proc = subprocess.Popen(cli_command(args), cwd=ROOT, env=repo.env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(rng.uniform(0, seconds))
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _counted(repo: Repo, args: list) -> tuple[int, float]:
    """Run to the end, counting PUTs; returns (PUTs, seconds)."""
    started = time.monotonic()
    cp = subprocess.run([sys.executable, KILLER, "0", *map(str, args)], cwd=ROOT, env=repo.env(),
                        capture_output=True, text=True, timeout=300)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    return int(cp.stderr.rsplit("puts: ", 1)[1].split()[0]), time.monotonic() - started


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("s3crash") / "Images"
    rng = random.Random(99)
    for i in range(36):
        random_file(source / "ABCD"[i % 4] / f"scan{i}.jpg", rng.randrange(60_000, 220_000))
    return source


def test_backup_killed_at_random_moments_resumes_sending_only_what_is_missing(tmp_path, seaweed, images):
    env = module_env(tmp_path / "home")
    reference = init_at(seaweed.location(f"ref-{uuid.uuid4().hex[:8]}"), env)
    args = lambda repo: ["backup", "--repo", repo.path, "--path", images]  # noqa: E731
    puts, seconds = _counted(reference, args(reference))
    full = sum(_data(seaweed, reference.path.rsplit("/", 1)[1]).values())  # type: ignore[attr-defined]
    landed_somewhere = 0
    for seed in SEEDS:
        rng = random.Random(seed)
        prefix = f"kill-{seed}-{uuid.uuid4().hex[:6]}"
        repo = init_at(seaweed.location(prefix), env)
        _killed(repo, args(repo), rng, puts, seconds, seed)
        landed = sum(_data(seaweed, prefix).values())
        landed_somewhere += landed > 0
        ok(repo.run(["check", "--repo", repo.path]))
        before = _data(seaweed, prefix)
        ok(repo.run(args(repo)))
        sent = sum(size for name, size in _data(seaweed, prefix).items() if name not in before)
        assert sent <= (full - landed) * SLACK + 4096, (seed, sent, full, landed)
        ok(repo.run(["check", "--repo", repo.path, "--read-data"]))
        ok(repo.restore(tmp_path / f"out{seed}"))
        assert describe_tree(tmp_path / f"out{seed}" / "Images") == describe_tree(images)
    assert landed_somewhere >= 2, f"only {landed_somewhere} kill(s) landed after the backup had sent packs"


def test_copy_into_a_bucket_killed_at_random_moments_resumes_sending_only_what_is_missing(
        tmp_path, seaweed, images):
    local = init_repo(tmp_path / "local", base_env=module_env(tmp_path / "home"))
    ok(local.run(["enroll", "--repo", local.path]))
    snap = summary(ok(local.run(["backup", "--repo", local.path, "--path", images, "--json"])))

    def _related(prefix: str) -> Repo:
        doc = summary(ok(local.run(["init", seaweed.location(prefix), "--related-to", local.path, "--json"])))
        return Repo(seaweed.location(prefix), doc["recovery_key"], doc["repository_id"], local.base_env)  # type: ignore[arg-type]

    args = lambda target: ["copy", "--repo", local.path, "--to", target.path]  # noqa: E731
    ref_prefix = f"cref-{uuid.uuid4().hex[:8]}"
    reference = _related(ref_prefix)
    puts, seconds = _counted(local, args(reference))
    full = sum(_data(seaweed, ref_prefix).values())
    landed_somewhere = 0
    for seed in SEEDS:
        rng = random.Random(100 + seed)
        prefix = f"ckill-{seed}-{uuid.uuid4().hex[:6]}"
        target = _related(prefix)
        _killed(local, args(target), rng, puts, seconds, seed)
        landed = sum(_data(seaweed, prefix).values())
        landed_somewhere += landed > 0
        ok(target.run(["check", "--repo", target.path], passphrase=None))
        before = _data(seaweed, prefix)
        doc = summary(ok(local.run([*args(target), "--json"], passphrase=None)))
        # (a kill after the snapshot file was published leaves nothing to copy but the check)
        assert doc["snapshots_copied"] == ([] if doc["snapshots_present"] else [snap["snapshot_id"]])
        sent = sum(size for name, size in _data(seaweed, prefix).items() if name not in before)
        assert sent <= (full - landed) * SLACK + 4096, (seed, sent, full, landed)
        ok(target.run(["check", "--repo", target.path, "--read-data"]))
        ok(target.restore(tmp_path / f"out{seed}"))
        assert describe_tree(tmp_path / f"out{seed}" / "Images") == describe_tree(images)
    assert landed_somewhere >= 2, f"only {landed_somewhere} kill(s) landed after the copy had sent packs"


def test_the_offsite_job_killed_at_random_moments_resumes_sending_only_what_is_missing(tmp_path, seaweed, images):
    """``odbackup run offsite`` (the scheduled job, forced) killed as the copy above: the next run
    of the job completes, is recorded ``ok`` and sends only what the bucket lacks."""
    local = init_repo(tmp_path / "local", base_env=module_env(tmp_path / "home"))
    ok(local.run(["enroll", "--repo", local.path]))
    ok(local.run(["backup", "--repo", local.path, "--path", images]))
    for key, value in (("repository", local.path), ("folders.images", images), ("offsite.enabled", "on")):
        ok(local.run(["config", "set", key, value]))

    def _offsite(prefix: str) -> Repo:
        doc = summary(ok(local.run(["init", seaweed.location(prefix), "--related-to", local.path, "--json"])))
        ok(local.run(["config", "set", "offsite.location", seaweed.location(prefix)]))
        return Repo(seaweed.location(prefix), doc["recovery_key"], doc["repository_id"], local.base_env)  # type: ignore[arg-type]

    args = ["run", "offsite", "--force"]
    ref_prefix = f"oref-{uuid.uuid4().hex[:8]}"
    _offsite(ref_prefix)
    puts, seconds = _counted(local, args)
    full = sum(_data(seaweed, ref_prefix).values())
    landed_somewhere = 0
    for seed in range(4):
        rng = random.Random(200 + seed)
        prefix = f"okill-{seed}-{uuid.uuid4().hex[:6]}"
        target = _offsite(prefix)
        _killed(local, args, rng, puts, seconds, seed)
        landed = sum(_data(seaweed, prefix).values())
        landed_somewhere += landed > 0
        ok(target.run(["check", "--repo", target.path], passphrase=None))
        before = _data(seaweed, prefix)
        doc = summary(ok(local.run([*args, "--json"], passphrase=None)))
        assert doc["result"] == "ok" and doc["message"].startswith(f"Offsite copy to {target.path}: "), doc
        sent = sum(size for name, size in _data(seaweed, prefix).items() if name not in before)
        assert sent <= (full - landed) * SLACK + 4096, (seed, sent, full, landed)
        ok(target.run(["check", "--repo", target.path, "--read-data"]))
        ok(target.restore(tmp_path / f"out{seed}"))
        assert describe_tree(tmp_path / f"out{seed}" / "Images") == describe_tree(images)
    assert landed_somewhere >= 1, "no kill landed after the offsite run had sent packs"
