"""Every repository use with the repository in a real bucket (SeaweedFS), through the real
``odbackup`` command: init, backup of a database (the real MariaDB) and folders, exact restores,
verify, check --read-data, copy into a related repository in the bucket, forget and prune; and
the server stopped in the middle of a run."""
from __future__ import annotations

import random
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from cli_helpers import (
    PASSPHRASE,
    ROOT,
    Repo,
    cli_command,
    describe_tree,
    events,
    explain,
    ok,
    random_file,
    run_cli,
    shared_env,
    summary,
)
from seaweed import KEY_ID, SECRET, Seaweed
from test_prune import _change, _describe_db, _drop, back_up_a_changing_folder


def module_env(home: Path) -> dict[str, str]:
    """A module's isolated environment with the server's keys (as a scheduled run has them)."""
    env = shared_env(home)
    env.update(AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET, ODBACKUP_S3_RETRY_SECONDS="3")
    return env


def init_at(location: str, env: dict[str, str], *extra: str) -> Repo:
    doc = summary(ok(run_cli(["init", location, *extra, "--json"], env)))
    return Repo(location, doc["recovery_key"], doc["repository_id"], env)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def bucket_practice(tmp_path_factory, seaweed):
    """A repository in the bucket (machine enrolled) with 3 snapshots of a changing images folder,
    the newest with a database too; with what each snapshot holds."""
    base = tmp_path_factory.mktemp("s3practice")
    env = module_env(base / "home")
    repo = init_at(seaweed.location(f"practice-{uuid.uuid4().hex[:8]}"), env)
    ok(repo.run(["enroll", "--repo", repo.path]))
    expected, database, source = back_up_a_changing_folder(repo, base, seed=16, files=30, backups=3,
                                                           db_prefix="odb_s3")
    yield repo, expected, database, source


def assert_restores_exactly(repo: Repo, expected: list, database: dict, out: Path) -> None:
    """check --read-data passes, every snapshot restores byte-exactly, the database one with restore-db."""
    ok(repo.run(["check", "--repo", repo.path, "--read-data"]))
    for snap_id, tree in expected:
        ok(repo.restore(out / snap_id[:8], snapshot=snap_id[:8]))
        assert describe_tree(out / snap_id[:8] / "Images") == tree
    restored = f"odb_s3_r_{uuid.uuid4().hex[:8]}"
    try:
        ok(repo.run(["restore-db", "--repo", repo.path, expected[-1][0][:8], "--into",
                     f"mysql://root@127.0.0.1:3306/{restored}"]))
        assert _describe_db(restored) == database
    finally:
        _drop(restored)


def test_backups_in_a_bucket_restore_exactly_and_check_reads_every_byte(tmp_path, bucket_practice, seaweed):
    repo, expected, database, _source = bucket_practice
    prefix = repo.path.split("/odtest/", 1)[1]  # type: ignore[attr-defined]
    objects = seaweed.objects(prefix)
    assert "config" in objects and any(n.startswith("data/") for n in objects)
    assert any(n.startswith("keys/") for n in objects) and sum(n.startswith("snapshots/") for n in objects) == 3
    assert_restores_exactly(repo, expected, database, tmp_path / "out")


def test_verify_proves_the_database_snapshot_from_the_bucket(bucket_practice):
    repo, expected, _database, _source = bucket_practice
    cp = ok(repo.run(["verify", "--repo", repo.path, expected[-1][0][:8], "--json"]))
    finished = events(cp, "verify_finished")
    assert len(finished) == 1 and finished[0]["ok"] is True and finished[0]["problems"] == [], explain(cp)
    assert finished[0]["snapshot_id"] == expected[-1][0]


def test_init_refuses_a_prefix_that_holds_anything(bucket_practice):
    repo, *_ = bucket_practice
    cp = run_cli(["init", repo.path, "--json"], repo.env())
    assert cp.returncode == 1 and "is not empty" in cp.stdout + cp.stderr


