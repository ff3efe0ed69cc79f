"""What the status says of the offsite copy when something cannot be read (engine/offsite/alerts.py):
the main repository and the bucket are told apart and named by which failed; the look holds the main
repository's reading lock (a prune meanwhile gives no false alert); and with the bucket not
answering it gives up after a short retry, not the long one a backup uses."""
from __future__ import annotations

import re
import shutil

import test_offsite_job
from cli_helpers import PASSPHRASE, cli_env, ok, run_cli
from test_offsite_job import _offsite_alerts

from engine.repository.lock import RepoLock
from engine.repository.repo import Repository

office = test_offsite_job.office  # the fixture: a main repository, the offsite one in the bucket, settings saved


def test_a_main_repository_that_cannot_be_read_is_not_called_an_unreadable_offsite_copy(office, tmp_path):
    local, _source, _offsite = office
    shutil.move(local.path, tmp_path / "unplugged")  # the USB drive is gone
    state, found = _offsite_alerts()
    assert state.problem is None and state.main_problem and state.to_send is None
    kinds = [a.kind for a in found]
    assert "offsite_unreadable" not in kinds and "offsite_to_send_unknown" in kinds
    said = next(a for a in found if a.kind == "offsite_to_send_unknown")
    assert said.title == "Offsite progress unknown" and "the main repository cannot be read" in said.message


def test_an_offsite_repository_that_cannot_be_read_is_named_as_the_bucket(office, seaweed, tmp_path):
    _local, _source, _offsite = office
    ok(run_cli(["config", "set", "offsite.location", seaweed.location("nothing-here-yet")], cli_env()))
    state, found = _offsite_alerts()
    assert state.main_problem is None and state.problem and "There is no odbackup repository" in state.problem
    said = next(a for a in found if a.kind == "offsite_unreadable")
    assert "offsite_to_send_unknown" not in [a.kind for a in found]
    assert "nothing-here-yet" in said.message and said.title == "Offsite copy unreadable"


def test_while_a_prune_holds_the_main_repository_nothing_false_is_said(office):
    local, _source, _offsite = office
    main = Repository.open(str(local.path))
    main.unlock(PASSPHRASE)
    lock, _replaced = RepoLock.acquire(main.backend, main.keys.maint_key, "prune", mode="delete")
    with lock:
        state, found = _offsite_alerts()
        assert (state.to_send, state.problem, state.main_problem) == (None, None, None)
        assert [a.kind for a in found] == ["offsite_stale"]  # (none yet), not "unreadable"
    state, _found = _offsite_alerts()  # the prune ended: known again, and the reader's lock is gone
    assert state.to_send and state.to_send > 4_000_000
    assert not list(main.backend.list("locks"))


def test_with_the_bucket_not_answering_the_status_gives_up_after_a_short_retry(office, monkeypatch):
    from seaweed import free_ports

    monkeypatch.setenv("ODBACKUP_S3_RETRY_SECONDS", "180")  # what a backup would wait
    port = free_ports(1)[0]  # nobody listens there
    ok(run_cli(["config", "set", "offsite.location", f"s3:http://127.0.0.1:{port}/bucket/offsite"], cli_env()))
    state, found = _offsite_alerts()
    said = re.fullmatch(rf"The online storage at s3:http://127\.0\.0\.1:{port}/bucket/offsite does not answer "
                        r"\(tried for (\d+) seconds?\)\.", state.problem or "")
    assert said, state.problem
    assert int(said.group(1)) <= 20  # the time really tried (8 s at most, and the last attempt), never the 180
    assert [a.kind for a in found][0] == "offsite_unreadable"
