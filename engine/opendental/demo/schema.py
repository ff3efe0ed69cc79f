"""The sample practice's tables as :class:`Table` and :class:`Column` records, parsed
from the compact layouts in :mod:`engine.opendental.demo.layouts`, and the
``CREATE TABLE ... ENGINE=MyISAM`` each one gets."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .layouts import LAYOUTS

_BASE_TYPES = {
    "pk": "bigint(20)", "big": "bigint(20)", "int": "int(11)", "int2": "int(2)",
    "tiny": "tinyint(4)", "utiny": "tinyint(3) unsigned", "bool": "tinyint(1)",
    "ubool": "tinyint(1) unsigned", "small": "smallint(6)", "usmall": "smallint(5) unsigned",
    "dbl": "double", "flt": "float", "date": "date", "dt": "datetime", "time": "time",
    "ts": "timestamp", "text": "text", "mtext": "mediumtext", "blob": "longblob",
}
_SIZED_TYPES = {"v": "varchar({})", "c": "char({})", "b": "varchar({}) CHARACTER SET utf8 COLLATE utf8_bin"}
_KINDS = {
    "double": "float", "float": "float", "date": "date", "datetime": "datetime", "time": "time",
    "timestamp": "timestamp", "longblob": "bytes",
}
_ZERO_ISH = {"date": "0001-01-01", "datetime": "0001-01-01 00:00:00"}
_ZERO = {"date": "0000-00-00", "datetime": "0000-00-00 00:00:00"}
_COLUMN = re.compile(r"(\w+):([a-z]+)(\d*)(!?)(?:=(\S*))?$")


@dataclass(frozen=True)
class Column:
    """One column: ``sql_type`` as Open Dental declares it, ``default`` unquoted."""

    name: str
    sql_type: str
    not_null: bool
    default: str | None
    auto_increment: bool = False

    @property
    def kind(self) -> str:
        """``int``, ``float``, ``str``, ``bytes``, ``date``, ``datetime``, ``time`` or ``timestamp``."""
        base = self.sql_type.split("(")[0].split(" ")[0]
        if base.endswith("int"):
            return "int"
        return _KINDS.get(base, "str")

    def ddl(self) -> str:
        """The column's line in ``CREATE TABLE``."""
        if self.auto_increment:
            return f"`{self.name}` {self.sql_type} NOT NULL AUTO_INCREMENT"
        if self.kind == "timestamp":
            return f"`{self.name}` timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP"
        text = f"`{self.name}` {self.sql_type}"
        if self.not_null:
            text += " NOT NULL"
        if self.default is not None:
            text += " DEFAULT '" + self.default + "'"
        return text


@dataclass(frozen=True)
class Table:
    """One table: its columns in order, primary key and secondary keys (name, column list)."""

    name: str
    columns: tuple[Column, ...]
    primary_key: str
    keys: tuple[tuple[str, str], ...]

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        return next(c for c in self.columns if c.name == name)


def _parse_column(word: str) -> Column:
    match = _COLUMN.match(word)
    if match is None:
        raise ValueError(f"bad column description {word!r}")
    name, base, size, bang, default = match.groups()
    if base + size in _BASE_TYPES:
        sql_type = _BASE_TYPES[base + size]
    else:
        sql_type = _SIZED_TYPES[base].format(size)
    if default in ("Z", "00"):
        default = (_ZERO_ISH if default == "Z" else _ZERO)[sql_type]
    return Column(name, sql_type, bool(bang) or base == "pk", default, auto_increment=base == "pk")


def _parse_key(word: str) -> tuple[str, str]:
    name, _, columns = word.partition("=")
    return name, columns or name


def _parse_table(name: str, layout: str) -> Table:
    column_words, _, key_words = layout.partition("|")
    columns = tuple(_parse_column(w) for w in column_words.split())
    primary = next(c.name for c in columns if c.auto_increment)
    return Table(name, columns, primary, tuple(_parse_key(w) for w in key_words.split()))


TABLES: dict[str, Table] = {name: _parse_table(name, text) for name, text in LAYOUTS.items()}


def _key_columns(columns: str) -> str:
    parts = []
    for column in columns.split(","):
        name, _, prefix = column.partition("(")
        parts.append(f"`{name}`" + (f"({prefix}" if prefix else ""))
    return ",".join(parts)


def create_table_sql(table: Table, database: str) -> str:
    """``CREATE TABLE `database`.`name` (...) ENGINE=MyISAM DEFAULT CHARSET=utf8``."""
    lines = [c.ddl() for c in table.columns]
    lines.append(f"PRIMARY KEY (`{table.primary_key}`)")
    lines += [f"KEY `{name}` ({_key_columns(columns)})" for name, columns in table.keys]
    body = ",\n  ".join(lines)
    return (
        f"CREATE TABLE `{database}`.`{table.name}` (\n  {body}\n"
        ") ENGINE=MyISAM DEFAULT CHARSET=utf8"
    )
