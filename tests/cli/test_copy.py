"""``odbackup init --related-to`` and ``odbackup copy``: snapshots moved into a related repository as
sealed bytes with only the machine's write-only credentials, nothing sent twice, and a copy killed at
any moment leaves a target that passes ``check`` and that the next copy completes."""
from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from cli_helpers import (
    PASSPHRASE,
    Repo,
    cli_command,
    describe_tree,
    events,
    explain,
    init_repo,
    json_lines,
    ok,
    random_file,
    shared_env,
    summary,
)
from test_prune import _describe_db, _drop, back_up_a_changing_folder

ROOT = Path(__file__).resolve().parents[2]
SEEDS = range(10)


def _related(source: Repo, path: Path, label: str = "Drive B, kept at home") -> Repo:
    doc = summary(ok(source.run(["init", path, "--related-to", source.path, "--label", label, "--json"])))
    assert doc["repository_id"] != source.repo_id and doc["label"] == label
    # REPO's recovery key opens it: no key of its own (FORMAT.md 10.4)
    assert doc["recovery_key"] is None and doc["recovery_key_of"] == source.repo_id
    return Repo(path, source.recovery_key, doc["repository_id"], source.base_env)


def _copy_cmd(source: Repo, target: Repo, *args: str, code: int = 0, passphrase: str | None = None,
              as_json: bool = True):
    json_arg = ["--json"] if as_json else []
    return ok(source.run(["copy", "--repo", source.path, "--to", target.path, *args, *json_arg],
                         passphrase=passphrase), code)


@pytest.fixture(scope="module")
def practice(tmp_path_factory):
    """A repository (machine enrolled) with 3 snapshots of a changing folder, the newest with a
    database too; with what each snapshot holds."""
    base = tmp_path_factory.mktemp("copy")
    repo = init_repo(base / "repo", base_env=shared_env(base / "home"))
    ok(repo.run(["enroll", "--repo", repo.path]))
    expected, database, source = back_up_a_changing_folder(repo, base, seed=15, files=40, backups=3,
                                                           db_prefix="odb_copy")
    yield repo, expected, database, source


def _clone(repo: Repo, path: Path) -> Repo:
    shutil.copytree(repo.path, path, symlinks=True)
    return Repo(path, repo.recovery_key, repo.repo_id, repo.base_env)


def _assert_restores_exactly(target: Repo, expected: list, database: dict, out: Path) -> None:
    """Every snapshot restores byte-exactly from the target, the database one with restore-db."""
    ok(target.run(["check", "--repo", target.path, "--read-data"]))
    for snap_id, tree in expected:
        ok(target.restore(out / snap_id[:8], snapshot=snap_id[:8]))
        assert describe_tree(out / snap_id[:8] / "Images") == tree
    restored = f"odb_copy_r_{uuid.uuid4().hex[:8]}"
    try:
        ok(target.run(["restore-db", "--repo", target.path, expected[-1][0][:8], "--into",
                       f"mysql://root@127.0.0.1:3306/{restored}"]))
        assert _describe_db(restored) == database
    finally:
        _drop(restored)


def test_related_init_has_its_own_id_and_label_and_opens_with_the_passphrase(tmp_path, practice):
    repo, _expected, _database, _source = practice
    target = _related(repo, tmp_path / "driveB")
    config = (target.path / "config").read_text()
    assert "Drive B, kept at home" in config and target.repo_id in config
    ok(target.run(["snapshots", "--repo", target.path]))  # REPO's passphrase opens it
    ok(target.run(["passwd", "--repo", target.path], ODBACKUP_NEW_PASSPHRASE="another long passphrase"))
    ok(target.run(["snapshots", "--repo", target.path], passphrase="another long passphrase"))
    ok(target.run(["snapshots", "--repo", target.path], passphrase=target.recovery_key))
    assert target.run(["snapshots", "--repo", target.path], passphrase=PASSPHRASE).returncode == 4
    ok(repo.run(["snapshots", "--repo", repo.path], passphrase=PASSPHRASE))  # REPO's own is unchanged


