"""Folder trees read ahead from a bucket (engine/repository/treeahead.py): once a folder's tree is
read, its subfolders' trees are fetched in the background and the next reads take them, opened
and checked as always; what was read ahead and went bad is read again and refused as usual."""
from __future__ import annotations

import random
import threading
import uuid
from concurrent.futures import Future

import pytest
from cli_helpers import PASSPHRASE, ok, random_file, run_cli
from test_cli_s3 import init_at, module_env

from engine.errors import Cancelled, RepositoryDamaged
from engine.folders.browse import children, roots
from engine.folders.restore import restore
from engine.repository.repo import Repository
from engine.repository.treeahead import PENDING, THREAD_NAME


def _practice(tmp_path, seaweed) -> Repository:
    env = module_env(tmp_path / "home")
    repo = init_at(seaweed.location(f"ahead-{uuid.uuid4().hex[:8]}"), env)
    rng = random.Random(7)
    for letter in "ABCDE":
        for patient in range(3):
            random_file(tmp_path / "Images" / letter / f"P{patient}" / "xray.jpg", rng.randrange(1000, 5000))
    ok(run_cli(["backup", "--repo", repo.path, "--path", tmp_path / "Images"], env))
    opened = Repository.open(str(repo.path))
    opened.unlock(PASSPHRASE)
    return opened


def test_subfolder_trees_are_read_ahead_and_taken_as_read(tmp_path, seaweed, s3_env):
    repo = _practice(tmp_path, seaweed)
    ahead = repo._trees_ahead
    assert ahead is not None
    images = roots(repo, repo.find_snapshot("latest"))[0]
    letters = children(repo, images)
    assert [e.node.name for e in letters] == list("ABCDE")
    pending = dict(ahead._ahead)
    assert {bytes.fromhex(e.node.subtree) for e in letters} <= set(pending)  # all five fetched at once
    patients = children(repo, letters[0])
    assert [e.node.name for e in patients] == ["P0", "P1", "P2"]
    assert bytes.fromhex(letters[0].node.subtree) not in ahead._ahead  # taken, not read again
    plain = Repository.open(repo.backend.location)  # the same tree read without read-ahead
    plain.unlock(PASSPHRASE)
    plain._trees_ahead = None
    assert [e.node.name for e in children(plain, letters[0])] == ["P0", "P1", "P2"]


def test_a_tree_read_ahead_that_went_bad_is_read_again_and_checked(tmp_path, seaweed, s3_env):
    repo = _practice(tmp_path, seaweed)
    ahead = repo._trees_ahead
    assert ahead is not None
    images = roots(repo, repo.find_snapshot("latest"))[0]
    letters = children(repo, images)
    first = bytes.fromhex(letters[0].node.subtree)
    ahead.take(first)  # (what was fetched) replaced by damaged bytes, as a bad network might give
    loc = repo.index.get(first)
    bad: Future[bytes] = Future()
    bad.set_result(b"\0" * loc.length)
    ahead._ahead[first] = bad
    try:
        children(repo, letters[0])
    except RepositoryDamaged as exc:
        assert "is damaged" in str(exc)
    else:
        raise AssertionError("damaged bytes read ahead were accepted")
    failed: Future[bytes] = Future()
    failed.set_exception(OSError("connection reset"))
    ahead._ahead[first] = failed
    assert [e.node.name for e in children(repo, letters[0])] == ["P0", "P1", "P2"]  # read again, as usual


def _alive_fetchers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == THREAD_NAME]


def test_a_cancelled_restore_stops_reading_ahead_and_leaves_no_fetcher_running(tmp_path, seaweed, s3_env):
    env = module_env(tmp_path / "home")
    repo_at = init_at(seaweed.location(f"ahead-{uuid.uuid4().hex[:8]}"), env)
    rng = random.Random(11)
    for patient in range(60):  # one folder with more subfolders than fetches may wait
        random_file(tmp_path / "Images" / f"P{patient:02}" / "2026" / "xray.jpg", rng.randrange(500, 2000))
    ok(run_cli(["backup", "--repo", repo_at.path, "--path", tmp_path / "Images"], env))
    repo = Repository.open(str(repo_at.path))
    repo.unlock(PASSPHRASE)
    ahead = repo._trees_ahead
    assert ahead is not None
    cancel = threading.Event()
    seen: dict[str, int] = {}
    read_tree = repo.read_tree

    def read_then_cancel(tree_id: bytes) -> dict:  # the user presses Cancel once the walk is under way
        tree = read_tree(tree_id)
        seen["trees"] = seen.get("trees", 0) + 1
        if seen["trees"] == 3:
            seen["waiting"], seen["ahead"] = len(ahead._waiting), len(ahead._ahead)
            cancel.set()
        return tree

    repo.read_tree = read_then_cancel  # type: ignore[method-assign]
    with pytest.raises(Cancelled), repo.reading("restore"):
        restore(repo, repo.find_snapshot("latest"), target=str(tmp_path / "out"), on_event=lambda _e: None,
                cancel=cancel)
    assert seen["ahead"] >= PENDING and seen["waiting"] <= PENDING  # it was reading ahead, within its cap
    assert not ahead._waiting and not ahead._ahead  # the lock's release dropped what was waiting
    for thread in _alive_fetchers():  # each ends after the read it is in (no queue behind it)
        thread.join(timeout=30)
    assert not _alive_fetchers()
    images = roots(repo, repo.find_snapshot("latest"))[0]  # the same repository reads ahead again afterwards
    assert len(children(repo, images)) == 60 and ahead._ahead


def test_a_tree_still_waiting_for_a_fetcher_is_read_at_once_not_waited_for(tmp_path, seaweed, s3_env):
    repo = _practice(tmp_path, seaweed)
    ahead = repo._trees_ahead
    assert ahead is not None
    images = roots(repo, repo.find_snapshot("latest"))[0]
    letters = children(repo, images)
    waiting: Future[bytes] = Future()  # a fetch no fetcher has started
    first = bytes.fromhex(letters[0].node.subtree)
    ahead._ahead[first] = waiting
    assert [e.node.name for e in children(repo, letters[0])] == ["P0", "P1", "P2"]
    assert waiting.cancelled()  # taken off the queue and read by the walk itself
