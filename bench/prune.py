#!/usr/bin/env python3
"""Prune benchmark: ``odbackup forget --prune`` against ``restic forget --prune``, same snapshots.

Once per tool: 10 backups of a changing images tree (bench/make_atoz_tree.py):
each step removes the files the previous step added and adds new ones
(about 7% of the base tree), so that forgetting the oldest 5 snapshots
(``--keep-last 5`` in both tools) leaves about 20% of the stored data unused.
That repository is kept as a pristine copy; each repetition (tools in
rotating order) copies it afresh (untimed), then times ``forget --keep-last 5
--prune`` under ``/usr/bin/time -v`` (bench/measure.py: wall time and the peak
RSS of the process tree).

odbackup runs as the scheduled maintenance does: with the machine's
write-only credentials (``odbackup enroll``), no passphrase, applying the
policy stored in the repository (``--keep-last 5``, set with the passphrase). restic has no
such mode and opens its repository with its password (scrypt, ~0.1 s here).

The medians are printed as Markdown; ``--write-doc`` puts them into
docs/BENCHMARKS.md between ``<!-- prune:begin -->`` and ``<!-- prune:end -->``.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from folders import machine_facts
from make_atoz_tree import GB, TreeParams, TreeStats, ensure_tree, make_patient
from measure import measure
from report import write_doc
from tools import REPO_ROOT, git_revision, locate, make_tools

DEFAULT_SCRATCH = Path("/tmp/odbackup-bench-prune")
DOC = REPO_ROOT / "docs" / "BENCHMARKS.md"
BEGIN, END = "<!-- prune:begin -->", "<!-- prune:end -->"
SNAPSHOTS, KEEP = 10, 5


def change(live: Path, rng: random.Random, added: list[Path], step_bytes: int, patnum: int) -> list[Path]:
    """Remove the folders the previous step added; add new patients worth ``step_bytes``."""
    for folder in added:
        shutil.rmtree(folder)
    stats, new = TreeStats(), []
    while stats.bytes < step_bytes:
        before = {p for p in live.glob("*/*")}
        make_patient(rng, live, patnum, stats)
        new += sorted({p for p in live.glob("*/*")} - before)
        patnum += 1
    return new


def build(tool, scratch: Path, base: Path, step_bytes: int) -> Path:
    """The tool's repository with SNAPSHOTS snapshots of the changing tree (made once, kept)."""
    work = scratch / "pristine" / tool.name
    repo = work / "repo"
    if (work / "done").exists():
        return work
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    live = scratch / "live"
    shutil.rmtree(live, ignore_errors=True)
    shutil.copytree(base, live)
    env = tool.env(work)
    tool.init(repo, env, work / "init.log")
    if tool.name == "odbackup":
        # As a practice sets it up: the machine enrolled, the policy stored with the passphrase.
        subprocess.run([tool.binary, "enroll", "--repo", str(repo)], env=env, check=True, capture_output=True)
        subprocess.run([tool.binary, "forget", "--repo", str(repo), "--keep-last", str(KEEP), "--save-policy"],
                       env=env, check=True, capture_output=True)
    rng, added = random.Random(2026), []
    for step in range(SNAPSHOTS):
        added = change(live, rng, added, step_bytes, 900_000 + step * 10_000)
        subprocess.run(tool.backup_cmd(repo, live, f"s{step}"), env=env, check=True, capture_output=True)
    (work / "done").write_text("ok")
    return work


def forget_cmd(tool, repo: Path) -> list[str]:
    if tool.name == "odbackup":
        return [tool.binary, "forget", "--repo", str(repo), "--prune"]  # the stored policy: keep the last 5
    return [tool.binary, "--repo", str(repo), "--cache-dir", str(repo.parent / "cache"), "forget",
            "--keep-last", str(KEEP), "--prune"]


def run_once(tool, scratch: Path, rep: int) -> dict:
    pristine = scratch / "pristine" / tool.name
    work = scratch / "work" / tool.name
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(pristine, work, symlinks=True)
    before = folder_bytes(work / "repo")
    env = tool.env(work)
    if tool.name == "odbackup":
        env.pop("ODBACKUP_PASSPHRASE", None)  # the machine's write-only credentials only
    m = measure(forget_cmd(tool, work / "repo"), env, work / f"forget{rep}", None, 1800)
    after = folder_bytes(work / "repo")
    return {"tool": tool.name, "rep": rep, "wall_s": m.wall_s, "peak_rss_mib": round(m.peak_rss_kib / 1024, 1),
            "user_s": m.user_s, "sys_s": m.sys_s, "others_cpu_s": m.others_cpu_s,
            "before": before, "after": after}


