"""End to end: the real ``odbackup`` in a real terminal (tmux, 80x24) against the real
MariaDB: first-run setup with the demo practice, a backup, a verification, and what a
person sees on the screen at each step."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid

import pytest

pytestmark = pytest.mark.slow

ODBACKUP = os.path.join(os.path.dirname(sys.executable), "odbackup")
PASSPHRASE = "maple kettle orbit seven"
SETTLE = 0.4


class Terminal:
    """A tmux session running one command; read the screen, type keys."""

    def __init__(self, command: list[str], env: dict[str, str], size: tuple[int, int] = (80, 24)) -> None:
        self.name = f"odbt-{uuid.uuid4().hex[:8]}"
        assignments = [f"{k}={v}" for k, v in env.items()]
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", str(size[0]), "-y", str(size[1]),
                        "env", *assignments, *command], check=True)

    def screen(self) -> str:
        out = subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True)
        return out.stdout

    def keys(self, *keys: str) -> None:
        for key in keys:
            subprocess.run(["tmux", "send-keys", "-t", self.name, key], check=True)
            time.sleep(0.1)

    def type(self, text: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, "-l", text], check=True)
        time.sleep(0.1)

    def wait_for(self, pattern: str, timeout: float = 60.0) -> str:
        """Poll the screen until it matches ``pattern`` (then give it the moment a person
        would take before pressing the next key); return the screen."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.screen()
            if re.search(pattern, shown):
                time.sleep(SETTLE)
                return self.screen()
            time.sleep(0.2)
        raise AssertionError(f"the screen never showed /{pattern}/; it shows:\n{self.screen()}")

    def alive(self) -> bool:
        return subprocess.run(["tmux", "has-session", "-t", self.name], capture_output=True).returncode == 0

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture
def terminal_env(app_env, tmp_path) -> dict[str, str]:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is needed for the end-to-end test (apt-get install -y tmux)")
    names = ("ODBACKUP_CONFIG_DIR", "ODBACKUP_CACHE_DIR", "ODBACKUP_LOG_DIR", "ODBACKUP_REPORTS_DIR",
             "ODBACKUP_TEST_WEAK_KDF", "XDG_DATA_HOME", "HOME", "TZ")
    env = {name: os.environ[name] for name in names}
    env.update(TERM="xterm-256color", PATH=os.environ.get("PATH", ""))
    system = tmp_path / "system"  # the operating system's schedule (tests/cli/test_schedule_cli.py): cron runs
    (system / "etc" / "cron.d").mkdir(parents=True)
    if os.geteuid() == 0:  # root installs into (the stand-in's) /etc/cron.d; anyone else into their real
        (system / "proc" / "7").mkdir(parents=True)  # crontab, which a test must not touch
        (system / "proc" / "7" / "comm").write_text("cron\n")
    env["ODBACKUP_TEST_SCHEDULE_ROOT"] = str(system)
    return env


