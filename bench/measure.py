"""Timing one command: wall time, CPU time and peak memory.

``/usr/bin/time -v`` reports the peak RSS of the largest single process in
the tree it waited for. A tool that forks workers would look smaller than it
is, so a background thread also samples the RSS summed over the whole process
tree every 0.25 s; ``Measurement.peak_rss_kib`` is the larger of the two.

The machine is shared, so each measurement also records how much CPU the
whole machine used meanwhile and how much was stolen by the hypervisor:
``others_cpu_s`` (machine busy time minus the tool's own CPU time) shows when
a slow run was slowed down by something else. ``wait_until_idle`` can hold a
step back until the machine is quiet for a few seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tools import StepFailed

TIME_BIN = "/usr/bin/time"
RSS_SAMPLE_SECONDS = 0.25
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
IDLE_WINDOW_SECONDS = 3.0
IDLE_BUSY_FRACTION = 0.25


@dataclass
class Measurement:
    """One timed command."""

    wall_s: float
    time_max_rss_kib: int
    tree_peak_rss_kib: int
    user_s: float
    sys_s: float
    machine_busy_s: float
    steal_s: float
    idle_wait_s: float = 0.0

    @property
    def peak_rss_kib(self) -> int:
        """The larger of /usr/bin/time's figure and the sampled process-tree sum."""
        return max(self.time_max_rss_kib, self.tree_peak_rss_kib)

    @property
    def others_cpu_s(self) -> float:
        """CPU time the rest of the machine used during the measurement."""
        return max(0.0, round(self.machine_busy_s - self.user_s - self.sys_s, 2))


def machine_cpu_s() -> tuple[float, float]:
    """Cumulative (busy, steal) CPU seconds of the whole machine, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq) / CLOCK_TICKS, steal / CLOCK_TICKS


def process_table() -> dict[int, tuple[int, int]]:
    """Map pid -> (parent pid, RSS KiB) for every live process."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        ppid, rss_pages = int(fields[1]), int(fields[21])
        table[int(entry.name)] = (ppid, rss_pages * PAGE_KIB)
    return table


def descendants_rss_kib(root: int) -> int:
    """Sum of RSS over all descendants of ROOT (ROOT itself excluded)."""
    table = process_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    total, stack = 0, list(children.get(root, []))
    while stack:
        pid = stack.pop()
        total += table[pid][1]
        stack.extend(children.get(pid, []))
    return total


class TreeRssSampler(threading.Thread):
    """Background thread recording the peak RSS summed over a process tree."""

    def __init__(self, root_pid: int) -> None:
        super().__init__(daemon=True)
        self.root_pid = root_pid
        self.peak_kib = 0
        self._done = threading.Event()

    def run(self) -> None:
        """Sample until stopped."""
        while not self._done.wait(RSS_SAMPLE_SECONDS):
            self.peak_kib = max(self.peak_kib, descendants_rss_kib(self.root_pid))

    def stop(self) -> int:
        """Stop sampling and return the peak."""
        self._done.set()
        self.join()
        return self.peak_kib


def parse_time_report(path: Path) -> dict[str, str]:
    """Parse the 'key: value' lines written by /usr/bin/time -v."""
    report = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.strip().rpartition(": ")
        if sep:
            report[key] = value
    return report


def wait_until_idle(max_wait: float) -> float:
    """Wait (at most MAX_WAIT s) for a window in which the CPUs are mostly idle.

    Idle means: less than IDLE_BUSY_FRACTION of all CPUs busy (or stolen by
    the hypervisor) over IDLE_WINDOW_SECONDS. Returns the seconds waited.
    """
    start = time.monotonic()
    capacity = IDLE_WINDOW_SECONDS * (os.cpu_count() or 1)
    while True:
        before = sum(machine_cpu_s())
        time.sleep(IDLE_WINDOW_SECONDS)
        busy = sum(machine_cpu_s()) - before
        waited = time.monotonic() - start
        if busy < IDLE_BUSY_FRACTION * capacity or waited >= max_wait:
            return round(waited, 1)


def run_sampled(
    cmd: list[str], env: dict[str, str], log: Path, cwd: Path | None, timeout: float
) -> tuple[int, float, int]:
    """Run CMD with output to LOG; return (exit code, wall seconds, sampled tree peak KiB).

    On timeout the whole process group is killed and TimeoutExpired raised.
    """
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        sampler = TreeRssSampler(proc.pid)
        sampler.start()
        try:
            returncode = proc.wait(timeout=timeout)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            wall = time.perf_counter() - start
            tree_peak = sampler.stop()
    return returncode, wall, tree_peak


def measure(
    cmd: list[str],
    env: dict[str, str],
    logs: Path,
    cwd: Path | None,
    timeout: float,
    wait_idle: float = 0.0,
) -> Measurement:
    """Run CMD under /usr/bin/time -v; LOGS is the log file prefix.

    With WAIT_IDLE > 0, first wait up to that many seconds for a quiet machine.
    """
    waited = wait_until_idle(wait_idle) if wait_idle > 0 else 0.0
    time_file = logs.with_suffix(".time")
    timed = [TIME_BIN, "-v", "-o", str(time_file), *cmd]
    busy_before, steal_before = machine_cpu_s()
    returncode, wall, tree_peak = run_sampled(timed, env, logs.with_suffix(".log"), cwd, timeout)
    busy_after, steal_after = machine_cpu_s()
    if returncode != 0:
        raise StepFailed(f"{' '.join(cmd)} exited {returncode}; see {logs.with_suffix('.log')}")
    report = parse_time_report(time_file)
    return Measurement(
        wall_s=round(wall, 3),
        time_max_rss_kib=int(report["Maximum resident set size (kbytes)"]),
        tree_peak_rss_kib=tree_peak,
        user_s=float(report["User time (seconds)"]),
        sys_s=float(report["System time (seconds)"]),
        machine_busy_s=round(busy_after - busy_before, 2),
        steal_s=round(steal_after - steal_before, 2),
        idle_wait_s=waited,
    )
