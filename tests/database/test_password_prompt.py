"""The database password is asked for only when the server wants one, and only from a person.

``odbackup backup --db ...`` run in a real terminal (a pty: getpass talks to it as to
a person's) first tries the server without a password (and with the MySQL option
files); it prompts only when the server refuses that (1045 / 1698), and never when
stdin is not a terminal (a scheduled run fails with "wrong database credentials").
"""
from __future__ import annotations

import os
import pty
import secrets
import select
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from dbhelpers import PASSPHRASE

ROOT = Path(__file__).resolve().parents[2]
PROMPT = "Password for"
DEADLINE = 120.0


class Terminal:
    """``odbackup ARGS`` in a pseudo-terminal: what it shows, what is typed, how it ends."""

    def __init__(self, args: list, env: dict[str, str]) -> None:
        command = [sys.executable, "-m", "tui.cli", *(str(a) for a in args)]
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the pty is its terminal (stdin, stdout, stderr, /dev/tty)
            os.chdir(ROOT)
            os.execve(sys.executable, command, env)
        self.screen = ""

    def read_until(self, text: str | None, timeout: float = DEADLINE) -> bool:
        """Read what the program shows until ``text`` appears (True) or it ends (False)."""
        deadline = time.monotonic() + timeout
        while text is None or text not in self.screen:
            left = deadline - time.monotonic()
            assert left > 0, f"the program neither ended nor showed {text!r}:\n{self.screen}"
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                continue
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:  # EIO: the program ended and closed the terminal
                return False
            if not chunk:
                return False
            self.screen += chunk.decode(errors="replace")
        return True

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def finish(self) -> int:
        """Read to the end; the exit code."""
        self.read_until(None)
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status)

    def kill(self) -> None:
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        os.close(self.fd)


@pytest.fixture
def office(tmp_path, admin, fresh_db):
    """A small database, a repository, and a home folder with no MySQL option file."""
    db = fresh_db("prompt")
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
        cur.execute(f"CREATE TABLE `{db}`.patient (PatNum BIGINT PRIMARY KEY, LName VARCHAR(40)) ENGINE=MyISAM")
        cur.execute(f"INSERT INTO `{db}`.patient VALUES (1, 'Smith'), (2, 'Jones')")
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home), ODBACKUP_PASSPHRASE=PASSPHRASE, TERM="xterm")
    env.pop("ODBACKUP_DB_PASSWORD", None)
    repo = tmp_path / "repo"
    init = Terminal(["init", repo], env)
    assert init.finish() == 0, init.screen
    return db, repo, env


@pytest.fixture
def user_with_password(admin):
    """A MySQL user of this test only, with a password; dropped afterwards."""
    name, password = f"odbt_user_{secrets.token_hex(6)}", f"pw-{secrets.token_hex(8)}"
    with admin.cursor() as cur:
        cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (name, password))
    yield name, password
    with admin.cursor() as cur:
        cur.execute("DROP USER IF EXISTS %s@'%%'", (name,))


def db_url(user: str, db: str) -> str:
    return f"mysql://{quote(user, safe='')}@127.0.0.1:3306/{quote(db, safe='')}"


def test_no_prompt_where_connecting_without_a_password_works(office):
    """root with an empty password (as this server, and the README's quick start, have it)."""
    db, repo, env = office
    term = Terminal(["backup", "--repo", repo, "--db", db_url("root", db)], env)
    if term.read_until(PROMPT, timeout=DEADLINE):
        term.kill()
        pytest.fail(f"asked for a password the server does not need:\n{term.screen}")
    assert term.finish() == 0, term.screen
    assert f"Database {db}:" in term.screen and "Snapshot" in term.screen


def test_the_prompt_appears_when_the_server_wants_a_password(office, admin, user_with_password):
    db, repo, env = office
    user, password = user_with_password
    with admin.cursor() as cur:
        cur.execute(f"GRANT SELECT, LOCK TABLES, RELOAD, PROCESS, SHOW VIEW, TRIGGER, EVENT ON *.* TO '{user}'@'%'")
    term = Terminal(["backup", "--repo", repo, "--db", db_url(user, db)], env)
    assert term.read_until(f"{PROMPT} {user}@127.0.0.1:3306:"), term.screen
    term.type(password + "\n")
    assert term.finish() == 0, term.screen
    assert password not in term.screen  # not echoed
    assert f"Database {db}:" in term.screen
