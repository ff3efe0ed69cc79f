"""Finding an archive drive by its repository ID wherever it is plugged in (engine/archive/drives.py):
at its hint, moved to another place, never an empty mount point or another drive; looking writes nothing."""
from __future__ import annotations

import os
from pathlib import Path

from engine.archive.drives import (
    ArchiveBook,
    ArchiveDrive,
    blank_drives,
    candidate_places,
    load_book,
    locate,
    locate_all,
    repo_id_at,
    update_book,
)
from engine.repository.repo import Repository

PASSPHRASE = "correct horse battery staple"


def _tree(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_size for p in sorted(root.rglob("*"))}


def _drives(tmp_path: Path) -> tuple[Repository, Repository, Path]:
    """A main repository and a related one on 'drive B' below a folder of mount points."""
    main, _ = Repository.init(str(tmp_path / "main"), PASSPHRASE)
    mounts = tmp_path / "media"
    archive, _ = Repository.init_related(str(mounts / "DRIVE_B" / "odbackup"), main, PASSPHRASE, label="Drive B")
    return main, archive, mounts


def test_a_drive_is_found_at_its_hint_and_after_it_moved(tmp_path):
    main, archive, mounts = _drives(tmp_path)
    drive = ArchiveDrive(archive.repo_id, "Drive B", hint=archive.location)
    assert locate(drive, []).place == archive.location and not locate(drive, []).moved
    (mounts / "DRIVE_B").rename(mounts / "E_DRIVE")  # plugged in again under another name
    moved = locate(drive, candidate_places((str(mounts),), system=False))
    assert moved.place == str(mounts / "E_DRIVE" / "odbackup") and moved.moved
    assert repo_id_at(moved.place) == archive.repo_id != main.repo_id


def test_an_empty_mount_point_another_drive_and_the_main_repository_are_not_the_drive(tmp_path):
    main, archive, mounts = _drives(tmp_path)
    drive = ArchiveDrive(archive.repo_id, "Drive B", hint=archive.location)
    (mounts / "DRIVE_B").rename(tmp_path / "unplugged")
    (mounts / "DRIVE_B").mkdir()  # the mount point stays behind, empty
    other, _ = Repository.init_related(str(mounts / "DRIVE_C" / "odbackup"), main, PASSPHRASE, label="Drive C")
    (mounts / "USB_STICK" / "Photos").mkdir(parents=True)
    (mounts / "USB_STICK" / "config").write_text('{"format": "something else", "id": "x"}')
    before = _tree(tmp_path)
    found = locate(drive, candidate_places((str(mounts), str(main.location)), system=False))
    assert found.place is None
    assert locate(ArchiveDrive(other.repo_id, "Drive C"), candidate_places((str(mounts),), system=False)).place \
        == other.location
    assert _tree(tmp_path) == before  # looking wrote nothing anywhere
    assert os.listdir(mounts / "DRIVE_B") == []


def test_candidate_places_look_two_levels_into_search_folders(tmp_path):
    (tmp_path / "a" / "b" / "c").mkdir(parents=True)
    places = candidate_places((str(tmp_path),), system=False)
    assert places == [str(tmp_path), str(tmp_path / "a"), str(tmp_path / "a" / "b")]


def test_the_book_is_read_and_changed_under_its_lock(tmp_path):
    assert load_book() == ArchiveBook()
    main, archive, mounts = _drives(tmp_path)
    update_book(lambda b: b.with_drive(ArchiveDrive(archive.repo_id, "Drive B", hint=archive.location)))
    update_book(lambda b: b.with_drive(ArchiveDrive("ab" * 16, "Drive A", hint=str(tmp_path / "nowhere"))))
    book = load_book()
    assert [d.label for d in book.drives] == ["Drive B", "Drive A"]
    assert book.find("drive b").repo_id == archive.repo_id and book.find("abab").label == "Drive A"
    spots = locate_all(book)
    assert [s.place for s in spots] == [archive.location, None]
    assert load_book().without(archive.repo_id).drives[0].label == "Drive A"


def test_blank_drives_are_mounted_writable_and_hold_no_repository(tmp_path):
    """The system's mount test is handed in (mounting a drive in a test needs more than a folder):
    a left-over mount point, a drive holding a repository, or one an archive is on, is not offered."""
    main, archive, mounts = _drives(tmp_path)
    blank = mounts / "NEW_USB"
    blank.mkdir()
    (blank / "lost+found").mkdir()
    left_over = mounts / "OLD_USB"
    left_over.mkdir()
    places = [str(blank), str(left_over), str(mounts / "DRIVE_B"), str(tmp_path / "main")]
    mounted = {str(blank), str(mounts / "DRIVE_B"), str(tmp_path / "main")}
    before = _tree(tmp_path)
    assert blank_drives(places, mounted.__contains__) == [str(blank)]
    assert blank_drives([str(tmp_path / "nowhere")]) == []
    assert _tree(tmp_path) == before