def test_related_init_with_the_recovery_key_takes_a_new_passphrase(tmp_path, practice):
    repo, *_ = practice
    cp = ok(repo.run(["init", tmp_path / "driveB", "--related-to", repo.path, "--json"],
                     passphrase=repo.recovery_key, ODBACKUP_NEW_PASSPHRASE="the archive drive's own one"))
    assert summary(cp)["recovery_key"] is None
    target = Repo(tmp_path / "driveB", repo.recovery_key, summary(cp)["repository_id"], repo.base_env)
    ok(target.run(["snapshots", "--repo", target.path], passphrase="the archive drive's own one"))
    ok(target.run(["snapshots", "--repo", target.path], passphrase=repo.recovery_key))
    assert target.run(["snapshots", "--repo", target.path], passphrase=PASSPHRASE).returncode == 4


def test_the_main_recovery_key_restores_a_related_copy_exactly_with_the_main_repository_gone(tmp_path, practice):
    repo, expected, database, _source = practice
    main = _clone(repo, tmp_path / "main")
    target = _related(main, tmp_path / "supplemental", label="Supplemental copy")
    _copy_cmd(main, target)
    shutil.rmtree(main.path)  # the main drive is lost
    key_only = Repo(target.path, main.recovery_key, target.repo_id, main.base_env)
    ok(key_only.run(["snapshots", "--repo", target.path], passphrase=main.recovery_key))
    for snap_id, tree in expected:
        out = tmp_path / "out" / snap_id[:8]
        ok(key_only.run(["restore", "--repo", target.path, snap_id[:8], "--to", out], passphrase=main.recovery_key))
        assert describe_tree(out / "Images") == tree
    restored = f"odb_copy_r_{uuid.uuid4().hex[:8]}"
    try:
        ok(key_only.run(["restore-db", "--repo", target.path, expected[-1][0][:8], "--into",
                         f"mysql://root@127.0.0.1:3306/{restored}"], passphrase=main.recovery_key))
        assert _describe_db(restored) == database
    finally:
        _drop(restored)


def test_related_to_an_old_style_main_repository_prints_its_own_recovery_key_and_says_why(tmp_path, practice):
    from oldstyle import make_old_style

    repo, *_ = practice
    main = _clone(repo, tmp_path / "main")
    make_old_style(str(main.path), PASSPHRASE, main.recovery_key)
    cp = ok(main.run(["init", tmp_path / "driveB", "--related-to", main.path]))
    assert "was made by an older odbackup, so its recovery key does not open this one" in cp.stdout, explain(cp)
    own = next(line.strip() for line in cp.stdout.splitlines() if line.strip().startswith("RK-"))
    target = Repo(tmp_path / "driveB", own, "", main.base_env)
    ok(target.run(["snapshots", "--repo", target.path], passphrase=own))
    assert target.run(["snapshots", "--repo", target.path], passphrase=main.recovery_key).returncode == 4
    cp = ok(main.run(["init", tmp_path / "driveC", "--related-to", main.path], passphrase=main.recovery_key,
                     ODBACKUP_NEW_PASSPHRASE="the drive's own passphrase"))  # given the recovery key: it opens both
    assert "with the same recovery key" in cp.stdout and "RK-" not in cp.stdout, explain(cp)
    ok(target.run(["snapshots", "--repo", tmp_path / "driveC"], passphrase=main.recovery_key))


def test_related_init_needs_the_passphrase(tmp_path, practice):
    repo, *_ = practice
    cp = ok(repo.run(["init", tmp_path / "driveB", "--related-to", repo.path], passphrase=None), 2)
    assert "needs the passphrase" in cp.stderr, explain(cp)
    assert not (tmp_path / "driveB" / "config").exists()
    cp = ok(repo.run(["init", tmp_path / "driveC", "--related-to", repo.path], passphrase="not the passphrase"), 4)
    assert not (tmp_path / "driveC" / "config").exists()


