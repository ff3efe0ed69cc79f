"""How the benchmark drives each backup program: odbackup, restic and borg.

Every tool gets its own HOME, cache and config folders inside the run's work
folder, so each repetition starts cold (fresh repository, fresh cache) and
nothing leaks between tools or into the real home directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PASSPHRASE = "bench-passphrase-not-a-secret"
ALL_TOOLS = ("odbackup", "restic", "borg")
TOOL_ENV_PREFIXES = ("ODBACKUP_", "RESTIC_", "BORG_")


class StepFailed(RuntimeError):
    """A tool command exited with an error."""


@dataclass
class Tool:
    """How to drive one backup program; subclasses fill in the commands."""

    name: str
    binary: str
    settings: str = ""

    def env(self, work: Path) -> dict[str, str]:
        """Environment for every command of one run (HOME isolated in WORK).

        Inherited ODBACKUP_*, RESTIC_* and BORG_* variables are dropped, so a
        test setting such as ODBACKUP_TEST_WEAK_KDF cannot leak into a run.
        """
        home = work / "home"
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(TOOL_ENV_PREFIXES)}
        return {
            **inherited,
            "HOME": str(home),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_CONFIG_HOME": str(home / ".config"),
        }

    def version(self) -> str:
        """Return the program's version line."""
        return first_line([self.binary, "--version"])

    def prepare(self) -> None:
        """Once before the runs (nothing for most tools)."""

    def init(self, repo: Path, env: dict[str, str], log: Path) -> dict[str, str]:
        """Create REPO; return notes worth recording (e.g. the format chosen)."""
        raise NotImplementedError

    def backup_cmd(self, repo: Path, tree: Path, label: str) -> list[str]:
        """Command that backs TREE up into REPO (LABEL names the snapshot if needed)."""
        raise NotImplementedError

    def restore_cmd(self, repo: Path, target: Path) -> list[str]:
        """Command that restores the latest snapshot; it runs with cwd=TARGET."""
        raise NotImplementedError

    def restored_root(self, target: Path, tree: Path) -> Path:
        """Where the tree's contents land after restoring into TARGET."""
        return target / tree.relative_to(tree.anchor)


@dataclass
class Odbackup(Tool):
    """odbackup, driven through its CLI (docs/CLI.md).

    ``credentials``: ``machine`` (the default) backs up as a scheduled backup does, with the
    write-only credentials ``odbackup enroll`` stored when the repository was made (untimed,
    like ``init``): no key derivation. ``passphrase``: with ``ODBACKUP_PASSPHRASE`` (Argon2id
    on every run). The restore always needs the passphrase."""

    credentials: str = "machine"

    def __post_init__(self) -> None:
        how = ("backups with the machine's write-only credentials (`enroll` after `init`, as scheduled "
               "backups run)" if self.credentials == "machine" else "backups with the passphrase")
        self.settings = (f"defaults; {how}; restore with the passphrase; fresh ODBACKUP_CONFIG_DIR and "
                         "ODBACKUP_CACHE_DIR per repetition")

    def env(self, work: Path) -> dict[str, str]:
        """Passphrase plus config and cache folders inside WORK."""
        return {
            **super().env(work),
            "ODBACKUP_PASSPHRASE": PASSPHRASE,
            "ODBACKUP_CONFIG_DIR": str(work / "config"),
            "ODBACKUP_CACHE_DIR": str(work / "cache"),
        }

    def version(self) -> str:
        """odbackup's version plus this checkout's commit (the version moves slowly)."""
        try:
            version = first_line([self.binary, "--version"])
        except (OSError, subprocess.SubprocessError, IndexError):
            version = "odbackup"
        return f"{version} (git {git_revision()})"

    def prepare(self) -> None:
        """Byte-compile the package, as installing it does (pip writes the .pyc files): with
        PYTHONDONTWRITEBYTECODE set, as in some shells, every run would compile it afresh."""
        python = Path(self.binary).read_text(errors="replace").splitlines()[0].removeprefix("#!").strip()
        subprocess.run([python, "-m", "compileall", "-q", str(REPO_ROOT / "engine"), str(REPO_ROOT / "tui")],
                       check=True, capture_output=True)

    def init(self, repo: Path, env: dict[str, str], log: Path) -> dict[str, str]:
        """odbackup init REPO (prints a recovery key, kept in the log only), then enroll."""
        run_logged([self.binary, "init", str(repo)], env, log)
        if self.credentials == "machine":
            run_logged([self.binary, "enroll", "--repo", str(repo)], env, log)
        return {}

    def backup_cmd(self, repo: Path, tree: Path, label: str) -> list[str]:
        """odbackup backup --repo REPO --path TREE (``env -u`` drops the passphrase: the
        machine's credentials are used; env execs odbackup, so it is the measured process)."""
        unset = ["env", "-u", "ODBACKUP_PASSPHRASE"] if self.credentials == "machine" else []
        return [*unset, self.binary, "backup", "--repo", str(repo), "--path", str(tree)]

    def restore_cmd(self, repo: Path, target: Path) -> list[str]:
        """odbackup restore --repo REPO latest --to TARGET."""
        return [self.binary, "restore", "--repo", str(repo), "latest", "--to", str(target)]

    def restored_root(self, target: Path, tree: Path) -> Path:
        """odbackup stores a source under its last path component."""
        return target / tree.name


