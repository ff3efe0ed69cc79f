#!/usr/bin/env python3
"""Online storage benchmark: odbackup's S3 backend against restic 0.14's, on the same local
SeaweedFS (``weed mini`` from the test extras, tests/s3/seaweed.py), in the same run.

On the images tree (bench/make_atoz_tree.py), each repetition (tools in rotating order), each
tool in a fresh prefix of the bucket:

1. ``init`` (untimed), then the first backup, timed;
2. a full restore of it into an empty folder, timed, then checked (counts, bytes, sampled
   files' hashes);
3. the resume after a kill at half way: in another fresh prefix, a backup is killed (SIGKILL)
   once the bucket holds half of the bytes step 1 stored under ``data/``; the next backup is
   run to the end, and the bytes it sent under ``data/`` (the server's object list before
   and after) are compared with what was left to send (step 1's total minus what the killed
   run had landed).

Each timed step runs under ``/usr/bin/time -v`` (bench/measure.py). The medians print as
Markdown; ``--write-doc`` puts them into docs/BENCHMARKS.md between ``<!-- s3:begin -->`` and
``<!-- s3:end -->``. Every tool's HOME, config and cache folders are inside the scratch folder.
"""
from __future__ import annotations

import argparse
import json
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from folders import machine_facts, scan_tree, verify_restore
from make_atoz_tree import TreeParams, ensure_tree
from measure import measure
from report import write_doc
from tools import REPO_ROOT, git_revision, locate, make_tools

sys.path.insert(0, str(REPO_ROOT / "tests" / "s3"))
from seaweed import KEY_ID, SECRET, Seaweed  # noqa: E402

DEFAULT_SCRATCH = Path("/tmp/odbackup-bench-s3")
DOC = REPO_ROOT / "docs" / "BENCHMARKS.md"
BEGIN, END = "<!-- s3:begin -->", "<!-- s3:end -->"
BUCKET = "odbench"


