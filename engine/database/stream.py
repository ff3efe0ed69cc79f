"""The table stream: a table's rows as ``LOAD DATA`` lines, and back.

Format (also in docs/FORMAT.md, "Database sources"): one line per row,
``\\n``-terminated, fields separated by ``\\t``, NULL written ``\\N``, and in
text and binary values ``\\`` ``\\t`` ``\\n`` escaped with a backslash. Values are
the column's own bytes (``CHARACTER SET binary``: nothing is converted, so a
latin1 table inside a utf8 schema keeps its bytes). Exactness per type:

- integers, DECIMAL, dates and times (zero dates too), YEAR: the server's text
  form, which it reads back exactly (sessions use ``sql_mode=''`` and UTC);
- DOUBLE: the server prints the shortest text that reads back to the same bits;
- FLOAT: ``CAST(x AS DOUBLE)``, exact (the plain text form has 6 digits and
  loses bits);
- BIT: its number (``x+0``), loaded through ``CAST(@v AS UNSIGNED)``;
- generated columns: not stored (their definition recomputes them).

Tables without long values have each line built by the server
(``CONCAT_WS`` + ``REPLACE``): Python only moves bytes. Tables with BLOB/TEXT
columns are fetched column by column (a built line could exceed
``max_allowed_packet``) and the escaping is done by ``bytes.replace``.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .schema import Column, Table, quote_ident

TEXT_TYPES = frozenset({"char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set", "json"})
BINARY_TYPES = frozenset({"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"})
GEOMETRY_TYPES = frozenset({"geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
                            "multipolygon", "geometrycollection"})
LONG_TYPES = frozenset({"tinytext", "text", "mediumtext", "longtext", "json", "tinyblob", "blob", "mediumblob",
                        "longblob"}) | GEOMETRY_TYPES
FETCH_ROWS = 5000


@dataclass(frozen=True)
class StreamSpec:
    """How a table's stream was written and must be loaded (stored per table)."""

    columns: tuple[str, ...]
    kinds: tuple[str, ...]  # per column: raw | text | binary | float | bit | geometry

    def to_json(self) -> dict:
        return {"columns": list(self.columns), "kinds": list(self.kinds)}

    @classmethod
    def from_json(cls, doc: dict) -> StreamSpec:
        return cls(tuple(doc["columns"]), tuple(doc["kinds"]))


def column_kind(col: Column) -> str:
    t = col.data_type
    if t in TEXT_TYPES:
        return "text"
    if t in BINARY_TYPES:
        return "binary"
    if t in GEOMETRY_TYPES:
        return "geometry"
    if t == "float":
        return "float"
    if t == "bit":
        return "bit"
    return "raw"


def spec_for(table: Table) -> StreamSpec:
    cols = [c for c in table.columns if not c.generated]
    return StreamSpec(tuple(c.name for c in cols), tuple(column_kind(c) for c in cols))


def has_long_values(table: Table) -> bool:
    return any(c.data_type in LONG_TYPES for c in table.columns if not c.generated)


def _select_expr(name: str, kind: str) -> str:
    q = quote_ident(name)
    if kind in ("text", "binary", "geometry"):
        return f"CAST({q} AS BINARY)"
    if kind == "float":
        return f"CAST({q} AS DOUBLE)"
    if kind == "bit":
        return f"{q}+0"
    return q


def _escaped_sql(expr: str, kind: str) -> str:
    if kind in ("text", "binary", "geometry"):
        expr = f"REPLACE(REPLACE(REPLACE({expr}, '\\\\', '\\\\\\\\'), '\\t', '\\\\t'), '\\n', '\\\\n')"
    return f"IFNULL({expr}, '\\\\N')"


def _order_by(table: Table) -> str:
    return ", ".join(quote_ident(c) for c in table.order_by)


def select_sql(table: Table, spec: StreamSpec) -> tuple[str, bool]:
    """The SELECT producing the stream, and whether each row is one built line."""
    order = f" ORDER BY {_order_by(table)}" if table.order_by else ""
    if not spec.columns:
        return f"SELECT '' FROM {quote_ident(table.name)}{order}", True
    if has_long_values(table):
        cols = ", ".join(_select_expr(n, k) for n, k in zip(spec.columns, spec.kinds, strict=True))
        return f"SELECT {cols} FROM {quote_ident(table.name)}{order}", False
    parts = ", ".join(_escaped_sql(_select_expr(n, k), k) for n, k in zip(spec.columns, spec.kinds, strict=True))
    return f"SELECT CONCAT_WS('\\t', {parts}) FROM {quote_ident(table.name)}{order}", True


def escape(value: bytes) -> bytes:
    return value.replace(b"\\", b"\\\\").replace(b"\t", b"\\t").replace(b"\n", b"\\n")


def _python_line(row: tuple, needs_escape: tuple[bool, ...]) -> bytes:
    return b"\t".join(
        b"\\N" if v is None else (escape(v) if esc else v) for v, esc in zip(row, needs_escape, strict=True)
    )


def rows_to_blocks(cursor, built: bool, spec: StreamSpec) -> Iterator[tuple[bytes, int]]:
    """(block of lines, row count) from an unbuffered cursor, a few thousand rows at a time."""
    needs_escape = tuple(k in ("text", "binary", "geometry") for k in spec.kinds)
    while True:
        rows = cursor.fetchmany(FETCH_ROWS)
        if not rows:
            return
        if built:
            block = b"\n".join(r[0] for r in rows) + b"\n"
        else:
            block = b"\n".join(_python_line(r, needs_escape) for r in rows) + b"\n"
        yield block, len(rows)


def load_sql(table_name: str, spec: StreamSpec, source: str) -> str:
    """The LOAD DATA statement reading a stream back into ``table_name``."""
    targets, sets = [], []
    for i, (name, kind) in enumerate(zip(spec.columns, spec.kinds, strict=True)):
        if kind in ("bit", "geometry"):
            var = f"@odb{i}"
            targets.append(var)
            expr = f"CAST({var} AS UNSIGNED)" if kind == "bit" else var
            sets.append(f"{quote_ident(name)} = {expr}")
        else:
            targets.append(quote_ident(name))
    sql = (
        f"LOAD DATA LOCAL INFILE '{source}' INTO TABLE {quote_ident(table_name)} CHARACTER SET binary"
        " FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n'"
        f" ({', '.join(targets)})"
    )
    if sets:
        sql += " SET " + ", ".join(sets)
    return sql
