#!/usr/bin/env python3
"""Fill a big procedurelog-like MyISAM table on the server, fast and deterministically.

The table, ``procedurelog_big`` by default, has 26 columns: 25 of Open
Dental's own ``procedurelog`` columns (names, types, defaults and the keys
among them as in ``engine/opendental/demo/layouts.py``, Open Dental 21.1.9)
plus ``Note mediumtext``, standing in for the procedure note Open Dental keeps
in ``procnote`` (about one row in five has one, 50-430 characters).

Rows are made by the server itself (``INSERT ... SELECT`` from MariaDB's
``seq_1_to_N`` sequence table), every value derived from the row number
through ``CRC32``, so the same row count gives the same rows
(equal ``CHECKSUM TABLE``) and appending rows N+1..M later gives the rows
that a bigger table would have had. 2,000,000 rows give a ``mariadb-dump``
of about 390 MB. Needs the ``mariadb`` client; Python standard library only.

    python3 bench/make_procedurelog.py --db odbb_bench --rows 2000000
    python3 bench/make_procedurelog.py --db odbb_bench --append 20000
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.opendental.demo.schema import TABLES, Column, Table, create_table_sql  # noqa: E402

TABLE = "procedurelog_big"
# 25 of Open Dental's procedurelog columns, in its order.
OD_COLUMNS = (
    "ProcNum PatNum AptNum OldCode ProcDate ProcFee Surf ToothNum ToothRange Priority ProcStatus "
    "ProvNum Dx PlannedAptNum PlaceService ClinicNum DiagnosticCode CodeNum UnitQty BaseUnits "
    "DateTP DateTStamp SecUserNumEntry SecDateEntry DateComplete"
).split()
NOTE = Column("Note", "mediumtext", False, None)
CONNECT = ("-h", "127.0.0.1", "-P", "3306", "-u", "root")

NOTE_WORDS = (
    "Pt tolerated procedure well. Topical and local anesthetic applied, 1 carpule lidocaine 2% "
    "with epi 1:100k. Isolation with cotton rolls and dry angle. Caries removed, shade A2 "
    "composite placed in increments and cured. Occlusion checked and adjusted. Post-op "
    "instructions given. Pt to return for crown prep on next visit. Radiographs reviewed, no "
    "periapical pathology noted. Perio charting done, generalized 3-4 mm pockets, bleeding on "
    "probing lower anteriors. OHI given, recommended electric toothbrush and floss daily."
).split()


def table_layout(name: str = TABLE) -> Table:
    """The 26-column layout: Open Dental's columns and keys among them, plus Note."""
    od = TABLES["procedurelog"]
    columns = tuple(od.column(c) for c in OD_COLUMNS) + (NOTE,)
    keep = set(OD_COLUMNS)
    keys = tuple(
        (key, cols)
        for key, cols in od.keys
        if all(c.split("(")[0] in keep for c in cols.split(","))
    )
    return Table(name, columns, od.primary_key, keys)


def h(salt: str) -> str:
    """SQL for a per-row pseudo-random 32-bit number (deterministic per row and SALT)."""
    return f"CRC32(CONCAT(seq, '{salt}'))"


def note_sql() -> str:
    """SQL building a note of 10-60 words for about one row in five, else NULL."""
    n = len(NOTE_WORDS)
    words = ", ".join(f"'{w}'" for w in NOTE_WORDS)
    start = f"({h('ns')} % {n})"
    length = f"(10 + {h('nl')} % 51)"
    # SUBSTRING_INDEX over the word list repeated: LENGTH consecutive words from START.
    text = f"CONCAT_WS(' ', {words}, {words}, {words})"
    pick = f"SUBSTRING_INDEX(SUBSTRING_INDEX({text}, ' ', {start} + {length}), ' ', -{length})"
    return f"IF({h('n')} % 5 = 0, {pick}, NULL)"


