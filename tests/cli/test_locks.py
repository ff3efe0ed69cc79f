"""One writer at a time: the exclusive lock, stale locks and ``odbackup unlock``."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import pytest
from cli_helpers import (
    PASSPHRASE,
    ROOT,
    cli_command,
    events,
    explain,
    init_repo,
    json_lines,
    ok,
    random_file,
    shared_env,
)

from engine.errors import RepositoryLocked
from engine.repository.lock import RepoLock, read_lock
from engine.repository.repo import Repository


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    base = tmp_path_factory.mktemp("locks")
    repo = init_repo(base / "repo", base_env=shared_env(base / "home"))
    folder = base / "Images"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    return repo, folder


@pytest.fixture
def repo(shared):
    """The module's repository; every test leaves it unlocked."""
    repo = shared[0]
    yield repo
    lock = repo.path / "locks" / "exclusive"
    assert not lock.exists(), "a test left the repository locked"


@pytest.fixture
def source(shared):
    return shared[1]


@pytest.fixture
def live_lock(repo):
    """The exclusive lock, held by this (live) test process."""
    opened = Repository.open(str(repo.path))
    opened.unlock(PASSPHRASE)
    lock, replaced = RepoLock.acquire(opened.backend, opened.keys.maint_key, "backup")
    assert replaced is None
    yield lock
    lock.release()


def leave_dead_lock(repo) -> int:
    """Fork a process that takes the exclusive lock and dies holding it; returns its pid."""
    opened = Repository.open(str(repo.path))
    opened.unlock(PASSPHRASE)
    pid = os.fork()
    if pid == 0:  # the child: lock, then die without releasing
        try:
            RepoLock.acquire(opened.backend, opened.keys.maint_key, "backup")
        finally:
            os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    assert (repo.path / "locks" / "exclusive").exists()
    return pid


def test_backup_while_locked_exits_5_and_names_holder(repo, source, live_lock):
    snapshots_before = sorted(os.listdir(repo.path / "snapshots"))
    cp = repo.run(["backup", "--repo", repo.path, "--path", source])
    assert cp.returncode == 5, explain(cp)
    assert live_lock.info.host == socket.gethostname()
    assert live_lock.info.host in cp.stderr
    assert str(os.getpid()) in cp.stderr
    assert live_lock.info.started in cp.stderr
    assert "Traceback" not in cp.stderr
    assert sorted(os.listdir(repo.path / "snapshots")) == snapshots_before


def test_backup_while_locked_json_error(repo, source, live_lock):
    cp = repo.run(["backup", "--repo", repo.path, "--path", source, "--json"])
    assert cp.returncode == 5, explain(cp)
    (error,) = [d for d in json_lines(cp.stdout) if d["event"] == "error"]
    assert error["exit_code"] == 5 and str(os.getpid()) in error["message"]


def test_unlock_refuses_live_holder(repo, live_lock):
    cp = repo.run(["unlock", "--repo", repo.path])
    assert cp.returncode != 0, explain(cp)
    assert str(os.getpid()) in cp.stderr
    opened = Repository.open(str(repo.path))
    opened.unlock(PASSPHRASE)
    holder = read_lock(opened.backend, opened.keys.maint_key)
    assert holder is not None and holder.pid == os.getpid()  # still there, still ours


def test_unlock_removes_lock_of_dead_process(repo):
    dead_lock = leave_dead_lock(repo)
    cp = ok(repo.run(["unlock", "--repo", repo.path]))
    assert str(dead_lock) in cp.stdout
    assert not (repo.path / "locks" / "exclusive").exists()
    ok(repo.run(["unlock", "--repo", repo.path]))  # nothing to do: still fine


def test_backup_clears_lock_of_dead_process(repo, source):
    dead_lock = leave_dead_lock(repo)
    cp = ok(repo.run(["backup", "--repo", repo.path, "--path", source, "--json"]))
    assert [e["pid"] for e in events(cp, "stale_lock_removed")] == [dead_lock]
    assert not (repo.path / "locks" / "exclusive").exists()


# --- a lock file being written, and readers' shared locks -------------------------------------