def test_first_run_demo_backup_and_verify(terminal_env, fresh_db):
    database = fresh_db("demo")
    term = Terminal([ODBACKUP], terminal_env)
    try:
        term.wait_for("Welcome to odbackup")
        term.keys("d")
        term.wait_for(r"New database\s+opendental_demo")
        term.keys("Tab", "Tab", "Tab", "Tab", "C-a", "C-k")
        term.type(database)
        term.keys("C-n")
        shown = term.wait_for("Step 1 of 7", timeout=120)  # the demo practice is made first
        assert "127.0.0.1" in shown
        term.keys("C-n")
        shown = term.wait_for("Step 2 of 7")
        assert re.search(rf"{database}: 31 tables, .* 31 MyISAM tables", shown.replace("\n", " "))
        term.keys("C-n")
        term.wait_for(r"998 files, 48\.\d MiB\.")
        term.keys("C-n")
        shown = term.wait_for("Step 4 of 7")
        assert re.search(r"Folder\s+\S*/data/odbackup/dem", shown), shown  # in the user's data folder
        term.keys("C-n")
        term.wait_for("Step 5 of 7: When to back up")
        term.keys("C-n")
        term.wait_for("Step 6 of 7: Encryption")
        term.type(PASSPHRASE)
        term.keys("Tab")
        term.type(PASSPHRASE)
        term.wait_for("Strong")
        term.keys("C-n")
        shown = term.wait_for(r"type group \d and group \d")
        key = re.search(r"RK-[0-9A-Z]{5}(?:-[0-9A-Z]{5}){7}", shown).group(0)
        first, second = (int(n) for n in re.search(r"type group (\d) and group (\d)", shown).groups())
        groups = key.split("-")[1:]
        term.type(groups[first - 1])
        term.keys("Tab")
        term.type(groups[second - 1])
        term.keys("C-n")
        term.wait_for(r"Archive drives \(optional: Skip to do it later\)")  # done later, from the dashboard
        term.keys("C-n")
        term.wait_for(r"Supplemental copy \(optional\)")  # left off: Next skips it
        term.keys("C-n")
        shown = term.wait_for("Step 7 of 7: Ready to save")
        assert f"Database: {database} on 127.0.0.1:3306 as root" in shown
        term.keys("C-n")  # saved, then the schedule installed into (the stand-in's) /etc/cron.d
        installed = "Installed: next backup" if os.geteuid() == 0 else "Not installed: Neither systemd nor cron"
        term.wait_for(installed)
        term.keys("C-n")
        shown = term.wait_for("No backup yet")
        assert "odbackup — Home" in shown and "b Back up" in shown

        term.keys("b")
        shown = term.wait_for("Consistent locking")
        assert "31 MyISAM tables: locked while they are read" in shown
        term.keys("Enter")
        shown = term.wait_for("Backup saved", timeout=180)
        assert f"Database {database}: 31 tables, 191,981 rows" in shown.replace("\n│ ", " ")
        assert "Nothing was skipped." in shown
        term.keys("Escape")
        shown = term.wait_for(r"complete\s+│")
        assert "998 files" in shown and "No backup has ever been verified" in shown

        term.keys("v")
        # the snapshots are read with the passphrase typed in the setup (still in memory); then the
        # scratch database is named ("Start verifying" is there before they are read: a loaded
        # machine took more than the pause after it)
        shown = term.wait_for("odbackup_verify_")
        assert "Start verifying" in shown and "never an" in shown
        term.keys("C-n")
        shown = term.wait_for("Report:", timeout=180)
        assert "█▀█ ▄▀█ █▀ █▀ █▀▀ █▀▄" in shown  # PASSED, in large letters
        assert "This backup restores completely and exactly." in shown
        assert re.search(r"31 tables compared, 0 with problems", term.screen())
        report = "".join(shown.split("Report:", 1)[1].split()[:3]).split("esc")[0]  # it may wrap
        assert report.startswith(terminal_env["ODBACKUP_REPORTS_DIR"]) and os.path.exists(report), report
        term.keys("Escape")
        shown = term.wait_for(r"PASSED (just now|.* ago)")  # (the first ten seconds say "just now")
        if os.geteuid() == 0:  # the setup installed the schedule, read back from the operating system:
            # what is left is the offer of the supplemental copy (a demo has none)
            shown = term.wait_for("Supplemental copies are off")
            assert "!!" not in shown and "The backup job is scheduled" not in shown
        else:
            assert "All good" not in shown and "!! The backup job is scheduled" in shown  # not installed

        term.keys("q")
        deadline = time.monotonic() + 10
        while term.alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not term.alive()
    finally:
        term.close()
    with open(os.path.join(terminal_env["ODBACKUP_CONFIG_DIR"], "settings.toml")) as f:
        saved = f.read()
    assert database in saved and PASSPHRASE not in saved
