"""The table readers give exactly the stream of the plain ``SELECT ... ORDER BY key``.

Two fast paths: table scans (``_Scan``: the server proves key order as it reads
and deals runs of rows to several connections) and key-range batches
(``_Batches``: joined in the order the server reads them unless the server
proves that was key order, planned by row count whatever the gaps between keys,
split when they grow too long, run on several connections at once). A scan
that cannot prove its rows are the whole table in key order raises
``ScanFailed`` and the caller reads by key. Whatever the path, the bytes must
equal the row-by-row reading (the reference: ``select_sql`` orders by the key
in SQL, and Python joins the lines). MyISAM tables of a few rows are read that
way, in one query (``FEW_ROWS``).
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


def _streams(db: str, name: str, readers: int, *, scan: bool = True) -> tuple[bytes, int, bytes, int]:
    """(stream, rows) read as the backup reads it, on ``readers`` connections, and (reference
    stream, rows). Like the backup, a failed scan is followed by a read by key."""
    got, rows, want, want_rows, _ = _streams_and_path(db, name, readers, scan=scan)
    return got, rows, want, want_rows


def _streams_and_path(db: str, name: str, readers: int, *, scan: bool = True):
    meta = connect(target(db), database=db)
    try:
        table = read_table(meta, db, name)
    finally:
        meta.close()
    conns = [_raw(db) for _ in range(readers + 1)]
    try:
        spec = stream.spec_for(table)
        assert stream.batchable(table, spec), "the table should be read in batches"
        with _paths_taken() as taken:
            try:
                got = list(stream.read_stream(conns[1], table, spec, conns[2:], scan=scan))
            except stream.ScanFailed:
                got = list(stream.read_stream(conns[1], table, spec, conns[2:], scan=False))
        want = list(stream._read_rows(conns[0], table, spec))
    finally:
        for conn in conns:
            conn.close()
    path = {("scan",): "scan", ("batches",): "batches", ("scan", "batches"): "batches after a failed scan",
            ("rows",): "rows"}.get(tuple(taken), " then ".join(taken))
    return (b"".join(b for b, _ in got), sum(n for _, n in got),
            b"".join(b for b, _ in want), sum(n for _, n in want), path)


@contextlib.contextmanager
def _paths_taken():
    """The readers read_stream used, in order: scan, batches, rows (one ordered query)."""
    taken: list[str] = []
    saved = stream._Scan.__iter__, stream._Batches.__iter__, stream._read_rows

    def spy(name, real):
        def wrapper(*args, **kwargs):
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
    got, rows, want, want_rows = _streams(db, "t", readers, scan=False)
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
    """Scans deal rows out in runs of exactly 50 (and batches hold ~50 rows); tables of a few
    rows are scanned too (not read in one query)."""
    monkeypatch.setattr(stream, "_average_row", lambda table: 64)
    monkeypatch.setattr(stream, "BATCH_BYTES", 64 * 50)
    monkeypatch.setattr(stream, "FEW_ROWS", -1)


@pytest.mark.parametrize("rows", [0, 1, 49, 50, 1000, 1001])
@pytest.mark.parametrize("readers", [1, 2])
@pytest.mark.parametrize("engine", ["MyISAM", "InnoDB"])
def test_scan_of_a_table_in_key_order(engine, readers, rows, admin, fresh_db, runs_of_50):
    """Rows appended in key order are read by table scans, dealt to the connections in runs,
    and come back in key order: an empty table, one short run, runs that end exactly at the
    table's end and one past it; NULLs, escapes and long values on the way."""
    db = fresh_db("scan")
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
        cur.execute(f"CREATE TABLE `{db}`.t (id BIGINT PRIMARY KEY, note VARCHAR(40), txt TEXT,"
                    f" amount DOUBLE, d DATE) ENGINE={engine}")
        if rows:
            cur.execute(f"INSERT INTO `{db}`.t SELECT seq * 3, IF(seq % 4, CONCAT('n\\t\\\\', seq), NULL),"
                        f" IF(seq % 3, REPEAT('ab\\n', seq % 90), NULL), seq / 7, IF(seq % 5, '2024-02-29', '0000-00-00')"
                        f" FROM `{db}`.seq_1_to_{rows}")
    got, n, want, want_rows, path = _streams_and_path(db, "t", readers)
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


@pytest.mark.parametrize("readers", [1, 2])
@pytest.mark.parametrize("case", ["shuffled", "hole reused", "small key last"])
def test_scan_of_a_table_out_of_key_order_fails_then_reads_by_key(case, readers, admin, fresh_db, runs_of_50):
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
    got, rows, want, want_rows, path = _streams_and_path(db, "t", readers)
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


def test_backup_remembers_a_table_out_of_key_order(admin, fresh_db, repo, monkeypatch, tmp_path):
    """The backup reads a table whose scan failed by key, and the next backup of it reads it by
    key at once (its data file stays out of key order until rebuilt); a table in key order is
    scanned every time. Both snapshots hold the exact streams."""
    from engine.backup import BackupPlan, run_backup
    from engine.database.dump import DatabasePlan
    from engine.database.restore import database_sources

    monkeypatch.setenv("ODBACKUP_CACHE_DIR", str(tmp_path / "cache"))
    scanned = []
    real = stream._Scan.__iter__

    def spy(self):
        scanned.append(self.table.name)
        return real(self)

    monkeypatch.setattr(stream._Scan, "__iter__", spy)
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
        tree = repo.read_tree(bytes.fromhex(database_sources(repo, snap)[0]["tree"]))
        for node in tree["tables"]:
            _, _, want, _ = _streams(db, node["name"], 1, scan=False)
            assert node["checksum"] == blake3.blake3(want).hexdigest()
    assert scanned == ["ordered", "shuffled", "ordered"]


def test_a_failed_scan_reads_every_connection_to_its_end(monkeypatch):
    """When the blocks the connections send do not fit together (here the first connection
    says its share has ended while the second still sends rows), the scan fails and reads
    what every connection still sends, so none is left mid-result; it does not hang on a
    connection whose end it already took."""
    import threading

    scripts = {0: [("end", (0, 0, None, 0, 0))], 1: [("rows", b"x\n", 1)] * 6 + [("end", (0, 0, None, 0, 0))]}
    finished = []

    def part(self, conn, sql, out, stop):
        for item in scripts[conn]:
            while not stop.is_set():
                try:
                    out.put(item, timeout=0.1)
                    break
                except Exception:  # queue.Full
                    continue
        finished.append(conn)

    monkeypatch.setattr(stream._Scan, "_part", part)
    monkeypatch.setattr(stream._Scan, "_sql", lambda self, i, n: "")
    scan = stream._Scan.__new__(stream._Scan)
    scan.conns, scan.per_block = [0, 1], 1
    result = []
    worker = threading.Thread(target=lambda: result.append(pytest.raises(stream.ScanFailed, list, scan)))
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "the failed scan hung"
    assert result and sorted(finished) == [0, 1]
