"""Backup and restore give back exactly what was there; unchanged data is stored once."""
from __future__ import annotations

import os

import pytest
from cli_helpers import (
    BIG_FILE_SIZE,
    cli_env,
    describe_tree,
    events,
    init_repo,
    json_lines,
    make_tree,
    ok,
    random_file,
    shared_env,
    summary,
)

from engine.chunker import MAX_SIZE


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One repository with one snapshot of :func:`make_tree` (source ``Practice``),
    restored once into ``restored``; the read-only tests below share it."""
    base = tmp_path_factory.mktemp("roundtrip")
    repo = init_repo(base / "repo", base_env=shared_env(base / "home"))
    source = make_tree(base / "src" / "Practice")
    before = describe_tree(source, with_dir_times=True)
    doc = repo.backup(source)
    restored = base / "restored"
    ok(repo.restore(restored))
    return repo, source, before, doc, restored


@pytest.fixture(scope="module")
def listing(shared) -> list[dict]:
    """``ls --json`` of the shared snapshot, chosen by an 8-digit ID prefix."""
    repo, _, _, doc, _ = shared
    cp = ok(repo.run(["ls", "--repo", repo.path, doc["snapshot_id"][:8], "--json"]))
    assert summary(cp)["snapshot_id"] == doc["snapshot_id"]
    return json_lines(cp.stdout)


@pytest.fixture
def backed_up(tmp_path, repo):
    """A fresh repository holding one snapshot of :func:`make_tree` (for tests that write)."""
    source = make_tree(tmp_path / "src" / "Practice")
    before = describe_tree(source, with_dir_times=True)
    doc = repo.backup(source)
    return repo, source, before, doc


def test_backup_summary_counts_files_and_bytes(shared):
    repo, source, before, doc, _ = shared
    files = [v for v in before.values() if v[0] == "file"]
    assert doc["complete"] is True
    assert doc["files"] == len(files)
    assert doc["bytes"] == sum(v[1] for v in files)
    assert doc["bytes_added"] == doc["bytes"]  # a fresh repository: everything is new
    assert doc["skipped"] == []


def test_restore_is_identical(shared):
    repo, source, before, _, target = shared
    assert sorted(os.listdir(target)) == ["Practice"]
    # Names, types, sizes, contents, file mtimes (ns) and modes, link targets.
    assert describe_tree(target / "Practice") == describe_tree(source)


def test_restore_keeps_folder_times(shared):
    repo, source, before, _, target = shared
    assert describe_tree(target / "Practice", with_dir_times=True) == before


def test_symlink_is_recorded_not_followed(shared, listing):
    repo, source, _, _, target = shared
    link = target / "Practice" / "link-to-outside"
    assert link.is_symlink()
    assert os.readlink(link) == os.readlink(source / "link-to-outside")
    assert os.readlink(target / "Practice" / "link-to-readme") == "Nested/readme.txt"
    paths = {e["path"]: e for e in listing if e["event"] == "entry"}
    assert paths["Practice/link-to-outside"]["type"] == "symlink"
    assert not any("outside-secret" in p for p in paths)


def test_empty_folder_and_empty_file_restored(shared):
    repo, _, _, _, target = shared
    assert (target / "Practice" / "EmptyFolder").is_dir()
    assert os.listdir(target / "Practice" / "EmptyFolder") == []
    assert (target / "Practice" / "empty.dat").read_bytes() == b""


def test_restore_verify_succeeds(tmp_path, shared):
    repo, source, _, _, _ = shared
    cp = ok(repo.restore(tmp_path / "restored", extra=("--verify",)))
    finished = events(cp, "restore_finished")
    assert finished and finished[0]["verified"] is True and finished[0]["problems"] == 0
    assert summary(cp)["files"] == sum(1 for v in describe_tree(source).values() if v[0] == "file")


def test_ls_lists_every_entry_with_non_ascii_names(shared, listing):
    repo, source, before, _, _ = shared
    listed = [e["path"] for e in listing if e["event"] == "entry"]
    assert set(listed) == {"Practice"} | {f"Practice/{rel}" for rel in before}
    assert len(listed) == len(set(listed))
    assert listing[-1]["event"] == "summary" and listing[-1]["entries"] == len(listed)


def test_restore_chosen_path_only(tmp_path, shared):
    """docs/CLI.md: ``restore --repo REPO SNAPSHOT --to DIR [PATH ...]``."""
    repo, source, _, _, _ = shared
    target = tmp_path / "restored"
    wanted = "Practice/Nested/Deeper/Müller Zoë.txt"
    ok(repo.run(["restore", "--repo", repo.path, "latest", "--to", target, wanted, "--json"]))
    restored = describe_tree(target)
    assert restored == {
        "Practice": restored["Practice"],
        "Practice/Nested": restored["Practice/Nested"],
        "Practice/Nested/Deeper": restored["Practice/Nested/Deeper"],
        "Practice/Nested/Deeper/Müller Zoë.txt": describe_tree(source)["Nested/Deeper/Müller Zoë.txt"],
    }


def test_restore_chosen_folder(tmp_path, shared):
    """The PATH may also come before ``--to``."""
    repo, source, _, _, _ = shared
    target = tmp_path / "restored"
    ok(repo.run(["restore", "--repo", repo.path, "latest", "Practice/Nested/Deeper", "--to", target]))
    assert describe_tree(target / "Practice" / "Nested" / "Deeper") == describe_tree(source / "Nested" / "Deeper")
    assert sorted(os.listdir(target / "Practice" / "Nested")) == ["Deeper"]


def test_two_sources_with_same_name(tmp_path, repo):
    a = tmp_path / "a" / "Images"
    b = tmp_path / "b" / "Images"
    a.mkdir(parents=True)
    b.mkdir(parents=True)
    (a / "one.txt").write_text("from a")
    (b / "two.txt").write_text("from b")
    repo.backup(a, b)
    target = tmp_path / "restored"
    ok(repo.restore(target))
    assert (target / "Images" / "one.txt").read_text() == "from a"
    assert (target / "Images-2" / "two.txt").read_text() == "from b"


# --- deduplication -----------------------------------------------------------------------


def test_unchanged_second_backup_adds_nothing(tmp_path, backed_up):
    repo, source, _, first = backed_up
    size_before = repo.size()
    packs_before = set(repo.files("data"))
    second = repo.backup(source)
    assert second["snapshot_id"] != first["snapshot_id"]
    assert second["bytes"] == first["bytes"]
    assert second["bytes_added"] == 0
    # Dedup comes from the repository, not only from this machine's files cache.
    third = repo.backup(source, env=cli_env(ODBACKUP_CACHE_DIR=str(tmp_path / "fresh-cache")))
    assert third["bytes_added"] == 0
    assert set(repo.files("data")) == packs_before
    assert repo.size() - size_before < 2 * 8 * 1024  # two snapshot files, nothing else


def test_changing_one_file_adds_about_its_size(backed_up):
    repo, source, _, _ = backed_up
    size_before = repo.size()
    changed = random_file(source / "Nested" / "big.bin", BIG_FILE_SIZE)
    doc = repo.backup(source)
    assert doc["bytes_added"] == changed.stat().st_size
    grown = repo.size() - size_before
    assert changed.stat().st_size <= grown < changed.stat().st_size + 64 * 1024


def test_small_edit_in_big_file_adds_few_chunks(tmp_path, repo):
    source = tmp_path / "Scans"
    big = random_file(source / "scan.raw", 12 * 1024 * 1024)
    repo.backup(source)
    mtime = big.stat().st_mtime_ns
    with open(big, "r+b") as f:  # same size, 100 bytes changed in the middle ...
        f.seek(6 * 1024 * 1024)
        f.write(os.urandom(100))
    os.utime(big, ns=(mtime, mtime))  # ... and the old time put back: the files cache must not be fooled
    doc = repo.backup(source)
    assert 0 < doc["bytes_added"] <= 2 * MAX_SIZE < big.stat().st_size  # a chunk or two, not the file
    ok(repo.restore(tmp_path / "restored"))
    assert (tmp_path / "restored" / "Scans" / "scan.raw").read_bytes() == big.read_bytes()