def folder_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def render(runs: list[dict], facts: dict, tree: TreeStats, versions: dict) -> str:
    med = {}
    for name in ("odbackup", "restic"):
        mine = [r for r in runs if r["tool"] == name]
        med[name] = {k: statistics.median(r[k] for r in mine)
                     for k in ("wall_s", "peak_rss_mib", "before", "after", "others_cpu_s")}
        med[name]["cpu_s"] = statistics.median(r["user_s"] + r["sys_s"] for r in mine)
    o, r = med["odbackup"], med["restic"]
    mib = 1024 * 1024
    lines = [
        f"Run {facts['date']} on {facts['cpu']} ({facts['nproc']} cores, {facts['ram']}), git {git_revision()}; "
        f"{versions['odbackup']}, {versions['restic']}. Tree: {tree.files:,} files, {tree.bytes / mib:,.0f} MiB; "
        f"{SNAPSHOTS} snapshots, each step replacing the previous step's new patients (~7% of the tree); "
        f"`forget --keep-last {KEEP} --prune`; medians of {len(runs) // 2} runs per tool. Load average when "
        f"the runs began: {facts.get('load', '?')} (other work shared the machine).",
        "",
        "| | odbackup | restic | odbackup / restic |",
        "| --- | ---: | ---: | ---: |",
        f"| forget + prune, wall (s) | {o['wall_s']:.2f} | {r['wall_s']:.2f} | {o['wall_s'] / r['wall_s']:.2f}x "
        "(target at most 1.0x) |",
        f"| CPU, user + sys (s) | {o['cpu_s']:.2f} | {r['cpu_s']:.2f} | {o['cpu_s'] / r['cpu_s']:.2f}x |",
        f"| other processes' CPU meanwhile (s) | {o['others_cpu_s']:.2f} | {r['others_cpu_s']:.2f} | |",
        f"| peak memory (MiB) | {o['peak_rss_mib']:.0f} | {r['peak_rss_mib']:.0f} | (target at most 256 MiB) |",
        f"| repository before (MiB) | {o['before'] / mib:,.0f} | {r['before'] / mib:,.0f} | |",
        f"| repository after (MiB) | {o['after'] / mib:,.0f} | {r['after'] / mib:,.0f} | |",
        f"| freed | {1 - o['after'] / o['before']:.0%} | {1 - r['after'] / r['before']:.0%} | |",
        "",
        "Every run (wall s / peak MiB): " + "; ".join(
            f"{x['tool']} {x['wall_s']:.2f}/{x['peak_rss_mib']:.0f}" for x in runs) + ".",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scratch", type=Path, default=DEFAULT_SCRATCH)
    parser.add_argument("--size-gb", type=float, default=0.25, help="base tree size (default %(default)s)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--odbackup", default=None, help="odbackup program (default: this checkout's)")
    parser.add_argument("--write-doc", action="store_true")
    args = parser.parse_args(argv)
    tools = make_tools(["odbackup", "restic"], args.odbackup)
    locate("restic")
    tree = ensure_tree(args.scratch / "tree", TreeParams(size_gb=args.size_gb, seed=14))
    step_bytes = int(args.size_gb * GB * 0.07)
    for tool in tools:
        build(tool, args.scratch, args.scratch / "tree", step_bytes)
    runs, load = [], Path("/proc/loadavg").read_text().split()[0]
    for rep in range(args.reps):
        for tool in tools[rep % 2:] + tools[: rep % 2]:
            runs.append(run_once(tool, args.scratch, rep))
            print(json.dumps(runs[-1]), file=sys.stderr)
    versions = {t.name: t.version() for t in tools}
    (args.scratch / "results-prune.json").write_text(json.dumps({"runs": runs, "versions": versions}, indent=1))
    section = render(runs, {**machine_facts(), "load": load}, tree, versions)
    print(section)
    if args.write_doc:
        write_doc(DOC, section, BEGIN, END)
    return 0


if __name__ == "__main__":
    sys.exit(main())
