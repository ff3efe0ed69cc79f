"""Every shared corpus restores exactly: fingerprint before == fingerprint after."""
import pytest
from corpora import NAMES, fingerprint, load
from dbhelpers import target

from engine.backup import BackupPlan, run_backup
from engine.database.dump import DatabasePlan
from engine.database.restore import restore_database
from engine.verify import verify_snapshot


@pytest.mark.parametrize("corpus", NAMES)
def test_corpus_round_trip(corpus, fresh_db, repo, tmp_path, monkeypatch):
    monkeypatch.setenv("ODBACKUP_REPORTS_DIR", str(tmp_path / "reports"))
    original = fresh_db("orig")
    load(corpus, original)
    before = fingerprint(original)
    assert before.count("\ntable\t") + before.startswith("table\t") > 0

    mode = "per-table" if corpus == "opendental-canada" else "consistent"
    result = run_backup(repo, BackupPlan(databases=(DatabasePlan(target(original), lock_mode=mode),)))
    assert result.complete
    snap = repo.find_snapshot("latest")

    restored = fresh_db("copy")
    outcome = restore_database(repo, snap, target(restored))
    assert outcome.problems == ()
    assert fingerprint(restored) == before

    report, _txt, _json = verify_snapshot(repo, snap, server=target())
    assert report.ok, report.problems
    assert sum(len(d.tables) for d in report.databases) == before.count("table\t")
