"""``odbackup run supplemental`` end to end with the demo practice on the real MariaDB.

The real program in a subprocess, as the scheduler starts it: no passphrase, only the
saved settings and this machine's write-only credentials (enrolled for the main
repository; the supplemental repository at the Backup Copy Network Path is related to
it). The main repository is deleted before the run: the supplemental copy does not need
it, and restores exactly (database and images) with the passphrase.
"""
from __future__ import annotations

import shutil
import threading
from datetime import datetime, timedelta

import pytest
from test_run_job import checksums, odbackup, summary, tree

from engine import jobs, runlog
from engine.database.connection import DbTarget
from engine.joblock import JobLock
from engine.jobsettings import ScheduleSettings
from engine.opendental.demo import create_demo
from engine.settings import DatabaseSettings, Settings, load_settings, save_settings
from engine.supplemental import run as supplemental_run
from engine.supplemental.settings import SupplementalSettings

PASSPHRASE = "supplemental test passphrase"


def _clock(at: datetime) -> str:
    return f"{at:%H:%M}"


def window_around_now(before: int = 60, after: int = 60) -> str:
    now = datetime.now()
    return f"{_clock(now - timedelta(minutes=before))}-{_clock(now + timedelta(minutes=after))}"


def nightly_away_from_now() -> str:
    return _clock(datetime.now() + timedelta(hours=5))


@pytest.fixture
def office(admin, fresh_db, tmp_path):
    """The demo practice, a main repository this machine is enrolled for, the supplemental
    repository made related to it at the "network path", and the settings saved."""
    db, images = fresh_db("supp"), tmp_path / "OpenDentImages"
    create_demo(admin, db, str(images), scale=0.02)
    main, share = tmp_path / "usb" / "repo", tmp_path / "nas" / "odbackup-supplemental"
    odbackup(["init", main], passphrase=PASSPHRASE)
    odbackup(["enroll", "--repo", main], passphrase=PASSPHRASE)
    odbackup(["init", share, "--related-to", main, "--label", "Supplemental"], passphrase=PASSPHRASE)
    settings = Settings(repository=str(main), images_folder=str(images), database=DatabaseSettings(name=db),
                        schedule=ScheduleSettings(nightly=nightly_away_from_now()),
                        supplemental=SupplementalSettings(enabled=True, path=str(share), window=window_around_now()))
    save_settings(settings)
    return db, images, main, share


def test_supplemental_copy_restores_exactly_without_the_main_repository(office, admin, fresh_db, tmp_path):
    db, images, main, share = office
    shutil.rmtree(main)  # the main drive is lost
    cp = odbackup(["run", "supplemental", "--json", "--scheduled"])
    assert PASSPHRASE not in cp.stdout + cp.stderr
    done = summary(cp)
    assert done["result"] == "ok" and done["trigger"] == "schedule", done
    assert done["databases"] == 1 and done["files"] > 0 and done["snapshot_id"]
    assert done["message"].startswith(f"Supplemental copy at {share}: Saved ")
    assert "The repository check found no errors" in done["message"]
    assert runlog.last_run("supplemental").snapshot_id == done["snapshot_id"]

    copy = fresh_db("supp_copy")
    odbackup(["restore-db", "--repo", share, done["snapshot_id"], "--into",
              DbTarget("127.0.0.1", 3306, "root", copy).url()], passphrase=PASSPHRASE)
    assert checksums(admin, copy) == checksums(admin, db)
    odbackup(["restore", "--repo", share, done["snapshot_id"], "--to", tmp_path / "back"], passphrase=PASSPHRASE)
    assert tree(tmp_path / "back" / "OpenDentImages") == tree(images)
    odbackup(["check", "--repo", share, "--read-data"], passphrase=PASSPHRASE)

    # odbackup status: the copy is fresh, and the dashboard asks for its monthly verify-restore
    with admin.cursor() as cur:
        cur.execute(f"UPDATE `{db}`.userod SET Password = '' WHERE UserNum = 3")
    found = {a["kind"]: a for a in summary(odbackup(["status", "--json"], code=9))["alerts"]}
    assert "destination_missing" in found and "supplemental_stale" not in found
    assert "supplemental_verify_due" in found and "admin_no_password" in found
    assert "1 Open Dental user without a password" in found["admin_no_password"]["message"]
    odbackup(["verify", "--repo", share], passphrase=PASSPHRASE)
    found = {a["kind"] for a in summary(odbackup(["status", "--json"], code=9))["alerts"]}
    assert "supplemental_verify_due" not in found and "supplemental_verify_failed" not in found


