"""A damaged or forged part of a repository is said as such, never stepped over:
a damaged newest snapshot, a damaged key file, a plain file given as the repository,
a snapshot forged with machine credentials whose names are unsafe."""
from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_helpers import describe_tree, events, explain, ok, run_cli, summary

from engine.repository.records import SnapshotStats
from engine.repository.repo import BlobWriter, Repository
from engine.repository.snapshot import BODY_AAD, Snapshot, write_snapshot


def office(tmp_path: Path) -> Path:
    source = tmp_path / "Office"
    (source / "Charts").mkdir(parents=True)
    (source / "Charts" / "chart.txt").write_text("chart\n")
    return source


def flip_middle_byte(path: Path, *, keep_time: bool = False) -> None:
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    if keep_time:  # damage as bit rot leaves it: the file's time unchanged
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


@pytest.fixture
def two_snapshots(tmp_path, repo):
    source = office(tmp_path)
    older = repo.backup(source)["snapshot_id"]
    (source / "new.txt").write_text("added later\n")
    newer = repo.backup(source)["snapshot_id"]
    return repo, source, older, newer


@pytest.fixture
def damaged_newest(two_snapshots):
    """Two snapshots; the newer snapshot file has a flipped byte."""
    repo, source, older, newer = two_snapshots
    flip_middle_byte(repo.path / "snapshots" / newer)
    return repo, source, older, newer


def assert_damaged_error(cp, damaged: str, older: str) -> None:
    """Exit 6, the damaged snapshot named as damaged, and the older one named as the way out."""
    assert cp.returncode == 6, explain(cp)
    assert damaged[:8] in cp.stderr and "damaged" in cp.stderr, explain(cp)
    assert older[:8] in cp.stderr, explain(cp)
    assert "No snapshot matches" not in cp.stderr and "Traceback" not in cp.stderr


def test_restore_latest_refuses_a_damaged_newest_snapshot(tmp_path, damaged_newest):
    repo, _, older, newer = damaged_newest
    target = tmp_path / "restored"
    cp = run_cli(["restore", "--repo", repo.path, "latest", "--to", target])
    assert_damaged_error(cp, newer, older)
    assert not target.exists() or not any(target.iterdir())  # nothing restored from the older one


def test_restore_by_id_of_a_damaged_snapshot_says_damaged(tmp_path, damaged_newest):
    repo, _, older, newer = damaged_newest
    cp = run_cli(["restore", "--repo", repo.path, newer[:8], "--to", tmp_path / "restored"])
    assert_damaged_error(cp, newer, older)


def test_restore_json_names_the_damaged_snapshot(tmp_path, damaged_newest):
    repo, _, older, newer = damaged_newest
    cp = repo.restore(tmp_path / "restored")
    assert cp.returncode == 6, explain(cp)
    (error,) = events(cp, "error")
    assert newer[:8] in error["message"] and older[:8] in error["hint"]


@pytest.mark.parametrize("command", [["ls", "latest"], ["verify", "latest"], ["ls", "NEWER"]])
def test_ls_and_verify_refuse_a_damaged_newest_snapshot(damaged_newest, command):
    repo, _, older, newer = damaged_newest
    args = [newer[:8] if a == "NEWER" else a for a in command]
    cp = run_cli([args[0], "--repo", repo.path, *args[1:]])
    assert_damaged_error(cp, newer, older)


def test_restore_db_refuses_a_damaged_newest_snapshot(damaged_newest):
    """Refused before any database is created or connected to."""
    repo, _, older, newer = damaged_newest
    cp = run_cli(["restore-db", "--repo", repo.path, "latest", "--into", "mysql://root@127.0.0.1:1/never_made"])
    assert_damaged_error(cp, newer, older)


def test_naming_the_older_snapshot_is_the_way_out(tmp_path, damaged_newest):
    repo, source, older, _ = damaged_newest
    target = tmp_path / "restored"
    ok(repo.restore(target, snapshot=older[:8]))
    assert set(describe_tree(target / "Office")) == set(describe_tree(source)) - {"new.txt"}


def test_snapshots_lists_the_damaged_one(damaged_newest):
    repo, _, older, newer = damaged_newest
    text = ok(run_cli(["snapshots", "--repo", repo.path]))
    line = next(ln for ln in text.stdout.splitlines() if ln.startswith(newer[:8]))
    assert "DAMAGED" in line, explain(text)
    listing = ok(run_cli(["snapshots", "--repo", repo.path, "--json"]))
    found = {e["id"]: e["damaged"] for e in events(listing, "snapshot")}
    assert found == {older: False, newer: True}
    assert summary(listing)["damaged"] == 1


def test_an_older_damaged_snapshot_does_not_block_latest(tmp_path, two_snapshots):
    """Bit rot in an older snapshot file (its file time unchanged): 'latest' is still the newest."""
    repo, source, older, newer = two_snapshots
    flip_middle_byte(repo.path / "snapshots" / older, keep_time=True)
    target = tmp_path / "restored"
    cp = ok(repo.restore(target))
    assert summary(cp)["snapshot_id"] == newer
    assert describe_tree(target / "Office") == describe_tree(source)