def insert_sql(database: str, first: int, last: int, table: str = TABLE) -> str:
    """INSERT ... SELECT making rows FIRST..LAST (ProcNum = row number)."""
    day = f"DATE_ADD('2009-01-01', INTERVAL (seq * 6000 DIV 2000000 + {h('d')} % 30) DAY)"
    status = f"ELT(1 + {h('s')} % 20, 1,1,1,1, 2,2,2,2,2,2,2,2,2,2,2,2, 3, 6,6, 7)"
    values = {
        "ProcNum": "seq",
        "PatNum": f"1 + {h('p')} % 40000",
        "AptNum": f"IF({h('a')} % 4 = 0, 0, seq DIV 3 + {h('a2')} % 50)",
        "OldCode": "''",
        "ProcDate": "d.day",
        "ProcFee": f"ROUND(({h('f')} % 150000) / 100, 2)",
        "Surf": f"ELT(1 + {h('u')} % 9, '', '', '', 'O', 'MO', 'DO', 'MOD', 'B', 'MODBL')",
        "ToothNum": f"IF({h('t')} % 3 = 0, '', 1 + {h('t2')} % 32)",
        "ToothRange": "''",
        "Priority": f"IF({h('r')} % 10 = 0, 1 + {h('r2')} % 4, 0)",
        "ProcStatus": "d.status",
        "ProvNum": f"1 + {h('v')} % 5",
        "Dx": f"IF({h('x')} % 8 = 0, 1 + {h('x2')} % 12, 0)",
        "PlannedAptNum": f"IF({h('l')} % 12 = 0, seq DIV 7, 0)",
        "PlaceService": "0",
        "ClinicNum": f"{h('c')} % 3",
        "DiagnosticCode": f"IF({h('g')} % 10 = 0, CONCAT('K0', 2 + {h('g2')} % 7, '.5'), '')",
        "CodeNum": f"1 + {h('k')} % 300",
        "UnitQty": "1",
        "BaseUnits": "0",
        "DateTP": f"DATE_SUB(d.day, INTERVAL {h('tp')} % 60 DAY)",
        "DateTStamp": f"TIMESTAMP(d.day, SEC_TO_TIME(28800 + {h('ts')} % 36000))",
        "SecUserNumEntry": f"1 + {h('e')} % 8",
        "SecDateEntry": f"DATE_SUB(d.day, INTERVAL {h('tp')} % 60 DAY)",
        "DateComplete": "IF(d.status = 2, d.day, '0001-01-01')",
        "Note": note_sql(),
    }
    names = ", ".join(f"`{c}`" for c in values)
    exprs = ",\n  ".join(values.values())
    return (
        f"INSERT INTO `{database}`.`{table}` ({names})\n"
        f"SELECT {exprs}\n"
        f"FROM (SELECT seq, {day} AS day, {status} AS status FROM seq_{first}_to_{last}) AS d"
    )


def mariadb(sql: str, database: str = "") -> str:
    """Run SQL through the mariadb client (sql_mode '' for Open Dental's zero dates); return stdout."""
    cmd = ["mariadb", *CONNECT, "--batch", "--skip-column-names"]
    if database:
        cmd.append(database)
    done = subprocess.run(
        cmd,
        input="SET SESSION sql_mode = '';\n" + sql + ";\n",
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"mariadb failed: {done.stderr.strip()}")
    return done.stdout


def create(database: str, rows: int, table: str = TABLE) -> None:
    """Create TABLE in DATABASE (which must exist and not hold TABLE) with ROWS rows."""
    mariadb(create_table_sql(table_layout(table), database))
    append(database, 0, rows, table)


def append(database: str, existing: int, count: int, table: str = TABLE) -> None:
    """Add rows EXISTING+1 .. EXISTING+COUNT."""
    step = 500_000  # one statement per half million rows keeps each one reasonable
    first = existing + 1
    while first <= existing + count:
        last = min(existing + count, first + step - 1)
        mariadb(insert_sql(database, first, last, table), database)
        first = last + 1


def row_count(database: str, table: str = TABLE) -> int:
    """Rows in the table (exact for MyISAM)."""
    return int(mariadb(f"SELECT COUNT(*) FROM `{database}`.`{table}`").strip())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="database (must exist; use an odbb_ name)")
    parser.add_argument("--table", default=TABLE, help=f"table name (default {TABLE})")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--rows", type=int, help="create the table with this many rows")
    group.add_argument("--append", type=int, metavar="N", help="append N rows to the table")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Create or extend the table and print its row count."""
    args = parse_args(argv)
    started = time.monotonic()
    if args.rows is not None:
        create(args.db, args.rows, args.table)
    else:
        append(args.db, row_count(args.db, args.table), args.append, args.table)
    print(
        f"{args.db}.{args.table}: {row_count(args.db, args.table)} rows "
        f"({time.monotonic() - started:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