def test_outside_its_window_it_is_skipped_unless_forced_and_images_can_be_left_out(office):
    _db, _images, _main, share = office
    settings = load_settings()
    later = datetime.now() + timedelta(hours=2)
    window = f"{_clock(later)}-{_clock(later + timedelta(hours=1))}"
    supplemental = SupplementalSettings(enabled=True, path=str(share), window=window, images=False)
    save_settings(Settings(**{**settings.__dict__, "supplemental": supplemental}))
    skipped = summary(odbackup(["run", "supplemental", "--json", "--scheduled"], code=7))
    assert skipped["result"] == "skipped" and skipped["message"].startswith(supplemental_run.OUTSIDE_SKIP)
    assert "--force" in skipped["message"] and skipped["snapshot_id"] is None

    forced = summary(odbackup(["run", "supplemental", "--json", "--force"]))
    assert forced["result"] == "ok" and forced["databases"] == 1 and forced["files"] == 0  # the database only
    assert [r.result for r in runlog.history("supplemental", 5)] == ["ok", "skipped"]


def test_no_repository_at_the_path_fails_saying_how_to_make_it(office, tmp_path):
    settings = load_settings()
    empty = tmp_path / "nas" / "new-share"
    empty.mkdir()
    supplemental = SupplementalSettings(enabled=True, path=str(empty), window=window_around_now())
    save_settings(Settings(**{**settings.__dict__, "supplemental": supplemental}))
    failed = summary(odbackup(["run", "supplemental", "--json"], code=1))
    assert failed["result"] == "failed"
    assert f"odbackup init {empty} --related-to {settings.repository}" in failed["message"]
    assert list(empty.iterdir()) == []  # nothing written


def test_it_waits_for_a_running_nightly_backup(office, monkeypatch):
    """The nightly backup's run lock held (as its run holds it): the supplemental copy starts only
    once it is released."""
    monkeypatch.setattr(supplemental_run, "POLL", 0.1)
    nightly = JobLock(jobs.lock_path("backup"), "backup").acquire()
    released = threading.Event()
    started: list[bool] = []

    def finish_nightly() -> None:
        released.set()
        nightly.release()

    timer = threading.Timer(1.5, finish_nightly)
    timer.start()
    try:
        record = jobs.run(jobs.get_job("supplemental"), None, on_event=lambda e: started.append(released.is_set()))
    finally:
        timer.cancel()
        nightly.release()
    assert record.result == "ok", record
    assert started and all(started)  # not one event of the copy before the nightly run ended


SEEDS = range(6)


def test_a_supplemental_run_killed_at_random_moments_leaves_a_repository_the_next_run_completes(
        office, admin, fresh_db, tmp_path):
    """SIGKILL at seeded moments (half right after a random one of the run's file-system changes,
    half at a random time): the supplemental repository still passes check --read-data, the next
    run completes, and its snapshot restores exactly."""
    import os
    import random
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from test_run_job import ROOT

    db, images, _main, share = office
    env = {k: v for k, v in os.environ.items() if k not in ("ODBACKUP_PASSPHRASE", "ODBACKUP_DB_PASSWORD")}
    killer = str(Path(ROOT, "tests", "cli", "kill_after.py"))

    def killed_after(changes: int) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, killer, str(changes), "run", "supplemental", "--force"], cwd=ROOT,
                              env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)

    started = time.monotonic()
    counted = killed_after(0)
    total = time.monotonic() - started
    assert counted.returncode == 0, counted.stderr

    def office_works(n: int) -> None:  # between runs: each run has something new to write
        with admin.cursor() as cur:
            cur.execute(f"UPDATE `{db}`.patient SET Address = %s ORDER BY PatNum LIMIT 3", (f"{n} Main St",))
        (images / f"scan-{n}.txt").write_text(f"scan {n}\n" * 1000)

    office_works(-1)
    again = killed_after(0)  # a later run writes less than the first: its changes are the ones to hit
    changes = int(again.stderr.rsplit("changes:", 1)[1])
    assert again.returncode == 0 and changes > 3, again.stderr
    for seed in SEEDS:
        rng = random.Random(seed)
        office_works(seed)
        if seed % 2:
            assert killed_after(rng.randint(1, changes)).returncode == -signal.SIGKILL
        else:
            proc = subprocess.Popen([sys.executable, "-m", "tui.cli", "run", "supplemental", "--force"], cwd=ROOT,
                                    env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0, total))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        odbackup(["check", "--repo", share, "--read-data"], passphrase=PASSPHRASE)
        done = summary(odbackup(["run", "supplemental", "--force", "--json"]))
        assert done["result"] == "ok", done
    copy = fresh_db("supp_killed")
    odbackup(["restore-db", "--repo", share, done["snapshot_id"], "--into",
              DbTarget("127.0.0.1", 3306, "root", copy).url()], passphrase=PASSPHRASE)
    assert checksums(admin, copy) == checksums(admin, db)
    odbackup(["restore", "--repo", share, done["snapshot_id"], "--to", tmp_path / "back"], passphrase=PASSPHRASE)
    assert tree(tmp_path / "back" / "OpenDentImages") == tree(images)
