"""Over a practice's uplink: ``--limit-upload`` paces what is sent to the bucket, ``--stop-at``
stops a copy (or backup) cleanly at the end of the window and the next run continues; the copy's
progress carries what the rate and the time left are computed from."""
from __future__ import annotations

import random
import threading
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cli_helpers import Repo, describe_tree, events, explain, init_repo, ok, random_file, summary
from test_cli_s3 import init_at, module_env

from engine.errors import Cancelled, UsageError
from engine.repository.uplink import Uplink, parse_rate, window_end

LIMIT = 1_000_000  # bytes per second: about 4.5 s for the scans below


@pytest.mark.parametrize(("text", "rate"), [("20Mbit", 2_500_000), ("2.5MB", 2_500_000), ("800KiB", 819_200),
                                            ("100kbit/s", 12_500), ("1000", 1000), ("1.5 MBps", 1_500_000)])
def test_rates_are_read_as_internet_plans_write_them(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["", "fast", "-3MB", "0", "20 parsecs"])
def test_a_rate_that_is_not_one_is_refused(text):
    with pytest.raises(UsageError, match="not an upload rate"):
        parse_rate(text)


def test_the_window_ends_at_the_next_such_time():
    evening = datetime(2026, 12, 7, 21, 0).astimezone()
    assert window_end("06:30", evening) == evening.replace(hour=6, minute=30) + timedelta(days=1)
    assert window_end("23:15:10", evening) == evening.replace(hour=23, minute=15, second=10)
    for bad in ("24:00", "6.30", "06:61", "noon"):
        with pytest.raises(UsageError, match="not a time of day"):
            window_end(bad, evening)


def test_pacing_waits_until_the_average_is_under_the_limit_and_a_cancel_ends_the_wait():
    now = [100.0]
    cancel = threading.Event()
    uplink = Uplink(cancel, limit=1000, clock=lambda: now[0])
    waited: list[float] = []
    cancel.wait = lambda timeout=None: waited.append(timeout) or False  # type: ignore[method-assign]
    uplink.sent("data/ab/pack1", 3000)  # 3 s of budget used at once
    now[0] += 1.0
    uplink.sent("data/cd/pack2", 1000)  # 4 s due, 1 s passed
    uplink.sent("locks/exclusive", 10**6)  # a lock is refreshed, never held back
    assert waited == [3.0, 3.0]
    uplink._close()  # the window ends: the next pack sent stops the run
    with pytest.raises(Cancelled, match="upload window ended"):
        uplink.sent("data/ef/pack3", 10)
    uplink.sent("snapshots/s", 10)


@pytest.fixture
def offsite(tmp_path, seaweed) -> tuple[Repo, Path, str]:
    """A local repository (machine enrolled) with one snapshot of ~4.5 MB of scans, and a location
    in the bucket for a related repository."""
    local = init_repo(tmp_path / "local", base_env=module_env(tmp_path / "home"))
    ok(local.run(["enroll", "--repo", local.path]))
    source = tmp_path / "src" / "Images"
    rng = random.Random(5)
    for i in range(30):
        random_file(source / f"scan{i}.jpg", rng.randrange(100_000, 200_000))
    ok(local.run(["backup", "--repo", local.path, "--path", source]))
    return local, source, seaweed.location(f"uplink-{uuid.uuid4().hex[:10]}")


def _related(local: Repo, location: str) -> Repo:
    doc = summary(ok(local.run(["init", location, "--related-to", local.path, "--json"])))
    return Repo(location, doc["recovery_key"], doc["repository_id"], local.base_env)  # type: ignore[arg-type]


def test_a_limited_copy_keeps_under_the_limit_on_average_and_reports_its_progress(offsite):
    local, _source, location = offsite
    target = _related(local, location)
    cp = ok(local.run(["copy", "--repo", local.path, "--to", target.path, "--limit-upload", f"{LIMIT}B",
                       "--json"], passphrase=None))
    doc = summary(cp)
    assert doc["bytes_sent"] > 4_000_000
    assert doc["seconds"] >= 0.9 * doc["bytes_sent"] / LIMIT, explain(cp)  # the pace held
    progress = events(cp, "copy_progress")
    assert len(progress) >= 2 and all(p["elapsed"] >= 0 for p in progress)
    assert progress[-1]["bytes_done"] == progress[-1]["bytes_total"] == doc["bytes_sent"]


def test_a_copy_stopped_by_the_window_ends_plainly_and_the_next_run_continues(offsite, seaweed, tmp_path):
    local, source, location = offsite
    target = _related(local, location)
    prefix = location.rsplit("/", 1)[1]
    stop_at = (datetime.now() + timedelta(seconds=3)).strftime("%H:%M:%S")
    cp = local.run(["copy", "--repo", local.path, "--to", target.path, "--limit-upload", f"{LIMIT}B",
                    "--stop-at", stop_at], passphrase=None)
    assert cp.returncode == 3, explain(cp)
    assert f"Stopped at {stop_at}, the end of the upload window" in cp.stderr and "Traceback" not in cp.stderr
    assert "next run continues" in cp.stderr
    landed = sum(s for n, s in seaweed.objects(prefix).items() if n.startswith("data/"))
    assert landed > 0
    ok(target.run(["check", "--repo", target.path], passphrase=None))
    doc = summary(ok(local.run(["copy", "--repo", local.path, "--to", target.path, "--json"], passphrase=None)))
    assert doc["packs_adopted"] <= 1  # the pack sent as the window ended; the others were indexed at once
    total = sum(s for n, s in seaweed.objects(prefix).items() if n.startswith("data/"))
    assert total - landed <= doc["bytes_sent"] * 1.1 + 4096 and doc["bytes_sent"] < total
    ok(target.run(["check", "--repo", target.path, "--read-data"]))
    ok(target.restore(tmp_path / "out"))
    assert describe_tree(tmp_path / "out" / "Images") == describe_tree(source)


def test_a_backup_to_the_bucket_stopped_by_the_window_continues_at_the_next_run(tmp_path, seaweed, s3_env):
    source = tmp_path / "src" / "Images"
    for i in range(30):
        random_file(source / f"scan{i}.jpg", 150_000)
    repo = init_at(seaweed.location(f"uplink-backup-{uuid.uuid4().hex[:10]}"), module_env(tmp_path / "home"))
    stop_at = (datetime.now() + timedelta(seconds=3)).strftime("%H:%M:%S")
    cp = repo.run(["backup", "--repo", repo.path, "--path", source, "--limit-upload", f"{LIMIT}B",
                   "--stop-at", stop_at])
    assert cp.returncode == 3 and "the end of the upload window" in cp.stderr, explain(cp)
    ok(repo.run(["backup", "--repo", repo.path, "--path", source]))
    ok(repo.run(["check", "--repo", repo.path, "--read-data"]))
    ok(repo.restore(tmp_path / "out"))
    assert describe_tree(tmp_path / "out" / "Images") == describe_tree(source)
