"""Which credentials open a repository, and in which order (the CLI and the app share this).

A repository opens with the first of these that is at hand:

1. ``ODBACKUP_PASSPHRASE``: the passphrase or recovery key in the environment
   (a scheduled run, a script);
2. the passphrase or recovery key already given in this session (the app
   keeps the one typed in its unlock dialog in memory, never on disk);
3. this machine's write-only credentials (``odbackup enroll``), only when
   nothing has to be read back (``backup``, ``snapshots``, ``check`` without
   ``--read-data``, the dashboard): they can add backups, never read them;
4. asking a person: a prompt on the terminal. Where nobody can be asked (a
   scheduled run, the app's worker threads) there is no prompt; the app asks
   with its own dialog when opening fails, and starts the work again with
   the answer as (2).

A recovery key is accepted wherever a passphrase is. A secret that is given
but wrong is an error (``WrongPassphrase``), never a reason to go on to the
next source: a typo must be noticed, not replaced by weaker credentials.
With none of them, opening fails with ``NeedsFullKey`` (reading was needed)
or ``NoCredentials``. A passphrase is never taken from a command-line
argument (other users can read those).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum

from .errors import NeedsFullKey, NoCredentials
from .repository.repo import Repository

ENV = "ODBACKUP_PASSPHRASE"


class Source(Enum):
    """One place a repository's credentials come from."""

    ENVIRONMENT = "environment"
    SESSION = "session"
    MACHINE = "machine"
    PROMPT = "prompt"


@dataclass(frozen=True)
class Sources:
    """The credentials at hand when a repository is opened."""

    environment: str | None = None
    """The value of ``ODBACKUP_PASSPHRASE`` (empty counts as not set)."""
    session: str | None = None
    """The passphrase or recovery key already given in this session."""
    ask: Callable[[], str | None] | None = None
    """Asks a person (returns None when they give nothing); None where nobody can be asked."""

    @classmethod
    def here(cls, *, session: str | None = None, ask: Callable[[], str | None] | None = None,
             environ: Mapping[str, str] | None = None) -> Sources:
        """The sources of this process: its environment, plus what the caller has."""
        env = os.environ if environ is None else environ
        return cls(environment=env.get(ENV) or None, session=session or None, ask=ask)


def precedence(sources: Sources, *, full: bool) -> tuple[Source, ...]:
    """The sources to try, in order (pure). ``full``: the content must be readable.

    A given secret (environment, then session) is the only one tried; else the
    machine credentials (not when ``full``), then asking, when someone can be asked.
    """
    if sources.environment:
        return (Source.ENVIRONMENT,)
    if sources.session:
        return (Source.SESSION,)
    machine = () if full else (Source.MACHINE,)
    return machine + ((Source.PROMPT,) if sources.ask is not None else ())


def open_repository(location: str, sources: Sources, *, full: bool) -> Repository:
    """Open the repository at ``location`` and unlock it with the first source of
    :func:`precedence` that gives credentials; see the module docstring."""
    repo = Repository.open(location)
    for source in precedence(sources, full=full):
        if source is Source.MACHINE:
            try:
                repo.use_machine_credentials()
                return repo
            except NoCredentials:
                continue
        secret = _secret(sources, source)
        if secret:
            repo.unlock(secret)
            return repo
    raise NeedsFullKey() if full else NoCredentials()


def given_secret(sources: Sources) -> str | None:
    """The passphrase or recovery key itself (enrolling, changing the passphrase): the
    first of environment, session and asking that gives one, as :func:`precedence` with ``full``."""
    for source in precedence(sources, full=True):
        secret = _secret(sources, source)
        if secret:
            return secret
    return None


def _secret(sources: Sources, source: Source) -> str | None:
    if source is Source.ENVIRONMENT:
        return sources.environment
    if source is Source.SESSION:
        return sources.session
    return sources.ask() if sources.ask is not None else None
