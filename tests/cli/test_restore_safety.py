"""Restore never touches the live source and never overwrites or writes through anything."""
from __future__ import annotations

import os

import pytest
from cli_helpers import (
    describe_tree,
    events,
    explain,
    init_repo,
    json_lines,
    ok,
    shared_env,
    summary,
)

from engine.folders.restore import safe_name


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """A repository with one snapshot of ``Office``; the tests only read it."""
    base = tmp_path_factory.mktemp("restore-safety")
    repo = init_repo(base / "repo", base_env=shared_env(base / "home"))
    source = base / "Office"
    (source / "Charts").mkdir(parents=True)
    (source / "Charts" / "chart.txt").write_text("from the backup\n")
    (source / "Charts" / "other.txt").write_text("other\n")
    (source / "top.txt").write_text("top\n")
    repo.backup(source)
    return repo, source


def refused(repo, source, target) -> None:
    before = describe_tree(source, with_dir_times=True)
    cp = repo.restore(target)
    assert cp.returncode not in (0, 3), explain(cp)
    assert "Traceback" not in cp.stderr
    assert describe_tree(source, with_dir_times=True) == before


def test_restore_into_source_is_refused(shared):
    repo, source = shared
    refused(repo, source, source)


def test_restore_into_subfolder_of_source_is_refused(shared):
    repo, source = shared
    refused(repo, source, source / "Charts" / "restore-here")
    assert not (source / "Charts" / "restore-here").exists()


def test_restore_into_source_through_a_link_is_refused(tmp_path, shared):
    repo, source = shared
    alias = tmp_path / "alias"
    alias.symlink_to(source, target_is_directory=True)
    refused(repo, source, alias)


def test_existing_file_is_not_overwritten(tmp_path, shared):
    repo, source = shared
    target = tmp_path / "restored"
    mine = target / "Office" / "Charts" / "chart.txt"
    mine.parent.mkdir(parents=True)
    mine.write_text("my newer edit\n")
    os.utime(mine, ns=(1_111_111_111_000_000_000, 1_111_111_111_000_000_000))
    cp = repo.restore(target)
    assert cp.returncode == 3, explain(cp)
    assert mine.read_text() == "my newer edit\n"
    assert mine.stat().st_mtime_ns == 1_111_111_111_000_000_000
    assert [e["path"] for e in events(cp, "restore_problem")] == ["Office/Charts/chart.txt"]
    assert (target / "Office" / "Charts" / "other.txt").read_text() == "other\n"
    assert (target / "Office" / "top.txt").read_text() == "top\n"
    leftovers = [p for p in target.rglob("*") if p.name.startswith(".odbackup-partial-")]
    assert leftovers == []


def test_link_in_target_is_not_written_through(tmp_path, shared):
    """A link standing where a folder goes is a problem of the target folder (exit 3),
    not damage in the repository (exit 6)."""
    repo, source = shared
    target = tmp_path / "restored"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (target / "Office").mkdir(parents=True)
    (target / "Office" / "Charts").symlink_to(elsewhere, target_is_directory=True)
    cp = repo.restore(target)
    assert list(elsewhere.iterdir()) == []  # nothing written through the link
    assert (target / "Office" / "top.txt").read_text() == "top\n"
    assert cp.returncode == 3, explain(cp)
    assert [e["path"] for e in events(cp, "restore_problem")] == ["Office/Charts"]


def test_file_where_a_folder_goes_is_kept_and_the_rest_restored(tmp_path, shared):
    """Like a link there: a problem of the target folder (exit 3), not the end of the restore."""
    repo, _ = shared
    target = tmp_path / "restored"
    (target / "Office").mkdir(parents=True)
    blocker = target / "Office" / "Charts"
    blocker.write_text("a file where the backup has a folder\n")
    cp = repo.restore(target)
    assert blocker.read_text() == "a file where the backup has a folder\n"
    assert cp.returncode == 3, explain(cp)
    assert (target / "Office" / "top.txt").read_text() == "top\n"
    assert "Office/Charts" in [e["path"] for e in events(cp, "restore_problem")]


def test_target_that_is_a_file_is_refused(tmp_path, shared):
    repo, _ = shared
    afile = tmp_path / "not-a-folder.txt"
    afile.write_text("keep me\n")
    cp = repo.restore(afile)
    assert cp.returncode not in (0, 3), explain(cp)
    assert "Traceback" not in cp.stderr
    assert afile.read_text() == "keep me\n"


@pytest.mark.parametrize("name", ["..", ".", "a/b", "a\\b", "", "x\0y"])
def test_safe_name_refuses(name):
    assert safe_name(name) is False


@pytest.mark.parametrize("name", ["Müller.txt", "Zoë Smith 1234", ".hidden", "a..b"])
def test_safe_name_accepts(name):
    assert safe_name(name) is True


def test_restore_selected_path_that_does_not_exist(tmp_path, shared):
    repo, _ = shared
    cp = repo.run(["restore", "--repo", repo.path, "latest", "Office/../../etc", "--to", tmp_path / "t"])
    assert cp.returncode not in (0, 3), explain(cp)
    assert "Traceback" not in cp.stderr
    assert not (tmp_path / "etc").exists()


