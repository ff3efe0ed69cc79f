"""The table readers give exactly the stream of the plain ``SELECT ... ORDER BY key``.

Two fast paths: table scans (``_Scan``: the server proves key order as it reads)
and key-range batches (``_Batches``: joined in the order the server reads them
unless the server proves that was key order, planned by row count whatever the
gaps between keys, split when they grow too long). A big table is cut into
parts (``split``), each read on its own connection, that together are the
stream. A scan that cannot prove its rows are the whole part in key order
raises ``ScanFailed`` and the caller reads by key. Whatever the path, the bytes
must equal the row-by-row reading (the reference: ``select_sql`` orders by the
key in SQL, and Python joins the lines). MyISAM tables of a few rows are read
that way, in one query (``FEW_ROWS``).
"""
from __future__ import annotations

import contextlib
import time

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


def _streams(db: str, name: str, parts: int, *, scan: bool = True) -> tuple[bytes, int, bytes, int]:
    """(stream, rows) read as the backup reads it, in ``parts`` parts (each on a connection of its
    own), and (reference stream, rows). Like the backup, a failed scan is followed by a read by key."""
    got, rows, want, want_rows, _ = _streams_and_path(db, name, parts, scan=scan)
    return got, rows, want, want_rows


def _streams_and_path(db: str, name: str, parts: int, *, scan: bool = True):
    meta = connect(target(db), database=db)
    try:
        table = read_table(meta, db, name)
    finally:
        meta.close()
    conns = [_raw(db) for _ in range(parts + 1)]
    try:
        spec = stream.spec_for(table)
        assert stream.batchable(table, spec), "the table should be read in batches"
        with _paths_taken() as taken:
            try:
                got = _in_parts(conns[1:], table, spec, parts, scan)
            except stream.ScanFailed:
                got = _in_parts(conns[1:], table, spec, parts, False)
        want = list(stream._read_rows(conns[0], table, spec))
    finally:
        for conn in conns:
            conn.close()
    path = {("scan",): "scan", ("batches",): "batches", ("scan", "batches"): "batches after a failed scan",
            ("rows",): "rows"}.get(tuple(taken), " then ".join(taken))
    return (b"".join(b for b, _ in got), sum(n for _, n in got),
            b"".join(b for b, _ in want), sum(n for _, n in want), path)


def _in_parts(conns, table, spec, parts: int, scan: bool) -> list[tuple[bytes, int]]:
    """The table cut into ``parts`` parts (whatever its size), each read on its own connection."""
    saved = stream.SPLIT_MIN_BYTES
    stream.SPLIT_MIN_BYTES = 0
    try:
        cuts = stream.split(conns[0], table, spec, parts)
    finally:
        stream.SPLIT_MIN_BYTES = saved
    return [b for conn, part in zip(conns, cuts, strict=False)
            for b in stream.read_stream(conn, table, spec, scan=scan, part=part)]


@contextlib.contextmanager
def _paths_taken():
    """The readers read_stream used, in order: scan, batches, rows (one ordered query)."""
    taken: list[str] = []
    saved = stream._Scan.__iter__, stream._Batches.__iter__, stream._read_rows

    def spy(name, real):
        def wrapper(*args, **kwargs):
            if taken[-1:] != [name]:  # parts read the same way count once
                taken.append(name)
            return real(*args, **kwargs)
        return wrapper

    stream._Scan.__iter__ = spy("scan", saved[0])
    stream._Batches.__iter__ = spy("batches", saved[1])
    stream._read_rows = spy("rows", saved[2])
    try:
        yield taken
    finally:
        stream._Scan.__iter__, stream._Batches.__iter__, stream._read_rows = saved


@pytest.fixture
def small_batches(monkeypatch):
    """Batches of a few KiB, so that small tables make many of them."""
    monkeypatch.setattr(stream, "BATCH_BYTES", 4096)


@pytest.mark.parametrize(("parts", "batch"), [(1, 4096), (2, 4096), (1, 1 << 20)])
@pytest.mark.parametrize("engine", ["MyISAM", "InnoDB"])
def test_rows_stored_out_of_key_order(engine, parts, batch, admin, fresh_db, monkeypatch):
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
    got, rows, want, want_rows = _streams(db, "t", parts, scan=False)
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
    for scan in (True, False):
        got, rows, want, want_rows = _streams(db, "t", 2, scan=scan)
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
    got, rows, want, want_rows = _streams(db, "t", 2, scan=False)
    assert rows == want_rows == 2024
    assert got == want


# --- table scans ------------------------------------------------------------------------------


@pytest.fixture
def runs_of_50(monkeypatch):
    """Scans hand on blocks of exactly 50 rows (and batches hold ~50 rows); tables of a few
    rows are scanned too (not read in one query)."""
    monkeypatch.setattr(stream, "_average_row", lambda table: 64)
    monkeypatch.setattr(stream, "BATCH_BYTES", 64 * 50)
    monkeypatch.setattr(stream, "FEW_ROWS", -1)


