"""Tables read on every reading connection at once (``readers.py``), big ones in parts.

In consistent mode the backup reads with two connections that see the same
rows; a table big enough (``stream.SPLIT_MIN_BYTES``, made small here) is cut
into one part per connection. Whatever the path (parts scanned, parts read by
key after a failed scan, InnoDB from snapshots opened under the lock, small
tables side by side), the stored stream must be the table's exact stream, its
checksum the one verify computes, and verify must pass.
"""
from __future__ import annotations

import pymysql
import pytest
from dbhelpers import target

from engine.backup import BackupPlan, run_backup
from engine.database import readers, stream
from engine.database import restore as restore_module
from engine.database.checksum import StreamChecksum
from engine.database.connection import connect
from engine.database.dump import DatabasePlan
from engine.database.restore import database_sources, restore_database
from engine.database.schema import read_table
from engine.verify import verify_snapshot

BIG = ("in_order", "shuffled", "inno")


@pytest.fixture
def split_small(monkeypatch, tmp_path):
    """Tables of 64 KiB and more are read in parts; each test has its own table cache."""
    monkeypatch.setattr(stream, "SPLIT_MIN_BYTES", 64 * 1024)
    monkeypatch.setenv("ODBACKUP_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def connections_used(monkeypatch):
    """How many connections each TableReaders was given."""
    seen: list[int] = []
    real = readers.TableReaders.__init__

    def spy(self, conns, *args, **kwargs):
        seen.append(len(conns))
        real(self, conns, *args, **kwargs)

    monkeypatch.setattr(readers.TableReaders, "__init__", spy)
    return seen


def _make(admin, db: str) -> None:
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
        for name, engine in (("in_order", "MyISAM"), ("shuffled", "MyISAM"), ("inno", "InnoDB")):
            cur.execute(f"CREATE TABLE `{db}`.{name} (id BIGINT PRIMARY KEY, note VARCHAR(60), txt TEXT,"
                        f" amount DOUBLE, d DATE) ENGINE={engine}")
        order = {"in_order": "seq * 3", "shuffled": "(seq * 7919) % 40009", "inno": "seq * 5"}
        for name, key in order.items():
            cur.execute(f"INSERT INTO `{db}`.{name} SELECT {key}, IF(seq % 4, CONCAT('n\\t\\\\', seq), NULL),"
                        f" IF(seq % 3, REPEAT('ab\\n', seq % 40), NULL), seq / 7,"
                        f" IF(seq % 5, '2024-02-29', '0000-00-00') FROM `{db}`.seq_1_to_20000")
        for i in range(12):
            cur.execute(f"CREATE TABLE `{db}`.small_{i:02d} (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=MyISAM")
            cur.execute(f"INSERT INTO `{db}`.small_{i:02d} SELECT seq, CONCAT('v', seq) FROM `{db}`.seq_1_to_{i * 90}")
        cur.execute(f"ANALYZE TABLE `{db}`.inno")


def _reference(db: str, name: str) -> bytes:
    """The table's stream as the plain ordered SELECT gives it."""
    meta = connect(target(db), database=db)
    raw = connect(target(db), database=db, use_unicode=False, conv={})
    try:
        with raw.cursor() as cur:
            cur.execute("SET SESSION sql_mode = ''")
            cur.execute("SET SESSION time_zone = '+00:00'")
        table = read_table(meta, db, name)
        return b"".join(b for b, _ in stream._read_rows(raw, table, stream.spec_for(table)))
    finally:
        meta.close()
        raw.close()


def _backup(repo, db: str, mode: str):
    result = run_backup(repo, BackupPlan(databases=(DatabasePlan(target(db), lock_mode=mode),)))
    assert result.complete
    snap = repo.find_snapshot(result.snapshot_id)
    tree = repo.read_tree(bytes.fromhex(database_sources(repo, snap)[0].tree))
    return snap, {node["name"]: node for node in tree["tables"]}


def _stored(repo, node: dict) -> bytes:
    return b"".join(repo.read_blob(bytes.fromhex(c)) for c, _ in node["content"])


def test_big_tables_are_read_in_parts_on_both_connections(admin, fresh_db, repo, split_small, connections_used):
    """The big tables come back in two parts each: scanned (in key order), read by key after
    the scans failed (stored out of key order), InnoDB; the small ones whole. Every stream is
    exact, every checksum is what verify computes, and verify passes."""
    db = fresh_db("parts")
    _make(admin, db)
    snap, nodes = _backup(repo, db, "consistent")
    assert connections_used == [2, 2], "MyISAM under the lock, then InnoDB: each on two connections"
    assert len(nodes) == 15
    for name, node in nodes.items():
        want = _reference(db, name)
        assert _stored(repo, node) == want, f"{name}: the stored stream differs"
        assert node["rows"] == want.count(b"\n")
        if name in BIG:
            parts = node.get("parts", [])
            assert len(parts) == 2 and sum(rows for rows, _ in parts) == node["rows"] == 20000, name
            assert sum(chunks for _, chunks in parts) == len(node["content"]), name
        else:
            assert "parts" not in node, name
        checksum = StreamChecksum([rows for rows, _ in node.get("parts", [])])
        checksum.update(want, node["rows"])
        assert node["checksum"] == checksum.hexdigest(), name
    report, _, _ = verify_snapshot(repo, snap)
    assert report.ok, report
    _restores_exactly(admin, repo, snap, db, fresh_db("partsback"))


def _restores_exactly(admin, repo, snap, db: str, into: str) -> None:
    """restore-db gives the same tables (no side table left over) with the same rows; the
    MyISAM tables read in parts are loaded in parts (then joined)."""
    joined: list[str] = []
    real = restore_module.DatabaseRestorer._join

    def spy(self, conn, group):
        joined.append(group.node.name)
        return real(self, conn, group)

    restore_module.DatabaseRestorer._join = spy
    try:
        restore_database(repo, snap, target(into))
    finally:
        restore_module.DatabaseRestorer._join = real
    assert sorted(joined) == ["in_order", "shuffled"]
    with admin.cursor() as cur:
        tables = {}
        for name in (db, into):
            cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (name,))
            tables[name] = sorted(r[0] for r in cur.fetchall())
        assert tables[into] == tables[db]
        for table in tables[db]:
            cur.execute(f"CHECKSUM TABLE `{db}`.`{table}`, `{into}`.`{table}`")
            (_, want), (_, got) = cur.fetchall()
            assert got == want, table


