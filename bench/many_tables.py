#!/usr/bin/env python3
"""Many small tables: a backup of the real Open Dental schema, against mariadb-dump | zstd.

A practice's database is hundreds of tables, most of them empty or holding a
few rows, beside a handful of big ones. ``database.py`` measures the big
table; this measures what every table costs on its own: the Open Dental
21.1.9 unit-test dump from ``../shared/corpora/opendental`` (379 MyISAM
tables, 316 of them empty, 21,551 rows), loaded into ``odbb_od``.

Pairs, in alternating order, each on a fresh repository and cache:

- ``odbackup backup --lock-mode consistent --json`` (wall time, lock window
  = the ``held`` of its ``lock_released`` events), then an unchanged re-run;
- ``mariadb-dump --single-transaction --routines --triggers --events | zstd -3``.

Prints the medians as a Markdown table. ``--cleanup`` drops ``odbb_od``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import wait_until_idle

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent.parent / "shared" / "corpora" / "opendental" / "opendental-21.1.9-unittest-dump.sql"
DB = "odbb_od"
CLIENT = ["-h", "127.0.0.1", "-P", "3306", "-u", "root"]
URL = f"mysql://root@127.0.0.1:3306/{DB}"
PASSPHRASE = "bench-many-tables"


def sql(text: str, database: str = "") -> str:
    return subprocess.run(["mariadb", *CLIENT, "-N", "-B", *([database] if database else []), "-e", text],
                          check=True, capture_output=True, text=True).stdout


def ensure_corpus(corpus: Path) -> int:
    """Load the corpus into odbb_od unless it is there; returns its table count."""
    count = sql(f"SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{DB}'").strip()
    if count == "379":
        return 379
    sql(f"DROP DATABASE IF EXISTS `{DB}`; CREATE DATABASE `{DB}`")
    with open(corpus, "rb") as source:
        subprocess.run(["mariadb", *CLIENT, DB], stdin=source, check=True)
    time.sleep(1.1)  # the table cache trusts only tables changed in an earlier second than the read
    return int(sql(f"SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{DB}'").strip())


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    os.sync()
    started = time.monotonic()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return wall, done.stdout


def lock_window(jsonl: str) -> float:
    events = [json.loads(line) for line in jsonl.splitlines() if line.startswith("{")]
    return sum(e.get("held", 0.0) for e in events if e.get("event") == "lock_released")


def odbackup_pair(binary: str, work: Path) -> dict[str, float]:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = {**os.environ, "ODBACKUP_PASSPHRASE": PASSPHRASE, "ODBACKUP_CONFIG_DIR": str(work / "config"),
           "ODBACKUP_CACHE_DIR": str(work / "cache")}
    subprocess.run([binary, "init", str(work / "repo")], env=env, check=True, capture_output=True)
    backup = [binary, "backup", "--repo", str(work / "repo"), "--db", URL, "--lock-mode", "consistent", "--json"]
    wall, out = timed(backup, env)
    rerun, out2 = timed(backup, env)
    return {"backup": wall, "lock": lock_window(out), "rerun": rerun, "rerun_lock": lock_window(out2)}


def dump(work: Path) -> float:
    work.mkdir(parents=True, exist_ok=True)
    wall, _ = timed(["bash", "-o", "pipefail", "-c",
                     f"mariadb-dump {' '.join(CLIENT)} --single-transaction --routines --triggers --events {DB}"
                     f" | zstd -3 -q > {work / 'dump.sql.zst'}"], dict(os.environ))
    return wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--odbackup", default=shutil.which("odbackup") or "odbackup")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--wait-idle", type=float, default=10.0, help="seconds to wait for a quiet machine")
    parser.add_argument("--cleanup", action="store_true", help=f"drop {DB} and stop")
    args = parser.parse_args()
    if args.cleanup:
        sql(f"DROP DATABASE IF EXISTS `{DB}`")
        return 0
    tables = ensure_corpus(args.corpus)
    runs: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="odbb-many-") as scratch:
        for i in range(args.pairs):
            order = ("odbackup", "dump") if i % 2 == 0 else ("dump", "odbackup")
            for tool in order:
                if args.wait_idle > 0:
                    wait_until_idle(args.wait_idle)
                if tool == "odbackup":
                    for key, value in odbackup_pair(args.odbackup, Path(scratch) / "odbackup").items():
                        runs.setdefault(key, []).append(value)
                else:
                    runs.setdefault("dump", []).append(dump(Path(scratch) / "dump"))
            print(f"pair {i + 1}: odbackup {runs['backup'][-1]:.2f} s (lock {runs['lock'][-1]:.2f} s),"
                  f" mariadb-dump | zstd {runs['dump'][-1]:.2f} s", file=sys.stderr)
    med = {key: statistics.median(values) for key, values in runs.items()}
    print(f"{DB}: {tables} tables; medians of {args.pairs} pairs\n")
    print("| step | odbackup | `mariadb-dump \\| zstd -3` | ratio |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| full backup | {med['backup']:.2f} s | {med['dump']:.2f} s | {med['backup'] / med['dump']:.2f}x |")
    print(f"| its lock window | {med['lock']:.2f} s | | |")
    print(f"| unchanged re-run | {med['rerun']:.2f} s (lock {med['rerun_lock']:.3f} s) | | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
