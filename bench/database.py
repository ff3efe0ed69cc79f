#!/usr/bin/env python3
"""Database benchmark: odbackup against mariadb-dump | zstd and mydumper/myloader.

Three cases, each run REPS times (tool order rotated between repetitions):

``bench``   database ``odbb_bench``: the sample practice (``odbackup demo
            --scale 1``, 31 MyISAM tables) plus ``procedurelog_big``, a
            26-column procedurelog-like MyISAM table of ``--rows`` rows
            (``make_procedurelog.py``; 2,000,000 rows dump to ~390 MB of SQL).
            odbackup: full backup, restore into a new database, verify,
            incremental after changing 1% of the rows of ``patient`` and
            ``appointment``, incremental after appending 1% rows to
            ``procedurelog_big`` (the database is put back afterwards).
            mariadb-dump: ``mariadb-dump --single-transaction --routines
            --triggers --events | zstd -3``, restore ``mariadb NEWDB < dump.sql``.
            mydumper: ``mydumper -t 2 -c`` (compressed, as issue 17's target
            asks; mydumper 0.10's ``-c`` writes gzip files), restore
            ``myloader -t 2``.
``blobs``   database ``odbb_blobs``: Open Dental's ``files`` table holding
            ``--blob-rows`` incompressible BLOBs of 64 KiB to 12 MiB (peak memory
            with BLOB-heavy tables). Backup and restore for every tool.
``lock``    database ``odbb_practice``: the sample practice alone. odbackup
            ``--lock-mode consistent`` first backup and unchanged re-run (lock
            window = sum of ``held`` of its ``lock_released`` events) against
            ``mariadb-dump --lock-all-tables`` (it holds the global read lock for
            its whole run, so its lock window is about its wall time).

Each timed step runs under ``/usr/bin/time -v`` through ``measure.py`` (peak RSS
of the process tree). Before each case of each repetition the harness waits
for the 1-minute load average to drop below ``--load-below``; before each step
for a few quiet seconds. Every restore is checked (``CHECKSUM TABLE`` of every
table against the source); a wrong restore fails the run. Raw results go to
``SCRATCH/results-database.json``; ``--write-doc`` puts the Markdown section
into docs/BENCHMARKS.md between ``<!-- database:begin -->`` and
``<!-- database:end -->``.

Databases created (all named ``odbb_*``, listed in ``SCRATCH/data.json``, kept
between runs while the parameters match; ``--cleanup`` drops them).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import make_procedurelog as gen
from folders import check_scratch, folder_bytes, machine_facts, save_json
from measure import TIME_BIN, measure, wait_until_idle
from tools import REPO_ROOT, Odbackup, StepFailed, Tool, first_line, locate

DEFAULT_DOC = REPO_ROOT / "docs" / "BENCHMARKS.md"
DEFAULT_SCRATCH = Path("/tmp/odbackup-bench-db")
BEGIN_MARK = "<!-- database:begin -->"
END_MARK = "<!-- database:end -->"
DATA_VERSION = 1
MEMORY_TARGET_MIB = 256

HOST, PORT, USER = "127.0.0.1", 3306, "root"
SERVER_URL = f"mysql://{USER}@{HOST}:{PORT}"
CLIENT = ["-h", HOST, "-P", str(PORT), "-u", USER]
BENCH_DB, PRACTICE_DB, BLOBS_DB, PRISTINE_DB = (
    "odbb_bench",
    "odbb_practice",
    "odbb_blobs",
    "odbb_pristine",
)
SOURCE_DBS = (BENCH_DB, PRACTICE_DB, BLOBS_DB, PRISTINE_DB)
RESTORE_DB = {
    "odbackup": "odbb_restore_odbackup",
    "mariadb-dump": "odbb_restore_dump",
    "mydumper": "odbb_restore_myloader",
}
ALL_TOOLS = ("odbackup", "mariadb-dump", "mydumper")
ALL_CASES = ("bench", "blobs", "lock")
CASE_DB = {"bench": BENCH_DB, "blobs": BLOBS_DB, "lock": PRACTICE_DB}
CASE_TOOLS = {"bench": ALL_TOOLS, "blobs": ALL_TOOLS, "lock": ("odbackup", "mariadb-dump")}
# The incremental's "1% of the rows of two small tables": (table, key, change).
SMALL_CHANGES = (
    ("patient", "PatNum", "EstBalance = EstBalance + 25"),
    ("appointment", "AptNum", "Confirmed = Confirmed + 1"),
)
BLOB_SIZES = (64 << 10, 12 << 20)  # log-uniform; below max_allowed_packet (16 MiB) once escaped
BLOB_SEED = 1
PHASE_LABELS = {
    "backup": "full backup",
    "restore": "restore into a new database",
    "verify": "verify (restore and compare)",
    "incr_small": "incremental, 1% of rows changed in 2 small tables",
    "incr_append": "incremental, 1% rows appended to procedurelog_big",
    "rerun": "unchanged re-run",
    "open": "`odbackup snapshots` (fixed cost: start-up, key derivation, index)",
}


# --- the server ---------------------------------------------------------------------------------


def sql(text: str, database: str = "") -> str:
    """Run SQL through the mariadb client (sql_mode ''); return its tab-separated output."""
    return gen.mariadb(text, database)


def ours(database: str) -> str:
    """Refuse any database name the harness does not own."""
    if not database.startswith("odbb_"):
        raise ValueError(f"refusing to touch database {database!r}: not an odbb_ name")
    return database


def database_exists(database: str) -> bool:
    """True when DATABASE exists on the server."""
    found = sql(
        f"SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{database}'"
    )
    return found.strip() == "1"


def drop_database(database: str) -> None:
    """DROP DATABASE IF EXISTS (odbb_ names only)."""
    sql(f"DROP DATABASE IF EXISTS `{ours(database)}`")


def base_tables(database: str) -> list[str]:
    """The base tables of DATABASE, sorted."""
    out = sql(
        "SELECT TABLE_NAME FROM information_schema.TABLES "
        f"WHERE TABLE_SCHEMA = '{database}' AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME"
    )
    return out.split()


def checksums(database: str) -> dict[str, str]:
    """CHECKSUM TABLE of every base table (reads every row: also warms the page cache)."""
    tables = base_tables(database)
    if not tables:
        return {}
    out = sql("CHECKSUM TABLE " + ", ".join(f"`{database}`.`{t}`" for t in tables))
    sums = {}
    for line in out.splitlines():
        name, _, value = line.partition("\t")
        sums[name.split(".", 1)[1]] = value
    return sums


def check_same(source: str, restored: str) -> None:
    """Fail unless RESTORED has the same tables with the same checksums as SOURCE."""
    want, got = checksums(source), checksums(restored)
    if want != got:
        differ = sorted(t for t in set(want) | set(got) if want.get(t) != got.get(t))
        raise StepFailed(f"{restored} differs from {source} in: {', '.join(differ[:10])}")


def database_facts(database: str) -> dict:
    """Tables, rows and on-disk bytes of DATABASE (exact row counts for MyISAM)."""
    out = sql(
        "SELECT COUNT(*), SUM(TABLE_ROWS), SUM(DATA_LENGTH), SUM(INDEX_LENGTH) "
        f"FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{database}'"
    )
    tables, rows, data, index = (int(v) for v in out.split())
    return {"tables": tables, "rows": rows, "data_bytes": data, "index_bytes": index}


def charset_of(database: str) -> tuple[str, str]:
    """(default charset, collation) of DATABASE."""
    out = sql(
        "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA "
        f"WHERE SCHEMA_NAME = '{database}'"
    )
    charset, collation = out.split()
    return charset, collation


def dump_bytes(database: str, *tables: str) -> int:
    """Size of a plain mariadb-dump of DATABASE (or of some of its tables)."""
    cmd = ["mariadb-dump", *CLIENT, "--single-transaction", database, *tables]
    total = 0
    with subprocess.Popen(cmd, stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        while chunk := proc.stdout.read(1 << 20):
            total += len(chunk)
    if proc.returncode != 0:
        raise StepFailed(f"{' '.join(cmd)} exited {proc.returncode}")
    return total


def server_cpu_s() -> float:
    """CPU seconds (user+system) used so far by the database server process."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            comm = Path(f"/proc/{entry.name}/comm").read_text().strip()
            if comm not in ("mariadbd", "mysqld"):
                continue
            fields = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


