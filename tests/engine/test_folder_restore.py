"""Folder restore with several files in flight: every byte right, progress adds up, and a
cancel stops at once leaving no half-written file and no file under a real name that is wrong."""
from __future__ import annotations

import os
import threading

import pytest

from engine.backup import BackupPlan, run_backup
from engine.errors import Cancelled, UnsafePath
from engine.events import RestoreProgress
from engine.folders.journal import JOURNAL_SUFFIX
from engine.folders.restore import PARTIAL, preview, restore
from engine.repository.repo import Repository

PASS = "a long test passphrase"


@pytest.fixture
def backed_up(tmp_path):
    source = tmp_path / "Images"
    files = {}
    for n in range(120):
        data = os.urandom(1000 + 997 * n) if n % 7 else b""
        path = source / f"{'ABC'[n % 3]}" / f"Patient{n % 11}" / f"img{n}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files[path.relative_to(source).as_posix()] = data
    big = os.urandom(3_000_000)  # several chunks, written in order by one worker
    (source / "big.bin").write_bytes(big)
    files["big.bin"] = big
    repo, _ = Repository.init(str(tmp_path / "repo"), PASS)
    snap = run_backup(repo, BackupPlan((str(source),))).snapshot_id
    repo = Repository.open(str(tmp_path / "repo"))
    repo.unlock(PASS)
    return repo, repo.find_snapshot(snap), files


def on_disk(root) -> dict[str, bytes]:
    found = {}
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            found[os.path.relpath(path, root).replace(os.sep, "/")] = open(path, "rb").read()
    return found


def test_every_file_comes_back_exactly_and_progress_adds_up(backed_up, tmp_path):
    repo, snap, files = backed_up
    seen = []
    result = restore(repo, snap, str(tmp_path / "out"), verify=True, on_event=seen.append)
    assert not result.problems and result.files == len(files)
    assert result.bytes == sum(len(d) for d in files.values())
    assert on_disk(tmp_path / "out" / "Images") == files
    last = [e for e in seen if isinstance(e, RestoreProgress)][-1]
    assert (last.files_done, last.bytes_done) == (len(files), result.bytes)


def test_cancel_stops_and_leaves_no_partial_or_wrong_file(backed_up, tmp_path):
    repo, snap, files = backed_up
    cancel = threading.Event()

    def cancel_on_first_progress(event) -> None:
        if isinstance(event, RestoreProgress):
            cancel.set()

    with pytest.raises(Cancelled):
        restore(repo, snap, str(tmp_path / "out"), on_event=cancel_on_first_progress, cancel=cancel)
    restored = on_disk(tmp_path / "out" / "Images")
    assert not [p for p in restored if os.path.basename(p).startswith(PARTIAL)]
    for rel, data in restored.items():  # whatever made it is whole
        assert data == files[rel]
    assert (tmp_path / "out" / f"Images{JOURNAL_SUFFIX}").exists()  # unfinished, and it says so

    again = restore(repo, snap, str(tmp_path / "out"))  # the same restore finishes it
    assert again.resumed and not again.problems
    assert (again.already_complete, again.files) == (len(restored), len(files) - len(restored))
    assert on_disk(tmp_path / "out") == {f"Images/{rel}": data for rel, data in files.items()}


def cancelled_restore(repo, snap, target) -> None:
    """A restore cut short (Ctrl+C at its first progress report): its journal stays."""
    cancel = threading.Event()

    def cancel_on_first_progress(event) -> None:
        if isinstance(event, RestoreProgress):
            cancel.set()

    with pytest.raises(Cancelled):
        restore(repo, snap, str(target), on_event=cancel_on_first_progress, cancel=cancel)


def test_another_restore_into_an_unfinished_folder_is_refused_until_it_is_finished(backed_up, tmp_path):
    repo, snap, files = backed_up
    target = tmp_path / "out"
    cancelled_restore(repo, snap, target)
    before = on_disk(target)

    with pytest.raises(UnsafePath) as refused:
        restore(repo, snap, str(target), paths=("Images/A",))
    assert snap.snapshot_id[:8] in refused.value.message and JOURNAL_SUFFIX in refused.value.message
    assert "same restore again" in (refused.value.hint or "")
    assert on_disk(target) == before

    found = preview(repo, snap, str(target))  # the dry run says what running it again would do
    assert found.unfinished == (str(target / f"Images{JOURNAL_SUFFIX}"),)
    assert found.already_complete == len(before) - 1 and not found.problems  # the journal is not a file of it
    assert found.new_files == len(files) - found.already_complete

    result = restore(repo, snap, str(target), verify=True)
    assert result.resumed and (result.already_complete, result.rewritten) == (len(before) - 1, 0)
    assert on_disk(target) == {f"Images/{rel}": data for rel, data in files.items()}


def test_an_unreadable_journal_stops_the_restore_and_says_what_to_do(backed_up, tmp_path):
    repo, snap, _files = backed_up
    target = tmp_path / "out"
    target.mkdir()
    (target / f"Images{JOURNAL_SUFFIX}").write_text('{"odbackup_restore_journal": 1, "snap')
    with pytest.raises(UnsafePath) as refused:
        restore(repo, snap, str(target))
    assert "cannot be read" in refused.value.message and "Delete that file" in (refused.value.hint or "")
    assert os.listdir(target) == [f"Images{JOURNAL_SUFFIX}"]