def test_an_empty_lock_file_is_not_stale(repo, source):
    """An empty lock file is one another run created an instant ago and is writing: never removed."""
    path = repo.path / "locks" / "exclusive"
    path.write_bytes(b"")
    try:
        cp = repo.run(["backup", "--repo", repo.path, "--path", source])
        assert cp.returncode == 5, explain(cp)
        assert "being written" in cp.stderr, explain(cp)
        assert path.exists() and path.read_bytes() == b""
        cp = repo.run(["unlock", "--repo", repo.path])
        assert cp.returncode == 5 and path.exists(), explain(cp)
    finally:
        path.unlink()


@pytest.fixture
def deleting_run(repo):
    """A (future) run that deletes packs holds the lock in delete mode."""
    opened = Repository.open(str(repo.path))
    opened.unlock(PASSPHRASE)
    lock, _ = RepoLock.acquire(opened.backend, opened.keys.maint_key, "prune", mode="delete")
    yield lock
    lock.release()


@pytest.mark.parametrize("command", [["check"], ["check", "--read-data"], ["ls", "latest"], ["verify", "latest"],
                                     ["restore", "latest", "--to", "RESTORE"]])
def test_readers_wait_for_a_deleting_run(tmp_path, repo, deleting_run, command):
    args = [tmp_path / "restored" if a == "RESTORE" else a for a in command]
    cp = repo.run([args[0], "--repo", repo.path, *args[1:]])
    assert cp.returncode == 5, explain(cp)
    assert "prune" in cp.stderr and str(os.getpid()) in cp.stderr, explain(cp)
    assert not (tmp_path / "restored").exists()
    assert sorted(os.listdir(repo.path / "locks")) == ["exclusive"]  # no reader's lock left behind


def test_a_running_reader_blocks_a_deleting_run(tmp_path, repo):
    """While a real ``check --read-data`` process reads, a deleting run is refused."""
    source = tmp_path / "Big"
    for i in range(12):
        random_file(source / f"scan{i:02}.raw", 4 * 1024 * 1024)
    ok(repo.run(["backup", "--repo", repo.path, "--path", source]))
    opened = Repository.open(str(repo.path))
    opened.unlock(PASSPHRASE)
    proc = subprocess.Popen(cli_command(["check", "--repo", repo.path, "--read-data"]), cwd=ROOT,
                            env=repo.env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not any(n.startswith("shared-") for n in os.listdir(repo.path / "locks")):
            assert proc.poll() is None and time.monotonic() < deadline, "the check never took its shared lock"
            time.sleep(0.002)
        # Hold the reader where it is (a busy machine could otherwise let it finish before the
        # deleting run looks): its lock stays, as a slow check's would.
        proc.send_signal(signal.SIGSTOP)
        try:
            with pytest.raises(RepositoryLocked, match="being read by check"):
                RepoLock.acquire(opened.backend, opened.keys.maint_key, "prune", mode="delete")
        finally:
            proc.send_signal(signal.SIGCONT)
        assert proc.wait(timeout=120) == 0
    finally:
        proc.kill()
        proc.wait()
    assert sorted(os.listdir(repo.path / "locks")) == []
    with RepoLock.acquire(opened.backend, opened.keys.maint_key, "prune", mode="delete")[0]:
        pass


def read_only_command(repo_path, args: list) -> list[str]:
    """``odbackup ARGS`` run where ``repo_path`` is mounted read-only (a write-protected drive, a share
    the restoring user may only read): a private mount namespace, so nothing changes outside it."""
    script = ('mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && '
              'touch "$0/probe" 2>/dev/null && exit 99; exec "$@"')
    return ["unshare", "--mount", "--map-root-user", "sh", "-c", script, str(repo_path), *cli_command(args)]


def test_restore_from_a_read_only_repository(tmp_path, repo, source):
    """A reader that cannot write its lock file (nothing can be deleted there by it either) still restores."""
    ok(repo.run(["backup", "--repo", repo.path, "--path", source]))
    target = tmp_path / "restored"
    for args in (["restore", "--repo", repo.path, "latest", "--to", target], ["ls", "--repo", repo.path, "latest"],
                 ["check", "--repo", repo.path, "--read-data"]):
        cp = subprocess.run(read_only_command(repo.path, args), cwd=ROOT, env=repo.env(), stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=120)
        assert cp.returncode == 0, explain(cp)  # 99: the mount was not read-only
    assert (target / source.name / "a.txt").read_text() == "a"
    assert sorted(os.listdir(repo.path / "locks")) == []
