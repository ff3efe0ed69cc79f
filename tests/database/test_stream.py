"""The batched table reader gives exactly the stream of the plain ``SELECT ... ORDER BY key``.

Batches are joined in the order the server reads them unless the server proves
that was key order, are planned by row count whatever the gaps between keys,
are split when they grow too long, and run on several connections at once.
Whatever the path, the bytes must equal the row-by-row reading (the reference:
``select_sql`` orders by the key in SQL, and Python joins the lines).
"""
from __future__ import annotations

import pytest
from dbhelpers import target

from engine.database import stream
from engine.database.connection import connect
from engine.database.schema import read_table


def _raw(db: str):
    conn = connect(target(db), database=db, use_unicode=False, conv={})
    with conn.cursor() as cur:
        cur.execute("SET SESSION sql_mode = ''")
        cur.execute("SET SESSION time_zone = '+00:00'")
    return conn


def _streams(db: str, name: str, readers: int) -> tuple[bytes, int, bytes, int]:
    """(batched stream, rows) on ``readers`` connections and (reference stream, rows)."""
    meta = connect(target(db), database=db)
    try:
        table = read_table(meta, db, name)
    finally:
        meta.close()
    conns = [_raw(db) for _ in range(readers + 1)]
    try:
        spec = stream.spec_for(table)
        assert stream.batchable(table, spec), "the table should be read in batches"
        got = list(stream.read_stream(conns[1], table, spec, conns[2:]))
        want = list(stream._read_rows(conns[0], table, spec))
    finally:
        for conn in conns:
            conn.close()
    return (b"".join(b for b, _ in got), sum(n for _, n in got),
            b"".join(b for b, _ in want), sum(n for _, n in want))


@pytest.fixture
def small_batches(monkeypatch):
    """Batches of a few KiB, so that small tables make many of them."""
    monkeypatch.setattr(stream, "BATCH_BYTES", 4096)


@pytest.mark.parametrize(("readers", "batch"), [(1, 4096), (2, 4096), (1, 1 << 20)])
@pytest.mark.parametrize("engine", ["MyISAM", "InnoDB"])
def test_rows_stored_out_of_key_order(engine, readers, batch, admin, fresh_db, monkeypatch):
    """MyISAM returns a table scan in the order rows sit in its data file: here not key order
    (rows inserted shuffled, some deleted and their space reused by later ones). With 1 MiB
    batches the whole table is one batch, which the server reads by a table scan: the order
    proof fails and the batch is read again sorted."""
    monkeypatch.setattr(stream, "BATCH_BYTES", batch)
    sorted_reads = []
    real = stream._Batches._proven

    def proven(self, cur, where):
        result = real(self, cur, where)
        sorted_reads.append(not result[3])
        return result

    monkeypatch.setattr(stream._Batches, "_proven", proven)
    db = fresh_db("order")
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
        cur.execute(f"CREATE TABLE `{db}`.t (id INT PRIMARY KEY, note VARCHAR(40), txt TEXT,"
                    f" amount DOUBLE) ENGINE={engine}")
        cur.execute(f"INSERT INTO `{db}`.t SELECT (seq * 7919) % 5003, CONCAT('n\\t', seq), IF(seq % 3, REPEAT('ab\\n', seq % 50), NULL),"
                    f" seq / 7 FROM `{db}`.seq_1_to_5000")
        cur.execute(f"DELETE FROM `{db}`.t WHERE id % 5 = 0")
        cur.execute(f"INSERT INTO `{db}`.t SELECT 100000 - seq, 'late', NULL, -seq FROM `{db}`.seq_1_to_900")
    got, rows, want, want_rows = _streams(db, "t", readers)
    assert rows == want_rows == 5000 - 1000 + 900
    assert got == want
    assert sorted_reads, "the order proof was never tried"
    if engine == "MyISAM" and batch > 4096:
        assert sorted_reads == [True], "a table scan of shuffled rows was taken as key order"


@pytest.mark.parametrize("key_type", ["BIGINT", "BIGINT UNSIGNED", "TINYINT"])
def test_sparse_and_extreme_keys(key_type, admin, fresh_db, small_batches):
    """Keys far apart, negative, and at the ends of their type's range."""
    db = fresh_db("keys")
    if key_type == "BIGINT":
        keys = [-(2**63), -(2**40), -1, 0, 1, 2, 3, 10**6, 10**12, 2**63 - 1]
    elif key_type == "BIGINT UNSIGNED":
        keys = [0, 1, 2**32, 2**63 - 1, 2**63, 2**63 + 1, 2**64 - 2, 2**64 - 1]
    else:
        keys = [-128, -5, 0, 126, 127]
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
        cur.execute(f"CREATE TABLE `{db}`.t (k {key_type} PRIMARY KEY, v VARCHAR(600)) ENGINE=MyISAM")
        for i, k in enumerate(reversed(keys)):
            cur.execute(f"INSERT INTO `{db}`.t VALUES (%s, REPEAT('v', %s))", (k, 100 + i * 50))
    got, rows, want, want_rows = _streams(db, "t", 2)
    assert rows == want_rows == len(keys)
    assert got == want


def test_batches_too_long_for_the_server_are_split(admin, fresh_db, monkeypatch):
    """A batch longer than ``group_concat_max_len`` (cut, with a warning) is read again in halves."""
    db = fresh_db("split")
    monkeypatch.setattr(stream, "BATCH_BYTES", 8 * 1024 * 1024)
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
        cur.execute(f"CREATE TABLE `{db}`.t (id INT PRIMARY KEY, v LONGTEXT) ENGINE=MyISAM")
        # small rows (a big first batch is planned), then rows of 1 MiB
        cur.execute(f"INSERT INTO `{db}`.t SELECT seq, 'x' FROM `{db}`.seq_1_to_2000")
        cur.execute(f"INSERT INTO `{db}`.t SELECT 2000 + seq, REPEAT('y', 1048576) FROM `{db}`.seq_1_to_24")
    got, rows, want, want_rows = _streams(db, "t", 2)
    assert rows == want_rows == 2024
    assert got == want