@pytest.mark.parametrize("rows", [0, 1, 49, 50, 1000, 1001])
@pytest.mark.parametrize("parts", [1, 2, 3])
@pytest.mark.parametrize("engine", ["MyISAM", "InnoDB"])
def test_scan_of_a_table_in_key_order(engine, parts, rows, admin, fresh_db, runs_of_50):
    """Rows appended in key order are read by table scans, whole or in parts, and come back in
    key order: an empty table, one short block, blocks that end exactly at the table's end and
    one past it; NULLs, escapes and long values on the way."""
    db = fresh_db("scan")
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
        cur.execute(f"CREATE TABLE `{db}`.t (id BIGINT PRIMARY KEY, note VARCHAR(40), txt TEXT,"
                    f" amount DOUBLE, d DATE) ENGINE={engine}")
        if rows:
            cur.execute(f"INSERT INTO `{db}`.t SELECT seq * 3, IF(seq % 4, CONCAT('n\\t\\\\', seq), NULL),"
                        f" IF(seq % 3, REPEAT('ab\\n', seq % 90), NULL), seq / 7, IF(seq % 5, '2024-02-29', '0000-00-00')"
                        f" FROM `{db}`.seq_1_to_{rows}")
    got, n, want, want_rows, path = _streams_and_path(db, "t", parts)
    assert path == "scan"
    assert n == want_rows == rows
    assert got == want


@pytest.mark.parametrize("engine", ["MyISAM", "InnoDB"])
def test_a_few_rows_are_read_in_one_ordered_query(engine, admin, fresh_db, monkeypatch):
    """A MyISAM table of at most FEW_ROWS rows (its exact count) is read in one ordered query,
    stored out of key order or not, with the bytes the batches give; an InnoDB table (whose
    count is an estimate) still takes the fast paths."""
    db = fresh_db("few")
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
        cur.execute(f"CREATE TABLE `{db}`.t (id INT PRIMARY KEY, note VARCHAR(40), txt TEXT) ENGINE={engine}")
        cur.execute(f"INSERT INTO `{db}`.t SELECT (seq * 37) % 211, CONCAT('n\t', seq), IF(seq % 3, 'a\nb', NULL)"
                    f" FROM `{db}`.seq_1_to_200")
    got, rows, want, want_rows, path = _streams_and_path(db, "t", 2)
    assert path == ("rows" if engine == "MyISAM" else "scan")
    monkeypatch.setattr(stream, "FEW_ROWS", -1)
    batches, batch_rows, _, _, batch_path = _streams_and_path(db, "t", 1, scan=False)
    assert batch_path == "batches"
    assert rows == batch_rows == want_rows == 200
    assert got == batches == want


def test_a_few_rows_with_a_long_varchar_keep_the_guarded_paths(admin, fresh_db):
    """The one-query path lets the server escape every VARCHAR; one declared long enough for a
    value over SERVER_ESCAPE_MAX (where REPLACE turns quadratic) sends the table the guarded way."""
    db = fresh_db("fewlong")
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
        cur.execute(f"CREATE TABLE `{db}`.t (id INT PRIMARY KEY, v VARCHAR(4000)) ENGINE=MyISAM")
        cur.execute(f"INSERT INTO `{db}`.t SELECT seq, REPEAT('\n', seq * 20) FROM `{db}`.seq_1_to_100")
    got, rows, want, want_rows, path = _streams_and_path(db, "t", 1)
    assert path == "scan"
    assert rows == want_rows == 100 and got == want


@pytest.mark.parametrize("parts", [1, 2])
@pytest.mark.parametrize("case", ["shuffled", "hole reused", "small key last"])
def test_scan_of_a_table_out_of_key_order_fails_then_reads_by_key(case, parts, admin, fresh_db, runs_of_50):
    """A MyISAM data file not in key order (rows inserted shuffled; a deleted row's space
    reused by a newer row; a row deleted and put back, so it sits last): the scan raises
    ScanFailed instead of handing on rows out of order, leaves its connections usable,
    and the read by key gives the exact stream."""
    db = fresh_db("scanorder")
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
        cur.execute(f"CREATE TABLE `{db}`.t (id INT PRIMARY KEY, note VARCHAR(40)) ENGINE=MyISAM")
        if case == "shuffled":
            cur.execute(f"INSERT INTO `{db}`.t SELECT (seq * 7919) % 5003, seq FROM `{db}`.seq_1_to_3000")
        else:
            cur.execute(f"INSERT INTO `{db}`.t SELECT seq, seq FROM `{db}`.seq_1_to_3000")
            if case == "hole reused":
                cur.execute(f"DELETE FROM `{db}`.t WHERE id = 700")
                cur.execute(f"INSERT INTO `{db}`.t VALUES (5000, 'new')")
            else:
                cur.execute(f"DELETE FROM `{db}`.t WHERE id = 10")
                cur.execute(f"OPTIMIZE TABLE `{db}`.t")  # no hole left: the row goes to the end
                cur.execute(f"INSERT INTO `{db}`.t VALUES (10, 'back')")
    got, rows, want, want_rows, path = _streams_and_path(db, "t", parts)
    assert path == "batches after a failed scan"
    assert rows == want_rows and got == want


