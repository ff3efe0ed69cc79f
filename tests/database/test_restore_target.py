"""restore-db's target: a database holding anything at all is not written into unless the
caller asked to replace it and typed its name again."""
from __future__ import annotations

import pytest

from engine.database.restore import prepare_target
from engine.errors import UnsafePath


@pytest.mark.parametrize("holds", ["table", "view", "procedure", "event"])
def test_a_database_holding_anything_is_refused(holds, admin, fresh_db):
    name = fresh_db(f"holds_{holds}")
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
        cur.execute({
            "table": f"CREATE TABLE `{name}`.t (id INT)",
            "view": f"CREATE VIEW `{name}`.v AS SELECT 1 AS one",
            "procedure": f"CREATE PROCEDURE `{name}`.p() SELECT 1",
            "event": f"CREATE EVENT `{name}`.e ON SCHEDULE EVERY 1 DAY DISABLE DO SELECT 1",
        }[holds])
    with pytest.raises(UnsafePath, match="already exists and is not empty"):
        prepare_target(admin, name, "utf8mb4", "utf8mb4_general_ci", replace=False, confirm=None)
    with pytest.raises(UnsafePath, match="typed again"):
        prepare_target(admin, name, "utf8mb4", "utf8mb4_general_ci", replace=True, confirm=name.upper())
    with admin.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,))
        assert cur.fetchone()[0] == 1, "the refused database was dropped"


def test_an_empty_database_is_used_and_a_confirmed_one_replaced(admin, fresh_db):
    name = fresh_db("empty_target")
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
    prepare_target(admin, name, "utf8mb4", "utf8mb4_general_ci", replace=False, confirm=None)
    with admin.cursor() as cur:
        cur.execute(f"CREATE TABLE `{name}`.t (id INT)")
    prepare_target(admin, name, "utf8mb4", "utf8mb4_general_ci", replace=True, confirm=name)
    with admin.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (name,))
        assert cur.fetchone()[0] == 0

