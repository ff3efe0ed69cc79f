#!/usr/bin/env python3
"""Copy benchmark: ``odbackup copy`` into a related repository against ``restic copy``, same data.

Once per tool (kept as a pristine copy): a repository with one snapshot of the
images tree (bench/make_atoz_tree.py). Each repetition (tools in rotating
order) then, on a fresh copy of that source:

1. makes a fresh target, untimed: ``odbackup init TARGET --related-to SOURCE``
   (with the passphrase, once) or ``restic init --from-repo SOURCE
   --copy-chunker-params`` (so restic too can copy without re-chunking);
2. times the full copy: ``odbackup copy --repo SOURCE --to TARGET`` with the
   machine's write-only credentials only (``enroll``, no passphrase), as an
   archive job runs; ``restic copy --from-repo SOURCE`` with both passwords
   (restic has no other way: it decrypts and re-encrypts every blob);
3. adds one new patient folder (~1% of the tree) and backs it up into the
   source, untimed;
4. times the copy of that small change into the same target.

Each timed step runs under ``/usr/bin/time -v`` (bench/measure.py: wall time,
CPU, the peak RSS of the process tree, and the other processes' CPU meanwhile,
which says how loaded the machine was). The medians are printed as Markdown;
``--write-doc`` puts them into docs/BENCHMARKS.md between ``<!-- copy:begin -->``
and ``<!-- copy:end -->``. (Named ``copies.py``: a ``copy.py`` here would shadow
the standard library's ``copy`` module for the scripts of this folder.)
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
from make_atoz_tree import TreeParams, TreeStats, ensure_tree, make_patient
from measure import measure
from report import write_doc
from tools import PASSPHRASE, REPO_ROOT, git_revision, locate, make_tools

DEFAULT_SCRATCH = Path("/tmp/odbackup-bench-copy")
DOC = REPO_ROOT / "docs" / "BENCHMARKS.md"
BEGIN, END = "<!-- copy:begin -->", "<!-- copy:end -->"


def build(tool, scratch: Path, tree: Path) -> Path:
    """The tool's source repository with one snapshot of the tree (made once, kept)."""
    work = scratch / "pristine" / tool.name
    if (work / "done").exists():
        return work
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = tool.env(work)
    tool.init(work / "repo", env, work / "init.log")
    if tool.name == "odbackup":
        subprocess.run([tool.binary, "enroll", "--repo", str(work / "repo")], env=env, check=True,
                       capture_output=True)
    subprocess.run(tool.backup_cmd(work / "repo", tree, "s0"), env=env, check=True, capture_output=True)
    (work / "done").write_text("ok")
    return work


def restic_base(tool, repo: Path) -> list[str]:
    return [tool.binary, "--repo", str(repo), "--cache-dir", str(repo.parent / f"cache-{repo.name}")]


def make_target(tool, work: Path, env: dict[str, str]) -> None:
    """A fresh target beside the source (untimed)."""
    source, target = work / "repo", work / "target"
    if tool.name == "odbackup":
        cmd = [tool.binary, "init", str(target), "--related-to", str(source), "--label", "bench archive"]
    else:
        cmd = [*restic_base(tool, target), "init", "--from-repo", str(source), "--from-password-file",
               str(work / "password"), "--copy-chunker-params"]
    subprocess.run(cmd, env=env, check=True, capture_output=True)


def copy_cmd(tool, work: Path) -> list[str]:
    if tool.name == "odbackup":
        return [tool.binary, "copy", "--repo", str(work / "repo"), "--to", str(work / "target"), "--json"]
    return [*restic_base(tool, work / "target"), "copy", "--from-repo", str(work / "repo"),
            "--from-password-file", str(work / "password")]


def small_change(tool, work: Path, env: dict[str, str], tree: Path, rep: int) -> int:
    """One new patient folder in a copy of the tree, backed up into the source; returns its bytes."""
    live = work / "live" / tree.name
    shutil.copytree(tree, live)
    stats = TreeStats()
    make_patient(random.Random(rep), live, 990_000 + rep, stats)
    subprocess.run(tool.backup_cmd(work / "repo", live, "s1"), env=env, check=True, capture_output=True)
    return stats.bytes


