"""Archive drives end to end, with real folders as drives: ``odbackup archive add`` on a blank drive
(and refusals that write nothing), ``odbackup run archive`` with the machine's write-only credentials
only (copy, the drive's own retention, a read-back check), a drive plugged in elsewhere still found,
a missing drive a reminder (its empty mount point untouched), monthly drives sealed when full, and
the archive run killed at seeded random moments."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_helpers import (
    ROOT,
    cli_command,
    describe_tree,
    explain,
    json_lines,
    ok,
    random_file,
    read_all_files,
    summary,
)
from test_prune import _describe_db, _drop, _make_database

from engine.archive.drives import load_book, update_book
from engine.settings import DatabaseSettings, Settings, save_settings

SEEDS = range(6)


def _run(repo, args: list, code: int = 0, passphrase: str | None = None, **extra):
    """The command with machine credentials only unless a passphrase is given."""
    return ok(repo.run(args, passphrase=passphrase, **extra), code)


def _snapshots(repo, path: Path) -> list[str]:
    cp = ok(repo.run(["snapshots", "--repo", path, "--json"]))
    return [e["id"] for e in json_lines(cp.stdout) if e["event"] == "snapshot"]


@pytest.fixture
def office(tmp_path, repo):
    """Saved settings backing up an images folder into ``repo``, this machine enrolled, and a folder
    of mount points (``media``) searched for archive drives."""
    images = tmp_path / "Images"
    images.mkdir()
    save_settings(Settings(repository=str(repo.path), extra_folders=(str(images),)))
    ok(repo.run(["enroll", "--repo", repo.path]))
    media = tmp_path / "media"
    media.mkdir()
    ok(repo.run(["archive", "search", media]))
    return repo, images, media


def _nightly(repo, images: Path, i: int) -> tuple[str, dict]:
    random_file(images / f"scan-{i:02d}.jpg", 90_000)
    if i >= 2:
        (images / f"scan-{i - 2:02d}.jpg").unlink()
    done = summary(_run(repo, ["run", "backup", "--json"]))
    assert done["result"] == "ok", done
    return done["snapshot_id"], describe_tree(images)


def _add(repo, place: Path, label: str, *extra: str, code: int = 0):
    return ok(repo.run(["archive", "add", place, "--label", label, *extra, "--json"]), code)


def _archive_run(repo, code: int = 0) -> dict:
    cp = _run(repo, ["run", "archive", "--json"], code)
    return summary(cp)


def _restores_exactly(repo, drive: Path, saved: list[tuple[str, dict]], out: Path) -> None:
    ok(repo.run(["check", "--repo", drive, "--read-data"]))
    for snap, tree in saved:
        cp = ok(repo.run(["restore", "--repo", drive, snap[:8], "--to", out / snap[:8], "--json"]))
        assert describe_tree(out / snap[:8] / "Images") == tree, explain(cp)


def test_add_makes_a_blank_folder_an_archive_drive_and_writes_nothing_where_it_refuses(tmp_path, office):
    repo, images, media = office
    doc = summary(_add(repo, media / "DRIVE_A" / "odbackup", "Drive A, Tuesdays"))
    assert doc["created"] and doc["kind"] == "rotating" and doc["recovery_key"] is None
    assert doc["recovery_key_of"] == repo.repo_id  # the main recovery key opens the drive
    assert doc["policy"].startswith("every backup for 48h")  # the settings' retention, signed on the drive
    assert (media / "DRIVE_A" / "odbackup" / "policy").exists()
    assert Path(os.environ["ODBACKUP_CONFIG_DIR"], "credentials", f"{doc['repository_id']}.json").exists()

    busy = media / "HOLIDAY_PHOTOS"
    random_file(busy / "beach.jpg", 1000)
    unrelated = tmp_path / "other"
    ok(repo.run(["init", unrelated]))
    before = read_all_files(media) | {f"other/{k}": v for k, v in read_all_files(unrelated).items()}
    cp = _add(repo, busy, "Drive B", code=2)
    assert "not empty and holds no odbackup repository" in cp.stdout + cp.stderr, explain(cp)
    cp = _add(repo, unrelated, "Drive B", code=2)
    assert "another repository family" in cp.stdout + cp.stderr, explain(cp)
    cp = _add(repo, repo.path, "Drive B", code=2)
    images_before = sorted(os.listdir(images))
    cp = _add(repo, images, "Drive B", code=2)  # a backed-up folder, not a drive
    assert f"is inside {images}, which the backups save" in cp.stdout + cp.stderr, explain(cp)
    cp = _add(repo, images / "odbackup-archive", "Drive B", code=2)
    assert f"is inside {images}, which the backups save" in cp.stdout + cp.stderr, explain(cp)
    assert sorted(os.listdir(images)) == images_before
    cp = ok(repo.run(["archive", "add", media / "DRIVE_B", "--label", "Drive B"], passphrase=None), 2)
    assert "needs the passphrase" in cp.stderr, explain(cp)
    cp = _add(repo, media / "DRIVE_C", "drive a, tuesdays", code=2)  # a label already taken
    assert read_all_files(media) | {f"other/{k}": v for k, v in read_all_files(unrelated).items()} == before
    assert not (media / "DRIVE_B").exists() and not (media / "DRIVE_C").exists()

    listed = summary(ok(repo.run(["archive", "list", "--json"])))["drives"]
    assert [(d["label"], d["plugged_in"], d["last_copy"], d["rotation_due"]) for d in listed] == \
        [("Drive A, Tuesdays", True, None, True)]


def test_run_archive_with_machine_credentials_copies_checks_and_the_drive_restores_exactly(tmp_path, office):
    """Folders and a database: every snapshot on the drive, read back, and restored exactly from it."""
    repo, images, media = office
    db = f"odb_arch_{uuid.uuid4().hex[:8]}"
    _make_database(db)
    try:
        save_settings(Settings(repository=str(repo.path), extra_folders=(str(images),),
                               database=DatabaseSettings(name=db)))
        saved = [_nightly(repo, images, i) for i in range(3)]
        database = _describe_db(db)
        _add(repo, media / "DRIVE_A" / "odbackup", "Drive A")
        cp = _run(repo, ["run", "archive", "--json"])
        done = summary(cp)
        assert done["result"] == "ok" and done["exit_code"] == 0, explain(cp)
        assert "3 snapshot(s) copied, 3 held" in done["message"] and "may be unplugged now" in done["message"]
        [ready] = [e for e in json_lines(cp.stdout) if e["event"] == "archive_copy_done"]
        assert ready["snapshots_held"] == 3 and ready["location"] == str(media / "DRIVE_A" / "odbackup")
        drive = media / "DRIVE_A" / "odbackup"
        assert _snapshots(repo, drive) == [snap for snap, _tree in saved]
        _restores_exactly(repo, drive, saved, tmp_path / "out")
        restored = f"odb_arch_r_{uuid.uuid4().hex[:8]}"
        try:
            ok(repo.run(["restore-db", "--repo", drive, saved[-1][0][:8], "--into",
                         f"mysql://root@127.0.0.1:3306/{restored}"]))
            assert _describe_db(restored) == database
        finally:
            _drop(restored)
    finally:
        _drop(db)
    again = _archive_run(repo)
    assert "0 snapshot(s) copied, 3 held" in again["message"], again
    [entry] = load_book().drives
    assert entry.snapshots == 3 and entry.last_copy and entry.free_bytes and len(entry.used) == 2


def test_a_drive_plugged_in_elsewhere_is_found_and_a_missing_one_is_a_reminder_that_writes_nothing(tmp_path,
                                                                                                    office):
    repo, images, media = office
    _add(repo, media / "DRIVE_A" / "odbackup", "Drive A")
    saved = [_nightly(repo, images, 0)]
    _archive_run(repo)
    (media / "DRIVE_A").rename(media / "E_DRIVE")  # the same drive under another letter
    saved.append(_nightly(repo, images, 1))
    cp = _run(repo, ["run", "archive", "--json"])
    [found] = [e for e in json_lines(cp.stdout) if e["event"] == "archive_drive_found"]
    assert found["moved"] and found["location"] == str(media / "E_DRIVE" / "odbackup"), explain(cp)
    assert load_book().drives[0].hint == str(media / "E_DRIVE" / "odbackup")
    assert _snapshots(repo, media / "E_DRIVE" / "odbackup") == [s for s, _t in saved]

    (media / "E_DRIVE").rename(tmp_path / "in-the-safe")  # unplugged; its mount point stays, empty
    (media / "E_DRIVE").mkdir()
    (media / "DRIVE_A").mkdir()
    _nightly(repo, images, 2)
    done = _archive_run(repo, code=7)
    assert done["result"] == "skipped" and done["message"].startswith("No archive drive is plugged in ('Drive A'")
    assert os.listdir(media / "E_DRIVE") == [] and os.listdir(media / "DRIVE_A") == []
    assert _snapshots(repo, tmp_path / "in-the-safe" / "odbackup") == [s for s, _t in saved]

    # nine days later: the status says to swap it (and not that the archive run "failed" or was skipped)
    update_book(lambda b: replace(b, drives=(replace(b.drives[0], last_copy=(
        datetime.now(UTC) - timedelta(days=9, hours=1)).isoformat(timespec="seconds")),)))
    status = _status(repo)
    texts = [a["text"] for a in status["alerts"]]
    assert "Drive A last copied 9 days ago: swap it." in texts, texts
    assert not [a for a in status["alerts"] if a["kind"].startswith("run_")], texts


def test_with_two_drives_plugged_in_one_failing_the_other_still_gets_its_copy(tmp_path, office):
    """Drive A (tried first) has a broken folder where its locks go, as a failing drive's file system
    might: the run still copies to Drive B, ends failed naming Drive A and why, and keeps it in the
    book; once Drive A is sound again the next run fills it."""
    repo, images, media = office
    _add(repo, media / "DRIVE_A" / "odbackup", "Drive A")
    _add(repo, media / "DRIVE_B" / "odbackup", "Drive B")
    assert [d.label for d in load_book().drives] == ["Drive A", "Drive B"]
    saved = [_nightly(repo, images, 0)]
    locks = media / "DRIVE_A" / "odbackup" / "locks"
    locks.rmdir()
    locks.write_bytes(b"not a folder")
    done = _archive_run(repo, code=1)
    assert done["result"] == "failed", done
    message = done["message"]
    assert "Archive drive 'Drive B' at" in message and "1 snapshot(s) copied, 1 held" in message, message
    assert f"1 of 2 archive drive(s) failed: 'Drive A' at {media / 'DRIVE_A' / 'odbackup'}: " in message, message
    assert "'Drive B' at" not in message.split("drive(s) failed:", 1)[1]
    assert _snapshots(repo, media / "DRIVE_B" / "odbackup") == [s for s, _t in saved]
    assert not os.listdir(media / "DRIVE_A" / "odbackup" / "snapshots")
    drive_a, drive_b = load_book().drives
    assert drive_a.last_message.startswith("the last copy failed: ") and drive_a.last_copy is None
    assert drive_b.last_copy and drive_b.snapshots == 1
    listed = ok(repo.run(["archive", "list"], passphrase=None)).stdout
    assert "Drive A (rotating" in listed and "last copy never (the last copy failed: " in listed, listed

    locks.unlink()
    locks.mkdir()
    again = _archive_run(repo)
    assert again["result"] == "ok" and "'Drive A'" in again["message"], again
    for drive in ("DRIVE_A", "DRIVE_B"):
        assert _snapshots(repo, media / drive / "odbackup") == [s for s, _t in saved]
    _restores_exactly(repo, media / "DRIVE_A" / "odbackup", saved, tmp_path / "out")


def _status(repo) -> dict:
    cp = repo.run(["status", "--json"], passphrase=None)
    assert cp.returncode in (0, 8, 9), explain(cp)
    return json.loads(cp.stdout.strip().splitlines()[-1])


def test_a_rotating_drive_applies_the_retention_stored_on_it(tmp_path, office):
    repo, images, media = office
    ok(repo.run(["forget", "--repo", repo.path, "--save-policy", "--keep-last", "2"]))
    doc = summary(_add(repo, media / "DRIVE_A" / "odbackup", "Drive A"))
    assert doc["policy"] == "2 latest", doc
    saved = [_nightly(repo, images, i) for i in range(4)]
    done = _archive_run(repo)  # only what the drive's policy keeps is sent
    assert "2 snapshot(s) copied, 2 held" in done["message"] and "retention removed 0" in done["message"], done
    drive = media / "DRIVE_A" / "odbackup"
    assert _snapshots(repo, drive) == [s for s, _t in saved[2:]]
    saved += [_nightly(repo, images, i) for i in range(4, 6)]
    done = _archive_run(repo)
    assert "2 snapshot(s) copied, 2 held" in done["message"] and "retention removed 2" in done["message"], done
    assert _snapshots(repo, drive) == [s for s, _t in saved[4:]]
    again = _archive_run(repo)  # the main repository still holds the older ones: they are not sent again
    assert "0 snapshot(s) copied, 2 held" in again["message"] and "retention removed 0" in again["message"]
    _restores_exactly(repo, drive, saved[4:], tmp_path / "out")


def test_a_monthly_drive_keeps_everything_and_is_sealed_when_full(tmp_path, office):
    repo, images, media = office
    ok(repo.run(["forget", "--repo", repo.path, "--save-policy", "--keep-last", "1"]))
    doc = summary(_add(repo, media / "MONTHLY" / "odbackup", "Monthly 2026", "--monthly"))
    assert doc["kind"] == "monthly" and doc["policy"] is None
    drive = media / "MONTHLY" / "odbackup"
    saved = [_nightly(repo, images, i) for i in range(3)]
    _archive_run(repo)
    _run(repo, ["forget", "--repo", repo.path, "--prune"])  # the main repository keeps the newest only
    saved.append(_nightly(repo, images, 3))
    done = _archive_run(repo)
    assert "it keeps everything" in done["message"], done
    assert _snapshots(repo, drive) == [s for s, _t in saved]

    update_book(lambda b: replace(b, keep_free_percent=100.0))  # as if the drive were full
    _nightly(repo, images, 4)
    cp = _run(repo, ["run", "archive", "--json"])
    done = summary(cp)
    assert done["result"] == "ok" and "is full: sealed with its final verification (passed, 4 snapshot(s))" in \
        done["message"], explain(cp)
    report = (drive / "FINAL-VERIFICATION.txt").read_text()
    assert "Verdict:        PASSED" in report and "Monthly 2026" in report
    assert all(s[:8] in report for s, _t in saved)
    assert _snapshots(repo, drive) == [s for s, _t in saved]  # the new snapshot did not go on it
    assert load_book().drives[0].sealed
    texts = [a["text"] for a in _status(repo)["alerts"]]
    assert ("The monthly archive drive 'Monthly 2026' is full and sealed: put it in storage, and add the next "
            "drive (odbackup archive add).") in texts, texts
    before = read_all_files(drive)
    update_book(lambda b: replace(b, keep_free_percent=2.0))
    done = _archive_run(repo, code=7)  # a sealed drive is never written again
    assert read_all_files(drive) == before
    _restores_exactly(repo, drive, saved, tmp_path / "out")


# --- killed at random moments --------------------------------------------------------------------------


def _killed_run(repo, changes: int) -> subprocess.CompletedProcess:
    command = [sys.executable, str(Path(__file__).with_name("kill_after.py")), str(changes), "run", "archive"]
    return subprocess.run(command, cwd=ROOT, env=repo.env(None), capture_output=True, text=True, timeout=180)


def test_run_archive_killed_at_random_moments_leaves_a_drive_that_checks_and_the_next_run_completes(tmp_path,
                                                                                                     office):
    """Six seeded SIGKILLs of ``run archive`` (half at a random time, half right after a random one
    of its file-system changes), each into a new drive: the drive passes check with the machine's
    credentials, the next run completes it, and then it passes check --read-data and restores exactly."""
    repo, images, media = office
    ok(repo.run(["forget", "--repo", repo.path, "--save-policy", "--keep-last", "10"]))
    for i in range(4):
        random_file(images / f"big-{i}.bin", 700_000)
    saved = [_nightly(repo, images, i) for i in range(3)]
    _add(repo, media / "MEASURE", "Measure")
    started = time.monotonic()
    counted = _killed_run(repo, 0)
    total = time.monotonic() - started
    assert counted.returncode == 0, counted.stderr
    changes = int(counted.stderr.rsplit("changes:", 1)[1])
    assert changes > 10
    ok(repo.run(["archive", "remove", "Measure"]))
    landed_in_the_middle = 0
    for seed in SEEDS:
        rng = random.Random(seed)
        drive = media / f"SEED{seed}"
        _add(repo, drive, f"Seed {seed}")
        if seed % 2:
            cp = _killed_run(repo, rng.randint(1, changes))
            assert cp.returncode == -signal.SIGKILL, cp.stderr
        else:
            proc = subprocess.Popen(cli_command(["run", "archive"]), cwd=ROOT, env=repo.env(None),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0, total))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        landed = [p for p in (drive / "data").rglob("*") if p.is_file() and not p.name.startswith(".tmp")]
        landed_in_the_middle += bool(landed) and len(list((drive / "snapshots").iterdir())) < len(saved)
        ok(repo.run(["check", "--repo", drive], passphrase=None))
        done = _archive_run(repo)
        assert done["result"] == "ok", done
        assert _snapshots(repo, drive) == [s for s, _t in saved]
        _restores_exactly(repo, drive, saved, tmp_path / f"out{seed}")
        ok(repo.run(["archive", "remove", f"Seed {seed}"]))
    assert landed_in_the_middle >= 2, f"only {landed_in_the_middle} kill(s) landed while data was being copied"