def test_a_failed_scan_in_parts_is_remembered_and_the_next_backup_reads_by_key(admin, fresh_db, repo, split_small,
                                                                               scanned_tables):
    """The shuffled table's scans fail in the first backup (read by key, in parts); the second
    backup reads it by key at once; the table in key order is scanned both times."""
    scanned = scanned_tables
    db = fresh_db("partsagain")
    _make(admin, db)
    _backup(repo, db, "consistent")
    first = sorted(set(n for n in scanned if n in BIG))
    scanned.clear()
    with admin.cursor() as cur:  # changed, so neither MyISAM table comes from the table cache
        cur.execute(f"UPDATE `{db}`.in_order SET amount = amount + 1 WHERE id = 3")
        cur.execute(f"UPDATE `{db}`.shuffled SET amount = amount + 1 WHERE id = 7919")
    _, nodes = _backup(repo, db, "consistent")
    assert first == ["in_order", "inno", "shuffled"]
    assert "shuffled" not in scanned and "in_order" in scanned
    assert _stored(repo, nodes["shuffled"]) == _reference(db, "shuffled")


def test_per_table_mode_reads_on_one_connection_whole(admin, fresh_db, repo, split_small, connections_used):
    """Per-table mode holds one connection (its lock is that connection's): no parts."""
    db = fresh_db("oneconn")
    _make(admin, db)
    _, nodes = _backup(repo, db, "per-table")
    assert set(connections_used) == {1}
    for name in BIG:
        assert "parts" not in nodes[name]
        assert _stored(repo, nodes[name]) == _reference(db, name)


def test_empty_tables_counted_under_the_lock_are_stored_without_a_query(admin, fresh_db, repo, split_small,
                                                                        monkeypatch):
    """MyISAM and Aria count their rows exactly: an empty one needs no query (most of Open
    Dental's 379 tables are empty at a given practice). An empty InnoDB table, whose count is
    an estimate, is still read. All restore and verify."""
    read: list[str] = []
    real = stream.read_stream

    def spy(conn, table, *args, **kwargs):
        read.append(table.name)
        return real(conn, table, *args, **kwargs)

    monkeypatch.setattr(readers, "read_stream", spy)
    db = fresh_db("empty")
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
        for name, engine in (("e_myisam", "MyISAM"), ("e_aria", "Aria"), ("e_inno", "InnoDB"), ("full", "MyISAM")):
            cur.execute(f"CREATE TABLE `{db}`.{name} (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE={engine}")
        cur.execute(f"INSERT INTO `{db}`.full VALUES (1, 'one'), (2, NULL)")
    snap, nodes = _backup(repo, db, "consistent")
    assert sorted(read) == ["e_inno", "full"]
    for name in ("e_myisam", "e_aria", "e_inno"):
        assert nodes[name]["rows"] == 0 and nodes[name]["content"] == [] and _reference(db, name) == b""
    assert _stored(repo, nodes["full"]) == _reference(db, "full")
    report, _, _ = verify_snapshot(repo, snap)
    assert report.ok, report


