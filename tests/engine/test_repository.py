"""Keys, packs, index and snapshots through the Repository API."""
import json
import os

import pytest

from engine import crypto
from engine.errors import NeedsFullKey, RepositoryExists, RepositoryNotFound, WrongPassphrase
from engine.repository import keys as keymod
from engine.repository.index import Index
from engine.repository.pack import read_header
from engine.repository.repo import BlobWriter, Repository

PASS = "a long test passphrase"


@pytest.fixture
def repo(tmp_path):
    r, recovery = Repository.init(str(tmp_path / "repo"), PASS)
    r.recovery = recovery  # type: ignore[attr-defined]
    return r


def test_init_refuses_non_empty_folder(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "file").write_text("hi")
    with pytest.raises(RepositoryExists):
        Repository.init(str(tmp_path / "x"), PASS)


def test_open_missing_repository(tmp_path):
    with pytest.raises(RepositoryNotFound):
        Repository.open(str(tmp_path))


def test_unlock_passphrase_recovery_and_wrong(repo):
    other = Repository.open(repo.location)
    other.unlock(PASS)
    assert other.keys == repo.keys
    rec = Repository.open(repo.location)
    rec.unlock(repo.recovery)
    assert rec.keys == repo.keys
    with pytest.raises(WrongPassphrase):
        Repository.open(repo.location).unlock("not the passphrase")


def test_change_passphrase_keeps_data_keys(repo):
    before = sorted(os.listdir(os.path.join(repo.location, "keys")))
    repo.change_passphrase(PASS, "another long passphrase")
    r = Repository.open(repo.location)
    with pytest.raises(WrongPassphrase):
        r.unlock(PASS)
    r.unlock("another long passphrase")
    assert r.keys == repo.keys
    r.unlock(repo.recovery)
    after = sorted(os.listdir(os.path.join(repo.location, "keys")))
    assert len(after) == len(before) == 2 and after != before


def test_blobs_round_trip_through_packs_and_index(repo):
    writer = BlobWriter(repo)
    payloads = [os.urandom(100_000) for _ in range(8)] + [b"compressible " * 10_000]
    ids = [writer.store("data", p) for p in payloads]
    tree_id = writer.store("tree", b'{"nodes":[]}')
    refs_id = writer.store("refs", b"".join(sorted(ids)))
    assert writer.store("data", payloads[0]) == ids[0]  # dedup within a run
    writer.flush()
    fresh = Repository.open(repo.location)
    fresh.unlock(PASS)
    assert [fresh.read_blob(i) for i in ids] == payloads
    assert fresh.read_tree(tree_id) == {"nodes": []}
    assert fresh.read_blob(refs_id) == b"".join(sorted(ids))
    # every pack header agrees with the index
    index = Index.load(fresh.backend, fresh.keys.maint_key)
    for pack in index.packs.values():
        sessions, blobs = read_header(fresh.backend, f"data/{pack.pack_id[:2]}/{pack.pack_id}", fresh.keys.maint_key)
        assert tuple(blobs) == pack.blobs and tuple(sessions) == pack.sessions


def test_write_only_keys_cannot_open_content(repo):
    writer = BlobWriter(repo)
    data_id = writer.store("data", b"secret chart")
    refs_id = writer.store("refs", data_id)
    writer.flush()
    keymod.enroll_machine(repo.keys, repo.location)
    machine = Repository.open(repo.location)
    machine.use_machine_credentials()
    assert not machine.can_read
    assert machine.read_blob(refs_id) == data_id  # maintenance data is readable
    with pytest.raises(Exception) as info:
        machine.read_blob(data_id)
    assert "damaged" not in str(info.value) or "private key" in str(info.value)
    with pytest.raises(NeedsFullKey):
        machine.require_full_key()
    creds = json.loads(open(keymod.credentials_path(repo.repo_id)).read())
    assert "data_private" not in creds
    if os.name != "nt":
        assert os.stat(keymod.credentials_path(repo.repo_id)).st_mode & 0o777 == 0o600


