"""``--at``'s choice across repositories (engine/archive/at.py), on real repositories: the newest
snapshot at or before the moment wherever it is, the main repository's when both hold it, and plain
words for a moment that is not one or that no repository reaches back to."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from engine.archive.at import Where, newest_at
from engine.backup import BackupPlan, run_backup
from engine.errors import SnapshotNotFound, UsageError
from engine.repository.copy import copy_snapshots
from engine.repository.repo import Repository

PASSPHRASE = "correct horse battery staple"


def _local(snap) -> str:
    return datetime.fromisoformat(snap.time).astimezone().replace(tzinfo=None).isoformat(sep=" ")


@pytest.fixture
def two(tmp_path):
    """A main repository with 2 snapshots, the older also on a related archive repository, and the
    older forgotten in the main one: (main, archive, [older, newer])."""
    main, _ = Repository.init(str(tmp_path / "main"), PASSPHRASE)
    archive, _ = Repository.init_related(str(tmp_path / "drive"), main, PASSPHRASE, label="Drive A")
    folder = tmp_path / "Images"
    folder.mkdir()
    (folder / "a.txt").write_text("first")
    run_backup(main, BackupPlan((str(folder),)))
    copy_snapshots(main, archive)
    (folder / "a.txt").write_text("second")
    run_backup(main, BackupPlan((str(folder),)))
    snaps = main.snapshots()
    main.backend.remove(f"snapshots/{snaps[0].snapshot_id}")  # as forget does
    return main, archive, snaps


def test_the_newest_at_or_before_wherever_it_is_and_the_main_repository_first(two):
    main, archive, (older, newer) = two
    candidates = [(Where(main.location), main), (Where(archive.location, "Drive A"), archive)]
    pick = newest_at(_local(older), candidates)
    assert (pick.snapshot.snapshot_id, pick.where.label) == (older.snapshot_id, "Drive A")
    assert "the archive drive 'Drive A'" in pick.where.words
    copy_snapshots(main, archive)  # now both hold the newer one
    pick = newest_at((datetime.now() + timedelta(days=1)).strftime("%Y-%m-%d %H:%M"), candidates)
    assert (pick.snapshot.snapshot_id, pick.where.label, pick.repo) == (newer.snapshot_id, "", main)
    assert newest_at(datetime.now().strftime("%Y-%m-%d"), candidates).snapshot.snapshot_id == newer.snapshot_id


def test_a_moment_before_every_snapshot_or_not_a_moment_is_said_plainly(two):
    main, archive, _snaps = two
    candidates = [(Where(main.location), main), (Where(archive.location, "Drive A"), archive)]
    with pytest.raises(SnapshotNotFound, match="on or before 2001-01-01 09:00 in the main repository"):
        newest_at("2001-01-01 09:00", candidates)
    with pytest.raises(UsageError, match="is not a date and time"):
        newest_at("last tuesday", candidates)