# --- key files --------------------------------------------------------------------------


def key_file_of(repo_path: Path, kind: str) -> Path:
    for path in (repo_path / "keys").iterdir():
        if json.loads(path.read_bytes())["kind"] == kind:
            return path
    raise AssertionError(f"no {kind} key file")


@pytest.fixture
def truncated_recovery_key_file(tmp_path, repo):
    repo.backup(office(tmp_path))
    path = key_file_of(repo.path, "recovery")
    path.write_bytes(path.read_bytes()[:40])
    return repo, path


@pytest.mark.parametrize("command", [["snapshots"], ["ls", "latest"], ["check"]])
def test_a_truncated_key_file_is_skipped_with_a_warning(truncated_recovery_key_file, command):
    repo, path = truncated_recovery_key_file
    cp = run_cli([command[0], "--repo", repo.path, *command[1:]])
    assert "Unexpected error" not in cp.stderr and "Traceback" not in cp.stderr, explain(cp)
    assert f"keys/{path.name}" in cp.stderr and "damaged" in cp.stderr, explain(cp)
    if command[0] != "check":
        assert cp.returncode == 0, explain(cp)


def test_check_reports_a_damaged_key_file(truncated_recovery_key_file):
    repo, path = truncated_recovery_key_file
    cp = ok(run_cli(["check", "--repo", repo.path, "--json"]), 6)
    assert any(path.name in e for e in summary(cp)["errors"]), explain(cp)
    assert any("recovery" in e for e in summary(cp)["errors"]), explain(cp)  # the recovery key cannot open it


def test_check_reports_a_missing_key_file(tmp_path, repo):
    repo.backup(office(tmp_path))
    key_file_of(repo.path, "recovery").unlink()
    cp = ok(run_cli(["check", "--repo", repo.path, "--json"]), 6)
    assert any("no readable recovery key file" in e for e in summary(cp)["errors"]), explain(cp)
    ok(run_cli(["snapshots", "--repo", repo.path]))  # the passphrase still opens it


def test_the_recovery_key_opens_despite_a_damaged_passphrase_key_file(tmp_path, repo):
    repo.backup(office(tmp_path))
    path = key_file_of(repo.path, "passphrase")
    path.write_bytes(path.read_bytes()[:-10])
    by_passphrase = run_cli(["snapshots", "--repo", repo.path])
    assert by_passphrase.returncode == 4, explain(by_passphrase)
    assert "damaged" in by_passphrase.stderr and "recovery key" in by_passphrase.stderr
    ok(repo.run(["snapshots", "--repo", repo.path], repo.recovery_key))


# --- not a repository ----------------------------------------------------------------------


def test_repo_naming_a_plain_file_is_not_a_repository(tmp_path):
    plain = tmp_path / "notes.txt"
    plain.write_text("not a repository\n")
    for command in (["snapshots"], ["check"], ["ls", "latest"]):
        cp = run_cli([command[0], "--repo", plain, *command[1:]])
        assert cp.returncode == 1, explain(cp)
        assert "not a repository" in cp.stderr and "damaged" not in cp.stderr.lower(), explain(cp)
        assert "Traceback" not in cp.stderr


# --- a snapshot forged with machine credentials ---------------------------------------------


def forged_stats(files: int, bytes: int) -> SnapshotStats:
    return SnapshotStats(files=files, bytes=bytes, bytes_added=bytes, bytes_stored=0, duration=0.0, skipped=0)


def seal_raw(body: dict, session) -> bytes:
    """A body sealed as a forger writes it: any JSON, not through the records."""
    return session.seal(json.dumps(body, sort_keys=True).encode(), BODY_AAD)


def forge_snapshot(repo_path: Path, source_name: str, node_name: str = "x.txt") -> str:
    """A snapshot written with this machine's write-only credentials (as any enrolled machine can),
    with a source named ``source_name`` holding one file named ``node_name``."""
    repo = Repository.open(str(repo_path))
    repo.use_machine_credentials()
    writer = BlobWriter(repo)
    data_id = writer.store("data", b"hello")
    node = {"name": node_name, "type": "file", "mode": 0o644, "mtime_ns": 0, "size": 5,
            "content": [[data_id.hex(), 5]]}
    tree_id = writer.store("tree", json.dumps({"nodes": [node]}, sort_keys=True, separators=(",", ":")).encode())
    folder_refs = writer.store("refs", b"".join(sorted([tree_id, data_id])))
    root_refs = writer.store("refs", folder_refs)
    writer.flush()
    body = {"program": "forged", "skipped": [],
            "sources": [{"kind": "folder", "name": source_name, "path": "/forged", "tree": tree_id.hex(),
                         "mode": 0o755, "mtime_ns": 0}]}
    snap = Snapshot("", datetime.now(UTC).isoformat(timespec="microseconds"), socket.gethostname(), True,
                    forged_stats(files=1, bytes=5), root_refs, writer.session.public, seal_raw(body, writer.session))
    return write_snapshot(repo.backend, repo.keys.maint_key, snap)


UNSAFE_SOURCE_NAMES = ["../..", "a/..", "..", "", "C:evil", "back\\slash", "nul\0byte"]


