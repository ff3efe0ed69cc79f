"""Loading the shared corpora (../shared/corpora) under database names of our own.

The corpora's scripts create fixed names (sakila, opendental, ...); tests must
only create and drop databases of their own, so the few statements naming the
database are rewritten on the way in. Nothing else in the SQL is changed.
"""
from __future__ import annotations

import os
import re
import subprocess
import tarfile
import tempfile
from pathlib import Path

CORPORA = Path(os.environ.get("ODBACKUP_TEST_CORPORA") or Path(__file__).resolve().parents[3] / "shared" / "corpora")
"""``../shared/corpora`` beside the checkout (``ODBACKUP_TEST_CORPORA`` overrides it)."""
REQUIRED = "ODBACKUP_REQUIRE_CORPORA"
CLIENT = ["mariadb", "--protocol=tcp", "-h127.0.0.1", "-P3306", "-uroot"]

NAMES = ["opendental", "opendental-canada", "opendental-3.4", "sakila-mariadb", "world", "world_x-mariadb",
         "chinook", "employees-small", "employees-large", "menagerie"]


def missing() -> str | None:
    """Why the corpora cannot be loaded here (None when they can)."""
    if CORPORA.is_dir():
        return None
    return (f"the shared test corpora are not in {CORPORA} (../shared/corpora beside the checkout, or "
            "ODBACKUP_TEST_CORPORA): the corpus round trips did not run")


def required() -> bool:
    """In CI (``.ci/run``: CI=true, ODBACKUP_REQUIRE_CORPORA=1) corpora that are missing fail the run."""
    return os.environ.get(REQUIRED) == "1" or os.environ.get("CI", "").lower() in ("1", "true")


def _run(sql: str | bytes, *args: str, cwd: str | None = None) -> None:
    data = sql.encode() if isinstance(sql, str) else sql
    out = subprocess.run([*CLIENT, *args], input=data, capture_output=True, cwd=cwd)
    if out.returncode != 0:
        raise RuntimeError(f"loading failed: {out.stderr.decode(errors='replace')[:2000]}")


def _rename(sql: str, old: str, new: str) -> str:
    sql = re.sub(rf"^(DROP (?:SCHEMA|DATABASE) IF EXISTS )`?{old}`?;", rf"\g<1>`{new}`;", sql, flags=re.M | re.I)
    sql = re.sub(rf"^(CREATE (?:SCHEMA|DATABASE)(?: IF NOT EXISTS)? )`?{old}`?", rf"\g<1>`{new}`", sql,
                 flags=re.M | re.I)
    sql = re.sub(rf"^USE `?{old}`?;", f"USE `{new}`;", sql, flags=re.M | re.I)
    # qualified names (sakila's views say sakila.film), not file names (load_employee.sql)
    return re.sub(rf"(?<![\w`]){old}\.(?!sql\b)", f"`{new}`.", sql)


def _sakila(db: str) -> None:
    text = (CORPORA / "sakila/sakila-schema.sql").read_text() + (CORPORA / "sakila/sakila-data.sql").read_text()
    fixed = subprocess.run(["sed", "-f", str(CORPORA / "sakila/mariadb-geometry.sed")], input=text.encode(),
                           capture_output=True, check=True).stdout.decode()
    _run(_rename(fixed, "sakila", db))


def _opendental(db: str, filename: str, latin1: bool = False) -> None:
    _run(f"CREATE DATABASE `{db}`")
    args = ["--default-character-set=latin1"] if latin1 else []
    _run((CORPORA / "opendental" / filename).read_bytes(), *args, db)


def _employees(db: str, size: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(CORPORA / f"employees/bytebase-dataset_{size}.tar.xz") as tar:
            tar.extractall(tmp, filter="data")
        folder = os.path.join(tmp, f"dataset_{size}")
        script = _rename(Path(folder, "employee.sql").read_text(), "employee", db)
        _run(script, "-t", cwd=folder)


def _menagerie(db: str) -> None:
    folder = CORPORA / "menagerie"
    _run(f"CREATE DATABASE `{db}`")
    for name in ("cr_pet_tbl.sql", "ins_puff_rec.sql", "cr_event_tbl.sql"):
        if name == "ins_puff_rec.sql":
            _run("LOAD DATA LOCAL INFILE 'pet.txt' INTO TABLE pet", "--local-infile=1", db, cwd=str(folder))
        _run((folder / name).read_bytes(), db, cwd=str(folder))
    _run("LOAD DATA LOCAL INFILE 'event.txt' INTO TABLE event", "--local-infile=1", db, cwd=str(folder))


def load(corpus: str, db: str) -> None:
    """Load ``corpus`` as database ``db`` (which must not exist)."""
    if corpus == "sakila-mariadb":
        _sakila(db)
    elif corpus == "opendental":
        _opendental(db, "opendental-21.1.9-unittest-dump.sql")
    elif corpus == "opendental-canada":
        _opendental(db, "opendental-16.3.34-canada-unittest-dump.sql")
    elif corpus == "opendental-3.4":
        _opendental(db, "opendental-3.4-debian-opendentaldata.sql", latin1=True)
    elif corpus in ("world", "chinook"):
        path = CORPORA / ("world/world.sql" if corpus == "world" else "chinook/Chinook_MySql.sql")
        _run(_rename(path.read_text(), "world" if corpus == "world" else "Chinook", db))
    elif corpus == "world_x-mariadb":
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["cp", str(CORPORA / "world_x/world_x.sql"), tmp], check=True)
            subprocess.run(["patch", "-s", "-p1", "-d", tmp], input=(CORPORA / "world_x/world_x-mariadb.patch")
                           .read_bytes(), check=True)
            _run(_rename(Path(tmp, "world_x.sql").read_text(), "world_x", db))
    elif corpus.startswith("employees-"):
        _employees(db, corpus.split("-", 1)[1])
    elif corpus == "menagerie":
        _menagerie(db)
    else:
        raise ValueError(corpus)


def fingerprint(db: str) -> str:
    out = subprocess.run([str(CORPORA / "fingerprint.sh"), db, "--protocol=tcp", "-h127.0.0.1", "-P3306", "-uroot"],
                         capture_output=True, text=True, check=True)
    return out.stdout
