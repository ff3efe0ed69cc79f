"""``odbackup run maintenance`` end to end with the machine's write-only credentials only:
retention by the policy stored in the repository, reclaiming space, a check; and what it says
(and records) when no policy is stored."""
from __future__ import annotations

import os

import pytest
from cli_helpers import describe_tree, explain, json_lines, ok, random_file, summary

from engine import runlog
from engine.settings import Settings, save_settings


def _run(repo, args: list, code: int = 0):
    """The command with machine credentials only (no passphrase in the environment)."""
    return ok(repo.run(args, passphrase=None), code)


def _snapshots(repo) -> list[str]:
    cp = ok(repo.run(["snapshots", "--repo", repo.path, "--json"]))
    return [e["id"] for e in json_lines(cp.stdout) if e["event"] == "snapshot"]


@pytest.fixture
def enrolled(tmp_path, repo):
    """Saved settings backing up an images folder into ``repo``; this machine enrolled."""
    images = tmp_path / "Images"
    images.mkdir()
    save_settings(Settings(repository=str(repo.path), extra_folders=(str(images),)))
    ok(repo.run(["enroll", "--repo", repo.path]))
    return repo, images


def _nightly(repo, images, i: int) -> tuple[str, dict]:
    """One ``run backup`` after a day's change (a new scan, the oldest scan gone); returns the
    snapshot ID and the folder as it was saved."""
    random_file(images / f"scan-{i:02d}.jpg", 60_000)
    if i >= 2:
        (images / f"scan-{i - 2:02d}.jpg").unlink()  # only the older snapshots still hold it
    done = summary(_run(repo, ["run", "backup", "--json"]))
    assert done["result"] == "ok", done
    return done["snapshot_id"], describe_tree(images)


def test_maintenance_applies_the_stored_policy_frees_space_checks_and_what_stays_restores(tmp_path, enrolled):
    repo, images = enrolled
    saved = [_nightly(repo, images, 0)]
    ok(repo.run(["forget", "--repo", repo.path, "--save-policy", "--keep-last", "3"]))  # the passphrase holder
    saved += [_nightly(repo, images, i) for i in range(1, 8)]
    assert _snapshots(repo) == [snap for snap, _tree in saved]
    size_before = repo.size()

    cp = _run(repo, ["run", "maintenance", "--json"])
    done = summary(cp)
    assert done["result"] == "ok", explain(cp)
    assert "Retention removed 5 snapshot(s) and kept 3; reclaiming space freed" in done["message"]
    assert "check found no errors (3 snapshot(s)" in done["message"]
    assert {e["snapshot_id"] for e in json_lines(cp.stdout) if e["event"] == "snapshot_forgotten"} == \
        {snap for snap, _tree in saved[:5]}
    assert _snapshots(repo) == [snap for snap, _tree in saved[5:]]
    freed = size_before - repo.size()
    assert freed > 4 * 60_000, freed  # the scans only the forgotten snapshots held are gone
    record = runlog.last_run("maintenance", os.environ["ODBACKUP_LOG_DIR"])
    assert record is not None and record.result == "ok" and record.message == done["message"]

    ok(repo.run(["check", "--repo", repo.path, "--read-data"]))
    for snap, tree in saved[5:]:
        target = tmp_path / "out" / snap[:8]
        ok(repo.restore(target, snapshot=snap[:8]))
        assert describe_tree(target / "Images") == tree


def test_maintenance_without_a_stored_policy_says_retention_was_skipped(enrolled):
    repo, images = enrolled
    ids = [_nightly(repo, images, i)[0] for i in range(3)]
    cp = _run(repo, ["run", "maintenance", "--json"], code=3)
    done = summary(cp)
    assert done["result"] == "incomplete", explain(cp)
    assert ("retention skipped: no retention policy stored in the repository (the passphrase holder runs "
            "odbackup forget --save-policy, or the setup stores it)") in done["message"]
    assert "check found no errors (3 snapshot(s)" in done["message"]
    assert _snapshots(repo) == ids
    record = runlog.last_run("maintenance", os.environ["ODBACKUP_LOG_DIR"])
    assert record is not None and record.result == "incomplete" and "no retention policy" in record.message

