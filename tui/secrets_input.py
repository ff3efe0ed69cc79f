"""Getting the passphrase: environment, prompt, or machine credentials.

Precedence: ``ODBACKUP_PASSPHRASE`` > this machine's write-only credentials
(only where they suffice) > a prompt on the terminal. A passphrase is never
taken from a command-line argument (other users can read those).
"""
from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable

from engine.errors import NeedsFullKey, NoCredentials, UsageError
from engine.repository.repo import Repository

ENV = "ODBACKUP_PASSPHRASE"
MIN_LENGTH = 10


def _interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def ask_secret(prompt: str = "Passphrase or recovery key: ") -> str | None:
    value = os.environ.get(ENV)
    if value:
        return value
    if _interactive():
        return getpass.getpass(prompt)
    return None


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
    repo = Repository.open(location)
    if os.environ.get(ENV):
        repo.unlock(os.environ[ENV])
        return repo
    if not full:
        try:
            repo.use_machine_credentials()
            return repo
        except NoCredentials:
            pass
    secret = ask_secret()
    if secret is None:
        raise NeedsFullKey() if full else NoCredentials()
    repo.unlock(secret)
    return repo
