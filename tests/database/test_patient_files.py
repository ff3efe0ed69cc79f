"""Verify proves the database and the images folder belong together (issue 18).

The demo practice (its ``document`` rows name its images folder's files) and the
21.1.9 corpus (no ``document`` rows of its own: a few are added to the test copy,
with matching files) on the real MariaDB; a few files deleted, a stray one added,
then backup and verify: the verdict and the report name them.
"""
from __future__ import annotations

import os

import corpora
import pytest
from dbhelpers import target

from engine.backup import BackupPlan, run_backup
from engine.database.dump import DatabasePlan
from engine.events import PatientFilesChecked
from engine.opendental.demo import create_demo
from engine.opendental.documents import (
    CHECKED,
    NO_IMAGES_FOLDER,
    NOT_OPEN_DENTAL,
    NamedFiles,
    check_live,
    compare_files,
    images_source,
    in_patient_folder,
    windows_key,
)
from engine.verify import render_text, verdict_words, verify_snapshot

SCALE = 0.05


# --- Windows semantics, no database ---------------------------------------------------------------


def test_case_and_separators_compare_as_windows_does():
    assert windows_key("S/SmithJohn12/x.JPG") == windows_key("s\\smithjohn12\\x.jpg")
    assert windows_key("S//SmithJohn12/") == windows_key("S/SmithJohn12")
    assert windows_key("S/Smith. /x.jpg ") == windows_key("S/Smith/x.jpg")  # Win32 drops trailing dots, spaces
    assert windows_key("S/Straße1") != windows_key("S/Strasse1")  # one character at a time, as NTFS does
    assert windows_key("S/a") != windows_key("S/b")


def test_compare_names_missing_and_unnamed_files_whatever_their_case():
    named = NamedFiles(("S/SmithJohn12/a.jpg", "S/SmithJohn12/B.jpg", "J/JonesAmy3/c.pdf", "EOBs/eob1.pdf"),
                       in_database=2, unplaced=1)
    files = ["s/smithjohn12/A.JPG", "S\\SMITHJOHN12\\b.jpg", "EOBS/EOB1.PDF",   # present, other case
             "S/SmithJohn12/stray.jpg", "S/SmithJohn12/Thumbnails/a.jpg", "S/SmithJohn12/Thumbs.db",
             "Forms/form.pdf"]
    found = compare_files("opendental", "OpenDentImages", named, files, live=False)
    assert found.state == CHECKED and found.checked == 4
    assert found.missing == ("J/JonesAmy3/c.pdf",) and found.missing_total == 1
    # only files directly in a patient folder count; thumbnails, Windows' own files and others do not
    assert found.unnamed == ("S/SmithJohn12/stray.jpg",) and found.unnamed_total == 1
    assert (found.in_database, found.unplaced) == (2, 1)
    assert in_patient_folder("s\\x\\y.jpg") and not in_patient_folder("EOBs/y.pdf")


def test_the_first_twenty_are_named_and_all_are_counted():
    named = NamedFiles(tuple(f"A/Ann{n}/f{n:03}.jpg" for n in range(45)))
    found = compare_files("od", "OpenDentImages", named, [], live=True)
    assert found.missing_total == 45 and len(found.missing) == 20
    assert found.missing[0] == "A/Ann0/f000.jpg"


def test_the_images_source_is_the_one_backed_up_from_the_settings_folder():
    from engine.repository.records import FolderSource, OtherSource

    def folder(name: str, path: str) -> FolderSource:
        return FolderSource(name, path, tree="00", mode=0o755, mtime_ns=0)

    sources = [OtherSource({"kind": "database", "name": "opendental"}),
               folder("OpenDentImages", "C:\\OpenDentImages"), folder("Docs", "/srv/Docs"),
               folder("Scans", "/srv/AtoZ")]
    assert images_source(sources, "c:/opendentimages\\").name == "OpenDentImages"
    assert images_source(sources, "/srv/AtoZ").name == "Scans"
    assert images_source(sources, "").name == "OpenDentImages"  # Open Dental's default name
    assert images_source(sources, "/srv/Other") is None
    assert images_source(sources[2:], "") is None


# --- the demo practice ------------------------------------------------------------------------------