def test_restore_into_the_folder_holding_the_source_is_refused(shared):
    """``--to`` the parent of ``Office`` would write into ``Office`` itself: the live folder."""
    repo, source = shared
    before = describe_tree(source.parent / "Office", with_dir_times=True)
    cp = repo.restore(source.parent)
    assert cp.returncode not in (0, 3), explain(cp)
    assert "--overwrite --confirm" in cp.stdout + cp.stderr
    assert describe_tree(source, with_dir_times=True) == before


# --- putting files back in place: overwrite mode, confirmed -----------------------------------


@pytest.fixture
def live(tmp_path):
    """A repository with one snapshot of ``Images``, after which the office changed things."""
    repo = init_repo(tmp_path / "repo")
    images = tmp_path / "Images"
    (images / "A" / "AdamsAnn1").mkdir(parents=True)
    (images / "A" / "AdamsAnn1" / "xray.jpg").write_bytes(b"x-ray as backed up" * 1000)
    (images / "A" / "AdamsAnn1" / "unchanged.txt").write_text("same\n")
    (images / "B" / "BakerBob2").mkdir(parents=True)
    (images / "B" / "BakerBob2" / "chart.pdf").write_bytes(b"chart as backed up")
    repo.backup(images)
    # since the backup: one x-ray damaged, one patient folder deleted, one new scan added
    (images / "A" / "AdamsAnn1" / "xray.jpg").write_bytes(b"scrambled by a virus")
    (images / "B" / "BakerBob2" / "chart.pdf").unlink()
    (images / "B" / "BakerBob2").rmdir()
    (images / "A" / "AdamsAnn1" / "new-scan.pdf").write_bytes(b"made after the backup")
    return repo, images


def summary_or_error(cp):
    return [d for d in json_lines(cp.stdout) if d["event"] in ("summary", "error")][-1]


def restore_original(repo, *extra, paths=()):
    return repo.run(["restore", "--repo", repo.path, "latest", "--original", *paths, *extra, "--json"])


def test_original_place_needs_overwrite_and_confirm(live):
    repo, images = live
    before = describe_tree(images, with_dir_times=True)
    for extra in ((), ("--overwrite",), ("--overwrite", "--confirm", str(images.parent)),
                  ("--confirm", str(images))):
        cp = restore_original(repo, *extra)
        assert cp.returncode == 1, explain(cp)  # refused
        assert summary_or_error(cp)["title"] == "Refused"
        assert "Traceback" not in cp.stderr
        assert describe_tree(images, with_dir_times=True) == before


def test_dry_run_says_exactly_what_would_be_replaced(live):
    repo, images = live
    before = describe_tree(images, with_dir_times=True)
    doc = summary(ok(restore_original(repo, "--overwrite", "--dry-run")))
    assert doc["live"] == [str(images)]
    assert doc["replaced"] == ["Images/A/AdamsAnn1/xray.jpg"]
    assert doc["new_files"] == 1 and doc["new_bytes"] == len(b"chart as backed up")
    assert doc["unchanged"] == 1
    assert describe_tree(images, with_dir_times=True) == before  # nothing written
    assert not list(images.parent.glob("Images.odbackup-replaced-*"))


def test_confirmed_overwrite_puts_the_backup_back_and_keeps_what_it_replaced(live):
    repo, images = live
    unchanged = images / "A" / "AdamsAnn1" / "unchanged.txt"
    inode = unchanged.stat().st_ino
    cp = ok(restore_original(repo, "--overwrite", "--confirm", str(images) + os.sep, "--verify"))
    doc = summary(cp)
    assert (doc["files"], doc["replaced"], doc["unchanged"]) == (2, 1, 1)
    assert (images / "A" / "AdamsAnn1" / "xray.jpg").read_bytes() == b"x-ray as backed up" * 1000
    assert (images / "B" / "BakerBob2" / "chart.pdf").read_bytes() == b"chart as backed up"
    assert (images / "A" / "AdamsAnn1" / "new-scan.pdf").read_bytes() == b"made after the backup"  # left alone
    assert unchanged.stat().st_ino == inode  # not rewritten
    [kept] = doc["kept_in"]
    assert os.path.dirname(kept) == str(images.parent) and os.path.basename(kept).startswith("Images.odbackup-")
    assert (images.parent / kept / "A" / "AdamsAnn1" / "xray.jpg").read_bytes() == b"scrambled by a virus"
    assert not [p for p in images.rglob("*") if p.name.startswith(".odbackup-partial-")]
    # once more: everything is as in the backup, nothing to replace
    again = summary(ok(restore_original(repo, "--overwrite", "--confirm", str(images))))
    assert (again["files"], again["replaced"], again["unchanged"]) == (0, 0, 3)


def test_one_patient_folder_back_in_place(live):
    repo, images = live
    cp = ok(restore_original(repo, "--overwrite", "--confirm", str(images), paths=("Images/B/BakerBob2",)))
    assert summary(cp)["files"] == 1
    assert (images / "B" / "BakerBob2" / "chart.pdf").read_bytes() == b"chart as backed up"
    assert (images / "A" / "AdamsAnn1" / "xray.jpg").read_bytes() == b"scrambled by a virus"  # not selected
