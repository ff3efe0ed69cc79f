"""restore-db's target: a database holding anything at all is not written into unless the
caller asked to replace it and typed its name again."""
from __future__ import annotations

import pytest

from engine.database.restore import prepare_target
from engine.errors import UnsafePath


@pytest.mark.parametrize("holds", ["table", "view", "procedure", "event"])
def test_a_database_holding_anything_is_refused(holds, admin, fresh_db):
    name = fresh_db(f"holds_{holds}")
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
        cur.execute({
            "table": f"CREATE TABLE `{name}`.t (id INT)",
            "view": f"CREATE VIEW `{name}`.v AS SELECT 1 AS one",
            "procedure": f"CREATE PROCEDURE `{name}`.p() SELECT 1",
            "event": f"CREATE EVENT `{name}`.e ON SCHEDULE EVERY 1 DAY DISABLE DO SELECT 1",
        }[holds])
    with pytest.raises(UnsafePath, match="already exists and is not empty"):
        prepare_target(admin, name, "utf8mb4", "utf8mb4_general_ci", replace=False, confirm=None)
    with pytest.raises(UnsafePath, match="typed again"):
        prepare_target(admin, name, "utf8mb4", "utf8mb4_general_ci", replace=True, confirm=name.upper())
    with admin.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,))
        assert cur.fetchone()[0] == 1, "the refused database was dropped"


def test_an_empty_database_is_used_and_a_confirmed_one_replaced(admin, fresh_db):
    name = fresh_db("empty_target")
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
    prepare_target(admin, name, "utf8mb4", "utf8mb4_general_ci", replace=False, confirm=None)
    with admin.cursor() as cur:
        cur.execute(f"CREATE TABLE `{name}`.t (id INT)")
    prepare_target(admin, name, "utf8mb4", "utf8mb4_general_ci", replace=True, confirm=name)
    with admin.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (name,))
        assert cur.fetchone()[0] == 0



def test_a_merge_table_is_restored_as_a_definition_and_its_tables_keep_their_rows(admin, fresh_db, repo):
    """A MERGE table shows (and appends to) other tables: its rows are theirs. Only its
    definition is backed up; loading its rows on restore would have appended every row of
    both tables to the last one."""
    from dbhelpers import target

    from engine.backup import BackupPlan, run_backup
    from engine.database.dump import DatabasePlan
    from engine.database.restore import restore_database
    from engine.verify import verify_snapshot

    db, into = fresh_db("merge"), fresh_db("merge_copy")
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
        for name, first in (("log2023", 1), ("log2024", 100)):
            cur.execute(f"CREATE TABLE `{db}`.{name} (id INT NOT NULL, what VARCHAR(20), KEY (id)) ENGINE=MyISAM")
            cur.execute(f"INSERT INTO `{db}`.{name} SELECT seq, 'x' FROM `{db}`.seq_{first}_to_{first + 9}")
        cur.execute(f"CREATE TABLE `{db}`.log_all (id INT NOT NULL, what VARCHAR(20), KEY (id)) ENGINE=MRG_MyISAM"
                    f" UNION=(`{db}`.log2023, `{db}`.log2024) INSERT_METHOD=LAST")
    result = run_backup(repo, BackupPlan(databases=(DatabasePlan(target(db)),)))
    assert result.complete
    tree = repo.read_tree(bytes.fromhex(next(s for s in repo.find_snapshot("latest").sources).tree))
    merge = next(n for n in tree["tables"] if n["name"] == "log_all")
    assert merge["rows_elsewhere"] and merge["content"] == [] and merge["rows"] == 0

    outcome = restore_database(repo, repo.find_snapshot("latest"), target(into))
    assert outcome.problems == ()
    with admin.cursor() as cur:
        for name, rows in (("log2023", 10), ("log2024", 10), ("log_all", 20)):
            cur.execute(f"SELECT COUNT(*) FROM `{into}`.{name}")
            assert cur.fetchone()[0] == rows, name
        cur.execute(f"INSERT INTO `{into}`.log_all VALUES (500, 'new')")  # the copy's, not the source's
        cur.execute(f"SELECT (SELECT COUNT(*) FROM `{into}`.log2024), (SELECT COUNT(*) FROM `{db}`.log2024)")
        assert cur.fetchone() == (11, 10)
    report, _, _ = verify_snapshot(repo, repo.find_snapshot("latest"), server=target())
    assert report.ok, report.problems
