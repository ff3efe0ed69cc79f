"""Every shared corpus restores exactly.

Compared two ways: our exact description (definitions and every value, see
exactcopy.py) for every corpus, and the corpora's own fingerprint.sh for the
smaller ones (it is slow on the 300+ table Open Dental schemas here).
"""
import pytest
from corpora import NAMES, fingerprint, load
from dbhelpers import target
from exactcopy import describe

from engine.backup import BackupPlan, run_backup
from engine.database.dump import DatabasePlan
from engine.database.restore import restore_database
from engine.verify import verify_snapshot


@pytest.mark.parametrize("corpus", NAMES)
def test_corpus_round_trip(corpora_here, corpus, fresh_db, repo, tmp_path, monkeypatch, admin):
    monkeypatch.setenv("ODBACKUP_REPORTS_DIR", str(tmp_path / "reports"))
    original = fresh_db("orig")
    load(corpus, original)
    before = describe(admin, original)
    tables = sum(1 for k in before if k.startswith("create "))
    assert tables > 0
    slow = corpus.startswith("opendental")
    printed = None if slow else fingerprint(original)

    mode = "per-table" if corpus == "opendental-canada" else "consistent"
    result = run_backup(repo, BackupPlan(databases=(DatabasePlan(target(original), lock_mode=mode),)))
    assert result.complete
    snap = repo.find_snapshot("latest")

    restored = fresh_db("copy")
    outcome = restore_database(repo, snap, target(restored))
    assert outcome.problems == ()
    after = describe(admin, restored)
    assert sorted(after) == sorted(before)
    assert [k for k in before if after[k] != before[k]] == []
    if printed is not None:
        assert fingerprint(restored) == printed

    report, _txt, _json = verify_snapshot(repo, snap, server=target())
    assert report.ok, report.problems
    assert sum(len(d.tables) for d in report.databases) == tables
