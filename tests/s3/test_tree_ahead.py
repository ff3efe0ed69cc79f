"""Folder trees read ahead from a bucket (engine/repository/treeahead.py): once a folder's tree is
read, its subfolders' trees are fetched in the background and the next reads take them, opened
and checked as always; what was read ahead and went bad is read again and refused as usual."""
from __future__ import annotations

import random
import uuid

from cli_helpers import PASSPHRASE, ok, random_file, run_cli
from test_cli_s3 import init_at, module_env

from engine.errors import RepositoryDamaged
from engine.folders.browse import children, roots
from engine.repository.repo import Repository


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
    from concurrent.futures import Future

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
