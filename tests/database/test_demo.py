"""The sample practice (``odbackup demo``) on the real MariaDB server at 127.0.0.1:3306.

Every test works in databases named ``odb_test_demo_<random hex>`` that it made up
itself, and drops only those.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import secrets
import threading

import pymysql
import pytest

from engine.errors import Cancelled, OdbackupError, UsageError
from engine.events import DemoProgress
from engine.opendental.demo import DATABASE_VERSION, DemoRefused, create_demo

CONNECT = dict(host="127.0.0.1", port=3306, user="root", password="", local_infile=True,
               charset="utf8mb4")
SCALE = 0.05
CORE_TABLES = {
    "patient", "appointment", "procedurelog", "procedurecode", "provider", "operatory", "claim",
    "claimproc", "commlog", "securitylog", "securityloghash", "document", "definition",
    "preference", "userod", "insplan", "inssub", "carrier", "payment", "paysplit", "recall",
    "schedule", "treatplan", "periomeasure", "procnote", "toothinitial", "sheetfield",
}
# Facts from Open Dental's 21.1.9 schema dump: (table, column) ->
# (COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT as MariaDB reports it, EXTRA, COLLATION_NAME)
COLUMN_FACTS = {
    ("patient", "Birthdate"): ("date", "NO", "'0001-01-01'", "", None),
    ("patient", "Title"): ("varchar(15)", "YES", "NULL", "", "utf8mb3_general_ci"),
    ("patient", "DateTStamp"): ("timestamp", "NO", "current_timestamp()",
                                "on update current_timestamp()", None),
    ("procedurelog", "ProcFee"): ("double", "NO", "0", "", None),
    ("procedurelog", "OldCode"): ("varchar(15)", "NO", "''", "", "utf8mb3_bin"),
    ("procedurelog", "DateTP"): ("date", "NO", None, "", None),
    ("appointment", "AptDateTime"): ("datetime", "NO", "'0001-01-01 00:00:00'", "", None),
    ("commlog", "CommDateTime"): ("datetime", "NO", "'0000-00-00 00:00:00'", "", None),
    ("schedule", "StartTime"): ("time", "NO", "'00:00:00'", "", None),
    ("securitylog", "PermType"): ("tinyint(3) unsigned", "NO", "0", "", None),
    ("document", "Note"): ("mediumtext", "NO", None, "", "utf8mb3_general_ci"),
    ("userod", "AnesthProvType"): ("int(2)", "NO", "3", "", None),
    ("claimproc", "Percentage"): ("tinyint(4)", "NO", "-1", "", None),
    ("files", "Data"): ("longblob", "NO", None, "", None),
}
COLUMN_COUNTS = {"patient": 83, "procedurelog": 67, "claim": 83, "appointment": 33,
                 "claimproc": 46, "securitylog": 12, "document": 26, "preference": 4}


def query(conn, sql: str, *args) -> list[tuple]:
    with conn.cursor() as cursor:
        cursor.execute(sql, args or None)
        return list(cursor.fetchall())


def new_name() -> str:
    return f"odb_test_demo_{secrets.token_hex(4)}"


@pytest.fixture(scope="module")
def server():
    conn = pymysql.connect(**CONNECT)
    yield conn
    conn.close()


@pytest.fixture
def db_names(server):
    """Hands out fresh database names; drops exactly those afterwards."""
    names: list[str] = []

    def make() -> str:
        names.append(new_name())
        return names[-1]

    yield make
    for name in names:
        query(server, f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture(scope="module")
def sample(server, tmp_path_factory):
    """One small practice shared by the read-only tests: (result, images folder, events)."""
    name = new_name()
    images = tmp_path_factory.mktemp("demo") / "OpenDentImages"
    events = []
    try:
        result = create_demo(server, name, str(images), scale=SCALE, seed=7, on_event=events.append)
        yield result, images, events
    finally:
        query(server, f"DROP DATABASE IF EXISTS `{name}`")


def test_all_tables_are_myisam_with_open_dentals_columns(server, sample):
    result, _, _ = sample
    tables = dict(query(server, "SELECT TABLE_NAME, ENGINE FROM information_schema.TABLES"
                                " WHERE TABLE_SCHEMA=%s", result.database))
    assert CORE_TABLES <= set(tables)
    assert result.tables == len(tables) == 31
    assert set(tables.values()) == {"MyISAM"}
    columns = {(t, c): rest for t, c, *rest in query(
        server, "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA,"
                " COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA=%s", result.database)}
    for key, facts in COLUMN_FACTS.items():
        assert tuple(columns[key]) == facts, key
    for table, count in COLUMN_COUNTS.items():
        assert sum(1 for t, _ in columns if t == table) == count, table
    order = query(server, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA=%s"
                          " AND TABLE_NAME='preference' ORDER BY ORDINAL_POSITION", result.database)
    assert [c for (c,) in order] == ["PrefName", "ValueString", "PrefNum", "Comments"]
    key = query(server, "SELECT COLUMN_NAME, SUB_PART FROM information_schema.STATISTICS"
                        " WHERE TABLE_SCHEMA=%s AND TABLE_NAME='patient' AND INDEX_NAME='indexLName'",
                result.database)
    assert key == [("LName", 10)]


def test_rows_sizes_and_version(server, sample):
    result, _, events = sample
    counts = {t: query(server, f"SELECT COUNT(*) FROM `{result.database}`.`{t}`")[0][0]
              for (t,) in query(server, "SELECT TABLE_NAME FROM information_schema.TABLES"
                                        " WHERE TABLE_SCHEMA=%s", result.database)}
    assert all(n > 0 for n in counts.values()), counts
    assert sum(counts.values()) == result.rows
    assert counts["procedurelog"] > 5 * counts["patient"] > 0
    assert counts["securityloghash"] == counts["securitylog"]
    size = query(server, "SELECT SUM(DATA_LENGTH + INDEX_LENGTH) FROM information_schema.TABLES"
                         " WHERE TABLE_SCHEMA=%s", result.database)[0][0]
    assert result.bytes == size and 0.5e6 < size < 10e6  # ~50 MB at scale 1
    prefs = dict(query(server, f"SELECT PrefName, ValueString FROM `{result.database}`.preference"))
    assert prefs["DataBaseVersion"] == DATABASE_VERSION == "21.1.9.0"
    assert prefs["DocPath"] == os.path.join(result.images_dir, "")
    phases = {}
    for event in events:
        assert isinstance(event, DemoProgress)
        phases[event.phase] = event
    assert list(phases) == ["database", "indexes", "images"]
    assert all(e.done == e.total > 0 for e in phases.values())


def test_open_dental_data_traits(server, sample):
    db = sample[0].database

    def one(sql):
        return query(server, sql.replace("DB.", f"`{db}`."))[0][0]

    assert one("SELECT COUNT(*) FROM DB.procedurelog WHERE DateComplete='0001-01-01'") > 0
    assert one("SELECT COUNT(*) FROM DB.appointment WHERE DateTimeArrived='0001-01-01 00:00:00'") > 0
    assert one("SELECT COUNT(*) FROM DB.procedurelog WHERE DateTP='0000-00-00'") > 0  # real zero dates
    assert one("SELECT COUNT(*) FROM DB.patient WHERE SchedBeforeTime IS NULL") > 0
    assert one("SELECT COUNT(*) FROM DB.files WHERE Data LIKE CONCAT('%', CHAR(0), '%')") > 0
    assert one("SELECT MIN(AptDateTime) FROM DB.appointment") >= dt.datetime(2023, 7, 1)
    assert one("SELECT COUNT(*) FROM DB.claim c JOIN DB.claimproc p USING (ClaimNum)"
               " WHERE p.PatNum <> c.PatNum") == 0
    assert one("SELECT COUNT(*) FROM DB.procedurelog l LEFT JOIN DB.patient p USING (PatNum)"
               " WHERE p.PatNum IS NULL") == 0
    # securityloghash.LogHash is Open Dental's: base64 SHA-256 of the UTF-16 row text
    rows = query(server, f"SELECT l.PermType, l.UserNum, l.LogDateTime, l.LogText, l.PatNum,"
                         f" l.DateTPrevious, h.LogHash FROM `{db}`.securitylog l"
                         f" JOIN `{db}`.securityloghash h USING (SecurityLogNum)")
    for perm, user, when, text, pat, previous, logged in rows:
        data = f"{perm}{user}{when:%Y-%m-%d %H:%M:%S}{text}{pat}"
        if previous.year > 1:
            data += f"{previous:%Y-%m-%d %H:%M:%S}"
        assert base64.b64encode(hashlib.sha256(data.encode("utf-16-le")).digest()).decode() == logged


def test_document_rows_match_the_images_folder(server, sample):
    result, images, _ = sample
    rows = query(server, f"SELECT d.FileName, d.DateCreated, p.ImageFolder FROM `{result.database}`.document d"
                         f" JOIN `{result.database}`.patient p USING (PatNum)")
    assert len(rows) == result.image_files > 0
    expected = {os.path.join(folder[0].upper(), folder, name): created for name, created, folder in rows}
    on_disk = {os.path.relpath(os.path.join(root, f), images)
               for root, _, files in os.walk(images) for f in files}
    assert on_disk == set(expected)
    assert sorted(os.listdir(images)) == [chr(c) for c in range(65, 91)]
    total = 0
    for relative, created in expected.items():
        path = images / relative
        total += path.stat().st_size
        assert path.stat().st_mtime == created.replace(tzinfo=dt.UTC).timestamp()
        if relative.endswith(".jpg"):
            data = path.read_bytes()
            assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
    assert total == result.image_bytes


def test_same_seed_same_rows(server, db_names):
    first, second, other = db_names(), db_names(), db_names()
    create_demo(server, first, None, scale=0.02, seed=3)
    create_demo(server, second, None, scale=0.02, seed=3)
    create_demo(server, other, None, scale=0.02, seed=4)
    tables = [t for (t,) in query(server, "SELECT TABLE_NAME FROM information_schema.TABLES"
                                          " WHERE TABLE_SCHEMA=%s ORDER BY 1", first)]

    def checksums(db):
        names = ", ".join(f"`{db}`.`{t}`" for t in tables)
        return [c for _, c in query(server, f"CHECKSUM TABLE {names}")]

    assert checksums(first) == checksums(second)
    assert checksums(first) != checksums(other)


def test_refuses_a_database_that_holds_tables(server, db_names, tmp_path):
    name = db_names()
    query(server, f"CREATE DATABASE `{name}`")
    query(server, f"CREATE TABLE `{name}`.keepme (id int) ENGINE=MyISAM")
    query(server, f"INSERT INTO `{name}`.keepme VALUES (42)")
    with pytest.raises(DemoRefused) as refused:
        create_demo(server, name, str(tmp_path / "images"), scale=SCALE)
    assert isinstance(refused.value, OdbackupError) and name in refused.value.message
    assert query(server, f"SELECT id FROM `{name}`.keepme") == [(42,)]
    assert query(server, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA=%s",
                 name) == [("keepme",)]
    assert not (tmp_path / "images").exists()


def test_refuses_an_images_folder_that_is_not_empty(server, db_names, tmp_path):
    name = db_names()
    (tmp_path / "S").mkdir()
    (tmp_path / "S" / "x.jpg").write_bytes(b"mine")
    with pytest.raises(DemoRefused):
        create_demo(server, name, str(tmp_path), scale=SCALE)
    assert query(server, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME=%s",
                 name) == [(0,)]
    assert os.listdir(tmp_path) == ["S"] and (tmp_path / "S" / "x.jpg").read_bytes() == b"mine"
    with pytest.raises(UsageError):
        create_demo(server, "bad-name; DROP", None)


def test_cancel_removes_only_what_it_created(server, db_names, tmp_path):
    created, existing, late = db_names(), db_names(), db_names()
    mode = query(server, "SELECT @@SESSION.sql_mode")
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        create_demo(server, created, str(tmp_path / "new"), scale=SCALE, cancel=cancel)
    assert query(server, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME=%s",
                 created) == [(0,)]
    assert not (tmp_path / "new").exists()
    query(server, f"CREATE DATABASE `{existing}`")  # empty: allowed, and kept on cancel
    (tmp_path / "empty").mkdir()
    with pytest.raises(Cancelled):
        create_demo(server, existing, str(tmp_path / "empty"), scale=SCALE, cancel=cancel)
    assert query(server, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA=%s",
                 existing) == [(0,)]
    assert query(server, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME=%s",
                 existing) == [(1,)]
    assert os.listdir(tmp_path / "empty") == []
    stop = threading.Event()  # cancelled while writing the images folder

    def on_event(event):
        if event.phase == "images":
            stop.set()

    with pytest.raises(Cancelled):
        create_demo(server, late, str(tmp_path / "late"), scale=0.02, cancel=stop, on_event=on_event)
    assert not (tmp_path / "late").exists()
    assert query(server, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME=%s",
                 late) == [(0,)]
    assert query(server, "SELECT @@SESSION.sql_mode") == mode