def test_scan_with_a_line_too_long_for_the_server_fails_then_reads_by_key(admin, fresh_db):
    """A value that escaping makes longer than ``max_allowed_packet``: the server answers
    NULL with a warning. The scan must not take it (for NULL); the read by key builds that
    row in Python."""
    db = fresh_db("scanlong")
    with admin.cursor() as cur:
        cur.execute("SELECT @@max_allowed_packet")
        packet = int(cur.fetchone()[0])
        cur.execute(f"CREATE DATABASE `{db}`")
        cur.execute(f"CREATE TABLE `{db}`.t (id INT PRIMARY KEY, v LONGTEXT) ENGINE=MyISAM")
        cur.execute(f"INSERT INTO `{db}`.t SELECT seq, 'x' FROM `{db}`.seq_1_to_3000")
        # under the packet limit as stored, over it once every tab becomes two bytes
        cur.execute(f"INSERT INTO `{db}`.t VALUES (3001, REPEAT('\t', {packet * 2 // 3}))")
        cur.execute(f"INSERT INTO `{db}`.t SELECT 3001 + seq, 'y' FROM `{db}`.seq_1_to_10")
    got, rows, want, want_rows, path = _streams_and_path(db, "t", 2)
    assert path == "batches after a failed scan"
    assert rows == want_rows == 3011
    assert got == want


def test_checksums_of_a_table_out_of_key_order(admin, fresh_db):
    """verify's checksums (compare.stream_checksums) read a table stored out of key order
    by key after the scan fails: the checksum is the reference stream's."""
    import blake3

    from engine.database.compare import stream_checksums

    db = fresh_db("scansum")
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
        cur.execute(f"CREATE TABLE `{db}`.t (id INT PRIMARY KEY, note VARCHAR(40)) ENGINE=MyISAM")
        cur.execute(f"INSERT INTO `{db}`.t SELECT (seq * 7919) % 5003, seq FROM `{db}`.seq_1_to_3000")
    _, _, want, want_rows = _streams(db, "t", 1, scan=False)
    meta = connect(target(db), database=db)
    try:
        sums = stream_checksums(meta, target(db), db)
    finally:
        meta.close()
    assert sums["t"] == (want_rows, blake3.blake3(want).hexdigest())


@pytest.mark.parametrize("scan", [True, False])
def test_long_values_full_of_escapes_are_built_in_python(scan, admin, fresh_db, monkeypatch):
    """The server's REPLACE is quadratic in the matches of a value (300 KB of newlines: 5 s,
    3 MB: minutes, and KILL does not stop it). Values over SERVER_ESCAPE_MAX are never given
    to it: the scan stops at the first (and the table is read by key), the batches mark those
    rows and they are built in Python. Short values stay on the server."""
    built_here = []
    real = stream._Batches._built_here

    def spy(self, cur, block):
        built_here.append(block.count(b"\n") + 1)
        return real(self, cur, block)

    monkeypatch.setattr(stream._Batches, "_built_here", spy)
    db = fresh_db("escapes")
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
        cur.execute(f"CREATE TABLE `{db}`.t (id INT PRIMARY KEY, short VARCHAR(100), big MEDIUMTEXT,"
                    " wide VARCHAR(5000)) ENGINE=MyISAM")
        cur.execute(f"INSERT INTO `{db}`.t SELECT seq, CONCAT('a\\tb\\\\', seq), REPEAT('x\\n', seq % 7),"
                    f" IF(seq % 50 = 7, REPEAT('\\t', 3000), 'w') FROM `{db}`.seq_1_to_2000")
        cur.execute(f"UPDATE `{db}`.t SET big = REPEAT('\\n', 300000) WHERE id IN (5, 1500, 1999)")
    got, rows, want, want_rows, path = _streams_and_path(db, "t", 2, scan=scan)
    assert path == ("batches after a failed scan" if scan else "batches")
    assert rows == want_rows == 2000
    assert got == want
    assert built_here, "no row was built in Python"