# --- the data -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataParams:
    """What determines the databases' contents (stored in SCRATCH/data.json)."""

    rows: int
    blob_rows: int
    scale: float = 1.0
    version: int = DATA_VERSION


def blob_sizes(count: int) -> list[int]:
    """Deterministic log-uniform BLOB sizes."""
    rng = random.Random(BLOB_SEED)
    low, high = (math.log(v) for v in BLOB_SIZES)
    return [int(math.exp(rng.uniform(low, high))) for _ in range(count)]


def random_bytes_sql(size: int) -> str:
    """SQL for SIZE incompressible bytes (RANDOM_BYTES gives at most 1024 at a time)."""
    whole, rest = divmod(size, 1024)
    parts = []
    if whole:
        parts.append(
            f"(SELECT GROUP_CONCAT(RANDOM_BYTES(1024) SEPARATOR '') FROM seq_1_to_{whole})"
        )
    if rest:
        parts.append(f"RANDOM_BYTES({rest})")
    return f"CONCAT({', '.join(parts)})" if len(parts) > 1 else parts[0]


def make_blobs(count: int) -> None:
    """odbb_blobs.files (Open Dental's layout) with COUNT image-like BLOBs and thumbnails."""
    from engine.opendental.demo.schema import TABLES, create_table_sql

    sql(f"CREATE DATABASE `{BLOBS_DB}`")
    sql(create_table_sql(TABLES["files"], BLOBS_DB))
    rng = random.Random(BLOB_SEED + 1)
    for num, size in enumerate(blob_sizes(count), 1):
        thumb = rng.randint(4 << 10, 16 << 10)
        sql(
            "SET SESSION group_concat_max_len = 67108864;\n"
            f"INSERT INTO files (DocNum, Data, Thumbnail) VALUES "
            f"({num}, {random_bytes_sql(size)}, {random_bytes_sql(thumb)})",
            BLOBS_DB,
        )


def make_demo(database: str, images: Path, scale: float, odbackup_bin: str) -> None:
    """The sample practice (odbackup demo); its images folder is a by-product."""
    shutil.rmtree(images, ignore_errors=True)
    images.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [odbackup_bin, "demo", "--db", database, "--images", str(images), "--scale", str(scale)],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def marker_path(scratch: Path) -> Path:
    """Where the data marker lives."""
    return scratch / "data.json"


def read_marker(scratch: Path) -> dict | None:
    """The data marker, or None."""
    try:
        return json.loads(marker_path(scratch).read_text())
    except (OSError, ValueError):
        return None


def write_marker(scratch: Path, marker: dict) -> None:
    """Write the data marker atomically."""
    save_json(marker, marker_path(scratch))


def drop_ours(scratch: Path, marker: dict | None) -> None:
    """Drop the databases an earlier run created; refuse ones it did not create."""
    created = set((marker or {}).get("databases", []))
    for database in (*SOURCE_DBS, *RESTORE_DB.values()):
        if not database_exists(database):
            continue
        if database not in created and database not in RESTORE_DB.values():
            sys.exit(
                f"database {database} exists but {marker_path(scratch)} does not list it as ours;"
                " drop it yourself or choose another server"
            )
        drop_database(database)


def ensure_data(scratch: Path, params: DataParams, odbackup_bin: str) -> dict:
    """Return the data facts, (re)creating the databases unless the marker matches PARAMS."""
    marker = read_marker(scratch)
    if (
        marker
        and marker.get("params") == asdict(params)
        and all(database_exists(d) for d in SOURCE_DBS)
    ):
        print("data: already generated with the same parameters, reusing", file=sys.stderr)
        return marker["facts"]
    drop_ours(scratch, marker)
    marker = {"params": asdict(params), "databases": list(SOURCE_DBS), "facts": None}
    write_marker(scratch, marker)
    started = time.monotonic()
    print(f"data: creating {', '.join(SOURCE_DBS)} ...", file=sys.stderr, flush=True)
    make_demo(BENCH_DB, scratch / "data" / "images-bench", params.scale, odbackup_bin)
    gen.create(BENCH_DB, params.rows)
    make_demo(PRACTICE_DB, scratch / "data" / "images-practice", params.scale, odbackup_bin)
    sql(f"CREATE DATABASE `{PRISTINE_DB}`")
    for table, _, _ in SMALL_CHANGES:
        sql(
            f"CREATE TABLE `{PRISTINE_DB}`.`{table}` LIKE `{BENCH_DB}`.`{table}`;\n"
            f"INSERT INTO `{PRISTINE_DB}`.`{table}` SELECT * FROM `{BENCH_DB}`.`{table}`"
        )
    make_blobs(params.blob_rows)
    facts = {
        "seconds_to_create": round(time.monotonic() - started, 1),
        "databases": {d: database_facts(d) for d in (BENCH_DB, PRACTICE_DB, BLOBS_DB)},
        "big_table": {
            **{k: v for k, v in database_facts_table(BENCH_DB, gen.TABLE).items()},
            "dump_bytes": dump_bytes(BENCH_DB, gen.TABLE),
        },
        "bench_dump_bytes": dump_bytes(BENCH_DB),
        "checksums": {d: checksums(d) for d in (BENCH_DB, PRACTICE_DB, BLOBS_DB)},
    }
    marker["facts"] = facts
    write_marker(scratch, marker)
    print(f"data: done in {facts['seconds_to_create']:.0f} s", file=sys.stderr)
    return facts


def database_facts_table(database: str, table: str) -> dict:
    """Rows and bytes of one table."""
    out = sql(
        "SELECT TABLE_ROWS, DATA_LENGTH, INDEX_LENGTH FROM information_schema.TABLES "
        f"WHERE TABLE_SCHEMA = '{database}' AND TABLE_NAME = '{table}'"
    )
    rows, data, index = (int(v) for v in out.split())
    return {"rows": rows, "data_bytes": data, "index_bytes": index}


def check_baseline(database: str, facts: dict, rows: int) -> list[str]:
    """Fail unless DATABASE holds exactly the rows it was created with (also warms the cache).

    The server is shared: when odbb_bench's small tables or appended rows differ
    (an interrupted run, or someone else's writes), they are put back first.
    Returns the tables that differed before that.
    """
    want = facts["checksums"][database]
    got = checksums(database)
    differed = sorted(t for t in set(want) | set(got) if want.get(t) != got.get(t))
    if differed and database == BENCH_DB:
        print(f"  {database}: {', '.join(differed)} changed; putting them back", file=sys.stderr)
        put_back(rows)
        got = checksums(database)
    if got != want:
        raise StepFailed(
            f"{database} no longer holds its original rows ({', '.join(differed)}); re-create it"
            " (delete SCRATCH/data.json)"
        )
    return differed