@pytest.fixture
def enrolled_repo(repo):
    ok(run_cli(["enroll", "--repo", repo.path]))
    return repo


@pytest.mark.parametrize("name", UNSAFE_SOURCE_NAMES)
def test_restore_refuses_a_forged_source_name(tmp_path, enrolled_repo, name):
    repo = enrolled_repo
    snap_id = forge_snapshot(repo.path, name)
    target = tmp_path / "restored"
    for ref in ("latest", snap_id[:8]):
        cp = run_cli(["restore", "--repo", repo.path, ref, "--to", target])
        assert cp.returncode == 6, explain(cp)
        assert "unsafe" in cp.stderr and snap_id[:8] in cp.stderr, explain(cp)
        assert "Traceback" not in cp.stderr and "Unexpected" not in cp.stderr
    assert not target.exists() or not any(target.iterdir())
    assert not (tmp_path / "forged").exists()


@pytest.mark.parametrize("name", ["..", "a/b", ""])
def test_forged_tree_names_are_refused_and_reported(tmp_path, enrolled_repo, name):
    repo = enrolled_repo
    snap_id = forge_snapshot(repo.path, "Forged", node_name=name)
    target = tmp_path / "inner" / "restored"
    cp = run_cli(["restore", "--repo", repo.path, snap_id[:8], "--to", target])
    assert cp.returncode == 6, explain(cp)
    assert "unsafe" in cp.stdout + cp.stderr, explain(cp)
    written = [p for p in (tmp_path / "inner").rglob("*") if p.is_file()] if (tmp_path / "inner").exists() else []
    assert written == [] and not (tmp_path / "x.txt").exists(), "nothing written from it"
    listing = run_cli(["ls", "--repo", repo.path, snap_id[:8]])
    assert listing.returncode == 6 and "unsafe" in listing.stderr, explain(listing)
    check = ok(run_cli(["check", "--repo", repo.path, "--json"]), 6)
    assert any("unsafe" in e and snap_id[:8] in e for e in summary(check)["errors"]), explain(check)


def test_check_reports_a_forged_source_name(enrolled_repo):
    repo = enrolled_repo
    snap_id = forge_snapshot(repo.path, "../..")
    cp = ok(run_cli(["check", "--repo", repo.path, "--json"]), 6)
    assert any("unsafe" in e and snap_id[:8] in e for e in summary(cp)["errors"]), explain(cp)
    listing = ok(run_cli(["snapshots", "--repo", repo.path, "--json"]))
    assert [e["damaged"] for e in events(listing, "snapshot")] == [True]


def test_a_forged_snapshot_with_safe_names_restores(tmp_path, enrolled_repo):
    """The forging helper itself makes a restorable snapshot when its names are plain."""
    repo = enrolled_repo
    forge_snapshot(repo.path, "Forged")
    target = tmp_path / "restored"
    ok(repo.restore(target))
    assert (target / "Forged" / "x.txt").read_bytes() == b"hello"



def forge_database_snapshot(repo_path: Path, table: str) -> str:
    """A snapshot (machine credentials) holding one database whose one table is named ``table``."""
    repo = Repository.open(str(repo_path))
    repo.use_machine_credentials()
    writer = BlobWriter(repo)
    tree = {"database": "opendental", "charset": "utf8mb4", "collation": "utf8mb4_general_ci",
            "server_version": "forged", "programs": [],
            "tables": [{"name": table, "engine": "MyISAM", "create": f"CREATE TABLE `{table}` (a INT)",
                        "stream": {"columns": ["a"], "kinds": ["raw"]}, "rows": 0, "bytes": 0,
                        "checksum": "", "auto_increment": None, "content": []}]}
    tree_id = writer.store("tree", json.dumps(tree, sort_keys=True, separators=(",", ":")).encode())
    root_refs = writer.store("refs", writer.store("refs", tree_id))
    writer.flush()
    body = {"program": "forged", "skipped": [],
            "sources": [{"kind": "database", "name": "opendental", "server": "127.0.0.1:1", "user": "root",
                         "server_version": "forged", "lock_mode": "consistent",
                         "tree": tree_id.hex(), "tables": 1, "rows": 0, "bytes": 0, "lock_window": 0}]}
    snap = Snapshot("", datetime.now(UTC).isoformat(timespec="microseconds"), socket.gethostname(), True,
                    forged_stats(files=0, bytes=0), root_refs, writer.session.public, seal_raw(body, writer.session))
    return write_snapshot(repo.backend, repo.keys.maint_key, snap)


def test_a_forged_table_name_is_refused_and_reported(enrolled_repo):
    repo = enrolled_repo
    snap_id = forge_database_snapshot(repo.path, "pat\0ient")
    cp = run_cli(["restore-db", "--repo", repo.path, snap_id[:8], "--into", "mysql://root@127.0.0.1:1/never_made"])
    assert cp.returncode == 6 and "unsafe" in cp.stderr, explain(cp)
    check = ok(run_cli(["check", "--repo", repo.path, "--json"]), 6)
    assert any("unsafe" in e and snap_id[:8] in e for e in summary(check)["errors"]), explain(check)
