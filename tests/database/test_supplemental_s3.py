"""``odbackup run supplemental`` into online storage, end to end: the Backup Copy Network Path is a
folder in a bucket (what the setup's Supplemental step offers through the Online storage dialog),
on a real SeaweedFS, with the demo practice on the real MariaDB. The keys are saved on this machine
as the dialog saves them (no AWS_* in the environment); the scheduled run (a subprocess, no
passphrase) writes the supplemental repository with the machine's write-only credentials, and it
restores exactly with the passphrase after the main repository is gone."""
from __future__ import annotations

import shutil
import sys
import uuid
from pathlib import Path

import pytest
from test_run_job import checksums, odbackup, summary, tree
from test_supplemental_run import PASSPHRASE, nightly_away_from_now, window_around_now

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "s3"))
from seaweed import KEY_ID, SECRET, Seaweed  # noqa: E402

from engine import storagekeys  # noqa: E402
from engine.database.connection import DbTarget  # noqa: E402
from engine.jobsettings import ScheduleSettings  # noqa: E402
from engine.opendental.demo import create_demo  # noqa: E402
from engine.repository.s3 import S3Location  # noqa: E402
from engine.settings import DatabaseSettings, Settings, save_settings  # noqa: E402
from engine.supplemental.place import prepare  # noqa: E402
from engine.supplemental.settings import SupplementalSettings  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    found = Seaweed(tmp_path_factory.mktemp("seaweed-supp")).start()
    yield found
    found.stop()


def test_the_supplemental_copy_into_a_bucket_restores_exactly(server, admin, fresh_db, tmp_path, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ODBACKUP_S3_RETRY_SECONDS", "3")
    share = S3Location.parse(server.location(f"supp-{uuid.uuid4().hex[:8]}")).text
    storagekeys.save_keys(S3Location.parse(share).site, storagekeys.StorageKeys(KEY_ID, SECRET))
    db, images = fresh_db("supps3"), tmp_path / "OpenDentImages"
    create_demo(admin, db, str(images), scale=0.02)
    main = tmp_path / "usb" / "repo"
    odbackup(["init", main], passphrase=PASSPHRASE)
    odbackup(["enroll", "--repo", main], passphrase=PASSPHRASE)
    made = prepare(share, str(main), PASSPHRASE)  # what the setup step's Next does
    assert made.made and made.path == share
    save_settings(Settings(repository=str(main), images_folder=str(images), database=DatabaseSettings(name=db),
                           schedule=ScheduleSettings(nightly=nightly_away_from_now()),
                           supplemental=SupplementalSettings(enabled=True, path=share, window=window_around_now())))
    shutil.rmtree(main)  # the main drive is lost

    cp = odbackup(["run", "supplemental", "--json", "--scheduled"])
    assert PASSPHRASE not in cp.stdout + cp.stderr and SECRET not in cp.stdout + cp.stderr
    done = summary(cp)
    assert done["result"] == "ok" and done["databases"] == 1 and done["files"] > 0, done
    assert done["message"].startswith(f"Supplemental copy at {share}: Saved ")
    assert "The repository check found no errors" in done["message"]

    copy = fresh_db("supps3_copy")
    odbackup(["restore-db", "--repo", share, done["snapshot_id"], "--into",
              DbTarget("127.0.0.1", 3306, "root", copy).url()], passphrase=PASSPHRASE)
    assert checksums(admin, copy) == checksums(admin, db)
    odbackup(["restore", "--repo", share, done["snapshot_id"], "--to", tmp_path / "back"], passphrase=PASSPHRASE)
    assert tree(tmp_path / "back" / "OpenDentImages") == tree(images)
    odbackup(["check", "--repo", share, "--read-data"], passphrase=PASSPHRASE)