def change_small_tables() -> dict[str, int]:
    """Change 1% of the rows of the two small tables; return rows changed per table."""
    changed = {}
    for table, key, change in SMALL_CHANGES:
        out = sql(
            f"UPDATE `{table}` SET {change} WHERE `{key}` % 100 = 0; SELECT ROW_COUNT()", BENCH_DB
        )
        changed[table] = int(out.split()[-1])
    return changed


def put_back(rows: int) -> None:
    """Undo the incremental's changes: small tables from odbb_pristine, appended rows removed."""
    for table, _, _ in SMALL_CHANGES:
        sql(
            f"DELETE FROM `{BENCH_DB}`.`{table}`;\n"
            f"INSERT INTO `{BENCH_DB}`.`{table}` SELECT * FROM `{PRISTINE_DB}`.`{table}`"
        )
    if gen.row_count(BENCH_DB) != rows:
        sql(
            f"DELETE FROM `{gen.TABLE}` WHERE ProcNum > {rows};\n"
            f"ALTER TABLE `{gen.TABLE}` AUTO_INCREMENT = {rows + 1};\n"
            f"OPTIMIZE TABLE `{gen.TABLE}`",
            BENCH_DB,
        )
    # the table cache trusts a table only when it was read in a later second than its change
    time.sleep(1.1)


# --- running the tools --------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What to run and where."""

    scratch: Path
    tools: tuple[str, ...]
    cases: tuple[str, ...]
    reps: int
    timeout: float
    timeout_small: float
    wait_idle: float
    wait_load: float
    load_below: float
    odbackup: str
    rows: int

    def work(self, case: str, tool: str) -> Path:
        """Scratch folder of one run."""
        return self.scratch / "work" / f"{case}-{tool}"


class Run:
    """One tool on one case in one repetition: timed steps plus facts."""

    def __init__(self, plan: Plan, case: str, tool: str, rep: int) -> None:
        self.plan, self.case, self.tool, self.rep = plan, case, tool, rep
        self.work = plan.work(case, tool)
        shutil.rmtree(self.work, ignore_errors=True)
        (self.work / "home").mkdir(parents=True)
        self.steps: dict[str, dict] = {}
        self.facts: dict = {}
        base = Odbackup(tool, plan.odbackup) if tool == "odbackup" else Tool(tool, tool)
        self.env = base.env(self.work)
        if tool == "odbackup":
            self.env["ODBACKUP_REPORTS_DIR"] = str(self.work / "reports")

    def log(self, phase: str) -> Path:
        """Log file prefix of a step (no dots: measure() adds the suffixes)."""
        return self.plan.scratch / "logs" / f"{self.case}-{self.tool}-rep{self.rep}-{phase}"

    def step(self, phase: str, cmd: list[str]) -> dict:
        """Time CMD as PHASE; return and keep its record."""
        waited = wait_until_idle(self.plan.wait_idle) if self.plan.wait_idle > 0 else 0.0
        os.sync()
        load = os.getloadavg()[0]
        server_before = server_cpu_s()
        timeout = self.plan.timeout if self.case == "bench" else self.plan.timeout_small
        try:
            m = measure(cmd, self.env, self.log(phase), None, timeout)
        except subprocess.TimeoutExpired:
            self.facts["timed_out"] = {"phase": phase, "after_s": timeout}
            raise
        server = round(server_cpu_s() - server_before, 2)
        os.sync()
        record = asdict(m)
        busy = record.get("machine_busy_s")
        record.update(
            idle_wait_s=waited,
            load1_at_start=round(load, 2),
            peak_rss_kib=m.peak_rss_kib,
            server_cpu_s=server,
            others_cpu_s=None
            if busy is None
            else max(0.0, round(busy - m.user_s - m.sys_s - server, 2)),
        )
        self.steps[phase] = record
        return record

    def events(self, phase: str) -> list[dict]:
        """The JSON lines odbackup printed during PHASE."""
        found = []
        for line in self.log(phase).with_suffix(".log").read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    found.append(json.loads(line))
                except ValueError:
                    pass
        return found

    def record(self) -> dict:
        """The run's record for the results file."""
        return {
            "case": self.case,
            "tool": self.tool,
            "rep": self.rep,
            "steps": self.steps,
            **self.facts,
        }


def odbackup_cmd(plan: Plan, *args: str) -> list[str]:
    """An odbackup command line."""
    return [plan.odbackup, *args]


def lock_window(events: list[dict]) -> float:
    """Sum of `held` over lock_released events."""
    return round(sum(e.get("held", 0.0) for e in events if e.get("event") == "lock_released"), 3)


