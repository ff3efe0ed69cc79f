"""Helpers for the end-to-end CLI tests (imported by the test modules and conftest.py).

Every test drives the real ``odbackup`` command in a subprocess, on real
files in ``tmp_path``. The root ``tests/conftest.py`` has already pointed
config and cache folders at a per-test temporary home, weakened the KDF and
shrunk packs to 256 KiB; :func:`cli_env` copies that environment at call time.
Module-scoped fixtures (a repository several read-only tests share) run outside
that autouse fixture, so they use :func:`shared_env`, which sets up the same
isolation under their own folder.
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "correct horse battery staple"
BIG_FILE_SIZE = 5 * 1024 * 1024 + 12345  # several chunks (avg ~768 KiB, max 4 MiB)


# --- running the command ----------------------------------------------------------------


def cli_env(passphrase: str | None = PASSPHRASE, base: dict[str, str] | None = None,
            **extra: str | None) -> dict[str, str]:
    """The current (isolated) environment, or ``base``, with ``ODBACKUP_PASSPHRASE`` set or removed."""
    env = dict(os.environ if base is None else base)
    env.pop("ODBACKUP_PASSPHRASE", None)
    env.pop("ODBACKUP_NEW_PASSPHRASE", None)
    if passphrase is not None:
        env["ODBACKUP_PASSPHRASE"] = passphrase
    for name, value in extra.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def shared_env(home: Path) -> dict[str, str]:
    """For module-scoped fixtures (which run outside the root autouse fixture):
    the same isolation it sets up, under ``home``."""
    return cli_env(
        PASSPHRASE,
        ODBACKUP_CONFIG_DIR=str(home / "config"),
        ODBACKUP_CACHE_DIR=str(home / "cache"),
        ODBACKUP_TEST_WEAK_KDF="1",
        ODBACKUP_TEST_PACK_SIZE=str(256 * 1024),
    )


def cli_command(args: list) -> list[str]:
    return [sys.executable, "-m", "tui.cli", *(str(a) for a in args)]


def run_cli(args: list, env: dict[str, str] | None = None, *, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``odbackup ARGS`` to completion; stdin is not a terminal (``/dev/null``)."""
    return subprocess.run(
        cli_command(args),
        cwd=ROOT,
        env=cli_env() if env is None else env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="surrogateescape",  # file names need not be valid UTF-8
        timeout=timeout,
    )


def json_lines(stdout: str) -> list[dict]:
    """Every line of ``--json`` output, parsed (a non-JSON line fails the test)."""
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def events(cp: subprocess.CompletedProcess, name: str) -> list[dict]:
    return [e for e in json_lines(cp.stdout) if e["event"] == name]


def summary(cp: subprocess.CompletedProcess) -> dict:
    """The ``summary`` line (an ``error`` line may follow it when the command fails)."""
    docs = [d for d in json_lines(cp.stdout) if d["event"] == "summary"]
    assert len(docs) == 1, f"expected one summary line:\n{explain(cp)}"
    return docs[0]


def explain(cp: subprocess.CompletedProcess) -> str:
    """Assertion message: exit code and both streams."""
    return f"exit {cp.returncode}\n--- stdout ---\n{cp.stdout}\n--- stderr ---\n{cp.stderr}"


def ok(cp: subprocess.CompletedProcess, code: int = 0) -> subprocess.CompletedProcess:
    assert cp.returncode == code, explain(cp)
    return cp


# --- repositories -----------------------------------------------------------------------