def test_copy_all_with_machine_credentials_then_again_sends_nothing(tmp_path, practice):
    repo, expected, database, _source = practice
    target = _related(repo, tmp_path / "driveB")
    cp = _copy_cmd(repo, target)
    doc = summary(cp)
    assert sorted(doc["snapshots_copied"]) == sorted(s for s, _ in expected), explain(cp)
    assert doc["bytes_sent"] > 2_000_000 and doc["blobs"] > 0
    assert len(events(cp, "snapshot_copied")) == 3 and events(cp, "copy_finished")
    assert {p.name for p in (target.path / "snapshots").iterdir()} == {s for s, _ in expected}
    again = summary(_copy_cmd(repo, target))
    assert again["snapshots_copied"] == [] and again["blobs"] == 0 and again["bytes_sent"] == 0
    assert again["snapshots_present"] == 3
    ok(target.run(["check", "--repo", target.path], passphrase=None))  # machine credentials of REPO
    _assert_restores_exactly(target, expected, database, tmp_path / "out")


def test_copy_after_a_small_change_sends_only_the_new_blobs(tmp_path, practice):
    repo, expected, _database, source = practice
    work = _clone(repo, tmp_path / "repo")
    target = _related(work, tmp_path / "driveB")
    first = summary(_copy_cmd(work, target))
    changed = tmp_path / "Images"
    shutil.copytree(source, changed)
    random_file(changed / "A" / "new-xray.jpg", 200_000)
    snap = summary(ok(work.run(["backup", "--repo", work.path, "--path", changed, "--json"], passphrase=None)))
    doc = summary(_copy_cmd(work, target))
    assert doc["snapshots_copied"] == [snap["snapshot_id"]]
    assert 200_000 <= doc["bytes_sent"] < 0.2 * first["bytes_sent"], doc
    ok(target.restore(tmp_path / "out", snapshot=snap["snapshot_id"][:8]))
    assert describe_tree(tmp_path / "out" / "Images") == describe_tree(changed)


def test_copy_of_named_snapshots_only(tmp_path, practice):
    repo, expected, _database, _source = practice
    target = _related(repo, tmp_path / "driveB")
    doc = summary(_copy_cmd(repo, target, expected[0][0][:8]))
    assert doc["snapshots_copied"] == [expected[0][0]]
    ok(target.run(["check", "--repo", target.path, "--read-data"]))


def test_copy_into_an_unrelated_repository_needs_the_passphrase_and_refuses_plainly(tmp_path, practice):
    repo, *_ = practice
    other = init_repo(tmp_path / "other", base_env=repo.base_env)  # unrelated, not enrolled here
    before = other.files()
    cp = _copy_cmd(repo, other, code=4, as_json=False)  # machine credentials only: refused
    assert "is not related to" in cp.stderr and "passphrase" in cp.stderr and "--related-to" in cp.stderr, \
        explain(cp)
    assert other.files() == before
    cp = _copy_cmd(repo, other, code=4, passphrase="not the passphrase", as_json=False)
    assert other.files() == before, explain(cp)


