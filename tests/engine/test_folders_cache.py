"""The files cache on real folders: unchanged folders are reused whole, anything that
changed is seen and read again, and the cache is never trusted past the repository.

Every backup here runs against a freshly opened repository (as a new process would:
index loaded again, files cache opened again), and every snapshot is compared with
what is on disk: names, types, sizes, modes, times, link targets and file bytes.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import stat

import pytest

from engine import paths
from engine.backup import BackupPlan, BackupResult, run_backup
from engine.folders import browse
from engine.folders.filescache import SCHEMA_VERSION, FilesCache
from engine.repository.repo import Repository

PASS = "a long test passphrase"
POSIX = os.name != "nt"


def opened(repo_path) -> Repository:
    repo = Repository.open(str(repo_path))
    repo.unlock(PASS)
    return repo


def backup(repo_path, source) -> BackupResult:
    return run_backup(opened(repo_path), BackupPlan((str(source),)))


def write(path, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def make_tree(root) -> None:
    """A small A-to-Z-like folder: letters, patients, images, one empty folder."""
    write(root / "Readme.txt", b"top level file\n")
    for letter, patients in {"A": ["AdamsJo1", "AllenMa2"], "B": ["BrownPe3"], "S": ["SmithJo4"]}.items():
        for n, patient in enumerate(patients):
            for k in range(3):
                write(root / letter / patient / f"img{k}.jpg", os.urandom(2000 + 700 * k + n))
    write(root / "S" / "SmithJo4" / "big.bin", os.urandom(600_000))  # several chunks
    (root / "Empty").mkdir()


def folder_count(root) -> int:
    return 1 + sum(len(dirs) for _, dirs, _ in os.walk(root))


def file_count(root) -> int:
    return sum(len(files) for _, _, files in os.walk(root))


def snapshot_entries(repo_path, snapshot_id: str) -> dict[str, dict]:
    repo = opened(repo_path)
    snap = repo.find_snapshot(snapshot_id)
    (root,) = browse.roots(repo, snap)
    found = {}
    for entry in browse.walk(repo, root):
        rel = entry.path.split("/", 1)[1] if "/" in entry.path else ""
        node = entry.node.to_json()
        if node["type"] == "file":
            node["bytes"] = b"".join(repo.read_blob(bytes.fromhex(cid)) for cid, _ in node["content"])
        found[rel] = node
    return found


def disk_entries(root) -> dict[str, dict]:
    found = {"": {"type": "dir"}}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            st = os.lstat(path)
            node = {"type": "dir", "mode": stat.S_IMODE(st.st_mode), "mtime_ns": st.st_mtime_ns}
            if stat.S_ISLNK(st.st_mode):
                node.update(type="symlink", target=os.readlink(path))
            elif stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    node.update(type="file", size=st.st_size, bytes=f.read())
            found[rel] = node
    return found


def assert_snapshot_is_disk(repo_path, result: BackupResult, root) -> None:
    assert result.complete, result.skipped
    got = snapshot_entries(repo_path, result.snapshot_id)
    want = disk_entries(root)
    assert sorted(got) == sorted(want)
    for rel, node in want.items():
        if rel == "":
            continue
        for field_name, value in node.items():
            assert got[rel][field_name] == value, (rel, field_name)
        if node["type"] == "file":
            assert got[rel]["size"] == len(got[rel]["bytes"])


@pytest.fixture
def repo_path(tmp_path):
    Repository.init(str(tmp_path / "repo"), PASS)
    return tmp_path / "repo"


@pytest.fixture
def source(tmp_path):
    root = tmp_path / "Images"
    make_tree(root)
    return root


def test_unchanged_rerun_reuses_every_folder_and_reads_no_file(repo_path, source):
    first = backup(repo_path, source)
    assert first.files_read == file_count(source) and first.folders_reused == 0
    assert_snapshot_is_disk(repo_path, first, source)

    second = backup(repo_path, source)
    assert second.files_read == 0
    assert second.folders_reused == folder_count(source)
    assert (second.files, second.bytes, second.bytes_added) == (first.files, first.bytes, 0)
    assert_snapshot_is_disk(repo_path, second, source)
    trees = [opened(repo_path).find_snapshot(r.snapshot_id).sources[0].tree for r in (first, second)]
    assert trees[0] == trees[1]


def test_a_changed_file_is_read_again_and_only_its_folders_rebuilt(repo_path, source):
    backup(repo_path, source)
    with open(source / "S" / "SmithJo4" / "img1.jpg", "ab") as f:
        f.write(b"appended")
    result = backup(repo_path, source)
    assert result.files_read == 1
    assert result.folders_reused == folder_count(source) - 3  # SmithJo4, S and the root
    assert_snapshot_is_disk(repo_path, result, source)
    again = backup(repo_path, source)
    assert (again.files_read, again.folders_reused) == (0, folder_count(source))


@pytest.mark.skipif(not POSIX, reason="the change time is what catches this, and Windows has none")
def test_same_size_rewrite_with_the_old_time_put_back_is_still_read(repo_path, source):
    backup(repo_path, source)
    target = source / "A" / "AllenMa2" / "img2.jpg"
    before = os.stat(target)
    with open(target, "r+b") as f:
        f.seek(100)
        f.write(b"X" * 50)
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (os.stat(target).st_size, os.stat(target).st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    result = backup(repo_path, source)
    assert result.files_read == 1
    assert_snapshot_is_disk(repo_path, result, source)


def test_added_removed_renamed_files_and_new_folders_are_seen(repo_path, source):
    backup(repo_path, source)
    write(source / "B" / "BrownPe3" / "new.jpg", os.urandom(3000))
    os.remove(source / "A" / "AdamsJo1" / "img0.jpg")
    os.rename(source / "S" / "SmithJo4" / "img0.jpg", source / "S" / "SmithJo4" / "renamed.jpg")
    (source / "Empty" / "Inner").mkdir()
    result = backup(repo_path, source)
    assert result.files_read == 2  # the new file, and the renamed one (its path is new)
    assert_snapshot_is_disk(repo_path, result, source)


def test_a_folder_moved_elsewhere_is_listed_under_its_new_place(repo_path, source):
    backup(repo_path, source)
    os.rename(source / "B" / "BrownPe3", source / "A" / "BrownPe3")
    result = backup(repo_path, source)
    assert_snapshot_is_disk(repo_path, result, source)


@pytest.mark.skipif(not POSIX, reason="POSIX permission bits")
def test_a_mode_change_alone_is_seen(repo_path, source):
    backup(repo_path, source)
    os.chmod(source / "Readme.txt", 0o600)
    os.chmod(source / "B" / "BrownPe3", 0o700)
    result = backup(repo_path, source)
    assert result.files_read == 1  # chmod sets the change time: the file is read again
    # Rebuilt: the root (Readme's mode) and B (BrownPe3's mode is in B's listing);
    # BrownPe3's own listing did not change.
    assert result.folders_reused == folder_count(source) - 2
    assert_snapshot_is_disk(repo_path, result, source)  # the new modes are recorded


@pytest.mark.skipif(not POSIX, reason="symbolic links need privileges on Windows")
def test_a_link_pointing_elsewhere_is_seen_even_with_its_old_time(repo_path, source):
    link = source / "S" / "latest"
    os.symlink("SmithJo4", link)
    first = backup(repo_path, source)
    assert_snapshot_is_disk(repo_path, first, source)
    before = os.lstat(link)
    os.remove(link)
    os.symlink("SmithJo4/img1.jpg", link)
    os.utime(link, ns=(before.st_atime_ns, before.st_mtime_ns), follow_symlinks=False)
    result = backup(repo_path, source)
    assert_snapshot_is_disk(repo_path, result, source)


@pytest.mark.skipif(not POSIX or not hasattr(os, "mkfifo"), reason="needs a FIFO")
def test_a_folder_with_a_skipped_entry_is_never_reused(repo_path, source):
    os.mkfifo(source / "B" / "BrownPe3" / "pipe")
    first = backup(repo_path, source)
    assert not first.complete and [p for p, _ in first.skipped] == [str(source / "B" / "BrownPe3" / "pipe")]
    second = backup(repo_path, source)
    assert [p for p, _ in second.skipped] == [str(source / "B" / "BrownPe3" / "pipe")]
    assert second.folders_reused == folder_count(source) - 1  # all but the FIFO's folder
    assert second.files_read == 0  # its files still come from the per-file cache


def test_a_clone_of_the_repository_lacking_the_blobs_gets_them_stored(tmp_path, repo_path, source):
    """Two drives cloned from one repository share its ID, and so this machine's files
    cache: a folder the cache knows from one drive must still be stored on the other."""
    clone = tmp_path / "clone"
    shutil.copytree(repo_path, clone)
    on_first = backup(repo_path, source)
    on_clone = backup(clone, source)
    assert on_clone.folders_reused == 0 and on_clone.files_read == file_count(source)
    assert on_clone.bytes_added == on_first.bytes_added
    assert_snapshot_is_disk(clone, on_clone, source)
    again = backup(clone, source)
    assert (again.files_read, again.folders_reused) == (0, folder_count(source))


def test_the_cache_is_not_trusted_for_blobs_the_index_lost(repo_path, source):
    """Index files gone (a damaged or replaced repository): nothing is taken on trust."""
    backup(repo_path, source)
    for name in os.listdir(repo_path / "index"):
        os.remove(repo_path / "index" / name)
    result = backup(repo_path, source)
    assert result.folders_reused == 0 and result.files_read == file_count(source)
    assert_snapshot_is_disk(repo_path, result, source)


def test_two_sources_and_one_given_twice(repo_path, source, tmp_path):
    other = tmp_path / "Docs"
    write(other / "letter.odt", os.urandom(5000))
    plan = BackupPlan((str(source), str(other), str(source)))
    run_backup(opened(repo_path), plan)
    result = run_backup(opened(repo_path), plan)
    assert result.files_read == 0
    assert result.folders_reused == 2 * folder_count(source) + folder_count(other)
    assert result.files == 2 * file_count(source) + 1


# --- the cache file itself -------------------------------------------------------------


def cache_file(repo_id: str) -> str:
    return os.path.join(paths.cache_dir(), repo_id, "files.sqlite")


def test_a_version_1_cache_is_upgraded_and_keeps_its_file_entries(repo_path):
    repo_id = opened(repo_path).repo_id
    os.makedirs(os.path.dirname(cache_file(repo_id)))
    db = sqlite3.connect(cache_file(repo_id))
    db.execute("CREATE TABLE files (key BLOB PRIMARY KEY, size INTEGER, mtime INTEGER,"
               " ino INTEGER, ctime INTEGER, content BLOB)")
    db.execute("INSERT INTO files VALUES (?, 1, 2, 3, 4, ?)", (b"k" * 32, b"i" * 32 + b"\x05\x00\x00\x00"))
    db.commit()
    db.close()
    cache = FilesCache(repo_id)
    assert cache.lookup(b"k" * 32, (1, 2, 3, 4)) == [(b"i" * 32, 5)]
    assert cache.lookup(b"k" * 32, (1, 2, 3, 5)) is None  # another change time: not the same file
    assert cache.lookup_dir(b"d" * 32) is None
    cache.close()
    db = sqlite3.connect(cache_file(repo_id))
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()


def test_a_cache_from_a_newer_version_is_started_afresh(repo_path, source):
    backup(repo_path, source)
    repo_id = opened(repo_path).repo_id
    db = sqlite3.connect(cache_file(repo_id))
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    result = backup(repo_path, source)
    assert result.folders_reused == 0 and result.files_read == file_count(source)
    assert result.bytes_added == 0  # the repository still deduplicates everything
    assert_snapshot_is_disk(repo_path, result, source)


def test_the_cache_names_no_file_or_folder(repo_path, source):
    backup(repo_path, source)
    backup(repo_path, source)
    with open(cache_file(opened(repo_path).repo_id), "rb") as f:
        raw = f.read()
    for name in ("Readme", "SmithJo4", "img0", "Images", "Empty"):
        assert name.encode() not in raw


def test_files_remembered_in_batches_are_found_before_and_after_they_are_written():
    """``remember`` writes to SQLite a batch at a time: rows not yet written are still found
    (one by one and many at once), and ``commit`` writes the rest for the next run."""
    cache = FilesCache("batched")  # (in the test's own cache folder: tests/conftest.py)
    rows = {i.to_bytes(32, "big"): ((i, i * 10, i + 7, i * 3), [(bytes([i % 256]) * 32, i + 1)])
            for i in range(1234)}  # more than two batches
    for key, (sig, content) in rows.items():
        cache.remember(key, sig, content)
    keys = list(rows)
    assert all(cache.lookup(k, rows[k][0]) == rows[k][1] for k in keys)
    assert cache.lookup(keys[-1], (0, 0, 0, 0)) is None  # a different signature is not a match
    found = cache.lookup_many(keys + [b"\xff" * 32])
    assert {k: (sig, cache.decode(content)) for k, (sig, content) in found.items()} == rows
    cache.remember(keys[0], (1, 2, 3, 4), [])  # remembered again: the newer row wins
    cache.commit()
    cache.close()

    again = FilesCache("batched")
    assert again.lookup(keys[0], (1, 2, 3, 4)) == []
    assert all(again.lookup(k, rows[k][0]) == rows[k][1] for k in keys[1:])
    again.close()
