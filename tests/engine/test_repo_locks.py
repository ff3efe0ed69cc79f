"""The three lock modes of docs/FORMAT.md section 9: a writer beside readers, a deleting run beside
nothing, and lock files that cannot be read yet."""
from __future__ import annotations

import os
import time

import pytest

from engine.errors import RepositoryLocked
from engine.repository import keys as keymod
from engine.repository.lock import (
    EXCLUSIVE,
    UNREADABLE_STALE_AFTER,
    RepoLock,
    clear_stale,
    read_lock,
    shared_locks,
)
from engine.repository.repo import Repository

PASS = "a long test passphrase"


@pytest.fixture
def repo(tmp_path):
    r, _recovery = Repository.init(str(tmp_path / "repo"), PASS)
    return r


def lock_files(repo: Repository) -> list[str]:
    return sorted(os.listdir(os.path.join(repo.location, "locks")))


def take(repo: Repository, mode: str, command: str = "test") -> RepoLock:
    return RepoLock.acquire(repo.backend, repo.keys.maint_key, command, mode=mode)[0]


def test_readers_share_the_repository_with_a_writer_and_each_other(repo):
    with take(repo, "write", "backup"), repo.reading("check"), repo.reading("restore"):
        assert [info.command for _, info in shared_locks(repo.backend, repo.keys.maint_key)] in (
            ["check", "restore"], ["restore", "check"])
        assert read_lock(repo.backend, repo.keys.maint_key).mode == "write"
    assert lock_files(repo) == []


def test_a_readers_lock_blocks_a_deleting_run(repo):
    with repo.reading("restore"):
        with pytest.raises(RepositoryLocked, match="being read by restore"):
            take(repo, "delete", "prune")
        assert not os.path.exists(os.path.join(repo.location, *EXCLUSIVE.split("/")))  # it let go
    with take(repo, "delete", "prune"):  # once the reader is done
        pass
    assert lock_files(repo) == []


def test_a_deleting_run_blocks_readers_and_writers(repo):
    with take(repo, "delete", "prune"):
        with pytest.raises(RepositoryLocked, match="cleaned up by prune"):
            repo.reading("check")
        with pytest.raises(RepositoryLocked, match="in use by prune"):
            take(repo, "write", "backup")
        assert lock_files(repo) == ["exclusive"]  # the refused reader removed its own lock
    with repo.reading("check"):
        pass


def test_a_deleting_run_clears_a_dead_readers_lock(repo):
    pid = os.fork()
    if pid == 0:  # a reader that dies holding its lock
        try:
            repo.reading("restore")
        finally:
            os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    assert len(shared_locks(repo.backend, repo.keys.maint_key)) == 1
    with take(repo, "delete", "prune"):
        assert shared_locks(repo.backend, repo.keys.maint_key) == []


def test_machine_credentials_take_locks(repo):
    keymod.enroll_machine(repo.keys, repo.location)
    machine = Repository.open(repo.location)
    machine.use_machine_credentials()
    with machine.reading("check"):
        with pytest.raises(RepositoryLocked):
            take(machine, "delete", "prune")
    with take(machine, "write", "backup"):
        assert read_lock(machine.backend, machine.keys.maint_key).command == "backup"


def write_empty_lock(repo: Repository, age: float = 0.0) -> str:
    """An empty exclusive lock file: another run created it and has not written it yet."""
    path = os.path.join(repo.location, *EXCLUSIVE.split("/"))
    with open(path, "xb"):
        pass
    if age:
        then = time.time() - age
        os.utime(path, (then, then))
    return path


def test_an_empty_lock_file_being_written_is_not_stale(repo):
    path = write_empty_lock(repo)
    holder = read_lock(repo.backend, repo.keys.maint_key)
    assert holder is not None and not holder.is_stale()
    with pytest.raises(RepositoryLocked, match="being written"):
        take(repo, "write", "backup")
    with pytest.raises(RepositoryLocked):
        clear_stale(repo.backend, repo.keys.maint_key)
    assert os.path.exists(path)  # never removed under the run writing it


def test_an_old_empty_lock_file_is_stale_and_cleared(repo):
    write_empty_lock(repo, age=UNREADABLE_STALE_AFTER + 5)
    lock, replaced = RepoLock.acquire(repo.backend, repo.keys.maint_key, "backup")
    with lock:
        assert replaced is not None and replaced.command == "unreadable lock"
        assert read_lock(repo.backend, repo.keys.maint_key).pid == os.getpid()