def test_backup_remembers_a_table_out_of_key_order(admin, fresh_db, repo, monkeypatch, tmp_path, scanned_tables):
    """The backup reads a table whose scan failed by key, and the next backup of it reads it by
    key at once (its data file stays out of key order until rebuilt); a table in key order is
    scanned every time. Both snapshots hold the exact streams."""
    from engine.backup import BackupPlan, run_backup
    from engine.database.dump import DatabasePlan
    from engine.database.restore import database_sources

    monkeypatch.setenv("ODBACKUP_CACHE_DIR", str(tmp_path / "cache"))
    scanned = scanned_tables
    db = fresh_db("scancache")
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
        for name in ("ordered", "shuffled"):
            cur.execute(f"CREATE TABLE `{db}`.{name} (id INT PRIMARY KEY, note VARCHAR(40)) ENGINE=MyISAM")
        cur.execute(f"INSERT INTO `{db}`.ordered SELECT seq, seq FROM `{db}`.seq_1_to_3000")
        cur.execute(f"INSERT INTO `{db}`.shuffled SELECT (seq * 7919) % 5003, seq FROM `{db}`.seq_1_to_3000")
    import blake3

    for _ in range(2):
        with admin.cursor() as cur:  # a change, so neither table is taken from the table cache
            cur.execute(f"UPDATE `{db}`.ordered SET note = CONCAT(note, 'x') WHERE id = 1")
            cur.execute(f"UPDATE `{db}`.shuffled SET note = CONCAT(note, 'x') WHERE id = 1")
        time.sleep(1.1)  # the table cache trusts only reads in a later second than the change
        result = run_backup(repo, BackupPlan(databases=(DatabasePlan(target(db)),)))
        assert result.complete
        snap = repo.find_snapshot(result.snapshot_id)
        tree = repo.read_tree(bytes.fromhex(database_sources(repo, snap)[0].tree))
        for node in tree["tables"]:
            _, _, want, _ = _streams(db, node["name"], 1, scan=False)
            assert node["checksum"] == blake3.blake3(want).hexdigest()
    assert scanned == ["ordered", "shuffled", "ordered"]


def _simple_table(admin, db: str, key: str, rows: int) -> None:
    """``t``: MyISAM, ``rows`` rows appended in key order, keys ``key`` of ``seq``."""
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
        cur.execute(f"CREATE TABLE `{db}`.t (id INT PRIMARY KEY, note VARCHAR(40)) ENGINE=MyISAM")
        cur.execute(f"INSERT INTO `{db}`.t SELECT {key}, seq FROM `{db}`.seq_1_to_{rows}")


@pytest.mark.parametrize("change", ["row deleted", "row added"])
def test_parts_that_no_longer_fit_the_table_fail_the_scan(change, admin, fresh_db, runs_of_50):
    """The parts are planned on the rows they are read from (the lock, or snapshots of one
    instant). Should the rows change in between all the same, the parts' checks catch it: a row
    deleted from the first part's range pulls the next part's first row into it; a row added
    with a small key (it goes to the end of the data file) is counted in neither part."""
    db = fresh_db("partfit")
    _simple_table(admin, db, "seq * 3", 3000)
    meta = connect(target(db), database=db)
    conn = _raw(db)
    try:
        table = read_table(meta, db, "t")
        spec = stream.spec_for(table)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(stream, "SPLIT_MIN_BYTES", 0)
            parts = stream.split(conn, table, spec, 2)
        assert len(parts) == 2 and parts[0].rows == parts[1].before
        assert parts[0].hi == parts[1].lo and parts[1].hi is None
        with admin.cursor() as cur:
            cur.execute(f"DELETE FROM `{db}`.t WHERE id = 9" if change == "row deleted"
                        else f"INSERT INTO `{db}`.t VALUES (4, 'late')")
        with pytest.raises(stream.ScanFailed):
            for part in parts:
                list(stream.read_stream(conn, table, spec, part=part))
        with conn.cursor() as cur:  # the connection is still usable
            cur.execute("SELECT COUNT(*) FROM t")
            assert int(cur.fetchone()[0]) == (2999 if change == "row deleted" else 3001)
    finally:
        meta.close()
        conn.close()


@pytest.mark.parametrize("rows", [30_000, 30_100])
def test_split_cuts_stay_put_as_the_table_grows(rows, admin, fresh_db):
    """A cut is at a row count rounded down to a power of two: 1% more rows leave it where it
    was (so the chunks either side of it deduplicate from one backup to the next), and the
    parts hold about the same number of rows."""
    db = fresh_db("cuts")
    _simple_table(admin, db, "seq * 2", rows)
    meta = connect(target(db), database=db)
    try:
        table = read_table(meta, db, "t")
        spec = stream.spec_for(table)
        assert stream.split(meta, table, spec, 2) == [stream.WHOLE], "a small table is not cut"
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(stream, "SPLIT_MIN_BYTES", 0)
            parts = stream.split(meta, table, spec, 2)
    finally:
        meta.close()
    assert [(p.lo, p.hi, p.rows, p.before) for p in parts] == [(None, 28674, 14336, 0), (28674, None, None, 14336)]