@pytest.fixture
def demo(admin, fresh_db, tmp_path):
    """The demo practice: (database, images folder)."""
    db, images = fresh_db("demo"), str(tmp_path / "OpenDentImages")
    create_demo(admin, db, images, scale=SCALE)
    return db, images


def _document_files(images: str) -> list[str]:
    return sorted(os.path.relpath(os.path.join(d, f), images).replace(os.sep, "/")
                  for d, _sub, files in os.walk(images) for f in files)


def _damage(images: str) -> tuple[list[str], str]:
    """Delete three of the documents' files and add a stray one; returns (deleted, stray)."""
    files = _document_files(images)
    deleted = files[1:4]
    for path in deleted:
        os.remove(os.path.join(images, path))
    stray = os.path.join(os.path.dirname(files[0]), "StrayScan.pdf")
    with open(os.path.join(images, stray), "wb") as f:
        f.write(b"%PDF-1.4 a scan nobody filed\n")
    return deleted, stray


def test_demo_verify_names_the_missing_files_and_fails(demo, repo, tmp_path, monkeypatch):
    monkeypatch.setenv("ODBACKUP_REPORTS_DIR", str(tmp_path / "reports"))
    db, images = demo
    named = len(_document_files(images))
    deleted, stray = _damage(images)
    run_backup(repo, BackupPlan((images,), (DatabasePlan(target(db)),)))
    snap = repo.find_snapshot("latest")
    seen: list[PatientFilesChecked] = []
    report, text_path, _json = verify_snapshot(repo, snap, images_folder=images,
                                               on_event=lambda e: seen.append(e) if isinstance(
                                                   e, PatientFilesChecked) else None)
    assert len(seen) == 1
    found = seen[0]
    assert found.state == CHECKED and found.checked == named
    assert sorted(found.missing) == sorted(deleted) and found.missing_total == 3
    assert found.unnamed == (stray,) and found.unnamed_total == 1
    assert not report.ok
    assert report.databases[0].tables and all(t["ok"] for t in report.databases[0].tables)  # the tables are fine
    words = "restores, but 3 patient files the database names are not in the backup"
    assert verdict_words(report) == f"FAILED: {words}."
    assert [p for p in report.problems if words in p] == report.problems and len(report.problems) == 1
    text = open(text_path).read()
    assert f"Verdict:   FAILED: {words}." in text
    for path in deleted:
        assert f"missing: {path}" in text
    assert stray in text and "that no row names" in text


def test_demo_with_every_file_passes_and_says_what_was_checked(demo, repo, tmp_path, monkeypatch):
    monkeypatch.setenv("ODBACKUP_REPORTS_DIR", str(tmp_path / "reports"))
    db, images = demo
    run_backup(repo, BackupPlan((images,), (DatabasePlan(target(db)),)))
    report, text_path, _json = verify_snapshot(repo, repo.find_snapshot("latest"), images_folder=images)
    assert report.ok, report.problems
    checked = report.databases[0].patient_files
    assert checked["state"] == CHECKED and checked["missing_total"] == 0
    assert checked["checked"] == len(_document_files(images))
    assert "all there" in open(text_path).read()


def test_a_snapshot_without_the_images_folder_says_so_and_does_not_fail(demo, repo, tmp_path, monkeypatch):
    monkeypatch.setenv("ODBACKUP_REPORTS_DIR", str(tmp_path / "reports"))
    db, images = demo
    run_backup(repo, BackupPlan((), (DatabasePlan(target(db)),)))  # a database-only (intraday) snapshot
    report, text_path, _json = verify_snapshot(repo, repo.find_snapshot("latest"), images_folder=images)
    assert report.ok, report.problems
    checked = report.databases[0].patient_files
    assert checked["state"] == NO_IMAGES_FOLDER and checked["named"] > 0
    assert f"this snapshot holds no images folder (the settings' images folder, {images}, not in it)" \
        in open(text_path).read()


def test_the_preflight_check_reads_the_live_database_and_folder(demo):
    db, images = demo
    deleted, stray = _damage(images)
    found = check_live(target(db), images)
    assert found.live and sorted(found.missing) == sorted(deleted)
    assert found.unnamed == (stray,)
    from engine.opendental.documents import missing_words

    assert missing_words(found) == "3 patient files the database names are missing from the images folder today"
    assert check_live(target(db), "").state == NO_IMAGES_FOLDER