@dataclass
class Restic(Tool):
    """restic with its default settings and a per-run cache folder."""

    settings: str = "defaults (compression auto); --cache-dir per repetition"

    def env(self, work: Path) -> dict[str, str]:
        """Password via RESTIC_PASSWORD."""
        return {**super().env(work), "RESTIC_PASSWORD": PASSPHRASE}

    def version(self) -> str:
        """restic prints its version with the `version` command."""
        return first_line([self.binary, "version"])

    def _base(self, repo: Path) -> list[str]:
        """Common restic arguments: repository and cache folder next to it."""
        return [self.binary, "--repo", str(repo), "--cache-dir", str(repo.parent / "cache")]

    def init(self, repo: Path, env: dict[str, str], log: Path) -> dict[str, str]:
        """restic init, then read the repository format version back."""
        run_logged([*self._base(repo), "init"], env, log)
        config = subprocess.run(
            [*self._base(repo), "cat", "config"], env=env, check=True, capture_output=True
        )
        return {"repository_version": str(json.loads(config.stdout)["version"])}

    def backup_cmd(self, repo: Path, tree: Path, label: str) -> list[str]:
        """restic backup TREE (the re-run finds its parent snapshot itself)."""
        return [*self._base(repo), "backup", str(tree)]

    def restore_cmd(self, repo: Path, target: Path) -> list[str]:
        """restic restore latest --target TARGET."""
        return [*self._base(repo), "restore", "latest", "--target", str(target)]


@dataclass
class Borg(Tool):
    """borg 1.x with default compression (lz4) and repokey-blake2 encryption."""

    settings: str = "default compression (lz4); BORG_BASE_DIR per repetition"

    def env(self, work: Path) -> dict[str, str]:
        """Passphrase, and cache/config/security folders inside WORK."""
        return {
            **super().env(work),
            "BORG_PASSPHRASE": PASSPHRASE,
            "BORG_BASE_DIR": str(work / "borg-base"),
        }

    def init(self, repo: Path, env: dict[str, str], log: Path) -> dict[str, str]:
        """borg init with repokey-blake2, falling back to repokey."""
        for mode in ("repokey-blake2", "repokey"):
            try:
                run_logged([self.binary, "init", f"--encryption={mode}", str(repo)], env, log)
                return {"encryption": mode}
            except StepFailed:
                shutil.rmtree(repo, ignore_errors=True)
        raise StepFailed(f"borg init failed, see {log}")

    def backup_cmd(self, repo: Path, tree: Path, label: str) -> list[str]:
        """borg create REPO::LABEL TREE."""
        return [self.binary, "create", f"{repo}::{label}", str(tree)]

    def restore_cmd(self, repo: Path, target: Path) -> list[str]:
        """borg extract of the latest archive (`rerun`) into the cwd."""
        return [self.binary, "extract", f"{repo}::rerun"]


def locate(program: str) -> str:
    """Absolute path of PROGRAM (a name on PATH or a path); exit when missing.

    Absolute, because restores run with the restore folder as working directory.
    """
    found = shutil.which(program)
    if found is None:
        sys.exit(f"{program}: not found (install it or pass its path)")
    return os.path.abspath(found)


def make_tools(names: list[str], odbackup_bin: str | None, credentials: str = "passphrase") -> list[Tool]:
    """Instantiate the requested tools, checking their programs exist (``credentials``: how
    odbackup backs up, see :class:`Odbackup`)."""
    classes: dict[str, tuple[type[Tool], str]] = {
        "odbackup": (Odbackup, odbackup_bin or "odbackup"),
        "restic": (Restic, "restic"),
        "borg": (Borg, "borg"),
    }
    tools = []
    for name in names:
        if name not in classes:
            sys.exit(f"unknown tool {name!r}; choose from {', '.join(ALL_TOOLS)}")
        cls, program = classes[name]
        if cls is Odbackup:
            tools.append(Odbackup(name, locate(program), credentials=credentials))
        else:
            tools.append(cls(name, locate(program)))
    return tools


def first_line(cmd: list[str]) -> str:
    """Run CMD and return the first line of its output."""
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60)
    return (out.stdout or out.stderr).strip().splitlines()[0]


def git_revision() -> str:
    """Short commit of this checkout, with '+dirty' when it has changes."""
    try:
        rev = first_line(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"])
        dirty = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain"], capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return rev + ("+dirty" if dirty else "")


def run_logged(cmd: list[str], env: dict[str, str], log: Path, cwd: Path | None = None) -> None:
    """Run an untimed setup command, output to LOG; raise StepFailed on error."""
    with open(log, "ab") as out:
        done = subprocess.run(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise StepFailed(f"{' '.join(cmd)} exited {done.returncode}; see {log}")
