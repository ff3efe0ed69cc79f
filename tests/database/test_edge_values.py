"""Every trait listed under "What a backup holds" survives backup and restore, exactly.

The comparison is independent of odbackup's own stream code: each column is
read as HEX (strings, binary, spatial, BIT), as the IEEE double (FLOAT and
DOUBLE, compared bit for bit in Python) or as the server's text (the rest).
"""
import struct

import pymysql
import pytest
from dbhelpers import target

from engine.backup import BackupPlan, run_backup
from engine.database import stream
from engine.database.dump import DatabasePlan
from engine.database.restore import database_sources, restore_database

BIG_BLOB = 3 * 1024 * 1024

SCHEMA = [
    "SET SESSION sql_mode = ''",
    """CREATE TABLE `values` (
        id INT PRIMARY KEY,
        d0 DATE NOT NULL DEFAULT '0001-01-01', d1 DATE, dt DATETIME(6), ts TIMESTAMP NULL,
        tm TIME(3), y YEAR, f FLOAT, g DOUBLE, dec65 DECIMAL(65,30), b BIT(13), b64 BIT(64),
        big BIGINT UNSIGNED, txt MEDIUMTEXT, emoji VARCHAR(20) CHARACTER SET utf8mb4,
        bin VARBINARY(40), e ENUM('', 'a', 'b c'), s SET('x', 'y', 'z'), js JSON,
        gen_v INT AS (id * 2) VIRTUAL, gen_s VARCHAR(30) AS (CONCAT('n', id)) PERSISTENT,
        hidden INT INVISIBLE DEFAULT 7
    ) ENGINE=MyISAM DEFAULT CHARSET=utf8mb3""",
    "CREATE TABLE latin (id INT PRIMARY KEY, name VARCHAR(50)) ENGINE=MyISAM DEFAULT CHARSET=latin1",
    "CREATE TABLE nokey (a INT, b VARCHAR(10)) ENGINE=MyISAM",
    "CREATE TABLE blobs (id INT PRIMARY KEY, data LONGBLOB, note LONGTEXT) ENGINE=InnoDB",
    "CREATE TABLE geo (id INT PRIMARY KEY, p POINT NOT NULL, poly POLYGON, SPATIAL KEY (p)) ENGINE=MyISAM",
    "CREATE TABLE `odd name` (`select` INT PRIMARY KEY, `a.b` VARCHAR(5), `tick``q` INT) ENGINE=InnoDB",
    # names with a newline, a tab and a backslash (mysqldump-nl.test); MyISAM, so LOAD DATA and scans
    "CREATE TABLE `new\nline\ttab\\` (`col\nx` INT PRIMARY KEY, `v\tw` VARCHAR(5)) ENGINE=MyISAM",
    "CREATE VIEW `v\nnl` AS SELECT `col\nx` FROM `new\nline\ttab\\`",
    "CREATE TABLE parent (id INT PRIMARY KEY, child_id INT, KEY (child_id)) ENGINE=InnoDB",
    "CREATE TABLE child (id INT PRIMARY KEY, parent_id INT, KEY (parent_id),"
    " FOREIGN KEY (parent_id) REFERENCES parent (id)) ENGINE=InnoDB",
    "ALTER TABLE parent ADD FOREIGN KEY (child_id) REFERENCES child (id)",
    "CREATE TABLE auto (id INT AUTO_INCREMENT PRIMARY KEY, v INT) ENGINE=MyISAM",
    # a partitioned table whose comments mention the counter and hold parentheses
    "CREATE TABLE fee (FeeNum BIGINT AUTO_INCREMENT PRIMARY KEY COMMENT 'starts at AUTO_INCREMENT=5000 (old)',"
    " Amount DOUBLE) ENGINE=MyISAM COMMENT='Fees (old schedule)'"
    " PARTITION BY RANGE (FeeNum) (PARTITION p0 VALUES LESS THAN (100), PARTITION p1 VALUES LESS THAN MAXVALUE)",
    "CREATE VIEW v1 AS SELECT id, txt FROM `values`",
    "CREATE VIEW `v 2` AS SELECT id FROM v1 WHERE id > 1",
    "CREATE TRIGGER trg BEFORE INSERT ON nokey FOR EACH ROW SET NEW.b = UPPER(NEW.b)",
    "CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN x * 2",
    "CREATE PROCEDURE count_values(OUT n INT) SELECT COUNT(*) INTO n FROM `values`",
    "CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM nokey WHERE a < 0",
]


