"""Database tests run against the real MariaDB on 127.0.0.1:3306 (root, no password).

Every test creates databases with unique names (``odbt_<hex>_...``) through the
``fresh_db`` factory and drops exactly those afterwards. A server that does not
answer fails the tests: it is never a reason to skip them.
"""
from __future__ import annotations

import secrets

import corpora
import pytest
from dbhelpers import PASSPHRASE, server_conn

from engine.repository.repo import Repository


@pytest.fixture
def admin():
    conn = server_conn()
    yield conn
    conn.close()


@pytest.fixture
def fresh_db(admin):
    """Factory of unique database names; every name handed out is dropped afterwards."""
    names: list[str] = []
    tag = secrets.token_hex(4)

    def make(label: str = "db") -> str:
        name = f"odbt_{tag}_{label}"[:64]
        names.append(name)
        return name

    yield make
    with admin.cursor() as cur:
        for name in names:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cur.execute("SHOW DATABASES LIKE 'odbackup\\_verify\\_%%'")
        leftovers = [r[0] for r in cur.fetchall()]
    assert not [n for n in leftovers if tag in n], "a verify scratch database was left behind"


@pytest.fixture
def corpora_here() -> None:
    """The shared corpora must be here: a plain run without them skips the test (saying
    why); where they are required (``.ci/run``) their absence fails it."""
    why = corpora.missing()
    if why is None:
        return
    if corpora.required():
        pytest.fail(f"{why}; they are required here ({corpora.REQUIRED}=1 or CI=true)")
    pytest.skip(why)


@pytest.fixture
def scanned_tables(monkeypatch):
    """The names of the tables (or parts) read by a table scan, in order."""
    from engine.database import stream

    scanned: list[str] = []
    real = stream._Scan.__iter__

    def spy(self):
        scanned.append(self.table.name)
        return real(self)

    monkeypatch.setattr(stream._Scan, "__iter__", spy)
    return scanned


@pytest.fixture
def repo(tmp_path):
    r, _recovery = Repository.init(str(tmp_path / "repo"), PASSPHRASE)
    return r
