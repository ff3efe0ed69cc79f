"""Snapshot records (engine/repository/records.py) write back exactly the JSON they were read from:
on documents the real backup wrote (a folder snapshot, a database snapshot on the real MariaDB),
on an old snapshot (keys added later missing), and on a newer one (keys this version does not know).
"""
from __future__ import annotations

import json
import os
import secrets
import sys

import pymysql
import pytest

from engine import crypto
from engine.backup import BackupPlan, run_backup
from engine.database.connection import DbTarget
from engine.database.dump import DatabasePlan
from engine.folders.backup import tree_bytes_of
from engine.listing import list_snapshots
from engine.repository.records import (
    DatabaseSource,
    DatabaseTree,
    FolderSource,
    FolderTree,
    OtherSource,
    SkippedEntry,
    SnapshotBody,
    SnapshotStats,
    TableNode,
    TreeNode,
    parse,
    source_from_json,
)
from engine.repository.repo import Repository
from engine.repository.snapshot import BODY_AAD, HEADER_KIND, read_snapshot

PASS = "a long test passphrase"


def _header_plain(repo: Repository, snap_id: str) -> bytes:
    return crypto.unseal(repo.keys.maint_key, repo.backend.read(f"snapshots/{snap_id}"), HEADER_KIND)


def _body_plain(repo: Repository, snap_id: str) -> bytes:
    snap = read_snapshot(repo.backend, repo.keys.maint_key, snap_id)
    return repo.require_full_key().open(snap.body_session, snap.body_sealed, BODY_AAD)


def _canonical_body(doc: dict) -> bytes:
    return json.dumps(doc, sort_keys=True).encode()  # as engine/repository/snapshot.py seals it


def _folder_trees(repo: Repository, tree_hex: str) -> list[bytes]:
    """The raw bytes of a folder's tree blob and of every tree below it."""
    found, todo = [], [tree_hex]
    while todo:
        raw = repo.read_blob(bytes.fromhex(todo.pop()))
        found.append(raw)
        todo += [n["subtree"] for n in json.loads(raw)["nodes"] if n["type"] == "dir"]
    return found


@pytest.fixture
def folder_snapshot(tmp_path):
    """A real folder backup: files (one empty), a subfolder, a symbolic link where the system has them."""
    repo, _ = Repository.init(str(tmp_path / "repo"), PASS)
    src = tmp_path / "OpenDentImages"
    (src / "S" / "SmithJohn1234").mkdir(parents=True)
    (src / "a.txt").write_text("one")
    (src / "empty.txt").write_bytes(b"")
    (src / "S" / "SmithJohn1234" / "xray.jpg").write_bytes(os.urandom(5000))
    if sys.platform != "win32":
        os.symlink("S", src / "link")
    result = run_backup(repo, BackupPlan((str(src),)))
    return repo, result.snapshot_id


def test_a_folder_snapshot_written_by_the_backup_reads_and_writes_back_byte_for_byte(folder_snapshot):
    repo, snap_id = folder_snapshot
    header = _header_plain(repo, snap_id)
    snap = read_snapshot(repo.backend, repo.keys.maint_key, snap_id)
    assert json.dumps(snap.header_json()).encode() == header  # key order included
    assert snap.stats.files == 3 and snap.stats.databases == 0 and snap.stats.db_bytes == 0
    assert snap.stats.lock_window == 0 and snap.stats.extra == {}

    body_raw = _body_plain(repo, snap_id)
    body = SnapshotBody.from_json(json.loads(body_raw))
    assert _canonical_body(body.to_json()) == body_raw
    (folder,) = body.sources
    assert isinstance(folder, FolderSource) and folder.name == "OpenDentImages" and body.databases == ()
    assert folder.extra == {} and body.extra == {}

    trees = _folder_trees(repo, folder.tree)
    assert len(trees) == 3  # the source, S, S/SmithJohn1234
    for raw in trees:
        tree = FolderTree.from_json(json.loads(raw))
        assert tree_bytes_of(tree.to_json()) == raw
        assert all(TreeNode.from_json(n.to_json()) == n for n in tree.nodes)
        assert all(n.extra == {} for n in tree.nodes) and tree.extra == {}  # every key the backup writes is known
    top = {n.name: n for n in FolderTree.from_json(json.loads(trees[0])).nodes}
    assert top["a.txt"].type == "file" and top["a.txt"].size == 3 and len(top["a.txt"].content or ()) == 1
    assert top["empty.txt"].size == 0 and top["empty.txt"].content == ()
    assert top["S"].type == "dir" and top["S"].subtree is not None and top["S"].content is None
    if sys.platform != "win32":
        assert top["link"].type == "symlink" and top["link"].target == "S"