def _rows(db: str) -> list[str]:
    doubles = [struct.pack("<d", v) for v in (0.1 + 0.2, 1e308, -2.2250738585072014e-308, 5e-324, -0.0)]
    floats = ["1.17549435e-38", "3.40282347e+38", "0.1", "-1.5e-40", "16777217"]
    values = []
    for i in range(5):
        g = struct.unpack("<d", doubles[i])[0]
        values.append(
            f"({i + 1}, {'0000-00-00' if i == 0 else '0001-01-01'!r}, '1000-01-01', '2024-02-29 23:59:59.999999',"
            f" '2038-01-19 03:14:07', '-838:59:59.000', {1901 + i}, {floats[i]}, {g!r}, "
            f"'-12345678901234567890123456789012345.123456789012345678901234567890', b'1010101010101',"
            f" 18446744073709551615, 18446744073709551615, 'line1\\nline2\\ttab \\\\ back\\\\N', '🦷🙂x',"
            f" 0x00FF5C0A090D4E, {'' if i == 0 else 'a'!r}, 'x,z', '{{\"k\": [1, 2.5, null]}}', {7 + i})"
        )
    values.append("(6, '2000-01-01', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
                  " NULL, NULL, NULL, NULL, NULL, NULL)")
    return [
        f"INSERT INTO `{db}`.`values` (id, d0, d1, dt, ts, tm, y, f, g, dec65, b, b64, big, txt, emoji, bin, e, s,"
        f" js, hidden) VALUES " + ", ".join(values),
        f"INSERT INTO `{db}`.latin VALUES (1, CONVERT(_latin1 0x4DFC6C6C6572A0A9 USING latin1))",
        f"INSERT INTO `{db}`.nokey VALUES (1, 'X'), (1, 'X'), (NULL, NULL), (2, '')",
        f"INSERT INTO `{db}`.blobs VALUES (1, RANDOM_BYTES(1024), REPEAT('é', 10)), (2, '', ''), (3, NULL, NULL)",
        f"INSERT INTO `{db}`.geo VALUES (1, POINT(-112.8185647, 49.6999986),"
        " ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))')), (2, POINT(0, 0), NULL)",
        f"INSERT INTO `{db}`.`odd name` VALUES (1, 'a.b', 3)",
        f"INSERT INTO `{db}`.`new\nline\ttab\\` VALUES (1, 'x'), (2, NULL)",
        f"INSERT INTO `{db}`.child VALUES (1, NULL)",
        f"INSERT INTO `{db}`.parent VALUES (1, 1)",
        f"UPDATE `{db}`.child SET parent_id = 1",
        f"INSERT INTO `{db}`.auto (v) VALUES (1), (2), (3)",
        f"DELETE FROM `{db}`.auto WHERE id = 3",
        f"UPDATE `{db}`.auto SET id = 0 WHERE id = 1",  # a 0 key stays 0 (not numbered anew)
        f"INSERT INTO `{db}`.fee VALUES (1, 1.5), (150, 2.5)",
    ]


def _create(conn, db: str) -> None:
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}` CHARACTER SET utf8mb4")
        cur.execute(f"USE `{db}`")
        for sql in SCHEMA:
            cur.execute(sql)
        for sql in _rows(db):
            cur.execute(sql)
        cur.execute(f"INSERT INTO `{db}`.blobs VALUES (4, RANDOM_BYTES(1024), NULL)")
        cur.execute(f"UPDATE `{db}`.blobs SET data = REPEAT(RANDOM_BYTES(1024), {BIG_BLOB // 1024}) WHERE id = 4")


def _column_expr(name: str, data_type: str) -> str:
    q = "`" + name.replace("`", "``") + "`"
    if data_type in ("float", "double"):
        return f"CAST({q} AS DOUBLE)"
    if data_type in ("int", "bigint", "decimal", "date", "datetime", "timestamp", "time", "year"):
        return f"CAST({q} AS CHAR)"
    return f"HEX({q})"


def snapshot_of(conn, db: str) -> dict:
    """Every value of every table, in a form compared exactly (doubles by their bits)."""
    result = {}
    with conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s"
                    " AND TABLE_TYPE = 'BASE TABLE'", (db,))
        for (table,) in cur.fetchall():
            cur.execute("SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s"
                        " AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION", (db, table))
            cols = cur.fetchall()
            exprs = ", ".join(_column_expr(n, t) for n, t in cols)
            cur.execute(f"SELECT {exprs} FROM `{db}`.`{table.replace('`', '``')}`")
            rows = [tuple(struct.pack("<d", v) if isinstance(v, float) else v for v in r) for r in cur.fetchall()]
            result[table] = (tuple(cols), sorted(rows, key=repr))
        cur.execute("SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s"
                    " AND TABLE_NAME = 'auto'", (db,))
        result["@auto_increment"] = cur.fetchone()
        cur.execute(f"SHOW CREATE TABLE `{db}`.fee")
        result["@fee definition"] = cur.fetchone()[1]  # counter, comments and partitions as they were
        for kind in ("VIEW", "FUNCTION", "PROCEDURE", "TRIGGER", "EVENT"):
            cur.execute(
                {"VIEW": "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s",
                 "FUNCTION": "SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s"
                             " AND ROUTINE_TYPE = 'FUNCTION'",
                 "PROCEDURE": "SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s"
                              " AND ROUTINE_TYPE = 'PROCEDURE'",
                 "TRIGGER": "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s",
                 "EVENT": "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s"}[kind], (db,))
            result[f"@{kind}"] = sorted(r[0] for r in cur.fetchall())
    return result