def test_machine_written_data_readable_with_passphrase(repo):
    keymod.enroll_machine(repo.keys, repo.location)
    machine = Repository.open(repo.location)
    machine.use_machine_credentials()
    writer = BlobWriter(machine)
    data_id = writer.store("data", b"written by the scheduled run")
    writer.flush()
    admin = Repository.open(repo.location)
    admin.unlock(PASS)
    assert admin.read_blob(data_id) == b"written by the scheduled run"


def test_keys_file_never_holds_plain_secrets(repo):
    for name in os.listdir(os.path.join(repo.location, "keys")):
        raw = open(os.path.join(repo.location, "keys", name), "rb").read()
        assert crypto.b64(repo.keys.maint_key).encode() not in raw
        assert crypto.b64(repo.keys.data_private).encode() not in raw


def test_find_snapshot_by_date(repo, tmp_path):
    from datetime import datetime, timedelta

    from engine.backup import BackupPlan, run_backup

    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("one")
    first = run_backup(repo, BackupPlan((str(src),))).snapshot_id
    (src / "a.txt").write_text("two")
    second = run_backup(repo, BackupPlan((str(src),))).snapshot_id
    today = datetime.now().astimezone()
    assert repo.find_snapshot(today.strftime("%Y-%m-%d")).snapshot_id == second
    assert repo.find_snapshot("latest").snapshot_id == second
    assert repo.find_snapshot(first[:8]).snapshot_id == first
    yesterday = (today - timedelta(days=1)).strftime("%Y-%m-%d")
    with pytest.raises(Exception, match="on or before"):
        repo.find_snapshot(yesterday)


def _two_snapshots(repo, tmp_path) -> tuple[str, str]:
    from engine.backup import BackupPlan, run_backup

    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("one")
    first = run_backup(repo, BackupPlan((str(src),))).snapshot_id
    (src / "a.txt").write_text("two")
    return first, run_backup(repo, BackupPlan((str(src),))).snapshot_id


def _damage(repo, snap_id: str, *, age_days: float | None = None) -> None:
    path = os.path.join(repo.location, "snapshots", snap_id)
    data = bytearray(open(path, "rb").read())
    data[-5] ^= 0xFF
    with open(path, "wb") as f:
        f.write(bytes(data))
    if age_days is not None:
        import time

        then = time.time() - age_days * 86400
        os.utime(path, (then, then))


def test_find_snapshot_never_steps_over_a_damaged_newest(repo, tmp_path):
    from datetime import datetime

    from engine.errors import SnapshotDamaged

    first, second = _two_snapshots(repo, tmp_path)
    _damage(repo, second)
    today = datetime.now().astimezone().strftime("%Y-%m-%d")
    for ref in ("latest", today, second[:8]):
        with pytest.raises(SnapshotDamaged) as caught:
            repo.find_snapshot(ref)
        assert second[:8] in caught.value.message and first[:8] in caught.value.hint
    assert repo.find_snapshot(first[:8]).snapshot_id == first  # named explicitly: the way out
    assert repo.damaged_snapshots == [second]


def test_an_old_damaged_snapshot_file_does_not_stand_in_the_way(repo, tmp_path):
    """A file written before the newest readable snapshot was taken cannot be newer than it; one
    written days after a date cannot be from before it."""
    first, second = _two_snapshots(repo, tmp_path)
    _damage(repo, first, age_days=10)
    assert repo.find_snapshot("latest").snapshot_id == second
    from datetime import datetime, timedelta

    from engine.errors import SnapshotNotFound

    long_ago = (datetime.now().astimezone() - timedelta(days=30)).strftime("%Y-%m-%d")
    with pytest.raises(SnapshotNotFound, match="on or before"):
        repo.find_snapshot(long_ago)
