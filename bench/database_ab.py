#!/usr/bin/env python3
"""Interleaved A/B runs of the database backup and restore against their anchors.

The full harness (``database.py``) takes an hour; this one measures the two
issue-17 targets only, on a database that already exists (``database.py``
makes ``odbb_bench``), so a change can be measured against the code before
it and against the anchors in the same run:

- full backup: odbackup against ``mydumper -t 2 -c`` (gzip-compressed files,
  the flags mydumper 0.10 offers; ``-R -E -G`` as the harness);
- restore into a new database: odbackup against ``mariadb NEWDB < dump.sql``
  (the plain replay of a ``mariadb-dump --single-transaction`` made once).

Each odbackup variant is a commit exported once (``--variant NAME=REV``,
``REV`` ``WORKTREE`` runs the checkout as it is, ``dir:PATH`` a source
folder holding an experiment). Every repetition runs every
tool once per step, in an order rotated between repetitions; a ``sync`` and a
pause come before each step. Wall time, the tool's user and system CPU time
(of its process tree) and the server's CPU time are recorded; every restore
is checked (``CHECKSUM TABLE`` of every table against the source). Results go
to ``SCRATCH/ab.json``; medians, min-max and the per-repetition ratios are
printed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from database import CLIENT, SERVER_URL, charset_of, check_same, drop_database, server_cpu_s
from tools import PASSPHRASE, REPO_ROOT, first_line

SOURCE = "odbb_bench"
TARGET = "odbb_restore_ab"
WRAPPER = """#!/bin/sh
PYTHONPATH={src} exec {python} -c 'import sys; from tui.cli import main; sys.argv[0] = "odbackup"; sys.exit(main())' "$@"
"""


def export(scratch: Path, rev: str) -> Path:
    """A program running REV of the checkout (or the checkout itself for WORKTREE)."""
    python = REPO_ROOT / ".venv" / "bin" / "python"
    if rev == "WORKTREE":
        src = REPO_ROOT
    elif rev.startswith("dir:"):  # a source folder (an experiment not committed)
        src = Path(rev.removeprefix("dir:")).resolve()
    else:
        commit = first_line(["git", "-C", str(REPO_ROOT), "rev-parse", "--verify", rev + "^{commit}"])
        src = scratch / "src" / commit[:12]
        if not (src / "tui" / "cli.py").exists():
            src.mkdir(parents=True, exist_ok=True)
            archive = subprocess.run(["git", "-C", str(REPO_ROOT), "archive", commit],
                                     check=True, capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
    wrapper = scratch / "bin" / f"odbackup-{rev.replace('/', '_')}"
    wrapper.parent.mkdir(parents=True, exist_ok=True)
    wrapper.write_text(WRAPPER.format(src=src, python=python))
    wrapper.chmod(0o755)
    return wrapper


def timed(cmd: list[str] | str, env: dict[str, str], log: Path, pause: float) -> dict:
    """Run CMD (a shell line when a str); wall, user and system time of its tree, server CPU."""
    subprocess.run(["sync"], check=True)
    time.sleep(pause)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server = server_cpu_s()
    started = time.monotonic()
    with open(log, "wb") as out:
        done = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, shell=isinstance(cmd, str))
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{cmd} exited {done.returncode}; see {log}")
    return {"wall_s": round(wall, 3), "user_s": round(after.ru_utime - before.ru_utime, 3),
            "sys_s": round(after.ru_stime - before.ru_stime, 3),
            "server_cpu_s": round(server_cpu_s() - server, 3)}


def fresh_target() -> None:
    """An empty TARGET with the source's character set (what the anchors' restore needs)."""
    drop_database(TARGET)
    charset, collation = charset_of(SOURCE)
    subprocess.run(["mariadb", *CLIENT, "-e",
                    f"CREATE DATABASE `{TARGET}` CHARACTER SET {charset} COLLATE {collation}"], check=True)


class Bench:
    """The tools and what they share between steps (repositories, the dump file)."""

    def __init__(self, scratch: Path, variants: dict[str, Path], pause: float, check: bool) -> None:
        self.scratch, self.variants, self.pause, self.check = scratch, variants, pause, check
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ODBACKUP_")}
        self.env.update(ODBACKUP_PASSPHRASE=PASSPHRASE, HOME=str(scratch / "home"),
                        XDG_CONFIG_HOME=str(scratch / "home" / "config"),
                        XDG_CACHE_HOME=str(scratch / "home" / "cache"),
                        XDG_DATA_HOME=str(scratch / "home" / "data"),
                        XDG_STATE_HOME=str(scratch / "home" / "state"),
                        ODBACKUP_CONFIG_DIR=str(scratch / "home" / "odb-config"),
                        ODBACKUP_CACHE_DIR=str(scratch / "home" / "odb-cache"))
        self.dump = scratch / "dump.sql"

    def prepare(self) -> None:
        """The plain dump the replay anchor restores (made once, not timed)."""
        if not self.dump.exists():
            client = " ".join(CLIENT)
            subprocess.run(f"mariadb-dump {client} --single-transaction --routines --triggers --events "
                           f"{SOURCE} > {self.dump}.part && mv {self.dump}.part {self.dump}",
                           shell=True, check=True)

    def backup(self, tool: str, rep: int) -> dict:
        log = self.scratch / f"backup-{tool}-{rep}.log"
        if tool.startswith("mydumper"):  # "mydumper-plain": without compression, for reference
            out = self.scratch / "mydumper"
            shutil.rmtree(out, ignore_errors=True)
            compress = [] if tool == "mydumper-plain" else ["-c"]
            return timed(["mydumper", *CLIENT, "-B", SOURCE, "-t", "2", *compress, "-R", "-E", "-G", "-o", str(out)],
                         self.env, log, self.pause)
        repo = self.scratch / f"repo-{tool}"
        shutil.rmtree(repo, ignore_errors=True)
        shutil.rmtree(self.scratch / "home", ignore_errors=True)
        prog = str(self.variants[tool])
        subprocess.run([prog, "init", str(repo)], env=self.env, check=True, capture_output=True)
        return timed([prog, "backup", "--repo", str(repo), "--db", f"{SERVER_URL}/{SOURCE}",
                      "--lock-mode", "consistent", "--json"], self.env, log, self.pause)

    def restore(self, tool: str, rep: int) -> dict:
        log = self.scratch / f"restore-{tool}-{rep}.log"
        if tool == "replay":
            fresh_target()
            result = timed(f"mariadb {' '.join(CLIENT)} {TARGET} < {self.dump}", self.env, log, self.pause)
        else:
            drop_database(TARGET)
            repo = self.scratch / f"repo-{tool}"
            result = timed([str(self.variants[tool]), "restore-db", "--repo", str(repo), "latest", "--into",
                            f"{SERVER_URL}/{TARGET}", "--json"], self.env, log, self.pause)
        try:
            if self.check:
                check_same(SOURCE, TARGET)
        finally:
            drop_database(TARGET)
        return result


def summary(results: dict, step: str, anchor: str) -> list[str]:
    """Medians [min-max] per tool and the per-repetition ratios against ANCHOR."""
    lines = []
    runs = results[step]
    for tool, rows in runs.items():
        walls = [r["wall_s"] for r in rows]
        users = [r["user_s"] for r in rows]
        servers = [r["server_cpu_s"] for r in rows]
        line = (f"{step:8} {tool:12} wall {statistics.median(walls):6.2f} s [{min(walls):.2f}-{max(walls):.2f}]"
                f"  user {statistics.median(users):5.2f}  sys {statistics.median([r['sys_s'] for r in rows]):5.2f}"
                f"  server {statistics.median(servers):5.2f}")
        if tool != anchor and anchor in runs:
            pairs = [round(a["wall_s"] / b["wall_s"], 2) for a, b in zip(rows, runs[anchor], strict=False)]
            ratio = statistics.median(rows_w := walls) / statistics.median([r["wall_s"] for r in runs[anchor]])
            line += f"  ratio {ratio:.2f}x pairs {pairs}" if rows_w else ""
        lines.append(line)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/odbackup-bench-ab"))
    parser.add_argument("--variant", action="append", default=[], help="NAME=REV (REV WORKTREE: the checkout; dir:PATH: a source folder)")
    parser.add_argument("--steps", default="backup,restore")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--pause", type=float, default=1.0)
    parser.add_argument("--no-anchors", action="store_true")
    parser.add_argument("--no-check", action="store_true", help="skip the restore checksums")
    parser.add_argument("--plain-mydumper", action="store_true",
                        help="also time mydumper -t 2 without compression (for reference)")
    args = parser.parse_args(argv)
    args.scratch.mkdir(parents=True, exist_ok=True)
    variants = dict(v.split("=", 1) for v in (args.variant or ["odbackup=WORKTREE"]))
    progs = {name: export(args.scratch, rev) for name, rev in variants.items()}
    bench = Bench(args.scratch, progs, args.pause, not args.no_check)
    steps = args.steps.split(",")
    anchors = {} if args.no_anchors else {"backup": "mydumper", "restore": "replay"}
    if "restore" in steps and anchors:
        bench.prepare()
    results: dict = {step: {} for step in steps}
    tools = list(progs)
    for rep in range(args.reps):
        for step in steps:
            order = tools + ([anchors[step]] if step in anchors else [])
            if step == "backup" and args.plain_mydumper:
                order.append("mydumper-plain")
            order = order[rep % len(order):] + order[: rep % len(order)]
            if step == "restore":  # each variant restores its own last backup
                order = [t for t in order if t not in progs or (args.scratch / f"repo-{t}").exists()]
            for tool in order:
                result = getattr(bench, step)(tool, rep)
                results[step].setdefault(tool, []).append(result)
                print(f"rep {rep} {step} {tool}: {result}", file=sys.stderr, flush=True)
    (args.scratch / "ab.json").write_text(json.dumps({"variants": variants, "results": results}, indent=1))
    for step in steps:
        print("\n".join(summary(results, step, anchors.get(step, ""))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