@pytest.mark.parametrize("mode", ["consistent", "per-table", "consistent, in parts"])
def test_every_trait_round_trips_exactly(mode, admin, fresh_db, repo, monkeypatch):
    """``in parts``: every table read by key is cut in two however small, so the MyISAM ones
    are restored through side tables (the path of big tables)."""
    original, restored = fresh_db("edge"), fresh_db("edge_copy")
    _create(admin, original)
    before = snapshot_of(admin, original)
    assert len(before["values"][1]) == 6 and before["@auto_increment"] == (4,)
    if mode.endswith("in parts"):
        monkeypatch.setattr(stream, "SPLIT_MIN_BYTES", 1)
        monkeypatch.setattr(stream, "FEW_ROWS", 0)

    result = run_backup(repo, BackupPlan(databases=(DatabasePlan(target(original), lock_mode=mode.split(",")[0]),)))
    assert result.complete
    if mode.endswith("in parts"):
        tree = repo.read_tree(bytes.fromhex(database_sources(repo, repo.find_snapshot("latest"))[0].tree))
        parted = sorted(n["name"] for n in tree["tables"] if n.get("parts"))
        assert {"values", "geo", "auto"} <= set(parted), parted
    outcome = restore_database(repo, repo.find_snapshot("latest"), target(restored))
    assert outcome.problems == ()

    after = snapshot_of(admin, restored)
    assert after.keys() == before.keys()
    for key in before:
        assert after[key] == before[key], key
    with admin.cursor() as cur:  # generated columns recomputed, invisible column kept, routines work
        cur.execute(f"SELECT gen_v, gen_s, hidden FROM `{restored}`.`values` WHERE id = 3")
        assert cur.fetchone() == (6, "n3", 9)
        cur.execute(f"SELECT `{restored}`.twice(21)")
        assert cur.fetchone() == (42,)
        cur.execute(f"SELECT COUNT(*) FROM `{restored}`.`v 2`")
        assert cur.fetchone() == (5,)


def test_small_max_allowed_packet_still_round_trips(admin, fresh_db, repo):
    """Rows near the server's packet limit are read column by column, never truncated."""
    original, restored = fresh_db("pkt"), fresh_db("pkt_copy")
    with admin.cursor() as cur:
        cur.execute("SELECT @@GLOBAL.max_allowed_packet")
        old = cur.fetchone()[0]
        cur.execute(f"CREATE DATABASE `{original}`")
        cur.execute(f"CREATE TABLE `{original}`.t (id INT PRIMARY KEY, a LONGBLOB, b LONGBLOB) ENGINE=MyISAM")
        cur.execute(f"INSERT INTO `{original}`.t VALUES (1, REPEAT('a', 700000), REPEAT('b', 700000))")
        cur.execute("SET GLOBAL max_allowed_packet = 1048576")
    try:
        run_backup(repo, BackupPlan(databases=(DatabasePlan(target(original)),)))
        restore_database(repo, repo.find_snapshot("latest"), target(restored))
    finally:
        with admin.cursor() as cur:
            cur.execute(f"SET GLOBAL max_allowed_packet = {int(old)}")
    fresh = pymysql.connect(host="127.0.0.1", user="root", password="")
    with fresh.cursor() as cur:
        cur.execute(f"SELECT LENGTH(a), LENGTH(b), MD5(a) = MD5(REPEAT('a', 700000)) FROM `{restored}`.t")
        assert cur.fetchone() == (700000, 700000, 1)
    fresh.close()


def test_programs_keep_the_character_set_they_were_created_with(admin, fresh_db, repo):
    """A function created by a latin1 client: its literal 'é' is the byte E9, and stays so in
    the restored copy (created again under latin1, not under the restore's utf8mb4)."""
    original, restored = fresh_db("latin_fn"), fresh_db("latin_fn_copy")
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{original}` CHARACTER SET latin1")
        cur.execute("SET NAMES latin1")
        try:
            cur.execute(f"CREATE FUNCTION `{original}`.accent() RETURNS VARCHAR(20) DETERMINISTIC"
                        " RETURN HEX('\xe9')".encode("latin1"))
            cur.execute(f"CREATE VIEW `{original}`.greeting AS SELECT 'caf\xe9' AS word".encode("latin1"))
        finally:
            cur.execute("SET NAMES utf8mb4")
    result = run_backup(repo, BackupPlan(databases=(DatabasePlan(target(original)),)))
    assert result.complete
    assert restore_database(repo, repo.find_snapshot("latest"), target(restored)).problems == ()
    with admin.cursor() as cur:
        for db in (original, restored):
            cur.execute(f"SELECT `{db}`.accent(), (SELECT HEX(word) FROM `{db}`.greeting)")
            assert cur.fetchone() == ("E9", "636166E9"), db
            cur.execute("SELECT CHARACTER_SET_CLIENT, COLLATION_CONNECTION FROM information_schema.ROUTINES"
                        " WHERE ROUTINE_SCHEMA = %s", (db,))
            assert cur.fetchone() == ("latin1", "latin1_swedish_ci"), db