def test_copy_into_an_unrelated_repository_reseals_with_both_passphrases(tmp_path, practice):
    """Other keys: every blob opened and sealed again; the target's own passphrase opens the copies,
    which restore exactly (folders and the database); a second copy sends nothing."""
    repo, expected, database, _source = practice
    other = init_repo(tmp_path / "other", passphrase="the other repository's one", base_env=repo.base_env)
    cp = ok(repo.run(["copy", "--repo", repo.path, "--to", other.path, "--json"],
                     ODBACKUP_TO_PASSPHRASE="the other repository's one"))
    doc = summary(cp)
    assert len(doc["snapshots_copied"]) == 3 and doc["bytes_sent"] > 2_000_000, explain(cp)
    assert not set(doc["snapshots_copied"]) & {s for s, _ in expected}  # sealed with other keys: new IDs
    again = summary(ok(repo.run(["copy", "--repo", repo.path, "--to", other.path, "--json"],
                                ODBACKUP_TO_PASSPHRASE="the other repository's one")))
    assert again["snapshots_copied"] == [] and again["bytes_sent"] == 0
    mapped = [(new, tree) for new, (_old, tree) in zip(doc["snapshots_copied"], expected, strict=True)]
    target = Repo(other.path, other.recovery_key, other.repo_id, repo.base_env)
    env_target = {"passphrase": "the other repository's one"}
    ok(target.run(["check", "--repo", target.path, "--read-data"], **env_target))
    for snap_id, tree in mapped:
        ok(target.restore(tmp_path / "out" / snap_id[:8], snapshot=snap_id[:8],
                          env=target.env("the other repository's one")))
        assert describe_tree(tmp_path / "out" / snap_id[:8] / "Images") == tree
    restored = f"odb_copy_u_{uuid.uuid4().hex[:8]}"
    try:
        ok(target.run(["restore-db", "--repo", target.path, mapped[-1][0][:8], "--into",
                       f"mysql://root@127.0.0.1:3306/{restored}"], **env_target))
        assert _describe_db(restored) == database
    finally:
        _drop(restored)


def _killed_copy(source: Repo, target: Repo, changes: int, *args: str,
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, str(Path(__file__).with_name("kill_after.py")), str(changes),
               "copy", "--repo", str(source.path), "--to", str(target.path), *args]
    return subprocess.run(command, cwd=ROOT, env=source.env(None) if env is None else env, capture_output=True,
                          text=True, timeout=120)


def test_copy_killed_at_random_moments_leaves_a_valid_target_that_the_next_copy_completes(tmp_path, practice):
    """Ten seeded SIGKILLs: half at a random time, half right after a random one of copy's file-system
    changes. Each time the target passes check, the next copy completes without sending again blobs
    that already landed in complete packs, and every snapshot restores exactly from the target."""
    repo, expected, database, _source = practice
    reference = _related(repo, tmp_path / "reference")
    started = time.monotonic()
    counted = _killed_copy(repo, reference, 0)
    total = time.monotonic() - started
    assert counted.returncode == 0, counted.stderr
    changes = int(counted.stderr.rsplit("changes:", 1)[1])
    assert changes > 10
    full = summary(_copy_cmd(repo, _related(repo, tmp_path / "measure")))["bytes_sent"]
    in_the_middle = 0
    for seed in SEEDS:
        rng = random.Random(seed)
        target = _related(repo, tmp_path / f"seed{seed}")
        if seed % 2:
            cp = _killed_copy(repo, target, rng.randint(1, changes))
            assert cp.returncode == -signal.SIGKILL, cp.stderr
        else:
            proc = subprocess.Popen(cli_command(["copy", "--repo", repo.path, "--to", target.path]), cwd=ROOT,
                                    env=repo.env(None), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0, total))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        packs = [p for p in (target.path / "data").rglob("*") if p.is_file() and not p.name.startswith(".tmp")]
        landed = sum(p.stat().st_size for p in packs)
        in_the_middle += 0 < landed
        ok(target.run(["check", "--repo", target.path], passphrase=None))
        doc = summary(_copy_cmd(repo, target))
        # what landed in complete packs is not sent again (a pack's header is at most a few KiB here)
        assert full - landed <= doc["bytes_sent"] <= full - landed + 8192 * len(packs), (doc, landed, full)
        _assert_restores_exactly(target, expected, database, tmp_path / f"out{seed}")
    assert in_the_middle >= 3, f"only {in_the_middle} kill(s) landed after copy had sent data"


OTHER = "the other repository's one"
RESEAL_SEEDS = range(4)
TREES = 2048  # slack for re-sealed trees' compressed sizes (see the test)