@dataclass
class Repo:
    """A repository made by ``odbackup init``. ``base_env`` is set for repositories shared by
    a module (their own config/cache folders); otherwise the test's environment is used."""

    path: Path
    recovery_key: str
    repo_id: str
    base_env: dict[str, str] | None = None

    def env(self, passphrase: str | None = PASSPHRASE, **extra: str | None) -> dict[str, str]:
        return cli_env(passphrase, self.base_env, **extra)

    def run(self, args: list, passphrase: str | None = PASSPHRASE, **extra: str | None):
        """``run_cli`` in this repository's environment."""
        return run_cli(args, self.env(passphrase, **extra))

    def backup(self, *sources: Path, env: dict[str, str] | None = None, code: int = 0) -> dict:
        """``backup --json`` of ``sources``; returns the summary line."""
        args = ["backup", "--repo", self.path, "--json"]
        for s in sources:
            args += ["--path", s]
        return summary(ok(run_cli(args, env or self.env()), code))

    def restore(self, target: Path, *paths: str, snapshot: str = "latest", extra: tuple = (),
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        args = ["restore", "--repo", self.path, snapshot, "--to", target, *paths, *extra, "--json"]
        return run_cli(args, env or self.env())

    def files(self, folder: str = "") -> dict[str, bytes]:
        """Every file below the repository (or one of its folders): relative path -> bytes."""
        return read_all_files(self.path / folder if folder else self.path)

    def size(self) -> int:
        return sum(len(b) for b in self.files().values())


def init_repo(path: Path, passphrase: str = PASSPHRASE, base_env: dict[str, str] | None = None) -> Repo:
    doc = summary(ok(run_cli(["init", path, "--json"], cli_env(passphrase, base_env))))
    return Repo(path, doc["recovery_key"], doc["repository_id"], base_env)


# --- file trees -------------------------------------------------------------------------


def random_file(path: Path, size: int) -> Path:
    """An incompressible file of ``size`` bytes (parents created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 4 * 1024 * 1024)
            f.write(os.urandom(n))
            left -= n
    return path


def make_tree(path: Path) -> Path:
    """A small practice folder with every kind of entry a round trip must keep.

    - nested folders, an empty folder, an empty file
    - a non-ASCII file name, and a name that is not valid UTF-8
    - a multi-chunk random file
    - a symlink to a folder *outside* the tree (must be recorded, not followed)
    - a relative symlink to a file inside the tree, and a dangling one
    - odd permissions and modification times with nanoseconds
    """
    outside = path.parent / (path.name + "-outside")
    outside.mkdir(parents=True)
    (outside / "outside-secret.txt").write_text("must not be backed up through the link\n")

    deep = path / "Nested" / "Deeper" / "Deepest"
    deep.mkdir(parents=True)
    (path / "EmptyFolder").mkdir()
    (path / "empty.dat").write_bytes(b"")
    (deep / "note.txt").write_text("a note in a deep folder\n", encoding="utf-8")
    (path / "Nested" / "Deeper" / "Müller Zoë.txt").write_text("Grüße, Zoë — ½ ✓\n", encoding="utf-8")
    (path / "Nested" / "readme.txt").write_bytes(b"plain ascii\r\nwith CRLF\r\n")
    # A Latin-1 name that is not valid UTF-8 (old Samba shares have these).
    with open(os.path.join(os.fsencode(path / "Nested"), b"latin1-\xe9t\xe9.txt"), "wb") as f:
        f.write(b"\xe9t\xe9")
    random_file(path / "Nested" / "big.bin", BIG_FILE_SIZE)
    (path / "Nested" / "private.txt").write_text("mode 0640\n")
    os.chmod(path / "Nested" / "private.txt", 0o640)
    os.symlink(str(outside), path / "link-to-outside")
    os.symlink("Nested/readme.txt", path / "link-to-readme")
    os.symlink("no/such/target", path / "Nested" / "dangling-link")

    mtimes = {
        "empty.dat": 1_500_000_000_000_000_001,
        "Nested/Deeper/Deepest/note.txt": 1_600_000_000_123_456_789,
        "Nested/Deeper/Müller Zoë.txt": 1_234_567_890_987_654_321,
        "Nested/readme.txt": 1_700_000_000_000_000_000,
        "Nested/big.bin": 1_650_000_000_500_000_000,
        "Nested/private.txt": 1_000_000_000_000_000_000,
    }
    for rel, ns in mtimes.items():
        os.utime(path / rel, ns=(ns, ns))
    # Folders last (writing into a folder changes its time), deepest first.
    for rel, ns in [("Nested/Deeper/Deepest", 1_400_000_000_000_000_007),
                    ("Nested/Deeper", 1_410_000_000_000_000_000),
                    ("EmptyFolder", 1_420_000_000_000_000_000),
                    ("Nested", 1_430_000_000_000_000_000)]:
        os.utime(path / rel, ns=(ns, ns))
    return path


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def describe_tree(root: Path, *, with_dir_times: bool = False) -> dict[str, tuple]:
    """Relative path -> what a faithful restore must reproduce (links are not followed)."""
    result: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in sorted(dirnames + filenames):
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                result[rel] = ("symlink", os.readlink(full))
            elif stat.S_ISDIR(st.st_mode):
                result[rel] = ("dir", stat.S_IMODE(st.st_mode)) + ((st.st_mtime_ns,) if with_dir_times else ())
            elif stat.S_ISREG(st.st_mode):
                result[rel] = ("file", st.st_size, sha256(full), st.st_mtime_ns, stat.S_IMODE(st.st_mode))
            else:
                result[rel] = ("other",)
    return result


def read_all_files(root: Path) -> dict[str, bytes]:
    found = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            full = Path(dirpath) / name
            if not full.is_symlink():
                found[full.relative_to(root).as_posix()] = full.read_bytes()
    return found