def test_a_database_that_is_not_open_dentals_is_said_plainly(admin, fresh_db, tmp_path):
    db = fresh_db("plain")
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
        cur.execute(f"CREATE TABLE `{db}`.t (id INT PRIMARY KEY)")
    found = check_live(target(db), str(tmp_path))
    assert found.state == NOT_OPEN_DENTAL and "not an Open Dental database" in found.note


# --- the 21.1.9 corpus ------------------------------------------------------------------------------


def test_corpus_21_1_9_rows_added_to_a_copy_are_checked(corpora_here, admin, fresh_db, repo, tmp_path,
                                                       monkeypatch):
    """The corpus has no document rows: a few are added to this test's copy (one kept in the
    database, one EOB), with their files in another case and one file missing."""
    monkeypatch.setenv("ODBACKUP_REPORTS_DIR", str(tmp_path / "reports"))
    db = fresh_db("od21")
    corpora.load("opendental", db)
    with admin.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM `{db}`.document")
        assert cur.fetchone()[0] == 0
        cur.execute("SET SESSION sql_mode = ''")  # as Open Dental itself writes (columns without defaults)
        cur.execute(f"INSERT INTO `{db}`.patient (PatNum, LName, FName, ImageFolder) VALUES"
                    " (9001, 'Smith', 'John', 'SmithJohn9001'), (9002, 'Jones', 'Amy', 'jonesAmy9002')")
        for num, pat, name, raw in ((1, 9001, "SmithJohn9001_1.jpg", ""), (2, 9001, "SmithJohn9001_2.pdf", ""),
                                    (3, 9002, "jonesAmy9002_3.jpg", ""), (4, 9002, "inside.jpg", "AAAA")):
            cur.execute(f"INSERT INTO `{db}`.document (DocNum, PatNum, FileName, DateCreated, DocCategory,"
                        " DegreesRotated, Note, SigIsTopaz, CropX, CropY, CropW, CropH, WindowingMin,"
                        " WindowingMax, MountItemNum, RawBase64, Thumbnail, ExternalGUID, ExternalSource, ProvNum)"
                        " VALUES (%s, %s, %s, NOW(), 0, 0, '', 0, 0, 0, 0, 0, 0, 0, 0, %s, '', '', '', 0)",
                        (num, pat, name, raw))
        cur.execute(f"INSERT INTO `{db}`.eobattach (ClaimPaymentNum, DateTCreated, FileName, RawBase64)"
                    " VALUES (1, NOW(), 'eob_1.pdf', '')")
    images = tmp_path / "AtoZ"
    for rel in ("s/smithjohn9001/SMITHJOHN9001_1.JPG", "J/jonesAmy9002/jonesAmy9002_3.jpg", "eobs/EOB_1.pdf"):
        (images / rel).parent.mkdir(parents=True, exist_ok=True)
        (images / rel).write_bytes(b"x")
    run_backup(repo, BackupPlan((str(images),), (DatabasePlan(target(db)),)))
    report, _text, _json = verify_snapshot(repo, repo.find_snapshot("latest"), images_folder=str(images))
    checked = report.databases[0].patient_files
    assert checked["state"] == CHECKED and checked["checked"] == 4 and checked["in_database"] == 1
    assert list(checked["missing"]) == ["S/SmithJohn9001/SmithJohn9001_2.pdf"]
    assert verdict_words(report) == ("FAILED: restores, but 1 patient file the database names is not in the "
                                     "backup.")
    assert "S/SmithJohn9001/SmithJohn9001_2.pdf" in render_text(report)


def test_status_says_which_patient_files_are_missing_today(demo, repo):
    """``odbackup status`` (engine.status): the live check, as a warning."""
    from engine.settings import DatabaseSettings, Settings
    from engine.status import alerts, gather_state

    db, images = demo
    deleted, _stray = _damage(images)
    t = target(db)
    settings = Settings(repository=repo.location, images_folder=images,
                        database=DatabaseSettings(host=t.host, port=t.port, user=t.user, name=db))
    state = gather_state(settings, patient_files=True)
    assert state.patient_files_missing == 3 and set(state.patient_files_examples) <= set(deleted)
    (found,) = [a for a in alerts(settings, state, _now()) if a.kind == "patient_files_missing"]
    assert found.level == "warning" and found.message.startswith("3 patient file(s) the database names")


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)