def test_reseal_copy_killed_at_random_moments_leaves_a_valid_target_that_the_next_copy_completes(
        tmp_path, practice):
    """The re-sealing path (an unrelated target, both passphrases) under four seeded SIGKILLs: half at
    a random time, half right after a random one of copy's file-system changes. Each time the target
    passes check --read-data, the next copy completes without sending again blobs that already landed
    in complete packs, and every snapshot restores exactly from the target."""
    repo, expected, database, _source = practice
    env = repo.env(PASSPHRASE, ODBACKUP_TO_PASSPHRASE=OTHER)
    reference = init_repo(tmp_path / "reference", passphrase=OTHER, base_env=repo.base_env)
    started = time.monotonic()
    counted = _killed_copy(repo, reference, 0, "--json", env=env)
    total = time.monotonic() - started
    assert counted.returncode == 0, counted.stderr
    changes = int(counted.stderr.rsplit("changes:", 1)[1])
    assert changes > 10
    full = summary(counted)["bytes_sent"]
    assert len(summary(counted)["snapshots_copied"]) == 3 and full > 2_000_000
    in_the_middle = 0
    for seed in RESEAL_SEEDS:
        rng = random.Random(seed)
        target = init_repo(tmp_path / f"seed{seed}", passphrase=OTHER, base_env=repo.base_env)
        if seed % 2:
            cp = _killed_copy(repo, target, rng.randint(1, changes), env=env)
            assert cp.returncode == -signal.SIGKILL, cp.stderr
        else:
            proc = subprocess.Popen(cli_command(["copy", "--repo", repo.path, "--to", target.path]), cwd=ROOT,
                                    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0, total))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        packs = [p for p in (target.path / "data").rglob("*") if p.is_file() and not p.name.startswith(".tmp")]
        landed = sum(p.stat().st_size for p in packs)
        in_the_middle += 0 < landed
        ok(target.run(["check", "--repo", target.path, "--read-data"], passphrase=OTHER))
        cp = ok(repo.run(["copy", "--repo", repo.path, "--to", target.path, "--json"], ODBACKUP_TO_PASSPHRASE=OTHER))
        doc = summary(cp)
        assert len(doc["snapshots_copied"]) + doc["snapshots_present"] == 3, explain(cp)
        # what landed in complete packs is not sent again (a pack's header is at most a few KiB here).
        # Re-sealed trees name the target's blob IDs, and each target has its own ID key: their
        # compressed sizes differ by a few bytes from the reference copy's (31 bytes seen), hence TREES.
        assert full - landed - TREES <= doc["bytes_sent"] <= full - landed + 8192 * len(packs) + TREES, \
            (doc, landed, full)
        listing = ok(target.run(["snapshots", "--repo", target.path, "--json"], passphrase=OTHER))
        times = sorted((e["time"], e["id"]) for e in json_lines(listing.stdout) if e["event"] == "snapshot")
        assert len(times) == 3, explain(listing)  # none copied twice
        mapped = [(new, tree) for (_time, new), (_old, tree) in zip(times, expected, strict=True)]
        out = tmp_path / f"out{seed}"
        ok(target.run(["check", "--repo", target.path, "--read-data"], passphrase=OTHER))
        for snap_id, tree in mapped:
            ok(target.restore(out / snap_id[:8], snapshot=snap_id[:8], env=target.env(OTHER)))
            assert describe_tree(out / snap_id[:8] / "Images") == tree
        restored = f"odb_copy_k_{uuid.uuid4().hex[:8]}"
        try:
            ok(target.run(["restore-db", "--repo", target.path, mapped[-1][0][:8], "--into",
                           f"mysql://root@127.0.0.1:3306/{restored}"], passphrase=OTHER))
            assert _describe_db(restored) == database
        finally:
            _drop(restored)
    assert in_the_middle >= 2, f"only {in_the_middle} kill(s) landed after copy had sent data"