def test_copy_into_a_related_repository_in_the_bucket_sends_it_once(tmp_path, bucket_practice, seaweed):
    repo, expected, database, _source = bucket_practice
    target = init_at(seaweed.location(f"archive-{uuid.uuid4().hex[:8]}"), repo.env(),
                     "--related-to", str(repo.path), "--label", "Offsite archive")
    first = summary(ok(repo.run(["copy", "--repo", repo.path, "--to", target.path, "--json"], passphrase=None)))
    assert sorted(first["snapshots_copied"]) == sorted(s for s, _ in expected) and first["bytes_sent"] > 2_000_000
    again = summary(ok(repo.run(["copy", "--repo", repo.path, "--to", target.path, "--json"], passphrase=None)))
    assert again["snapshots_copied"] == [] and again["bytes_sent"] == 0 and again["snapshots_present"] == 3
    assert_restores_exactly(target, expected, database, tmp_path / "out")


def test_forget_then_prune_in_the_bucket_frees_objects_and_keeps_what_is_kept(tmp_path, seaweed, s3_env):
    env = module_env(tmp_path / "home")
    prefix = f"prune-{uuid.uuid4().hex[:8]}"
    repo = init_at(seaweed.location(prefix), env)
    rng = random.Random(7)
    source = tmp_path / "src" / "Images"
    for i in range(20):
        random_file(source / "AB"[i % 2] / f"x{i}.jpg", rng.randrange(40_000, 120_000))
    kept = []
    for step in range(3):
        doc = summary(ok(repo.run(["backup", "--repo", repo.path, "--path", source, "--json"])))
        kept.append((doc["snapshot_id"], describe_tree(source)))
        _change(source, rng, step, n=15)
    before = sum(seaweed.objects(prefix).values())
    ok(repo.run(["forget", "--repo", repo.path, "--keep-last", "1", "--prune", "--json"]))
    after = seaweed.objects(prefix)
    assert sum(after.values()) < before * 0.75, (sum(after.values()), before)
    assert sum(n.startswith("snapshots/") for n in after) == 1
    ok(repo.run(["check", "--repo", repo.path, "--read-data"]))
    ok(repo.restore(tmp_path / "out"))
    assert describe_tree(tmp_path / "out" / "Images") == kept[-1][1]


def test_the_server_stopped_mid_backup_is_a_plain_error_and_the_next_run_completes(tmp_path, s3_env):
    """A server of this test's own, stopped while a backup sends packs: the backup ends with a plain
    'does not answer' (after its retries), and once the server is back the next backup completes."""
    server = Seaweed(tmp_path / "own-server").start()
    try:
        env = module_env(tmp_path / "home")
        env["ODBACKUP_S3_RETRY_SECONDS"] = "2"
        repo = init_at(server.location("stopped"), env)
        source = tmp_path / "src" / "Images"
        for i in range(60):
            random_file(source / f"scan{i}.jpg", 150_000)
        proc = subprocess.Popen(cli_command(["backup", "--repo", repo.path, "--path", source]), cwd=ROOT,
                                env=repo.env(PASSPHRASE), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        deadline = time.monotonic() + 60
        while not any(n.startswith("data/") for n in server.objects("stopped")) and time.monotonic() < deadline:
            time.sleep(0.05)
        server.stop()
        out, err = proc.communicate(timeout=120)
        assert proc.returncode != 0, out + err
        assert "does not answer" in out + err, out + err
        assert "Traceback" not in err and SECRET not in out + err
        server.start()
        ok(repo.run(["backup", "--repo", repo.path, "--path", source]))
        ok(repo.run(["check", "--repo", repo.path, "--read-data"]))
        ok(repo.restore(tmp_path / "out"))
        assert describe_tree(tmp_path / "out" / "Images") == describe_tree(source)
    finally:
        server.stop()


def test_wrong_keys_on_the_command_line_path_are_one_plain_line(bucket_practice):
    repo, *_ = bucket_practice
    cp = run_cli(["snapshots", "--repo", repo.path], repo.env(AWS_SECRET_ACCESS_KEY="wrong-secret-value",
                                                              ODBACKUP_S3_RETRY_SECONDS="600"))
    assert cp.returncode == 4, cp.stdout + cp.stderr
    assert "refused the keys" in cp.stderr and "Traceback" not in cp.stderr
    assert "wrong-secret-value" not in cp.stdout + cp.stderr and SECRET not in cp.stdout + cp.stderr