def test_per_table_mode_reads_one_tables_catalog_under_its_lock(admin, fresh_db, repo, split_small, monkeypatch):
    """Under each table's lock the catalog is read for that table alone: reading all of it
    there cost 40-75 ms per table on Open Dental's 379 tables (17 s in all, where now 1 s)."""
    from engine.database import dump

    catalogs: list[str | None] = []
    real = dump.read_catalog

    def spy(conn, database, only=None):
        catalogs.append(only)
        return real(conn, database, only)

    monkeypatch.setattr(dump, "read_catalog", spy)
    db = fresh_db("catalog")
    _make(admin, db)
    _backup(repo, db, "per-table")
    myisam = sorted(["in_order", "shuffled"] + [f"small_{i:02d}" for i in range(12)])
    assert catalogs == [None] + myisam, "the whole catalog once (InnoDB), then one table's per lock"


def test_a_restore_in_parts_that_fails_leaves_no_side_table(admin, fresh_db, repo, split_small, monkeypatch):
    """Cancelled once the first part is loaded: the restore stops, and the side tables that
    held the other parts are gone from the (incomplete) new database."""
    import threading

    from engine.errors import Cancelled

    db = fresh_db("partsfail")
    _make(admin, db)
    snap, _ = _backup(repo, db, "consistent")
    cancel = threading.Event()
    real = restore_module.DatabaseRestorer.load

    def load(self, conn, one, pool):
        real(self, conn, one, pool)
        cancel.set()

    monkeypatch.setattr(restore_module.DatabaseRestorer, "load", load)
    into = fresh_db("partsfailback")
    with pytest.raises(Cancelled):
        restore_database(repo, snap, target(into), cancel=cancel)
    with admin.cursor() as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s"
                    " AND TABLE_NAME LIKE 'odbackup-part%%'", (into,))
        assert cur.fetchall() == ()


def test_sessions_end_through_a_new_connection_when_the_monitor_cannot(admin, fresh_db):
    """On a failure the reading sessions (and the lock one of them holds) are ended by a KILL
    through the lock monitor's connection; when that connection cannot send it (here: closed),
    through a new one. The office's write then goes through at once."""
    from engine.database.dump import DatabaseDump

    db = fresh_db("endsess")
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
        cur.execute(f"CREATE TABLE `{db}`.t (id INT PRIMARY KEY) ENGINE=MyISAM")
    holder = connect(target(db), database=db)
    with holder.cursor() as cur:
        cur.execute("LOCK TABLES t READ")
    dump = DatabaseDump.__new__(DatabaseDump)  # only what _end_sessions uses
    dump.plan, dump._watcher, dump._ended_at = DatabasePlan(target(db)), None, None
    dump._monitor = connect(target(db))
    dump._monitor.close()
    try:
        dump._end_sessions([holder])
        with admin.cursor() as cur:
            cur.execute("SET SESSION lock_wait_timeout = 3")
            cur.execute(f"INSERT INTO `{db}`.t VALUES (1)")  # would wait for the lock, and fail
            cur.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = %s", (holder.thread_id(),))
            assert cur.fetchone()[0] == 0
    finally:
        try:
            holder.close()
        except Exception:  # closing a killed connection may complain; it is closed either way
            pass


@pytest.mark.parametrize("refused", [False, True], ids=["bare side tables", "server refuses CREATE ... SELECT"])
def test_side_tables_hold_no_index_unless_the_server_refuses(admin, fresh_db, repo, split_small, monkeypatch,
                                                              refused):
    """The other parts load into side tables without any index (the key cache is not shared
    with the table's own load); where ``CREATE TABLE ... SELECT`` is refused (MySQL with GTID
    consistency enforced), into a copy of the definition with its keys disabled. Either way
    the restore is exact."""
    db = fresh_db("sides")
    _make(admin, db)
    snap, _ = _backup(repo, db, "consistent")
    shapes: dict[str, tuple] = {}
    real_create, real_join = restore_module._create_side_table, restore_module.DatabaseRestorer._join

    class Refusing:
        def __init__(self, cur):
            self.cur = cur

        def execute(self, sql, *args):
            if refused and sql.startswith("CREATE TABLE") and " SELECT " in sql:
                raise pymysql.err.OperationalError(1786, "Statement violates GTID consistency")
            return self.cur.execute(sql, *args)

    def create(cur, side, table, columns):
        real_create(Refusing(cur), side, table, columns)

    def join(self, conn, group):
        with conn.cursor() as cur:
            for side in group.sides:
                cur.execute(f"SHOW INDEX FROM `{side}`")
                shapes[group.node.name] = tuple(sorted({r[2] for r in cur.fetchall()}))
        return real_join(self, conn, group)

    monkeypatch.setattr(restore_module, "_create_side_table", create)
    monkeypatch.setattr(restore_module.DatabaseRestorer, "_join", join)
    into = fresh_db("sidesback")
    restore_database(repo, snap, target(into))
    expected = ("PRIMARY",) if refused else ()
    assert shapes == {"in_order": expected, "shuffled": expected}
    with admin.cursor() as cur:
        for table in ("in_order", "shuffled"):
            cur.execute(f"CHECKSUM TABLE `{db}`.`{table}`, `{into}`.`{table}`")
            (_, want), (_, got) = cur.fetchall()
            assert got == want, table
