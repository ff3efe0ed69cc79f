"""Reading and replaying table definitions: which columns hold data, where the counter goes."""
from __future__ import annotations

import pytest

from engine.database.restore import with_auto_increment
from engine.database.schema import is_generated


@pytest.mark.parametrize(("extra", "generated"), [
    ("VIRTUAL GENERATED", True), ("STORED GENERATED", True), ("PERSISTENT", True), ("VIRTUAL", True),
    ("DEFAULT_GENERATED", False), ("DEFAULT_GENERATED on update CURRENT_TIMESTAMP", False),
    ("on update current_timestamp()", False), ("auto_increment", False), ("INVISIBLE", False), ("", False),
    (None, False),
])
def test_generated_columns_from_extra(extra, generated):
    """MySQL 8 marks a column with an expression default DEFAULT_GENERATED: it holds data."""
    assert is_generated(extra) is generated


TABLE = """CREATE TABLE `fee` (
  `FeeNum` bigint(20) NOT NULL AUTO_INCREMENT COMMENT 'starts at AUTO_INCREMENT=5000 (old)',
  `Amount` double NOT NULL,
  PRIMARY KEY (`FeeNum`)
) ENGINE=MyISAM{options} DEFAULT CHARSET=utf8mb3 COMMENT='Fees (old schedule) AUTO_INCREMENT=7'{partitions}"""


@pytest.mark.parametrize(("options", "partitions"), [
    (" AUTO_INCREMENT=12", ""), ("", ""), (" AUTO_INCREMENT = 12", ""),
    ("", "\n PARTITION BY RANGE (`FeeNum`)\n(PARTITION `p0` VALUES LESS THAN (100) ENGINE = MyISAM,\n"
         " PARTITION `p1` VALUES LESS THAN MAXVALUE ENGINE = MyISAM)"),
])
def test_the_counter_is_a_table_option(options, partitions):
    sql = TABLE.format(options=options, partitions=partitions)
    got = with_auto_increment(sql, 1234)
    # the comments and the partition list are untouched; the option is set once, among the options
    assert got.count("AUTO_INCREMENT=5000 (old)") == 1 and got.count("(old schedule) AUTO_INCREMENT=7'") == 1
    assert got.endswith(partitions)
    head, tail = got.split("\n) ", 1)
    assert "AUTO_INCREMENT=1234" in tail.split("COMMENT=")[0] and "1234" not in head
    assert "AUTO_INCREMENT=12 " not in got and "AUTO_INCREMENT = 12" not in got


def test_no_counter_leaves_the_definition_alone():
    sql = TABLE.format(options=" AUTO_INCREMENT=12", partitions="")
    assert with_auto_increment(sql, None) is sql and with_auto_increment(sql, 0) is sql
