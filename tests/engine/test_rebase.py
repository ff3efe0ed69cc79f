"""Program definitions moved to the database they are restored into (engine/database/rebase.py)."""
from __future__ import annotations

import pytest

from engine.database.rebase import rebase, tokens


@pytest.mark.parametrize(("sql", "expected"), [
    ("CREATE DEFINER=`root`@`%` trigger opendental.tr after insert on opendental.patient for each row"
     " insert into opendental.securitylog values (new.PatNum)",
     "CREATE DEFINER=`root`@`%` trigger `copy`.tr after insert on `copy`.patient for each row"
     " insert into `copy`.securitylog values (new.PatNum)"),
    ("select `opendental`.`patient`.`LName` from `OpenDental` . patient",
     "select `copy`.`patient`.`LName` from `copy` . patient"),
    # strings, comments, other databases and second parts are left alone
    ("select 'opendental.patient', \"opendental.x\" -- opendental.patient\n from other.opendental",
     "select 'opendental.patient', \"opendental.x\" -- opendental.patient\n from other.opendental"),
    ("select 'it''s opendental.x' /* opendental.y */ # opendental.z\n, opendental.t.c",
     "select 'it''s opendental.x' /* opendental.y */ # opendental.z\n, `copy`.t.c"),
    ("select 'a\\'opendental.x' from opendental.t", "select 'a\\'opendental.x' from `copy`.t"),
    ("select opendental from t where opendental = 1.5", "select opendental from t where opendental = 1.5"),
    ("/*!50003 delete from opendental.q */", "/*!50003 delete from `copy`.q */"),
])
def test_rebase(sql, expected):
    assert rebase(sql, "opendental", "copy") == expected


def test_ansi_quotes_and_no_backslash_escapes():
    assert rebase('select "opendental".t.c', "opendental", "copy", sql_mode="ANSI_QUOTES") == \
        'select `copy`.t.c'
    # without backslash escapes, the backslash ends nothing: the string closes at the first quote
    assert rebase("select 'a\\' , opendental.t", "opendental", "copy", sql_mode="NO_BACKSLASH_ESCAPES") == \
        "select 'a\\' , `copy`.t"


def test_name_with_backticks_and_same_name_as_a_table():
    assert rebase("select * from `we``ird`.t", "we`ird", "new`one") == "select * from `new``one`.t"
    # the database is also a table's name: `opendental.x` may be that table's column, so it stays;
    # a three-part name is a database's all the same
    sql = "select opendental.x, opendental.opendental.x from opendental"
    assert rebase(sql, "opendental", "copy", table_names=frozenset({"opendental"})) == \
        "select opendental.x, `copy`.opendental.x from opendental"
    # ... but after FROM, JOIN, INTO, UPDATE, TABLE or CALL it names a table or routine
    sql = "insert into opendental.t select opendental.x from opendental.opendental join opendental.u"
    assert rebase(sql, "opendental", "copy", table_names=frozenset({"opendental"})) == \
        "insert into `copy`.t select opendental.x from `copy`.opendental join `copy`.u"


def test_user_variables_stay():
    assert rebase("set @opendental.x = 1, @@opendental.y = 2; select opendental.t.c",
                  "opendental", "copy") == "set @opendental.x = 1, @@opendental.y = 2; select `copy`.t.c"


def test_same_name_is_untouched_and_tokens_give_back_the_text():
    sql = "select 1 from opendental.t"
    assert rebase(sql, "opendental", "opendental") is sql
    for text in ("select 'x", "/* open", "`a``b", "-- c", "a.b.c", "é.ü", "/*M!100100 x */"):
        assert "".join(t.text for t in tokens(text)) == text

