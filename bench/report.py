"""Turn the folders benchmark's results into Markdown (medians of the repetitions).

The rendered section lists the run's facts (machine, tree, tool versions and
settings), a table of medians with the ratios odbackup/anchor and the targets,
and every individual run. ``write_doc`` puts it between the markers in
docs/BENCHMARKS.md.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

from tools import ALL_TOOLS

PHASES = ("first_backup", "rerun", "restore")
PHASE_LABELS = {
    "first_backup": "first backup",
    "rerun": "unchanged re-run",
    "restore": "full restore",
}
MEMORY_TARGET_MIB = 256
BEGIN_MARK = "<!-- folders:begin -->"
END_MARK = "<!-- folders:end -->"


def medians(results: dict) -> dict[str, dict[str, float]]:
    """Per tool: median wall time and peak RSS of each phase, and repo size."""
    table: dict[str, dict[str, float]] = {}
    for tool in results["tools"]:
        runs = [r for r in results["runs"] if r["tool"] == tool and "steps" in r]
        if not runs:
            continue
        row = {"runs": len(runs)}
        for phase in PHASES:
            row[f"{phase}_s"] = statistics.median(r["steps"][phase]["wall_s"] for r in runs)
            row[f"{phase}_mib"] = (
                statistics.median(r["steps"][phase]["peak_rss_kib"] for r in runs) / 1024
            )
        row["repo_gib"] = statistics.median(r["repo_bytes_after_first"] for r in runs) / 1024**3
        table[tool] = row
    return table


def fmt(value: float | None, digits: int = 1) -> str:
    """Format a number, or 'pending' when missing."""
    return "pending" if value is None else f"{value:.{digits}f}"


def ratio(ours: float | None, anchor: float | None) -> str:
    """ours/anchor as '0.87×', or 'pending'."""
    if ours is None or anchor is None:
        return "pending"
    return f"{ours / anchor:.2f}×"


def target_status(key: str, med: dict[str, dict[str, float]]) -> str:
    """The target for a table row, with 'met'/'missed' once odbackup is measured."""
    ours = med.get("odbackup", {}).get(key)
    if key.endswith("_mib"):
        text, limit = f"≤ {MEMORY_TARGET_MIB} MiB", MEMORY_TARGET_MIB
    elif key.endswith("_s"):
        text, limit = "≤ restic", med.get("restic", {}).get(key)
    else:
        return ""
    if ours is None or limit is None:
        return text
    return f"{text}: {'met' if ours <= limit else 'missed'}"


def table_rows() -> list[tuple[str, str, int]]:
    """(label, key, digits) for each row of the medians table."""
    rows = [(f"{PHASE_LABELS[p]}, wall time (s)", f"{p}_s", 1) for p in PHASES]
    rows += [(f"{PHASE_LABELS[p]}, peak RSS (MiB)", f"{p}_mib", 0) for p in PHASES]
    rows.append(("repository size after first backup (GiB)", "repo_gib", 2))
    return rows


def medians_table(med: dict[str, dict[str, float]], reps: int) -> list[str]:
    """Markdown table: odbackup, restic, borg, ratios and targets."""
    lines = [
        f"| median of {reps} | odbackup | restic | borg | odbackup / restic | odbackup / borg | target |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for label, key, digits in table_rows():
        ours, restic, borg = (med.get(t, {}).get(key) for t in ALL_TOOLS)
        lines.append(
            f"| {label} | {fmt(ours, digits)} | {fmt(restic, digits)} | {fmt(borg, digits)} "
            f"| {ratio(ours, restic)} | {ratio(ours, borg)} | {target_status(key, med)} |"
        )
    return lines


def runs_table(results: dict) -> list[str]:
    """Markdown table of every run: wall time / peak RSS / CPU time per phase."""
    lines = [
        "| tool | rep | first backup | unchanged re-run | full restore |",
        "| --- | ---: | --- | --- | --- |",
    ]
    for run in sorted(results["runs"], key=lambda r: (ALL_TOOLS.index(r["tool"]), r["rep"])):
        if "steps" not in run:
            lines.append(f"| {run['tool']} | {run['rep']} | failed: {run['error']} | | |")
            continue
        cells = [run_cell(run["steps"][p]) for p in PHASES]
        lines.append(f"| {run['tool']} | {run['rep']} | " + " | ".join(cells) + " |")
    return lines


def run_cell(step: dict) -> str:
    """'53.7 s, 96 MiB, cpu 86 s, others 4 s' for one step of one run."""
    cpu = step["user_s"] + step["sys_s"]
    others = step.get("others_cpu_s")
    noise = "" if others is None else f", others {others:.0f} s"
    if step.get("steal_s", 0) >= 1:
        noise += f", steal {step['steal_s']:.0f} s"
    return f"{step['wall_s']:.1f} s, {step['peak_rss_kib'] / 1024:.0f} MiB, cpu {cpu:.0f} s{noise}"


def idle_note(results: dict) -> str:
    """How long each step could wait for a quiet machine, if at all."""
    wait = results.get("wait_idle_s", 0)
    return (
        f", each step started after waiting up to {wait:.0f} s for a quiet machine" if wait else ""
    )


def facts_lines(results: dict) -> list[str]:
    """Bullet list: machine, tree and tool versions and settings."""
    m, tree = results["machine"], results["tree"]
    lines = [
        f"- Run: {m['date']}, {results['reps']} repetitions, tool order rotated per repetition"
        f"{idle_note(results)}; git {m['git']}.",
        f"- Machine: {m['cpu']}, nproc {m['nproc']}, RAM {m['ram']}, {m['os']}, kernel {m['kernel']}, "
        f"Python {m['python']}.",
        f"- Tree: `make_atoz_tree.py --size-gb {tree['size_gb']} --seed {tree['seed']}`: "
        f"{tree['files']:,} files, {tree['bytes'] / 1e9:.2f} GB ({tree['bytes'] / 1024**3:.2f} GiB), "
        f"warm in the page cache for every tool.",
    ]
    for name in ALL_TOOLS:
        info = results["versions"].get(name)
        if info is None:
            lines.append(f"- {name}: pending.")
            continue
        notes = sorted(
            {
                f"{k} {v}"
                for r in results["runs"]
                if r["tool"] == name
                for k, v in r.get("notes", {}).items()
            }
        )
        extra = f"; {', '.join(notes)}" if notes else ""
        lines.append(
            f"- {name}: {info['version']}; {info['settings']}{extra}{failures(results, name)}."
        )
    return lines


def failures(results: dict, tool: str) -> str:
    """'; N of M runs failed' when some runs of TOOL failed, else ''."""
    runs = [r for r in results["runs"] if r["tool"] == tool]
    failed = sum("steps" not in r for r in runs)
    return f"; **{failed} of {len(runs)} runs failed** (medians of the others)" if failed else ""


def render_section(results: dict) -> str:
    """The Markdown that goes between the doc markers."""
    med = medians(results)
    parts = [
        *facts_lines(results),
        "",
        *medians_table(med, results["reps"]),
        "",
        "All runs: wall time, peak RSS, the tool's CPU time (user+system) and the CPU time"
        " the rest of the machine used meanwhile (others: noise from other work):",
        "",
        *runs_table(results),
    ]
    return "\n".join(parts)


def write_doc(doc: Path, section: str, begin: str = BEGIN_MARK, end: str = END_MARK) -> None:
    """Replace the text between the markers ``begin`` and ``end`` in DOC (the folders' by default)."""
    text = doc.read_text()
    start, stop = text.find(begin), text.find(end)
    if start < 0 or stop < start:
        sys.exit(f"{doc}: markers {begin} ... {end} not found")
    doc.write_text(f"{text[: start + len(begin)]}\n{section}\n{text[stop:]}")
