"""Object Lock on the offsite repository (a real SeaweedFS bucket made with Object Lock on): the
nightly ``run offsite`` is the only job that writes there, so it keeps the locks up itself: it
locks what a run killed between a PUT and its lock left unlocked, and extends the locks that are
running out, also when its window stops it before the copy is done."""
from __future__ import annotations

import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import obstore
import pytest
from cli_helpers import ROOT, Repo, cli_env, explain, init_repo, ok, random_file, run_cli, summary
from seaweed import KEY_ID, SECRET
from test_crash_s3 import KILLER

from engine import storagekeys
from engine.repository.repo import Repository
from engine.repository.s3 import LOCKED_FOLDERS, S3Backend, S3Location
from engine.repository.s3lock import Signer

BUCKET = "odlocked-offsite"
DAYS = 9
SCANS = 24


def _clock(at: datetime) -> str:
    return f"{at:%H:%M}"


@pytest.fixture
def locked_office(tmp_path, seaweed, s3_env, prefix) -> tuple[Repo, Repo]:
    """A main repository on a drive with one snapshot of ~3.5 MB of scans, and the offsite
    repository related to it in a bucket with Object Lock, its objects locked ``DAYS`` days."""
    where = S3Location.parse(seaweed.location("x", bucket=BUCKET))
    status, body = Signer(where, storagekeys.StorageKeys(KEY_ID, SECRET), "us-east-1").request(
        "PUT", None, {}, headers={"x-amz-bucket-object-lock-enabled": "true"})
    assert status in (200, 409), body  # (409: made by an earlier test on this server)
    local = init_repo(tmp_path / "usb" / "repo")
    ok(run_cli(["enroll", "--repo", local.path], cli_env()))
    source = tmp_path / "OpenDentImages"
    rng = random.Random(31)
    for i in range(SCANS):
        random_file(source / f"scan{i}.jpg", rng.randrange(100_000, 200_000))
    ok(run_cli(["backup", "--repo", local.path, "--path", source], cli_env()))
    location = seaweed.location(prefix, bucket=BUCKET)
    doc = summary(ok(run_cli(["init", location, "--related-to", local.path, "--object-lock-days", str(DAYS),
                              "--json"], cli_env())))
    now = datetime.now()
    for key, value in (("repository", local.path), ("folders.images", source), ("offsite.location", location),
                       ("offsite.window", f"{_clock(now - timedelta(hours=1))}-{_clock(now + timedelta(hours=1))}"),
                       ("offsite.enabled", "on")):
        ok(run_cli(["config", "set", key, value], cli_env()))
    return local, Repo(location, doc["recovery_key"], doc["repository_id"], None)  # type: ignore[arg-type]


def _locks(location: str) -> dict[str, datetime | None]:
    """Every pack, index and snapshot file of the repository at ``location``: until when it is
    locked, as the server says (None: not locked)."""
    backend = Repository.open(location).backend
    assert isinstance(backend, S3Backend) and backend.object_lock is not None
    lock = backend.object_lock
    return {name: lock.locked_until(name) for folder in LOCKED_FOLDERS for name, _ in backend.list(folder)}


def _run_offsite(*extra: str) -> subprocess.CompletedProcess:
    return run_cli(["run", "offsite", "--json", *extra], cli_env(None))


def test_run_offsite_locks_what_a_kill_left_unlocked_and_extends_running_out_locks_also_when_the_window_stops_it(
        locked_office, seaweed, prefix):
    _local, offsite = locked_office
    # killed right after the 2nd PUT (the run's lock file, then a pack): a pack sent, never locked
    cp = subprocess.run([sys.executable, KILLER, "2", "run", "offsite", "--force"], cwd=ROOT, env=cli_env(None),
                        capture_output=True, text=True, timeout=120)
    assert cp.returncode == -9, cp.stderr
    left = _locks(offsite.path)
    assert [n for n, until in left.items() if until is None and n.startswith("data/")], left
    # what day 31 of a 30-day lock looks like: a pack whose lock is about to run out, and one never locked
    store = seaweed.store(prefix, BUCKET)
    backend = Repository.open(offsite.path).backend
    assert isinstance(backend, S3Backend) and backend.object_lock is not None
    obstore.put(store, "data/ee/running-out", b"e" * 1000)
    backend.object_lock.lock("data/ee/running-out", datetime.now(UTC) + timedelta(hours=1))
    obstore.put(store, "data/ff/never-locked", b"f" * 1000)

    # a night whose window ends before the copy is done (the upload limit makes it too slow)
    now = datetime.now()
    end = (now + timedelta(minutes=1)).replace(second=0, microsecond=0)
    if (end - now).total_seconds() < 8:
        end += timedelta(minutes=1)
    rate = int(3_000_000 / ((end - now).total_seconds() + 15))  # ~3 MB to send
    ok(run_cli(["config", "set", "offsite.limit_upload", f"{rate}B"], cli_env()))
    ok(run_cli(["config", "set", "offsite.window", f"{_clock(now - timedelta(hours=1))}-{_clock(end)}"],
               cli_env()))
    cp = _run_offsite("--scheduled")
    done = summary(cp)
    assert cp.returncode == 3 and done["result"] == "incomplete", explain(cp)
    _every_object_locked(offsite.path, ("data/ee/running-out", "data/ff/never-locked"))
    assert "Object Lock extended on" in done["message"], explain(cp)

    ok(run_cli(["config", "unset", "offsite.limit_upload"], cli_env()))
    final = summary(ok(_run_offsite("--force")))
    assert final["result"] == "ok", final
    snapshot = f"snapshots/{final['snapshot_id']}"
    _every_object_locked(offsite.path, ("data/ee/running-out", "data/ff/never-locked", snapshot))
    ok(run_cli(["check", "--repo", offsite.path, "--read-data"], cli_env()))


