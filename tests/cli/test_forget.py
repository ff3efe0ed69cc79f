"""``odbackup forget``: retention in plain words, the policy stored in the repository, and what
machine credentials may (apply it) and may not (set or loosen it) do."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cli_helpers import describe_tree, events, explain, json_lines, ok, random_file, summary

from engine import crypto


def _snapshots(repo) -> list[str]:
    """Snapshot IDs, oldest first."""
    cp = ok(repo.run(["snapshots", "--repo", repo.path, "--json"]))
    return [e["id"] for e in json_lines(cp.stdout) if e["event"] == "snapshot"]


def _backups(repo, source: Path, n: int, env=None) -> list[str]:
    """``n`` backups of ``source``, each after adding a new file; returns all snapshot IDs, oldest first."""
    for i in range(n):
        random_file(source / f"scan-{len(list(source.iterdir()))}-{i}.jpg", 40_000)
        repo.backup(source, env=env)
    return _snapshots(repo)


@pytest.fixture
def four(tmp_path, repo):
    """A repository with four snapshots of a growing folder."""
    source = tmp_path / "Images"
    source.mkdir()
    return repo, source, _backups(repo, source, 4)


def _forget(repo, *args, passphrase=True, code=0):
    extra = {} if passphrase else {"passphrase": None}
    return ok(repo.run(["forget", "--repo", repo.path, *args], **extra), code)


def test_forget_dry_run_says_what_it_would_keep_and_why_and_removes_nothing(four):
    repo, _source, ids = four
    cp = _forget(repo, "--keep-last", "2", "--dry-run")
    assert f"keep    {ids[3][:8]}" in cp.stdout and "last snapshot; newest complete snapshot" in cp.stdout
    assert f"would remove {ids[0][:8]}" in cp.stdout and f"would remove {ids[1][:8]}" in cp.stdout
    assert "Would remove 2 snapshot(s), kept 2." in cp.stdout
    assert _snapshots(repo) == ids


def test_forget_removes_and_reports_json_events(four):
    repo, _source, ids = four
    cp = _forget(repo, "--keep-last", "1", "--json")
    kept = events(cp, "snapshot_kept")
    assert [e["snapshot_id"] for e in kept] == [ids[3]]
    assert kept[0]["reasons"] == ["last snapshot", "newest complete snapshot"]
    assert sorted(e["snapshot_id"] for e in events(cp, "snapshot_forgotten")) == sorted(ids[:3])
    assert summary(cp)["removed"] == [ids[2], ids[1], ids[0]]
    assert _snapshots(repo) == [ids[3]]


def test_forget_keeps_the_newest_verified_snapshot_and_every_verification_report(tmp_path, four):
    repo, _source, ids = four
    ok(repo.run(["verify", "--repo", repo.path, ids[1][:8]]))
    reports = sorted(os.listdir(repo.path / "reports"))
    assert len(reports) == 1
    cp = _forget(repo, "--keep-last", "1")
    assert f"keep    {ids[1][:8]}" in cp.stdout and "newest verified snapshot" in cp.stdout
    assert _snapshots(repo) == [ids[1], ids[3]]
    _forget(repo, "--keep-last", "1", "--keep-within", "0h")  # a second run changes nothing
    assert sorted(os.listdir(repo.path / "reports")) == reports


def test_forget_without_rules_or_stored_policy_refuses_plainly(four):
    repo, _source, ids = four
    cp = _forget(repo, code=2)
    assert "No retention rule was given and the repository has no stored policy" in cp.stderr
    assert _snapshots(repo) == ids


def test_a_wrong_duration_is_a_usage_error(four):
    repo, _source, _ids = four
    cp = _forget(repo, "--keep-within", "two days", code=2)
    assert "is not a duration" in cp.stderr


# --- the policy stored in the repository ---------------------------------------------------


@pytest.fixture
def enrolled(four):
    repo, source, ids = four
    ok(repo.run(["enroll", "--repo", repo.path]))
    return repo, source, ids


def test_machine_credentials_apply_the_stored_policy(enrolled):
    repo, source, ids = enrolled
    cp = _forget(repo, "--keep-last", "3", "--save-policy")
    assert "It is now stored in the repository" in cp.stdout
    assert _snapshots(repo) == ids[1:]
    ids = _backups(repo, source, 2, env=repo.env(None))  # unattended backups: 5 snapshots now
    cp = _forget(repo, "--json", passphrase=False)
    doc = summary(cp)
    assert doc["policy_source"] == "stored" and doc["policy"] == "3 latest"
    assert sorted(doc["removed"]) == sorted(ids[:2])
    assert _snapshots(repo) == ids[2:]


def test_forget_with_machine_credentials_refused_when_it_would_loosen_the_stored_policy(enrolled):
    repo, _source, ids = enrolled
    _forget(repo, "--keep-last", "3", "--save-policy", "--dry-run")  # a dry run stores nothing
    assert not (repo.path / "policy").exists()
    _forget(repo, "--keep-last", "3", "--save-policy")
    ids = ids[1:]
    cp = _forget(repo, "--keep-last", "1", passphrase=False, code=4)
    assert "Forget with machine credentials refused" in cp.stderr and "Nothing was removed" in cp.stderr
    assert _snapshots(repo) == ids
    cp = _forget(repo, "--keep-within", "1y", passphrase=False)  # tighter (keeps more): fine
    assert "Removed 0 snapshot(s), kept 3." in cp.stdout


def test_machine_credentials_cannot_set_the_policy(enrolled):
    repo, _source, ids = enrolled
    cp = _forget(repo, "--keep-last", "1", "--save-policy", passphrase=False, code=4)
    assert "Only the passphrase holder may set the retention policy" in cp.stderr
    assert not (repo.path / "policy").exists() and _snapshots(repo) == ids
    cp = _forget(repo, "--keep-last", "1", passphrase=False, code=4)  # no stored policy: none to apply
    assert "none is stored yet" in cp.stderr and _snapshots(repo) == ids


def test_a_policy_written_with_machine_credentials_is_refused(enrolled):
    """A stolen server holds the maintenance key and could write a 'policy' file; its signature
    cannot be made without the passphrase, so forget refuses it (exit 6) and removes nothing."""
    repo, _source, ids = enrolled
    _forget(repo, "--keep-last", "4", "--save-policy")
    creds = json.loads(next(Path(os.environ["ODBACKUP_CONFIG_DIR"]).rglob("credentials/*.json")).read_text())
    maint_key = crypto.unb64(creds["maint_key"])
    doc = json.loads(crypto.unseal(maint_key, (repo.path / "policy").read_bytes(), "retention policy"))
    doc["policy"]["last"] = 1  # loosened, signature kept
    (repo.path / "policy").write_bytes(crypto.seal(maint_key, json.dumps(doc).encode(), "retention policy"))
    for passphrase in (False, True):
        cp = _forget(repo, passphrase=passphrase, code=6)
        assert "was not set with the passphrase" in cp.stderr, explain(cp)
    assert _snapshots(repo) == ids


def test_save_policy_without_rules_stores_the_settings_retention(enrolled):
    repo, _source, ids = enrolled
    config = Path(os.environ["ODBACKUP_CONFIG_DIR"])
    (config / "settings.toml").write_text(f'repository = "{repo.path}"\n\n[retention]\nwithin = "0"\n'
                                          "last = 2\ndaily = 0\nweekly = 0\nmonthly = 0\nyearly = 0\n")
    cp = _forget(repo, "--save-policy", "--json")
    assert summary(cp)["policy"] == "2 latest" and summary(cp)["policy_source"] == "saved"
    assert _snapshots(repo) == ids[2:]


def test_forget_prune_frees_the_space_and_what_stays_restores(tmp_path, four):
    repo, source, ids = four
    before = describe_tree(source)
    size_before = repo.size()
    for f in sorted(source.iterdir())[:2]:
        f.unlink()
    repo.backup(source)
    cp = _forget(repo, "--keep-last", "1", "--prune", "--json")
    assert summary(cp)["prune"]["bytes_freed"] > 0
    assert repo.size() < size_before
    ok(repo.run(["check", "--repo", repo.path, "--read-data"]))
    ok(repo.restore(tmp_path / "out"))
    after = describe_tree(tmp_path / "out" / "Images")
    assert after == {k: v for k, v in describe_tree(source).items()}
    assert set(after) < set(before)


def test_forget_dry_run_with_prune_says_what_would_be_freed_and_deletes_nothing(four):
    repo, source, ids = four
    for f in sorted(source.iterdir())[:3]:
        f.unlink()
    repo.backup(source)
    files = repo.files()
    cp = _forget(repo, "--keep-last", "1", "--prune", "--dry-run", "--json")
    planned = events(cp, "prune_planned")[0]
    assert planned["snapshots"] == 1 and planned["bytes_to_free"] > 3 * 40_000
    assert summary(cp)["prune"]["packs_deleted"] == 0
    assert repo.files() == files
