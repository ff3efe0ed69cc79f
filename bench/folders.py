#!/usr/bin/env python3
"""Folders benchmark: odbackup against restic and borg on an A-to-Z-like images tree.

For each repetition and each tool (the tool order rotates between
repetitions), on a fresh repository and a fresh cache:

1. first backup of the tree,
2. unchanged re-run (same tree, cache kept),
3. full restore of the latest snapshot into an empty folder (checked:
   same file count and bytes, and a sample of files compared byte for byte).

Each timed step runs under ``/usr/bin/time -v`` (peak RSS of the largest
process) while the harness also samples the RSS summed over the whole
process tree; the larger of the two is reported. ``sync`` runs, untimed,
between steps. The page cache cannot be dropped here, so the tree is read
once before every first backup to make it equally warm for every tool.

Raw results go to ``SCRATCH/results-folders.json``; the medians are printed
as a Markdown table, and ``--write-doc`` puts it into docs/BENCHMARKS.md
between ``<!-- folders:begin -->`` and ``<!-- folders:end -->``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from make_atoz_tree import TreeParams, ensure_tree
from measure import TIME_BIN, Measurement, measure
from report import PHASE_LABELS, render_section, write_doc
from tools import ALL_TOOLS, REPO_ROOT, StepFailed, Tool, first_line, git_revision, make_tools

DEFAULT_DOC = REPO_ROOT / "docs" / "BENCHMARKS.md"
DEFAULT_SCRATCH = Path("/tmp/odbackup-bench")
VERIFY_SAMPLE_FILES = 40


@dataclass(frozen=True)
class Plan:
    """What to run: which tools, on which tree, where, how often."""

    tools: list[Tool]
    tree: Path
    scratch: Path
    reps: int
    timeout: float
    wait_idle: float

    def work(self, tool: Tool) -> Path:
        """Scratch folder of one run (repository, cache, home, restore target)."""
        return self.scratch / "work" / tool.name

    def logs(self, tool: Tool, rep: int) -> Path:
        """Log file prefix of one run."""
        return self.scratch / "logs" / f"{tool.name}-rep{rep}"


@dataclass
class TreeFacts:
    """File count and bytes of a folder, plus a deterministic sample of files."""

    files: int
    bytes: int
    sample: list[str] = field(default_factory=list)


def scan_tree(root: Path) -> TreeFacts:
    """Count the regular files and bytes under ROOT; sample every n-th file."""
    paths = sorted(
        os.path.relpath(os.path.join(folder, name), root)
        for folder, _, names in os.walk(root)
        for name in names
    )
    total = sum(os.path.getsize(root / p) for p in paths)
    step = max(1, len(paths) // VERIFY_SAMPLE_FILES)
    return TreeFacts(files=len(paths), bytes=total, sample=paths[::step])


def warm_page_cache(root: Path) -> None:
    """Read every file once so the tree is in the page cache for every tool."""
    buffer = bytearray(4 << 20)
    for folder, _, names in os.walk(root):
        for name in names:
            with open(os.path.join(folder, name), "rb", buffering=0) as handle:
                while handle.readinto(buffer):
                    pass


def file_digest(path: Path) -> str:
    """SHA-256 of a file."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def verify_restore(tree: Path, facts: TreeFacts, restored: Path) -> None:
    """Check the restored copy: same counts and bytes, sampled files identical."""
    got = scan_tree(restored)
    if (got.files, got.bytes) != (facts.files, facts.bytes):
        raise StepFailed(
            f"restore mismatch in {restored}: {got.files} files / {got.bytes} bytes, "
            f"expected {facts.files} / {facts.bytes}"
        )
    for rel in facts.sample:
        if file_digest(tree / rel) != file_digest(restored / rel):
            raise StepFailed(f"restored file differs: {rel}")


def folder_bytes(root: Path) -> int:
    """Apparent size of everything under ROOT."""
    return sum(
        os.path.getsize(os.path.join(folder, name))
        for folder, _, names in os.walk(root)
        for name in names
    )


def run_once(plan: Plan, tool: Tool, rep: int, facts: TreeFacts) -> dict:
    """Fresh repo: first backup, unchanged re-run, full restore. Return the record."""
    tree, work, logs = plan.tree, plan.work(tool), plan.logs(tool, rep)
    shutil.rmtree(work, ignore_errors=True)
    (work / "home").mkdir(parents=True)
    restore_to = work / "restore"
    restore_to.mkdir()
    repo, env = work / "repo", tool.env(work)
    init_log = logs.with_name(logs.name + "-init.log")
    init_log.unlink(missing_ok=True)
    notes = tool.init(repo, env, init_log)

    def step(phase: str, cmd: list[str], cwd: Path | None = None) -> Measurement:
        log = logs.with_name(f"{logs.name}-{phase}")
        measurement = measure(cmd, env, log, cwd, plan.timeout, plan.wait_idle)
        os.sync()
        return measurement

    warm_page_cache(tree)
    os.sync()
    steps = {"first_backup": step("first_backup", tool.backup_cmd(repo, tree, "first"))}
    repo_bytes = folder_bytes(repo)
    steps["rerun"] = step("rerun", tool.backup_cmd(repo, tree, "rerun"))
    steps["restore"] = step("restore", tool.restore_cmd(repo, restore_to), restore_to)
    verify_restore(tree, facts, tool.restored_root(restore_to, tree))
    shutil.rmtree(work)
    return {
        "steps": {
            phase: {**asdict(m), "peak_rss_kib": m.peak_rss_kib, "others_cpu_s": m.others_cpu_s}
            for phase, m in steps.items()
        },
        "repo_bytes_after_first": repo_bytes,
        "notes": notes,
    }