def s3_env(tool, work: Path) -> dict[str, str]:
    return {**tool.env(work), "AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET}


def location(server: Seaweed, prefix: str) -> str:
    return server.location(prefix, bucket=BUCKET)


def init_cmd(tool, repo: str, work: Path) -> list[str]:
    if tool.name == "odbackup":
        return [tool.binary, "init", repo]
    return [tool.binary, "--repo", repo, "--cache-dir", str(work / "cache"), "init"]


def backup_cmd(tool, repo: str, tree: Path, work: Path) -> list[str]:
    if tool.name == "odbackup":
        return [tool.binary, "backup", "--repo", repo, "--path", str(tree)]
    return [tool.binary, "--repo", repo, "--cache-dir", str(work / "cache"), "backup", str(tree)]


def restore_cmd(tool, repo: str, target: Path, work: Path) -> list[str]:
    if tool.name == "odbackup":
        return [tool.binary, "restore", "--repo", repo, "latest", "--to", str(target)]
    return [tool.binary, "--repo", repo, "--cache-dir", str(work / "cache"), "restore", "latest", "--target",
            str(target)]


def data_bytes(server: Seaweed, prefix: str) -> dict[str, int]:
    return {n: s for n, s in server.objects(prefix, bucket=BUCKET).items() if n.startswith("data/")}


def killed_half_way(tool, server: Seaweed, repo: str, prefix: str, tree: Path, work: Path, env: dict,
                    full: int) -> int:
    """Start a backup, SIGKILL it once half of ``full`` bytes landed under data/; returns the bytes landed."""
    proc = subprocess.Popen(backup_cmd(tool, repo, tree, work), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    while proc.poll() is None and sum(data_bytes(server, prefix).values()) < full / 2:
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return sum(data_bytes(server, prefix).values())


def run_once(tool, server: Seaweed, tree: Path, facts, scratch: Path, rep: int) -> dict:
    work = scratch / "work" / tool.name
    shutil.rmtree(work, ignore_errors=True)
    (work / "home").mkdir(parents=True)
    env = s3_env(tool, work)
    prefix = f"{tool.name}-{rep}-{uuid.uuid4().hex[:6]}"
    repo = location(server, prefix)
    subprocess.run(init_cmd(tool, repo, work), env=env, check=True, capture_output=True)
    backup = measure(backup_cmd(tool, repo, tree, work), env, work / "backup", None, 3600)
    full = sum(data_bytes(server, prefix).values())
    target = work / "restore"
    target.mkdir()
    restore = measure(restore_cmd(tool, repo, target, work), env, work / "restore", target, 3600)
    restored_root = target / tree.name if tool.name == "odbackup" else target / tree.relative_to(tree.anchor)
    verify_restore(tree, facts, restored_root)
    shutil.rmtree(target)
    # the resume after a kill at half way, in a fresh prefix (and a fresh cache)
    shutil.rmtree(work / "cache", ignore_errors=True)
    kprefix = f"{tool.name}-kill-{rep}-{uuid.uuid4().hex[:6]}"
    krepo = location(server, kprefix)
    kenv = s3_env(tool, work / "k")
    subprocess.run(init_cmd(tool, krepo, work / "k"), env=kenv, check=True, capture_output=True)
    landed = killed_half_way(tool, server, krepo, kprefix, tree, work / "k", kenv, full)
    if tool.name == "restic":
        subprocess.run([tool.binary, "--repo", krepo, "--cache-dir", str(work / "k" / "cache"), "unlock"],
                       env=kenv, check=True, capture_output=True)
    before = data_bytes(server, kprefix)
    resumed = measure(backup_cmd(tool, krepo, tree, work / "k"), kenv, work / "resume", None, 3600)
    sent = sum(s for n, s in data_bytes(server, kprefix).items() if n not in before)
    return {"tool": tool.name, "rep": rep, "backup_s": backup.wall_s, "backup_cpu_s": backup.user_s + backup.sys_s,
            "backup_rss_mib": round(backup.peak_rss_kib / 1024, 1), "others_cpu_s": backup.others_cpu_s,
            "restore_s": restore.wall_s, "restore_rss_mib": round(restore.peak_rss_kib / 1024, 1),
            "stored": full, "landed": landed, "left": full - landed, "resume_sent": sent,
            "resume_s": resumed.wall_s}


def render(runs: list[dict], facts: dict, tree, versions: dict) -> str:
    keys = ("backup_s", "backup_cpu_s", "backup_rss_mib", "others_cpu_s", "restore_s", "restore_rss_mib",
            "stored", "landed", "left", "resume_sent", "resume_s")
    med = {name: {k: statistics.median(r[k] for r in runs if r["tool"] == name) for k in keys}
           for name in ("odbackup", "restic")}
    o, r = med["odbackup"], med["restic"]
    mib = 1024 * 1024
    share = {n: statistics.median(x["resume_sent"] / x["left"] for x in runs if x["tool"] == n and x["left"])
             for n in ("odbackup", "restic")}
    lines = [
        f"Run {facts['date']} on {facts['cpu']} ({facts['nproc']} cores, {facts['ram']}), git {git_revision()}; "
        f"{versions['odbackup']}, {versions['restic']}; SeaweedFS `weed mini` {versions['weed']} on 127.0.0.1 "
        f"(one process, path-style S3). Tree: {tree.files:,} files, {tree.bytes / mib:,.0f} MiB; medians of "
        f"{len(runs) // 2} runs per tool, in rotating order. Load average when the runs began: "
        f"{facts.get('load', '?')} on 2 cores: **a loaded machine** (other helpers' test suites ran meanwhile; "
        "the server shares the same 2 cores).",
        "",
        "| | odbackup | restic | odbackup / restic |",
        "| --- | ---: | ---: | ---: |",
        f"| first backup to the bucket, wall (s) | {o['backup_s']:.2f} | {r['backup_s']:.2f} | "
        f"{o['backup_s'] / r['backup_s']:.2f}x (target at most 1.0x) |",
        f"| ... CPU user + sys (s) | {o['backup_cpu_s']:.2f} | {r['backup_cpu_s']:.2f} | |",
        f"| ... peak memory (MiB) | {o['backup_rss_mib']:.0f} | {r['backup_rss_mib']:.0f} | |",
        f"| ... other processes' CPU meanwhile, the server's included (s) | {o['others_cpu_s']:.2f} | "
        f"{r['others_cpu_s']:.2f} | |",
        f"| stored under data/ (MiB) | {o['stored'] / mib:,.1f} | {r['stored'] / mib:,.1f} | |",
        f"| full restore from the bucket, wall (s) | {o['restore_s']:.2f} | {r['restore_s']:.2f} | "
        f"{o['restore_s'] / r['restore_s']:.2f}x (target at most 1.0x) |",
        f"| ... peak memory (MiB) | {o['restore_rss_mib']:.0f} | {r['restore_rss_mib']:.0f} | |",
        f"| killed at half way: landed / left to send (MiB) | {o['landed'] / mib:,.1f} / {o['left'] / mib:,.1f} | "
        f"{r['landed'] / mib:,.1f} / {r['left'] / mib:,.1f} | |",
        f"| the next run sent (MiB), and as a share of what was left | {o['resume_sent'] / mib:,.1f} "
        f"({share['odbackup']:.2f}x) | {r['resume_sent'] / mib:,.1f} ({share['restic']:.2f}x) | "
        "target: odbackup at most 1.10x |",
        f"| ... its wall time (s) | {o['resume_s']:.2f} | {r['resume_s']:.2f} | |",
        "",
        "Every run (backup s / restore s / resume sent MiB of left MiB): " + "; ".join(
            f"{x['tool']} {x['backup_s']:.2f}/{x['restore_s']:.2f}/{x['resume_sent'] / mib:.1f} of "
            f"{x['left'] / mib:.1f}" for x in runs) + ".",
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
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a kill still stops the server (finally)
    tools = make_tools(["odbackup", "restic"], args.odbackup)
    locate("restic")
    tree_path = args.scratch / "tree" / "OpenDentImages"
    tree = ensure_tree(tree_path, TreeParams(size_gb=args.size_gb, seed=14))
    facts = scan_tree(tree_path)
    shutil.rmtree(args.scratch / "seaweed", ignore_errors=True)
    server = Seaweed(args.scratch / "seaweed", bucket=BUCKET).start()
    try:
        runs, load = [], Path("/proc/loadavg").read_text().split()[0]
        for rep in range(args.reps):
            for tool in tools[rep % 2:] + tools[: rep % 2]:
                runs.append(run_once(tool, server, tree_path, facts, args.scratch, rep))
                print(json.dumps(runs[-1]), file=sys.stderr)
    finally:
        server.stop()
    weed = subprocess.run([str(Path(sys.executable).with_name("weed")), "version"], capture_output=True,
                          text=True).stdout.split()
    versions = {t.name: t.version() for t in tools} | {"weed": weed[2] if len(weed) > 2 else "?"}
    (args.scratch / "results-s3.json").write_text(json.dumps({"runs": runs, "versions": versions}, indent=1))
    section = render(runs, {**machine_facts(), "load": load}, tree, versions)
    print(section)
    if args.write_doc:
        write_doc(DOC, section, BEGIN, END)
    return 0


if __name__ == "__main__":
    sys.exit(main())