@pytest.fixture
def database_snapshot(tmp_path):
    """A real database backup of a small database on the MariaDB at 127.0.0.1:3306 (dropped afterwards)."""
    name = f"odbt_{secrets.token_hex(4)}_records"
    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}`")
            cur.execute(f"CREATE TABLE `{name}`.patient (PatNum BIGINT AUTO_INCREMENT PRIMARY KEY, "
                        "LName VARCHAR(100), Birth DATE) ENGINE=MyISAM")
            cur.execute(f"INSERT INTO `{name}`.patient (LName, Birth) VALUES ('Smith', '1970-01-02'), "
                        "('Jones', NULL)")
            cur.execute(f"CREATE TABLE `{name}`.note (id INT PRIMARY KEY, body TEXT) ENGINE=InnoDB")
            cur.execute(f"CREATE VIEW `{name}`.names AS SELECT LName FROM `{name}`.patient")
        repo, _ = Repository.init(str(tmp_path / "repo"), PASS)
        target = DbTarget(host="127.0.0.1", port=3306, user="root", database=name, password="")
        result = run_backup(repo, BackupPlan(databases=(DatabasePlan(target),)))
        yield repo, result.snapshot_id, name
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


def test_a_database_snapshot_written_by_the_backup_reads_and_writes_back_byte_for_byte(database_snapshot):
    repo, snap_id, name = database_snapshot
    snap = read_snapshot(repo.backend, repo.keys.maint_key, snap_id)
    assert json.dumps(snap.header_json()).encode() == _header_plain(repo, snap_id)
    assert (snap.stats.databases, snap.stats.db_tables, snap.stats.db_rows) == (1, 2, 2)
    assert snap.stats.backed_up_bytes == snap.stats.bytes + snap.stats.db_bytes > 0

    body_raw = _body_plain(repo, snap_id)
    body = SnapshotBody.from_json(json.loads(body_raw))
    assert _canonical_body(body.to_json()) == body_raw
    (db,) = body.sources
    assert isinstance(db, DatabaseSource) and (db.name, db.server, db.user) == (name, "127.0.0.1:3306", "root")
    assert (db.tables, db.rows, db.bytes) == (2, 2, snap.stats.db_bytes)
    assert db.extra == {} and body.extra == {} and snap.stats.extra == {}
    assert db.where == f"127.0.0.1:3306/{name}"

    raw = repo.read_blob(bytes.fromhex(db.tree))
    tree = DatabaseTree.from_json(json.loads(raw))
    assert tree_bytes_of(tree.to_json()) == raw
    assert DatabaseTree.from_json(tree.to_json()) == tree
    assert tree.extra == {} and all(t.extra == {} for t in tree.tables)
    tables = {t.name: t for t in tree.tables}
    assert tables["patient"].rows == 2 and tables["patient"].auto_increment == 3
    assert tables["note"].rows == 0 and tables["note"].content == ()
    assert [p["name"] for p in tree.programs] == ["names"]


def test_every_record_built_in_code_survives_its_own_json():
    records = [
        SnapshotStats(1, 2, 3, 4, 1.5, 0),
        SnapshotStats(1, 2, 3, 4, 1.5, 1, databases=1, db_tables=2, db_rows=3, db_bytes=4, lock_window=0.25,
                      extra={"new_key": [1, 2]}),
        FolderSource("Charts", "/srv/Charts", "ab" * 32, 0o755, 1_700_000_000_000_000_000),
        DatabaseSource("opendental", "db:3306", "10.11", "cd" * 32, "per-table", 0.5, 3, 4, 5, user="backup"),
        DatabaseSource("opendental", "db:3306", "10.11", "cd" * 32, "consistent", 0, 3, 4, 5),
        OtherSource({"kind": "mailbox", "name": "inbox", "tree": "ef" * 32}),
        SkippedEntry("Charts/x.jpg", "could not be read: Permission denied"),
        TreeNode("x.jpg", "file", 0o644, 5, size=10, content=(("aa" * 32, 10),), changed_while_read=True),
        TreeNode("S", "dir", 0o755, 5, subtree="bb" * 32),
        TreeNode("l", "symlink", 0o777, 5, target="S"),
        TableNode("patient", "MyISAM", "CREATE TABLE ...", {"columns": ["a"], "kinds": ["raw"], "built": 1},
                  10, 100, "cc" * 32, None, (("dd" * 32, 60), ("ee" * 32, 40)), parts=((6, 1), (4, 1))),
        TableNode("m", "MRG_MyISAM", "CREATE TABLE ...", {"columns": [], "kinds": []}, 0, 0, "00" * 32, None, (),
                  rows_elsewhere=True),
    ]
    for record in records:
        assert type(record).from_json(record.to_json()) == record
    body = SnapshotBody("odbackup 0.1.0", tuple(r for r in records if hasattr(r, "where")),
                        (SkippedEntry("a", "b"),))
    assert SnapshotBody.from_json(json.loads(json.dumps(body.to_json()))) == body


OLD_STATS = {"files": 12, "bytes": 3400, "bytes_added": 3400, "bytes_stored": 1200, "duration": 0.75,
             "skipped": 0}
"""A header's stats as every odbackup before the database totals (2026-11-22) wrote them."""


def test_an_old_header_without_database_totals_reads_as_not_recorded_and_writes_back_unchanged():
    stats = SnapshotStats.from_json(OLD_STATS)
    assert (stats.databases, stats.db_bytes, stats.lock_window) == (None, None, None)  # not zero: unknown
    assert stats.backed_up_bytes == 3400
    assert json.dumps(stats.to_json()) == json.dumps(OLD_STATS)


def test_an_old_database_source_without_its_user_writes_back_unchanged():
    doc = {"kind": "database", "name": "opendental", "server": "127.0.0.1:3306", "server_version": "10.11",
           "tree": "ab" * 32, "lock_mode": "consistent", "lock_window": 0.47, "tables": 379, "rows": 21551,
           "bytes": 1915491}
    source = source_from_json(doc)
    assert isinstance(source, DatabaseSource) and source.user is None
    assert json.dumps(source.to_json()) == json.dumps(doc)


def test_keys_and_kinds_from_a_newer_version_are_kept_in_place():
    stats_doc = OLD_STATS | {"databases": 0, "db_tables": 0, "db_rows": 0, "db_bytes": 0, "lock_window": 0,
                             "archived": True, "offsite_bytes": 99}
    order = ["files", "bytes", "databases", "db_tables", "db_rows", "db_bytes", "lock_window", "bytes_added",
             "bytes_stored", "duration", "skipped", "archived", "offsite_bytes"]
    stats_doc = {k: stats_doc[k] for k in order}  # as a newer version writes it: its new keys last
    stats = SnapshotStats.from_json(stats_doc)
    assert stats.extra == {"archived": True, "offsite_bytes": 99}
    assert json.dumps(stats.to_json()) == json.dumps(stats_doc)

    body_doc = {"program": "odbackup 9.0", "skipped": [], "signed_by": "x",
                "sources": [{"kind": "cloud", "name": "mail", "tree": "ab" * 32, "region": "eu"},
                            {"kind": "folder", "name": "C", "path": "/C", "tree": "cd" * 32, "mode": 493,
                             "mtime_ns": 1, "acl": "owner"}]}
    body = SnapshotBody.from_json(body_doc)
    assert isinstance(body.sources[0], OtherSource) and body.folders[0].extra == {"acl": "owner"}
    assert body.extra == {"signed_by": "x"}
    assert _canonical_body(body.to_json()) == _canonical_body(body_doc)

    node_doc = {"name": "x", "type": "file", "mode": 420, "mtime_ns": 1, "size": 0, "content": [], "xattrs": {}}
    assert tree_bytes_of(TreeNode.from_json(node_doc).to_json()) == tree_bytes_of(node_doc)


def test_stats_without_a_key_every_version_wrote_are_refused():
    with pytest.raises(ValueError, match="bytes_stored"):
        SnapshotStats.from_json({k: v for k, v in OLD_STATS.items() if k != "bytes_stored"})


@pytest.mark.parametrize(("cls", "doc"), [
    (SnapshotBody, {"program": "odbackup", "skipped": [], "sources": [{"kind": "folder", "name": "C"}]}),
    (SnapshotBody, {"program": "odbackup", "sources": "not a list of sources"}),
    (FolderTree, {"nodes": [{"name": "x", "type": "file"}]}),
    (DatabaseTree, {"database": "d", "tables": []}),
])
def test_a_malformed_document_is_a_value_error_like_malformed_json(cls, doc):
    """So every reader that reports a damaged snapshot on bad JSON reports these the same way."""
    with pytest.raises(ValueError, match=f"malformed {cls.__name__}"):
        parse(cls, doc)


def test_a_repository_holding_an_old_snapshot_opens_and_lists_it(folder_snapshot):
    """An old snapshot, rewritten here as the first releases wrote its header (six stats keys): the
    repository opens, the list shows it, and its header reads back byte for byte."""
    repo, new_id = folder_snapshot
    header = json.loads(_header_plain(repo, new_id))
    header["stats"] = {k: header["stats"][k] for k in OLD_STATS}
    plain = json.dumps(header).encode()
    sealed = crypto.seal(repo.keys.maint_key, plain, HEADER_KIND)
    old_id = crypto.content_hash(sealed).hex()
    repo.backend.write_atomic(f"snapshots/{old_id}", [sealed])
    os.remove(os.path.join(repo.location, "snapshots", new_id))

    reopened = Repository.open(repo.location)
    reopened.unlock(PASS)
    (row,) = list_snapshots(reopened)
    assert not row.damaged and row.snapshot_id == old_id and row.files == 3 and row.bytes == header["stats"]["bytes"]
    assert row.stats is not None and row.stats.db_bytes is None and row.sources is not None
    snap = read_snapshot(reopened.backend, reopened.keys.maint_key, old_id)
    assert json.dumps(snap.header_json()).encode() == plain