def run_once(tool, scratch: Path, tree: Path, rep: int) -> dict:
    work = scratch / "work" / tool.name
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(scratch / "pristine" / tool.name, work, symlinks=True)
    (work / "password").write_text(PASSPHRASE)
    env = tool.env(work)
    make_target(tool, work, env)
    timed_env = dict(env)
    if tool.name == "odbackup":
        timed_env.pop("ODBACKUP_PASSPHRASE", None)  # the machine's write-only credentials only
    full = measure(copy_cmd(tool, work), timed_env, work / f"copy{rep}", None, 1800)
    target_bytes = folder_bytes(work / "target")
    added = small_change(tool, work, env, tree, rep)
    before = folder_bytes(work / "target")
    change = measure(copy_cmd(tool, work), timed_env, work / f"change{rep}", None, 1800)
    return {"tool": tool.name, "rep": rep, "wall_s": full.wall_s, "cpu_s": full.user_s + full.sys_s,
            "peak_rss_mib": round(full.peak_rss_kib / 1024, 1), "others_cpu_s": full.others_cpu_s,
            "target_bytes": target_bytes, "change_wall_s": change.wall_s, "change_added": added,
            "change_sent": folder_bytes(work / "target") - before}


def folder_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def render(runs: list[dict], facts: dict, tree: TreeStats, versions: dict) -> str:
    med = {name: {k: statistics.median(r[k] for r in runs if r["tool"] == name)
                  for k in ("wall_s", "cpu_s", "peak_rss_mib", "others_cpu_s", "target_bytes", "change_wall_s",
                            "change_sent", "change_added")}
           for name in ("odbackup", "restic")}
    o, r = med["odbackup"], med["restic"]
    mib = 1024 * 1024
    lines = [
        f"Run {facts['date']} on {facts['cpu']} ({facts['nproc']} cores, {facts['ram']}), git {git_revision()}; "
        f"{versions['odbackup']}, {versions['restic']}. Tree: {tree.files:,} files, {tree.bytes / mib:,.0f} MiB, "
        f"one snapshot; medians of {len(runs) // 2} runs per tool. Load average when the runs began: "
        f"{facts.get('load', '?')} on 2 cores (other helpers' test suites shared the machine).",
        "",
        "| | odbackup | restic | odbackup / restic |",
        "| --- | ---: | ---: | ---: |",
        f"| full copy into a fresh target, wall (s) | {o['wall_s']:.2f} | {r['wall_s']:.2f} | "
        f"{o['wall_s'] / r['wall_s']:.2f}x (target at most 1.0x) |",
        f"| CPU, user + sys (s) | {o['cpu_s']:.2f} | {r['cpu_s']:.2f} | {o['cpu_s'] / r['cpu_s']:.2f}x |",
        f"| other processes' CPU meanwhile (s) | {o['others_cpu_s']:.2f} | {r['others_cpu_s']:.2f} | |",
        f"| peak memory (MiB) | {o['peak_rss_mib']:.0f} | {r['peak_rss_mib']:.0f} | |",
        f"| target after the copy (MiB) | {o['target_bytes'] / mib:,.0f} | {r['target_bytes'] / mib:,.0f} | |",
        f"| copy after a small change, wall (s) | {o['change_wall_s']:.2f} | {r['change_wall_s']:.2f} | "
        f"{o['change_wall_s'] / r['change_wall_s']:.2f}x |",
        f"| ... new files / target grew by (MiB) | {o['change_added'] / mib:.1f} / {o['change_sent'] / mib:.1f} | "
        f"{r['change_added'] / mib:.1f} / {r['change_sent'] / mib:.1f} | |",
        "",
        "Every run (full copy wall s / small change wall s): " + "; ".join(
            f"{x['tool']} {x['wall_s']:.2f}/{x['change_wall_s']:.2f}" for x in runs) + ".",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scratch", type=Path, default=DEFAULT_SCRATCH)
    parser.add_argument("--size-gb", type=float, default=0.25, help="tree size (default %(default)s)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--odbackup", default=None, help="odbackup program (default: this checkout's)")
    parser.add_argument("--write-doc", action="store_true")
    args = parser.parse_args(argv)
    tools = make_tools(["odbackup", "restic"], args.odbackup)
    locate("restic")
    tree_path = args.scratch / "tree" / "OpenDentImages"
    tree = ensure_tree(tree_path, TreeParams(size_gb=args.size_gb, seed=14))
    for tool in tools:
        build(tool, args.scratch, tree_path)
    runs, load = [], Path("/proc/loadavg").read_text().split()[0]
    for rep in range(args.reps):
        for tool in tools[rep % 2:] + tools[: rep % 2]:
            runs.append(run_once(tool, args.scratch, tree_path, rep))
            print(json.dumps(runs[-1]), file=sys.stderr)
    versions = {t.name: t.version() for t in tools}
    (args.scratch / "results-copy.json").write_text(json.dumps({"runs": runs, "versions": versions}, indent=1))
    section = render(runs, {**machine_facts(), "load": load}, tree, versions)
    print(section)
    if args.write_doc:
        write_doc(DOC, section, BEGIN, END)
    return 0


if __name__ == "__main__":
    sys.exit(main())
