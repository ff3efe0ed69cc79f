"""Object Lock (COMPLIANCE) on a real SeaweedFS bucket made with Object Lock on: packs, index and
snapshot files are locked when written (never lock files), the storage keys alone cannot delete a
locked version, forget and prune leave locked objects, maintenance extends the locks, and an
object whose lock ran out is deleted as usual."""
from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime, timedelta

import obstore
import pytest
from cli_helpers import events, explain, ok, random_file, run_cli, summary
from seaweed import KEY_ID, SECRET
from test_cli_s3 import init_at, module_env

from engine import storagekeys
from engine.repository.repo import Repository
from engine.repository.s3 import S3Backend, S3Location
from engine.repository.s3lock import Signer
from engine.repository.storage import StillLocked

LOCK_BUCKET = "odlocked"


@pytest.fixture(scope="module")
def lock_bucket(seaweed) -> str:
    """A bucket created with Object Lock on (as a provider's console makes one)."""
    where = S3Location.parse(seaweed.location("x", bucket=LOCK_BUCKET))
    signer = Signer(where, storagekeys.StorageKeys(KEY_ID, SECRET), "us-east-1")
    status, body = signer.request("PUT", None, {}, headers={"x-amz-bucket-object-lock-enabled": "true"})
    assert status == 200, body
    return LOCK_BUCKET


def _retention(backend: S3Backend, name: str) -> datetime | None:
    assert backend.object_lock is not None
    return backend.object_lock.locked_until(name)


def test_init_with_object_lock_needs_a_bucket_that_has_it(seaweed, s3_env, tmp_path):
    env = module_env(tmp_path / "home")
    cp = run_cli(["init", seaweed.location(f"nolock-{uuid.uuid4().hex[:6]}"), "--object-lock-days", "30"], env)
    assert cp.returncode == 2 and "does not have Object Lock turned on" in cp.stderr, explain(cp)
    cp = run_cli(["init", str(tmp_path / "folder"), "--object-lock-days", "7"], env)
    assert cp.returncode == 2 and "Object Lock is for online storage" in cp.stderr, explain(cp)


def test_backups_lock_packs_index_and_snapshots_and_forget_and_prune_leave_them(seaweed, s3_env, lock_bucket,
                                                                              tmp_path):
    env = module_env(tmp_path / "home")
    prefix = f"locked-{uuid.uuid4().hex[:6]}"
    repo = init_at(seaweed.location(prefix, bucket=lock_bucket), env, "--object-lock-days", "9")
    source = tmp_path / "src" / "Images"
    rng = random.Random(3)
    for i in range(12):
        random_file(source / f"x{i}.jpg", rng.randrange(50_000, 150_000))
    snaps = []
    for step in range(2):
        snaps.append(summary(ok(repo.run(["backup", "--repo", repo.path, "--path", source, "--json"])))["snapshot_id"])
        for f in sorted(source.iterdir())[:6]:
            f.unlink()
        for i in range(6):
            random_file(source / f"new{step}-{i}.jpg", 120_000)
    backend = Repository.open(repo.path).backend  # type: ignore[arg-type]
    assert isinstance(backend, S3Backend) and backend.object_lock is not None
    now = datetime.now(UTC)
    before = seaweed.objects(prefix, bucket=lock_bucket)
    for name in before:
        until = _retention(backend, name)
        if name.startswith(("data/", "index/", "snapshots/")):
            assert until is not None and now + timedelta(days=9, hours=-1) < until < now + timedelta(days=9, hours=1), name
        else:
            assert until is None, name  # config, keys: never locked (there are no lock files left now)
    # someone holding the storage keys cannot delete a locked version
    pack = next(n for n in before if n.startswith("data/"))
    version = obstore.head(seaweed.store(prefix, lock_bucket), pack)["version"]
    signer = Signer(backend.where, storagekeys.StorageKeys(KEY_ID, SECRET), "us-east-1")
    status, body = signer.request("DELETE", f"{prefix}/{pack}", {"versionId": str(version)})
    assert status == 403 and b"AccessDenied" in body, (status, body)
    # forget keeps the older snapshot while its lock runs; prune deletes no locked pack
    cp = ok(repo.run(["forget", "--repo", repo.path, "--keep-last", "1", "--prune", "--json"]))
    kept = {e["snapshot_id"]: e["reasons"] for e in events(cp, "snapshot_kept")}
    assert kept[snaps[0]] == [f"locked until {(now + timedelta(days=9)):%Y-%m-%d} (Object Lock)"], explain(cp)
    assert events(cp, "snapshot_forgotten") == []
    after = seaweed.objects(prefix, bucket=lock_bucket)
    assert {n for n in before if n.startswith(("data/", "snapshots/"))} <= set(after)
    ok(repo.run(["check", "--repo", repo.path, "--read-data"]))
    ok(repo.restore(tmp_path / "out", snapshot=snaps[0][:8]))
    assert sum(1 for _ in (tmp_path / "out" / "Images").iterdir()) == 12


def test_maintenance_locks_what_a_killed_run_left_unlocked_and_an_expired_lock_lets_prune_delete(
        seaweed, s3_env, lock_bucket, tmp_path):
    env = module_env(tmp_path / "home")
    prefix = f"extend-{uuid.uuid4().hex[:6]}"
    repo = init_at(seaweed.location(prefix, bucket=lock_bucket), env, "--object-lock-days", "20")
    backend = Repository.open(repo.path).backend  # type: ignore[arg-type]
    assert isinstance(backend, S3Backend) and backend.object_lock is not None
    store = seaweed.store(prefix, lock_bucket)
    obstore.put(store, "data/aa/unlocked-left-by-a-kill", b"x" * 100)  # sent, then killed before its lock
    assert _retention(backend, "data/aa/unlocked-left-by-a-kill") is None
    assert backend.extend_locks() == 1
    assert _retention(backend, "data/aa/unlocked-left-by-a-kill") is not None
    assert backend.extend_locks() == 0  # none running out yet (20 days: extended under 10 days left)
    obstore.put(store, "data/bb/short", b"y" * 100)
    backend.object_lock.lock("data/bb/short", datetime.now(UTC) + timedelta(seconds=3))
    with pytest.raises(StillLocked, match="data/bb/short is locked until"):
        backend.remove("data/bb/short")
    time.sleep(4)
    backend.remove("data/bb/short")
    assert "data/bb/short" not in seaweed.objects(prefix, bucket=lock_bucket)
    cp = ok(repo.run(["prune", "--repo", repo.path, "--json"]))  # the unindexed leftover is locked: it stays
    assert "data/aa/unlocked-left-by-a-kill" in seaweed.objects(prefix, bucket=lock_bucket), explain(cp)

    # scheduled maintenance with no retention policy stored (no prune runs) still keeps the locks up
    obstore.put(store, "data/cc/left-unlocked", b"z" * 100)
    ok(repo.run(["enroll", "--repo", repo.path]))
    (tmp_path / "Images").mkdir()
    for key, value in (("repository", repo.path), ("folders.images", str(tmp_path / "Images"))):
        ok(repo.run(["config", "set", key, value]))
    done = summary(repo.run(["run", "maintenance", "--json"], passphrase=None))
    assert done["result"] == "incomplete" and "no retention policy stored" in done["message"], done
    assert _retention(backend, "data/cc/left-unlocked") is not None
