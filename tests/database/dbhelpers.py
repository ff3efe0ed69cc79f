"""Helpers shared by the database tests (the real MariaDB on 127.0.0.1:3306)."""
from __future__ import annotations

import pymysql
import pytest

from engine.database.connection import DbTarget

PASSPHRASE = "database test passphrase"


def server_conn() -> pymysql.connections.Connection:
    try:
        return pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", autocommit=True,
                               local_infile=True, charset="utf8mb4")
    except pymysql.err.OperationalError as exc:
        pytest.fail(f"MariaDB on 127.0.0.1:3306 does not answer ({exc}); start it (see .ci/run)")


def target(db: str | None = None) -> DbTarget:
    return DbTarget(host="127.0.0.1", port=3306, user="root", database=db, password="")
