"""The index as a backup loads it: blob IDs kept locally per index file, locations
read only when asked for, and damage still found as before."""
from __future__ import annotations

import os

import pytest

from engine import paths
from engine.errors import RepositoryDamaged
from engine.repository.index import Index
from engine.repository.pack import read_header
from engine.repository.repo import BlobWriter, Repository

PASS = "a long test passphrase"


def opened(location: str) -> Repository:
    repo = Repository.open(location)
    repo.unlock(PASS)
    return repo


@pytest.fixture
def stored(tmp_path):
    """A repository with two index files' worth of blobs; returns (location, ids, payloads)."""
    repo, _ = Repository.init(str(tmp_path / "repo"), PASS)
    payloads, ids = [], []
    for _run in range(2):
        writer = BlobWriter(repo)
        for _ in range(5):
            payloads.append(os.urandom(50_000))
            ids.append(writer.store("data", payloads[-1]))
        ids.append(writer.store("tree", b'{"nodes":[]}'))
        payloads.append(b'{"nodes":[]}')
        writer.flush()
    return repo.location, ids, payloads


def ids_cache(repo: Repository) -> str:
    return os.path.join(paths.cache_dir(), repo.repo_id, "index")


def test_ids_are_kept_per_index_file_and_locations_read_on_demand(stored):
    location, ids, payloads = stored
    repo = opened(location)
    kept = sorted(os.listdir(ids_cache(repo)))
    assert kept == sorted(n.split("/")[1] for n, _ in repo.backend.list("index"))
    index = repo.index
    assert index._deferred  # every index file known by its IDs alone ...
    assert all(i in index for i in ids) and os.urandom(32) not in index
    assert len(index) == len(set(ids))
    assert [repo.read_blob(i) for i in ids] == payloads  # ... and opened when a location is needed
    assert not index._deferred
    for pack in index.packs.values():
        sessions, blobs = read_header(repo.backend, f"data/{pack.pack_id[:2]}/{pack.pack_id}",
                                      repo.keys.maint_key)
        assert tuple(blobs) == pack.blobs and tuple(sessions) == pack.sessions


def test_without_the_local_ids_everything_is_read(stored):
    location, ids, payloads = stored
    repo = opened(location)
    for name in os.listdir(ids_cache(repo)):
        os.remove(os.path.join(ids_cache(repo), name))
    index = repo.index
    assert not index._deferred and all(i in index for i in ids)
    assert [repo.read_blob(i) for i in ids] == payloads
    assert len(os.listdir(ids_cache(repo))) == len(index.files)  # and kept again


def test_a_truncated_ids_file_is_ignored(stored):
    location, ids, _ = stored
    repo = opened(location)
    for name in os.listdir(ids_cache(repo)):
        path = os.path.join(ids_cache(repo), name)
        with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) - 5)
    assert all(i in repo.index for i in ids)
    assert not repo.index._deferred


def test_a_damaged_index_file_is_reported_even_with_its_ids_kept(stored):
    location, _, _ = stored
    name = sorted(os.listdir(os.path.join(location, "index")))[0]
    path = os.path.join(location, "index", name)
    with open(path, "r+b") as f:
        f.seek(40)
        byte = f.read(1)
        f.seek(40)
        f.write(bytes([byte[0] ^ 1]))
    with pytest.raises(RepositoryDamaged):
        opened(location).index  # noqa: B018 - loading is the point


def test_blobs_pending_in_the_run_count_as_known(stored):
    location, ids, _ = stored
    repo = opened(location)
    writer = BlobWriter(repo)
    new = writer.store("data", os.urandom(1000))  # in the open pack, not indexed yet
    assert new not in repo.index
    assert writer.all_known(b"".join(ids) + new)
    assert not writer.all_known(b"".join(ids) + os.urandom(32))
    writer.abort()


def test_an_index_without_a_local_cache_behaves_as_before(stored):
    location, ids, payloads = stored
    repo = opened(location)
    index = Index.load(repo.backend, repo.keys.maint_key)
    assert not index._deferred and len(index) == len(set(ids))
    assert all(index.get(i) is not None for i in ids)
