"""Getting the passphrase on a terminal: the prompts, for the order of :mod:`engine.credentials`.

Precedence (written once, in :mod:`engine.credentials`): ``ODBACKUP_PASSPHRASE``
> this machine's write-only credentials (only where they suffice) > a prompt
on the terminal. A passphrase is never taken from a command-line argument
(other users can read those).
"""
from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable

from engine import credentials
from engine.credentials import ENV
from engine.errors import UsageError
from engine.repository.repo import Repository

MIN_LENGTH = 10


def _interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def terminal_sources(prompt: str = "Passphrase or recovery key: ") -> credentials.Sources:
    """This process's credentials: the environment, and a prompt when a person is at the terminal."""
    return credentials.Sources.here(ask=(lambda: getpass.getpass(prompt)) if _interactive() else None)


def ask_secret(prompt: str = "Passphrase or recovery key: ", *, env: bool = True) -> str | None:
    """The passphrase or recovery key: ``ODBACKUP_PASSPHRASE`` (unless ``env`` is False: a second
    repository's), else the prompt (on a terminal)."""
    if not env:
        return getpass.getpass(prompt) or None if _interactive() else None
    return credentials.given_secret(terminal_sources(prompt))


def ask_db_password(prompt: str) -> str | None:
    """The database password prompt (only when a person is at the terminal)."""
    return getpass.getpass(prompt) if _interactive() else None


def db_password_prompt() -> Callable[[str], str | None] | None:
    """What ``resolve_password`` may ask: the prompt when a person is at the terminal, else
    nothing (a scheduled run is never asked, and does not try the server an extra time)."""
    return ask_db_password if _interactive() else None


def new_passphrase(env: str = ENV) -> str:
    """A new passphrase: from the environment, or typed twice; at least MIN_LENGTH characters."""
    value = os.environ.get(env)
    if not value:
        if not _interactive():
            raise UsageError(f"No passphrase: set {env} or run on a terminal.")
        print("Choose a passphrase of several unrelated words (at least "
              f"{MIN_LENGTH} characters). Without it, or the recovery key, nobody can restore.",
              file=sys.stderr)
        value = getpass.getpass("New passphrase: ")
        if getpass.getpass("Type it again: ") != value:
            raise UsageError("The two passphrases differ. Nothing was changed.")
    if len(value) < MIN_LENGTH:
        raise UsageError(f"The passphrase is too short: use at least {MIN_LENGTH} characters.")
    return value


def open_repository(location: str, *, full: bool) -> Repository:
    """Open and unlock; ``full`` means content must be readable (restore, ls, ...)."""
    return credentials.open_repository(location, terminal_sources(), full=full)