def rotated(tools: list[Tool], rep: int) -> list[Tool]:
    """Tool order for repetition REP (rotates so no tool always goes first)."""
    shift = rep % len(tools)
    return tools[shift:] + tools[:shift]


def run_all(plan: Plan, results: dict, out: Path) -> bool:
    """Run every repetition, saving RESULTS to OUT after each run. True if all passed."""
    facts = scan_tree(plan.tree)
    ok = True
    for rep in range(1, plan.reps + 1):
        for tool in rotated(plan.tools, rep - 1):
            print(f"[rep {rep}/{plan.reps}] {tool.name} ...", file=sys.stderr, flush=True)
            try:
                record = run_once(plan, tool, rep, facts)
            except (StepFailed, subprocess.TimeoutExpired, OSError) as error:
                ok = False
                record = {"error": str(error)}
                print(f"  FAILED: {error}", file=sys.stderr)
            else:
                print("  " + brief(record), file=sys.stderr)
            results["runs"].append({"tool": tool.name, "rep": rep, **record})
            save_json(results, out)
    return ok


def brief(record: dict) -> str:
    """One-line summary of a run record for the console."""
    return ", ".join(
        f"{PHASE_LABELS[p]} {s['wall_s']:.1f}s/{s['peak_rss_kib'] / 1024:.0f}MiB"
        for p, s in record["steps"].items()
    )


def machine_facts() -> dict[str, str]:
    """Facts about this machine worth printing next to the numbers."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "nproc": str(os.cpu_count()),
        "ram": f"{mem_kib / 1024**2:.1f} GiB",
        "kernel": platform.release(),
        "os": first_line(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "python": platform.python_version(),
        "git": git_revision(),
    }


def save_json(results: dict, out: Path) -> None:
    """Write RESULTS atomically."""
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2) + "\n")
    tmp.replace(out)


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
        "--tools",
        default=",".join(ALL_TOOLS),
        help="comma-separated subset of odbackup,restic,borg",
    )
    parser.add_argument(
        "--odbackup", help="path to the odbackup program (default: odbackup on PATH)"
    )
    parser.add_argument(
        "--odbackup-credentials",
        choices=("machine", "passphrase"),
        default="machine",
        help="odbackup's backups: with the machine's write-only credentials, as scheduled backups"
        " run (default), or with the passphrase (a key derivation every run)",
    )
    parser.add_argument("--reps", type=int, default=3, help="repetitions per tool (default 3)")
    parser.add_argument("--size-gb", type=float, default=3.2, help="tree size (default 3.2)")
    parser.add_argument("--seed", type=int, default=1, help="tree seed (default 1)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds allowed per command")
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=120,
        help="before each timed step, wait up to this many seconds for a quiet machine"
        " (0: do not wait; default 120)",
    )
    parser.add_argument(
        "--write-doc", action="store_true", help="update the folders section of docs/BENCHMARKS.md"
    )
    parser.add_argument("--doc", type=Path, default=DEFAULT_DOC, help=argparse.SUPPRESS)
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="do not run anything; render SCRATCH/results-folders.json",
    )
    return parser.parse_args(argv)


def check_scratch(scratch: Path) -> Path:
    """Resolve SCRATCH and refuse a location inside this repository."""
    scratch = scratch.resolve()
    if scratch == REPO_ROOT or REPO_ROOT in scratch.parents:
        sys.exit(f"--scratch {scratch} is inside the repository; use a folder outside it")
    return scratch


def prepare_results(args: argparse.Namespace, plan: Plan) -> dict:
    """Generate the tree and start the results record."""
    stats = ensure_tree(plan.tree, TreeParams(size_gb=args.size_gb, seed=args.seed))
    return {
        "benchmark": "folders",
        "machine": machine_facts(),
        "tree": {
            "path": str(plan.tree),
            "size_gb": args.size_gb,
            "seed": args.seed,
            "files": stats.files,
            "bytes": stats.bytes,
        },
        "reps": args.reps,
        "wait_idle_s": args.wait_idle,
        "tools": [t.name for t in plan.tools],
        "versions": {t.name: {"version": t.version(), "settings": t.settings} for t in plan.tools},
        "runs": [],
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or re-render), print the table, optionally update the doc."""
    args = parse_args(argv)
    scratch = check_scratch(args.scratch)
    out = scratch / "results-folders.json"
    ok = True
    if args.render_only:
        results = json.loads(out.read_text())
    else:
        if not Path(TIME_BIN).exists():
            sys.exit(f"{TIME_BIN} missing: apt-get install -y time")
        tools = make_tools(args.tools.split(","), args.odbackup, args.odbackup_credentials)
        for tool in tools:
            tool.prepare()
        plan = Plan(tools, scratch / "tree", scratch, args.reps, args.timeout, args.wait_idle)
        (scratch / "logs").mkdir(parents=True, exist_ok=True)
        results = prepare_results(args, plan)
        save_json(results, out)
        ok = run_all(plan, results, out)
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