def _every_object_locked(location: str, planted: tuple[str, ...]) -> None:
    """Every pack, index and snapshot file locked at least half the period from now; what was
    planted unlocked or running out, for the whole period again."""
    now = datetime.now(UTC)
    locks = _locks(location)
    assert set(planted) <= set(locks) and any(n.startswith("index/") for n in locks), locks
    short = {n: u for n, u in locks.items() if u is None or u < now + timedelta(days=DAYS / 2)}
    assert short == {}, short
    for name in planted:
        until = locks[name]
        assert until is not None and until > now + timedelta(days=DAYS, minutes=-10), (name, until)


def test_a_lock_period_shorter_than_the_weekly_renewal_is_refused_in_plain_words(seaweed, s3_env, prefix):
    where = S3Location.parse(seaweed.location("x", bucket=BUCKET))
    Signer(where, storagekeys.StorageKeys(KEY_ID, SECRET), "us-east-1").request(
        "PUT", None, {}, headers={"x-amz-bucket-object-lock-enabled": "true"})
    location = seaweed.location(prefix, bucket=BUCKET)
    for days in ("1", "7", "3651"):
        cp = run_cli(["init", location, "--object-lock-days", days], cli_env())
        assert cp.returncode == 2 and f"between {DAYS} and 3650 days" in cp.stderr, explain(cp)
        assert ("could run out between two runs that renew it" in cp.stderr) == (days != "3651"), explain(cp)
    assert seaweed.objects(prefix, bucket=BUCKET) == {}  # nothing made
    ok(run_cli(["init", location, "--object-lock-days", str(DAYS)], cli_env()))


def test_weekly_renewals_keep_every_allowed_period_locked_without_a_gap():
    """Table-driven over the periods a repository may have: a lock renewed (when due) by runs a
    week apart, starting at any moment of its life, never runs out before the next run."""
    from engine.repository.s3lock import MIN_DAYS, ObjectLock

    start = datetime(2026, 1, 5, 23, 30, tzinfo=UTC)
    where = S3Location.parse("s3:http://127.0.0.1:1/bucket/x")
    for days in (MIN_DAYS, 9, 10, 13, 14, 15, 16, 17, 30, 365):
        lock = ObjectLock(where, storagekeys.StorageKeys("id", "secret"), "us-east-1", days)
        for written_hours_before in range(0, 7 * 24, 5):  # written at any time between two runs
            until = start - timedelta(hours=written_hours_before) + timedelta(days=days)
            for week in range(12):
                run = start + timedelta(days=7 * week)
                assert until - run >= timedelta(days=1), (days, written_hours_before, week)
                if lock.needs_extending(until, run):
                    until = run + timedelta(days=days)


def test_a_copy_that_resumes_a_killed_one_locks_the_pack_the_kill_left_unlocked(locked_office):
    local, offsite = locked_office
    cp = subprocess.run([sys.executable, KILLER, "2", "copy", "--repo", local.path, "--to", offsite.path],
                        cwd=ROOT, env=cli_env(), capture_output=True, text=True, timeout=120)
    assert cp.returncode == -9, cp.stderr
    unlocked = [n for n, until in _locks(offsite.path).items() if until is None]
    assert unlocked and all(n.startswith("data/") for n in unlocked), unlocked
    cp = ok(run_cli(["copy", "--repo", local.path, "--to", offsite.path, "--json"], cli_env()))
    assert '"packs_adopted": 1' in cp.stdout, explain(cp)  # (a plain copy extends no locks: adopting it locks it)
    locks = _locks(offsite.path)
    assert all(locks[n] is not None and locks[n] > datetime.now(UTC) + timedelta(days=DAYS - 1) for n in unlocked)
    assert None not in locks.values(), locks