def run_odbackup(run: Run, facts: dict) -> None:
    """odbackup's steps for the run's case."""
    plan, database = run.plan, CASE_DB[run.case]
    repo = run.work / "repo"
    init_log = run.log("init").with_suffix(".log")
    with open(init_log, "wb") as out:
        done = subprocess.run(
            odbackup_cmd(plan, "init", str(repo)), env=run.env, stdout=out, stderr=subprocess.STDOUT
        )
    if done.returncode != 0:
        raise StepFailed(f"odbackup init exited {done.returncode}; see {init_log}")
    url = f"{SERVER_URL}/{database}"
    # The BLOB case is about memory; per-table mode reads the same way but never holds the
    # server-wide read lock, so a slow read there cannot stall the rest of a shared server.
    lock_mode = "per-table" if run.case == "blobs" else "consistent"
    run.facts["lock_mode"] = lock_mode
    backup = odbackup_cmd(
        plan, "backup", "--repo", str(repo), "--db", url, "--lock-mode", lock_mode, "--json"
    )
    repo_bytes, windows = {}, {}

    def backup_step(phase: str) -> None:
        run.step(phase, backup)
        repo_bytes[phase] = folder_bytes(repo)
        windows[phase] = lock_window(run.events(phase))

    run.facts.update(repo_bytes=repo_bytes, lock_window_s=windows)
    backup_step("backup")
    # the fixed cost every command pays (start-up, key derivation, reading the index)
    run.step("open", odbackup_cmd(plan, "snapshots", "--repo", str(repo), "--json"))
    if run.case == "lock":
        backup_step("rerun")
        return
    target = RESTORE_DB["odbackup"]
    drop_database(target)
    run.step(
        "restore",
        odbackup_cmd(
            plan,
            "restore-db",
            "--repo",
            str(repo),
            "latest",
            "--into",
            f"{SERVER_URL}/{target}",
            "--json",
        ),
    )
    try:
        check_same(database, target)
    finally:
        drop_database(target)
    if run.case != "bench":
        return
    run.step("verify", odbackup_cmd(plan, "verify", "--repo", str(repo), "latest", "--json"))
    summary = [e for e in run.events("verify") if e.get("event") == "summary"]
    if not summary or not summary[-1].get("ok"):
        raise StepFailed(f"odbackup verify did not report ok; see {run.log('verify')}.log")
    try:
        run.facts["rows_changed"] = change_small_tables()
        backup_step("incr_small")
        gen.append(BENCH_DB, plan.rows, plan.rows // 100)
        run.facts["rows_appended"] = plan.rows // 100
        backup_step("incr_append")
    finally:
        put_back(plan.rows)
    check_baseline(BENCH_DB, facts, plan.rows)


def run_mariadb_dump(run: Run) -> None:
    """mariadb-dump | zstd and mariadb < dump.sql (lock case: --lock-all-tables to a file)."""
    database = CASE_DB[run.case]
    client = " ".join(CLIENT)
    if run.case == "lock":
        out = run.work / "dump.sql"
        run.step(
            "backup",
            [
                "bash",
                "-o",
                "pipefail",
                "-c",
                f"mariadb-dump {client} --lock-all-tables --routines --triggers --events "
                f"{database} > {out}",
            ],
        )
        run.facts["lock_window_s"] = {"backup": run.steps["backup"]["wall_s"]}
        run.facts["dump_bytes"] = out.stat().st_size
        return
    packed = run.work / "dump.sql.zst"
    run.step(
        "backup",
        [
            "bash",
            "-o",
            "pipefail",
            "-c",
            f"mariadb-dump {client} --single-transaction --routines --triggers --events "
            f"{database} | zstd -3 -q > {packed}",
        ],
    )
    plain = run.work / "dump.sql"
    subprocess.run(["zstd", "-d", "-q", str(packed), "-o", str(plain)], check=True)
    run.facts.update(backup_bytes=packed.stat().st_size, dump_bytes=plain.stat().st_size)
    target = RESTORE_DB["mariadb-dump"]
    drop_database(target)
    charset, collation = charset_of(database)
    sql(f"CREATE DATABASE `{target}` CHARACTER SET {charset} COLLATE {collation}")
    try:
        run.step("restore", ["bash", "-c", f"mariadb {client} {target} < {plain}"])
        check_same(database, target)
    finally:
        drop_database(target)


def run_mydumper(run: Run) -> None:
    """mydumper -t 2 -c (compressed: issue 17's anchor) and myloader -t 2."""
    database = CASE_DB[run.case]
    out = run.work / "mydumper"
    run.step(
        "backup", ["mydumper", *CLIENT, "-B", database, "-t", "2", "-c", "-R", "-E", "-G", "-o", str(out)]
    )
    run.facts["backup_bytes"] = folder_bytes(out)
    target = RESTORE_DB["mydumper"]
    drop_database(target)
    try:
        run.step("restore", ["myloader", *CLIENT, "-d", str(out), "-B", target, "-t", "2"])
        check_same(database, target)
    finally:
        drop_database(target)


def run_one(plan: Plan, case: str, tool: str, rep: int, facts: dict) -> dict:
    """One tool on one case; returns the record (with 'error' on failure)."""
    run = Run(plan, case, tool, rep)
    try:
        differed = check_baseline(CASE_DB[case], facts, plan.rows)
        if differed:
            run.facts["put_back_before_run"] = differed
        if tool == "odbackup":
            run_odbackup(run, facts)
        elif tool == "mariadb-dump":
            run_mariadb_dump(run)
        else:
            run_mydumper(run)
    except (
        StepFailed,
        subprocess.TimeoutExpired,
        subprocess.CalledProcessError,
        RuntimeError,
        OSError,
    ) as error:
        print(f"  FAILED: {error}", file=sys.stderr)
        # only after a timeout: then the killed tool's queries may still run on the server
        timed_out = isinstance(error, subprocess.TimeoutExpired)
        killed = kill_leftovers((CASE_DB[case], RESTORE_DB[tool])) if timed_out else []
        return {**run.record(), "error": str(error), "server_threads_killed": killed}
    finally:
        shutil.rmtree(run.work, ignore_errors=True)
    print("  " + brief(run.record()), file=sys.stderr)
    return run.record()


def kill_leftovers(databases: tuple[str, ...], wait: float = 1800) -> list[str]:
    """Kill server threads still working in DATABASES (the run's own) after a tool failed.

    A client killed on timeout leaves its query running on the server (and a
    backup tool's global read lock held, which blocks every writer on the
    server). Waits (up to WAIT s) until they are gone; returns what was killed.
    """
    found = sql(
        "SELECT ID, DB, TIME, LEFT(INFO, 80) FROM information_schema.PROCESSLIST "
        f"WHERE DB IN ({', '.join(repr(ours(d)) for d in databases)}) AND ID <> CONNECTION_ID()"
    )
    killed = [line for line in found.splitlines() if line.strip()]
    for line in killed:
        sql(f"KILL {int(line.split()[0])}")
    ids = ",".join(line.split()[0] for line in killed)
    started = time.monotonic()
    while ids and time.monotonic() - started < wait:
        left = sql(f"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID IN ({ids})")
        if left.strip() == "0":
            break
        time.sleep(5)
    if killed:
        print(
            f"  killed {len(killed)} server thread(s) left behind, gone after "
            f"{time.monotonic() - started:.0f} s",
            file=sys.stderr,
        )
    return killed


def wait_for_load(plan: Plan) -> dict:
    """Wait (up to plan.wait_load s) until the 1-minute load average is below plan.load_below."""
    started = time.monotonic()
    while True:
        load = os.getloadavg()[0]
        waited = time.monotonic() - started
        if load < plan.load_below or waited >= plan.wait_load:
            return {
                "load1": round(load, 2),
                "waited_s": round(waited, 1),
                "reached": load < plan.load_below,
            }
        time.sleep(10)


def rotated(tools: list[str], rep: int) -> list[str]:
    """Tool order for repetition REP (rotates so no tool always goes first)."""
    shift = rep % len(tools)
    return tools[shift:] + tools[:shift]


def run_all(plan: Plan, facts: dict, results: dict, out: Path) -> bool:
    """Every case, repetition and tool; RESULTS saved to OUT after each run."""
    ok = True
    timed_out: dict[tuple[str, str], int] = {}
    for rep in range(1, plan.reps + 1):
        for case in plan.cases:
            tools = [t for t in CASE_TOOLS[case] if t in plan.tools]
            load = wait_for_load(plan)
            print(
                f"[rep {rep}/{plan.reps}] {case}: load {load['load1']} after {load['waited_s']:.0f} s",
                file=sys.stderr,
                flush=True,
            )
            for tool in rotated(tools, rep - 1):
                print(f"[rep {rep}/{plan.reps}] {case} {tool} ...", file=sys.stderr, flush=True)
                if (case, tool) in timed_out:
                    # a timed-out tool is not run again: each attempt would hold its locks
                    # on the shared server for the whole timeout
                    first = timed_out[(case, tool)]
                    print(f"  skipped: timed out in repetition {first}", file=sys.stderr)
                    record = {
                        "case": case,
                        "tool": tool,
                        "rep": rep,
                        "steps": {},
                        "error": f"not run: timed out in repetition {first}",
                    }
                else:
                    record = run_one(plan, case, tool, rep, facts)
                    if "timed_out" in record:
                        timed_out[(case, tool)] = rep
                record["version"] = results["versions"].get(tool, "")
                record["finished"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
                record["load_wait"] = load
                ok = ok and "error" not in record
                results["runs"].append(record)
                save_json(results, out)
    return ok


def brief(record: dict) -> str:
    """One-line summary of a run for the console."""
    return ", ".join(
        f"{phase} {s['wall_s']:.1f}s/{s['peak_rss_kib'] / 1024:.0f}MiB"
        for phase, s in record["steps"].items()
    )


# --- the report ---------------------------------------------------------------------------------


def runs_of(results: dict, case: str, tool: str) -> list[dict]:
    """Successful runs of TOOL on CASE."""
    return [
        r for r in results["runs"] if r["case"] == case and r["tool"] == tool and "error" not in r
    ]


def median_of(values: list[float]) -> float | None:
    """Median, or None for no values."""
    return statistics.median(values) if values else None


def med(results: dict, case: str, tool: str, phase: str, key: str = "wall_s") -> float | None:
    """Median of a step's field over the successful runs."""
    return median_of(
        [r["steps"][phase][key] for r in runs_of(results, case, tool) if phase in r["steps"]]
    )


def med_mib(results: dict, case: str, tool: str, phase: str) -> float | None:
    """Median peak RSS of a step in MiB."""
    kib = med(results, case, tool, phase, "peak_rss_kib")
    return None if kib is None else kib / 1024


def med_fact(results: dict, case: str, tool: str, fn) -> float | None:
    """Median of FN(run) over the successful runs (FN may return None)."""
    values = [v for v in (fn(r) for r in runs_of(results, case, tool)) if v is not None]
    return median_of(values)


def fmt(value: float | None, digits: int = 1) -> str:
    """A number, or '–'."""
    return "–" if value is None else f"{value:,.{digits}f}"


def ratio(a: float | None, b: float | None) -> float | None:
    """a/b or None."""
    return None if a is None or b is None or b == 0 else a / b


def fmt_ratio(value: float | None) -> str:
    """'0.87×' or '–'."""
    return "–" if value is None else f"{value:.2f}×"


def verdict(value: float | None, limit: float) -> str:
    """': met' / ': missed' / ''."""
    if value is None:
        return ""
    return ": met" if value <= limit else ": **missed**"


def bench_table(results: dict) -> list[str]:
    """The main table: odbb_bench, medians and ratios against the anchors."""
    case = "bench"
    reps = results["reps"]

    def wall(tool: str, phase: str) -> float | None:
        return med(results, case, tool, phase)

    def mib(tool: str, phase: str) -> float | None:
        return med_mib(results, case, tool, phase)

    lines = [
        f"| median of {reps} | odbackup | mariadb-dump | mydumper | odbackup / mariadb-dump "
        "| odbackup / mydumper | target |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    ours_b, dump_b, myd_b = (
        wall("odbackup", "backup"),
        wall("mariadb-dump", "backup"),
        wall("mydumper", "backup"),
    )
    r = ratio(ours_b, dump_b)
    lines.append(
        f"| full backup (s) | {fmt(ours_b)} | {fmt(dump_b)} | {fmt(myd_b)} | {fmt_ratio(r)} "
        f"| {fmt_ratio(ratio(ours_b, myd_b))} | ≤ 1.0× mariadb-dump \\| zstd{verdict(r, 1.0)} |"
    )
    size = {
        "odbackup": med_fact(
            results, case, "odbackup", lambda x: x.get("repo_bytes", {}).get("backup")
        ),
        "mariadb-dump": med_fact(results, case, "mariadb-dump", lambda x: x.get("backup_bytes")),
        "mydumper": med_fact(results, case, "mydumper", lambda x: x.get("backup_bytes")),
    }
    mb = {k: None if v is None else v / 1e6 for k, v in size.items()}
    lines.append(
        f"| backup size (MB) | {fmt(mb['odbackup'])} | {fmt(mb['mariadb-dump'])} "
        f"| {fmt(mb['mydumper'])} | {fmt_ratio(ratio(mb['odbackup'], mb['mariadb-dump']))} "
        f"| {fmt_ratio(ratio(mb['odbackup'], mb['mydumper']))} | |"
    )
    ours_r, dump_r, myl_r = (wall(t, "restore") for t in ALL_TOOLS)
    r1, r2 = ratio(ours_r, dump_r), ratio(ours_r, myl_r)
    lines.append(
        f"| restore into a new database (s) | {fmt(ours_r)} | {fmt(dump_r)} | {fmt(myl_r)} "
        f"| {fmt_ratio(r1)} | {fmt_ratio(r2)} | ≤ 0.5× `mariadb < dump.sql`{verdict(r1, 0.5)}; "
        f"≤ 1.0× myloader{verdict(r2, 1.0)} |"
    )
    verify = wall("odbackup", "verify")
    lines.append(f"| verify: restore and compare, total (s) | {fmt(verify)} | | | | | |")
    for phase in ("incr_small", "incr_append"):
        t = wall("odbackup", phase)
        rel = ratio(t, ours_b)
        target = (
            f"≤ 0.25× full backup ({fmt_ratio(rel)}){verdict(rel, 0.25)}"
            if phase == "incr_small"
            else (f"{fmt_ratio(rel)} of the full backup")
        )
        lines.append(f"| {PHASE_LABELS[phase]} (s) | {fmt(t)} | | | | | {target} |")
    growth = med_fact(results, case, "odbackup", growth_share)
    grown_mb = med_fact(results, case, "odbackup", lambda x: grown_bytes(x, "incr_append"))
    lines.append(
        f"| repository growth from the append (MB) | {fmt(None if grown_mb is None else grown_mb / 1e6, 2)} "
        f"| | | | | ≤ 5% of the first snapshot "
        f"({fmt(None if growth is None else growth * 100, 2)}%){verdict(growth, 0.05)} |"
    )
    small_mb = med_fact(results, case, "odbackup", lambda x: grown_bytes(x, "incr_small"))
    lines.append(
        f"| repository growth from the small-table change (MB) "
        f"| {fmt(None if small_mb is None else small_mb / 1e6, 2)} | | | | | |"
    )
    opened = wall("odbackup", "open")
    lines.append(f"| {PHASE_LABELS['open']} (s) | {fmt(opened)} | | | | | |")
    window = med_fact(results, case, "odbackup", lambda x: x.get("lock_window_s", {}).get("backup"))
    lines.append(f"| lock window of the full backup (s) | {fmt(window)} | | | | | |")
    for phase in ("backup", "restore", "verify", "incr_small", "incr_append"):
        m = {t: mib(t, phase) for t in ALL_TOOLS}
        worst = max_rss(results, case, "odbackup", phase)
        lines.append(
            f"| {PHASE_LABELS[phase]}, peak RSS (MiB) | {fmt(m['odbackup'], 0)} "
            f"| {fmt(m['mariadb-dump'], 0)} | {fmt(m['mydumper'], 0)} | | "
            f"| ≤ {MEMORY_TARGET_MIB} MiB in every run (max {fmt(worst, 0)}){verdict(worst, MEMORY_TARGET_MIB)} |"
        )
    return lines


def max_rss(results: dict, case: str, tool: str, phase: str) -> float | None:
    """Largest peak RSS (MiB) of a step over all runs."""
    values = [
        r["steps"][phase]["peak_rss_kib"] / 1024
        for r in results["runs"]
        if r["case"] == case and r["tool"] == tool and phase in r["steps"]
    ]
    return max(values) if values else None


def grown_bytes(run: dict, phase: str) -> int | None:
    """Repository growth during PHASE (from the previous backup)."""
    sizes = run.get("repo_bytes", {})
    before = {"incr_small": "backup", "incr_append": "incr_small"}[phase]
    if phase not in sizes or before not in sizes:
        return None
    return sizes[phase] - sizes[before]


def growth_share(run: dict) -> float | None:
    """Growth from the append as a share of the repository after the first snapshot."""
    grown = grown_bytes(run, "incr_append")
    first = run.get("repo_bytes", {}).get("backup")
    return None if grown is None or not first else grown / first


def blobs_table(results: dict) -> list[str]:
    """BLOB-heavy case: backup and restore times and peak RSS."""
    case = "blobs"
    lines = [
        f"| median of {results['reps']} | odbackup | mariadb-dump | mydumper | odbackup / mariadb-dump "
        "| odbackup / mydumper | target |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for phase in ("backup", "restore"):
        w = [med(results, case, t, phase) for t in ALL_TOOLS]
        lines.append(
            f"| {PHASE_LABELS[phase]} (s) | {fmt(w[0])} | {fmt(w[1])} | {fmt(w[2])} "
            f"| {fmt_ratio(ratio(w[0], w[1]))} | {fmt_ratio(ratio(w[0], w[2]))} | |"
        )
    for phase in ("backup", "restore"):
        m = [med_mib(results, case, t, phase) for t in ALL_TOOLS]
        worst = max_rss(results, case, "odbackup", phase)
        lines.append(
            f"| {PHASE_LABELS[phase]}, peak RSS (MiB) | {fmt(m[0], 0)} | {fmt(m[1], 0)} "
            f"| {fmt(m[2], 0)} | | | ≤ {MEMORY_TARGET_MIB} MiB in every run "
            f"(max {fmt(worst, 0)}){verdict(worst, MEMORY_TARGET_MIB)} |"
        )
    return lines


def lock_table(results: dict) -> list[str]:
    """Lock window on the sample practice."""
    case = "lock"

    def window(tool: str, phase: str) -> float | None:
        return med_fact(results, case, tool, lambda x: x.get("lock_window_s", {}).get(phase))

    dump = window("mariadb-dump", "backup")
    lines = [
        f"| median of {results['reps']} | lock window (s) | wall time (s) | peak RSS (MiB) "
        "| lock window / mariadb-dump's |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    rows = (
        ("odbackup `--lock-mode consistent`, first backup", "odbackup", "backup"),
        ("odbackup `--lock-mode consistent`, unchanged re-run", "odbackup", "rerun"),
        (
            "`mariadb-dump --lock-all-tables` (lock held for the whole dump)",
            "mariadb-dump",
            "backup",
        ),
    )
    for label, tool, phase in rows:
        w = window(tool, phase)
        lines.append(
            f"| {label} | {fmt(w, 2)} | {fmt(med(results, case, tool, phase), 2)} "
            f"| {fmt(med_mib(results, case, tool, phase), 0)} | {fmt_ratio(ratio(w, dump))} |"
        )
    return lines


def step_cell(step: dict) -> str:
    """'53.7 s, 96 MiB, cpu 86 s, server 4 s, others 1 s, load 0.4'."""
    cpu = step["user_s"] + step["sys_s"]
    text = f"{step['wall_s']:.1f} s, {step['peak_rss_kib'] / 1024:.0f} MiB, cpu {cpu:.1f} s"
    text += f", server {step.get('server_cpu_s', 0):.1f} s"
    if step.get("others_cpu_s") is not None:
        text += f", others {step['others_cpu_s']:.1f} s"
    return text + f", load {step.get('load1_at_start', 0):.2f}"


def runs_table(results: dict) -> list[str]:
    """Every run, every step."""
    lines = [
        "| case | tool | rep | step: wall, peak RSS, tool CPU, server CPU, others' CPU, load1 |",
        "| --- | --- | ---: | --- |",
    ]
    order = {c: i for i, c in enumerate(ALL_CASES)}
    tools = {t: i for i, t in enumerate(ALL_TOOLS)}
    for run in sorted(
        results["runs"], key=lambda r: (order[r["case"]], tools[r["tool"]], r["rep"])
    ):
        cells = "; ".join(f"{phase}: {step_cell(s)}" for phase, s in run["steps"].items())
        if "error" in run:
            cells += f"; **failed**: {run['error']}"
        lines.append(f"| {run['case']} | {run['tool']} | {run['rep']} | {cells} |")
    return lines


def facts_lines(results: dict) -> list[str]:
    """Machine, data, versions."""
    m, data = results["machine"], results["data"]
    dbs = data["databases"]
    big = data["big_table"]
    waits = [r.get("load_wait", {}) for r in results["runs"]]
    reached = sum(1 for w in waits if w.get("reached"))
    loads = [w["load1"] for w in waits if "load1" in w]
    load_text = (
        (
            f"1-minute load average at the start of each case: {min(loads):.2f}-{max(loads):.2f}"
            f" ({reached} of {len(waits)} runs started below {results['load_below']})"
        )
        if loads
        else ""
    )

    def db_line(name: str) -> str:
        d = dbs[name]
        return (
            f"{d['tables']} table{'s' if d['tables'] != 1 else ''}, {d['rows']:,} rows, {d['data_bytes'] / 1e6:,.0f} MB data + "
            f"{d['index_bytes'] / 1e6:,.0f} MB indexes"
        )

    done = sorted(r["finished"] for r in results["runs"] if "finished" in r)
    when = f"{done[0]} to {done[-1]}" if done else m["date"]
    return [
        f"- Run: {when}, {results['reps']} repetitions, tool order rotated per repetition; "
        f"checkout at git {m['git']}. {load_text}.",
        f"- Machine: {m['cpu']}, nproc {m['nproc']}, RAM {m['ram']}, {m['os']}, kernel {m['kernel']}, "
        f"Python {m['python']}; {results['versions']['server']} on {HOST}:{PORT} (TCP for every tool).",
        f"- `{BENCH_DB}`: {db_line(BENCH_DB)}; of which `{gen.TABLE}` {big['rows']:,} rows, "
        f"{big['data_bytes'] / 1e6:,.0f} MB data + {big['index_bytes'] / 1e6:,.0f} MB indexes, "
        f"{big['dump_bytes'] / 1e6:,.0f} MB as `mariadb-dump` SQL (the whole database: "
        f"{data['bench_dump_bytes'] / 1e6:,.0f} MB).",
        f"- `{BLOBS_DB}`: {db_line(BLOBS_DB)}.",
        f"- `{PRACTICE_DB}`: {db_line(PRACTICE_DB)}.",
        *(f"- {name}: {version}." for name, version in tool_versions(results)),
    ]


def tool_versions(results: dict) -> list[tuple[str, str]]:
    """(tool, version) with the cases each version ran, from the run records."""
    lines = []
    for tool in ALL_TOOLS:
        seen: dict[str, set[str]] = {}
        for run in results["runs"]:
            if run["tool"] == tool:
                version = run.get("version") or results["versions"].get(tool, "")
                seen.setdefault(version, set()).add(run["case"])
        for version, cases in seen.items():
            which = ", ".join(c for c in ALL_CASES if c in cases)
            lines.append((tool, f"{version} ({which})" if len(seen) > 1 else version))
    return lines


def failure_notes(results: dict, case: str) -> list[str]:
    """One line per failed run of CASE."""
    return [
        f"- {r['tool']}, repetition {r['rep']}: **failed**: {r['error']}"
        for r in results["runs"]
        if r["case"] == case and "error" in r
    ]


def render_section(results: dict) -> str:
    """The Markdown between the doc markers: description, how to re-run, results."""
    parts = [
        "## Databases (MariaDB)",
        "",
        *description(results["params"], results.get("reps", 3)).strip("\n").splitlines(),
        "",
        "### Results",
        "",
        *facts_lines(results),
        "",
        f"**`{BENCH_DB}`** (the sample practice plus `{gen.TABLE}`):",
        "",
        *bench_table(results),
        *failure_notes(results, "bench"),
        "",
        f"**Lock window** on the sample practice (`{PRACTICE_DB}`):",
        "",
        *lock_table(results),
        *failure_notes(results, "lock"),
        "",
        f"**BLOB-heavy** (`{BLOBS_DB}`):",
        "",
        *blobs_table(results),
        *failure_notes(results, "blobs"),
        "",
        "All runs. Per step: wall time, peak RSS (the tool's process tree), the tool's CPU time"
        " (user+system), the database server's CPU time, the CPU the rest of the machine used"
        " meanwhile (others: noise) and the 1-minute load average at the start:",
        "",
        *runs_table(results),
    ]
    return "\n".join(parts)


def description(params: dict, reps: int = 3) -> str:
    """The section's fixed text (what is measured, how to re-run) for the data PARAMS."""
    rows, blob_rows = params["rows"], params["blob_rows"]
    appended = rows // 100
    return f"""
odbackup's database backup is measured against `mariadb-dump` piped through
`zstd -3` and against `mydumper`/`myloader` with 2 threads, in one run, on the
same MariaDB server and data, every tool over TCP to {HOST}:{PORT}. Medians of {reps}
repetitions; ratios are odbackup / anchor.

Data (`bench/make_procedurelog.py`, `odbackup demo`; created once and kept while
its parameters match, `SCRATCH/data.json`):

- `{BENCH_DB}`: the sample practice (`odbackup demo --scale 1`: 31 MyISAM
  Open Dental tables, ~50 MB) plus `{gen.TABLE}`, MyISAM, {rows:,} rows:
  25 of Open Dental's `procedurelog` columns (bigint keys, dates, a timestamp,
  doubles, short varchars; their layout and the 11 keys among them from
  `engine/opendental/demo/layouts.py`) and a `Note mediumtext` that one row in five
  fills (50-430 characters). Filled by the server (`INSERT ... SELECT` from
  `seq_1_to_N`, values from `CRC32` of the row number: deterministic).
- `{PRACTICE_DB}`: the sample practice alone (the lock-window case).
- `{BLOBS_DB}`: Open Dental's `files` table (`Data longblob`, `Thumbnail
  longblob`) with {blob_rows} incompressible BLOBs of 64 KiB to 12 MiB (log-uniform)
  and 4-16 KiB thumbnails: the BLOB-heavy case for peak memory.

Per repetition, each tool on a fresh repository / dump folder and fresh
caches (odbackup: `ODBACKUP_CONFIG_DIR`, `ODBACKUP_CACHE_DIR`,
`ODBACKUP_REPORTS_DIR` in the run's scratch folder; the cache is kept between
the full and the incremental backups of one repetition, which is what lets
odbackup prove the untouched MyISAM tables unchanged):

- odbackup on `{BENCH_DB}`: `backup --lock-mode consistent` (full), `restore-db
  latest --into NEWDB`, `verify latest` (restores into a scratch database and
  compares; total time), then `UPDATE` of 1% of the rows of `patient` and
  `appointment` (`EstBalance`, `Confirmed`; key % 100 = 0) and an incremental
  backup, then {appended:,} rows (1%) appended to `{gen.TABLE}` and another
  incremental backup (repository growth measured against the size after the
  first snapshot). The database is put back afterwards (from copies in
  `{PRISTINE_DB}`; appended rows deleted, `OPTIMIZE TABLE`) and checked.
- `mariadb-dump -h {HOST} -P {PORT} -u root --single-transaction --routines
  --triggers --events {BENCH_DB} | zstd -3 -q > dump.sql.zst`; then (untimed)
  `zstd -d` to `dump.sql`, `CREATE DATABASE NEWDB`; timed `mariadb NEWDB <
  dump.sql`.
- `mydumper -B {BENCH_DB} -t 2 -c -R -E -G -o DIR` (compressed: `-c` writes gzip
  files in mydumper 0.10; runs before 2026-12-07 used no compression);
  `myloader -d DIR -B NEWDB -t 2`.
- The same backup and restore steps on `{BLOBS_DB}`.
- Lock window on `{PRACTICE_DB}`: odbackup `backup --lock-mode consistent`
  (fresh repository and cache) and an unchanged re-run; lock window = the sum
  of `held` of its `lock_released` events. Against `mariadb-dump
  --lock-all-tables --routines --triggers --events {PRACTICE_DB} > dump.sql`,
  which holds the global read lock for its whole run: its wall time.

Every restore is checked: the restored database must have the same tables with
the same `CHECKSUM TABLE` as the source, else the run fails. Before every run
the source's checksums are compared with those taken when it was created
(this also puts its data files in the page cache for every tool).

Measurement: wall time and peak RSS under `/usr/bin/time -v`, plus the RSS
summed over the tool's process tree sampled every 0.25 s (the larger is
reported; it covers `mariadb-dump` and `zstd` together). The server's own
memory is not counted for anyone; its CPU time during each step is recorded
(`server`). The machine has 2 cores and is shared: before each case of each
repetition the harness waits (up to 10 minutes) for the 1-minute load
average to drop below 1.0, and before each step (up to 60 s) for 3 s in which
under a quarter of the CPUs are busy; `sync` runs before and after each step.

How to re-run (needs the `mariadb` client, `mariadb-dump`, `zstd`,
`mydumper`, `time`; MariaDB 10.10+ for `RANDOM_BYTES`; ~3 GB free in the
scratch folder and ~1.5 GB in the server's datadir; about an hour at full size):

```sh
apt-get install -y mydumper zstd time
# (--odbackup-commit HEAD: odbackup runs from an exported copy of that commit, so
# commits landing in the checkout during the hour-long run do not change what is measured)
python3 bench/database.py --odbackup .venv/bin/odbackup --odbackup-commit HEAD --write-doc
# a quick end-to-end check of the harness on small data (the databases are
# re-created whenever --rows or --blob-rows change; results-database.json is overwritten)
python3 bench/database.py --odbackup .venv/bin/odbackup --rows 100000 --blob-rows 20 --reps 1 --wait-load 0
# re-render this section from the last results, without running anything
python3 bench/database.py --render-only --write-doc
# drop the odbb_* databases the harness created
python3 bench/database.py --cleanup
```

Options: `--rows` (default 2,000,000), `--blob-rows` (120), `--reps` (3),
`--cases bench,blobs,lock`, `--tools odbackup,mariadb-dump,mydumper`,
`--load-below` (1.0), `--wait-load` (600 s), `--wait-idle` (60 s), `--timeout`
(s per command of the bench case, 1800), `--timeout-small` (blobs and lock
cases, 300). A command that runs out of time is killed, so are its queries
left on the server (they may hold a global read lock), and that tool is not
run again on that case in later repetitions. Raw results: `SCRATCH/results-database.json` (default scratch
`/tmp/odbackup-bench-db`); every command's output and `/usr/bin/time -v` report
in `SCRATCH/logs/`.
"""


def write_doc(doc: Path, section: str) -> None:
    """Replace the text between the database markers in DOC (appending them if absent)."""
    text = doc.read_text()
    start, end = text.find(BEGIN_MARK), text.find(END_MARK)
    if start < 0 and end < 0:
        doc.write_text(text.rstrip("\n") + f"\n\n{BEGIN_MARK}\n{section}\n{END_MARK}\n")
        return
    if start < 0 or end < start:
        sys.exit(f"{doc}: markers {BEGIN_MARK} ... {END_MARK} are broken")
    doc.write_text(f"{text[: start + len(BEGIN_MARK)]}\n{section}\n{text[end:]}")


# --- the command line ---------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scratch",
        type=Path,
        default=DEFAULT_SCRATCH,
        help=f"work folder outside the repo (default {DEFAULT_SCRATCH})",
    )
    parser.add_argument(
        "--odbackup", help="path to the odbackup program (default: odbackup on PATH)"
    )
    parser.add_argument(
        "--odbackup-commit",
        metavar="REV",
        help="run odbackup from this commit of the checkout, exported once (git archive) so"
        " that changes to the checkout during the run do not leak in; needs --odbackup's venv",
    )
    parser.add_argument(
        "--tools", default=",".join(ALL_TOOLS), help="subset of " + ",".join(ALL_TOOLS)
    )
    parser.add_argument(
        "--cases", default=",".join(ALL_CASES), help="subset of " + ",".join(ALL_CASES)
    )
    parser.add_argument("--rows", type=int, default=2_000_000, help="rows of procedurelog_big")
    parser.add_argument("--blob-rows", type=int, default=120, help="rows of odbb_blobs.files")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument(
        "--timeout", type=float, default=1800, help="seconds allowed per command of the bench case"
    )
    parser.add_argument(
        "--timeout-small",
        type=float,
        default=300,
        help="seconds allowed per command of the blobs and lock cases (default 300)",
    )
    parser.add_argument(
        "--load-below",
        type=float,
        default=1.0,
        help="before each case of each repetition, wait for this 1-minute load average",
    )
    parser.add_argument(
        "--wait-load", type=float, default=600, help="... but at most this many seconds"
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=60,
        help="before each step, wait up to this long for 3 quiet seconds (0: off)",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the runs of other cases/tools from the last results file (same data)",
    )
    parser.add_argument("--write-doc", action="store_true", help="update docs/BENCHMARKS.md")
    parser.add_argument("--doc", type=Path, default=DEFAULT_DOC, help=argparse.SUPPRESS)
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="run nothing; render SCRATCH/results-database.json",
    )
    parser.add_argument(
        "--cleanup", action="store_true", help="drop the odbb_* databases this harness made"
    )
    return parser.parse_args(argv)


def subset(text: str, allowed: tuple[str, ...], what: str) -> tuple[str, ...]:
    """Parse a comma-separated subset, keeping the canonical order."""
    chosen = set(text.split(","))
    unknown = chosen - set(allowed)
    if unknown:
        sys.exit(f"unknown {what}: {', '.join(sorted(unknown))}; choose from {', '.join(allowed)}")
    return tuple(a for a in allowed if a in chosen)


def versions(tools: tuple[str, ...], odbackup_bin: str, pinned: str | None) -> dict[str, str]:
    """Version lines of the server and the tools."""
    found = {"server": "MariaDB " + sql("SELECT VERSION()").strip()}
    if "odbackup" in tools:
        found["odbackup"] = (
            f"{first_line([odbackup_bin, '--version'])} at commit {pinned[:12]} (exported, pinned)"
            if pinned
            else Odbackup("odbackup", odbackup_bin).version()
        )
    if "mariadb-dump" in tools:
        found["mariadb-dump"] = (
            first_line(["mariadb-dump", "--version"])
            + "; "
            + first_line(["zstd", "--version"])
            + "; "
            + first_line(["mariadb", "--version"])
        )
    if "mydumper" in tools:
        found["mydumper"] = (
            first_line(["mydumper", "--version"]) + "; " + first_line(["myloader", "--version"])
        )
    return found


PIN_WRAPPER = """#!{python}
# odbackup from the source exported at commit {commit} (bench/database.py --odbackup-commit)
import sys

sys.meta_path[:] = [f for f in sys.meta_path if getattr(f, "__name__", "") != "_EditableFinder"]
sys.path.insert(0, {src!r})
from tui.cli import main

sys.exit(main())
"""


def pin_odbackup(scratch: Path, odbackup_bin: str, rev: str) -> tuple[str, str]:
    """Export REV of this checkout and return (a program running it, the full commit).

    The checkout may change while the benchmark runs (its venv installs it
    editable); the exported copy does not. The program is the venv's Python
    (the interpreter of ODBACKUP_BIN) with the exported source first on the path.
    """
    commit = first_line(["git", "-C", str(REPO_ROOT), "rev-parse", "--verify", rev + "^{commit}"])
    src = scratch / "odbackup-src" / commit[:12]
    if not (src / "tui" / "cli.py").exists():
        shutil.rmtree(src, ignore_errors=True)
        src.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "archive", commit], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
    python = Path(odbackup_bin).read_text().splitlines()[0].removeprefix("#!").strip()
    wrapper = src / "odbackup"
    wrapper.write_text(PIN_WRAPPER.format(python=python, commit=commit, src=str(src)))
    wrapper.chmod(0o755)
    return str(wrapper), commit


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or re-render, or clean up)."""
    args = parse_args(argv)
    scratch = check_scratch(args.scratch)
    out = scratch / "results-database.json"
    if args.cleanup:
        drop_ours(scratch, read_marker(scratch))
        marker_path(scratch).unlink(missing_ok=True)
        print("dropped the harness's databases", file=sys.stderr)
        return 0
    ok = True
    if args.render_only:
        results = json.loads(out.read_text())
    else:
        if not Path(TIME_BIN).exists():
            sys.exit(f"{TIME_BIN} missing: apt-get install -y time")
        tools = subset(args.tools, ALL_TOOLS, "tools")
        cases = subset(args.cases, ALL_CASES, "cases")
        for program in ("mariadb", "mariadb-dump", "zstd", "mydumper", "myloader"):
            locate(program)
        odbackup_bin = locate(args.odbackup or "odbackup")
        pinned = None
        if args.odbackup_commit:
            odbackup_bin, pinned = pin_odbackup(scratch, odbackup_bin, args.odbackup_commit)
        (scratch / "logs").mkdir(parents=True, exist_ok=True)
        plan = Plan(
            scratch,
            tools,
            cases,
            args.reps,
            args.timeout,
            args.timeout_small,
            args.wait_idle,
            args.wait_load,
            args.load_below,
            odbackup_bin,
            args.rows,
        )
        facts = ensure_data(scratch, DataParams(args.rows, args.blob_rows), odbackup_bin)
        previous = json.loads(out.read_text()) if args.merge and out.exists() else None
        results = {
            "benchmark": "database",
            "machine": machine_facts(),
            "params": asdict(DataParams(args.rows, args.blob_rows)),
            "data": facts,
            "reps": args.reps,
            "load_below": args.load_below,
            "tools": list(tools),
            "cases": list(cases),
            "versions": versions(tools, odbackup_bin, pinned),
            "runs": [],
        }
        if previous is not None:
            if previous.get("params") != results["params"]:
                sys.exit(f"--merge: {out} was made with other data parameters")
            mine = {(c, t) for c in cases for t in CASE_TOOLS[c] if t in tools}
            results["runs"] = [r for r in previous["runs"] if (r["case"], r["tool"]) not in mine]
            results["cases"] = [c for c in ALL_CASES if c in cases or c in previous["cases"]]
            results["tools"] = [t for t in ALL_TOOLS if t in tools or t in previous["tools"]]
            results["versions"] = {**previous["versions"], **results["versions"]}
        save_json(results, out)
        ok = run_all(plan, facts, results, out)
        shutil.rmtree(scratch / "work", ignore_errors=True)
    section = render_section(results)
    print(section)
    print(f"\nraw results: {out}", file=sys.stderr)
    if args.write_doc:
        write_doc(args.doc, section)
        print(f"updated {args.doc}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
