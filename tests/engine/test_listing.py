"""The snapshot list (engine/listing.py) on a real repository: sizes, verifications,
sources (only with the passphrase) and damaged snapshots."""
from __future__ import annotations

import os
import socket

import pytest

from engine.backup import BackupPlan, run_backup
from engine.listing import (
    SOURCES_HIDDEN,
    ListedSource,
    SnapshotRow,
    backed_up_bytes,
    list_snapshots,
)
from engine.reports import store_report
from engine.repository import keys as keymod
from engine.repository.records import SnapshotStats
from engine.repository.repo import Repository

PASS = "a long test passphrase"


@pytest.fixture
def two_backups(tmp_path):
    """A repository with two snapshots of one folder; the first verified twice (FAILED, then PASSED)."""
    repo, _ = Repository.init(str(tmp_path / "repo"), PASS)
    src = tmp_path / "Charts"
    src.mkdir()
    (src / "a.txt").write_text("one")
    first = run_backup(repo, BackupPlan((str(src),))).snapshot_id
    (src / "b.txt").write_text("two, and longer")
    second = run_backup(repo, BackupPlan((str(src),))).snapshot_id
    store_report(repo, first, "2025-06-30T10:00:00+00:00", False, {})
    store_report(repo, first, "2025-06-30T11:00:00+00:00", True, {})
    return repo, str(src), first, second


def test_rows_oldest_first_with_sizes_verifications_and_sources(two_backups):
    repo, src, first, second = two_backups
    rows = list_snapshots(repo)
    assert [r.snapshot_id for r in rows] == [first, second]
    assert [r.files for r in rows] == [1, 2]
    assert [r.bytes for r in rows] == [3, 3 + len("two, and longer")]
    assert all(r.complete and not r.damaged and r.hostname == socket.gethostname() for r in rows)
    assert (rows[0].verified_at, rows[0].verified_ok) == ("2025-06-30T11:00:00+00:00", True)  # the latest
    assert (rows[1].verified_at, rows[1].verified_ok) == (None, None)
    assert rows[1].sources == (ListedSource("Charts", src),) and rows[1].sources_hidden is None
    assert rows[1].stats is not None and rows[1].stats.files == 2 and rows[1].short_id == second[:8]


def test_machine_credentials_list_everything_but_the_sources(two_backups):
    repo, _src, first, second = two_backups
    keymod.enroll_machine(repo.keys, repo.location)
    machine = Repository.open(repo.location)
    machine.use_machine_credentials()
    rows = list_snapshots(machine)
    assert [(r.snapshot_id, r.files, r.verified_ok) for r in rows] == [(first, 1, True), (second, 2, None)]
    assert all(r.sources is None and r.sources_hidden == SOURCES_HIDDEN for r in rows)


def test_a_damaged_snapshot_is_listed_last_and_says_why(two_backups):
    repo, _src, first, second = two_backups
    path = os.path.join(repo.location, "snapshots", first)
    data = bytearray(open(path, "rb").read())
    data[-5] ^= 0xFF
    with open(path, "wb") as f:
        f.write(bytes(data))
    rows = list_snapshots(repo)
    assert [(r.snapshot_id, r.damaged) for r in rows] == [(second, False), (first, True)]
    assert rows[1].problem is not None and first[:8] in rows[1].problem
    assert rows[1] == SnapshotRow(first, damaged=True, problem=rows[1].problem)


@pytest.mark.parametrize(("stats", "expected"), [
    ({}, 0),
    ({"bytes": 10}, 10),
    ({"bytes": 10, "db_bytes": 5}, 15),
    ({"db_bytes": 5}, 5),
])
def test_backed_up_bytes_counts_folders_and_databases(stats, expected):
    base = {"files": 0, "bytes": 0, "bytes_added": 0, "bytes_stored": 0, "duration": 0.0, "skipped": 0}
    assert backed_up_bytes(SnapshotStats.from_json(base | stats)) == expected
