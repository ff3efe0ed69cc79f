"""A main repository as odbackup made it before the family recovery key (docs/FORMAT.md 10.4):
the same secrets without ``family_recovery``, in one passphrase and one recovery key file."""
from __future__ import annotations

import dataclasses

from engine.recovery import parse_recovery_key
from engine.repository import keys as keymod
from engine.repository.repo import Repository


def make_old_style(location: str, passphrase: str, recovery_key: str) -> None:
    """Rewrite the key files of the repository at ``location`` (made by today's ``init``) as an older
    odbackup wrote them: what the sealed secrets hold is all that differs."""
    repo = Repository.open(location)
    repo.unlock(passphrase)
    assert repo.keys.family_recovery is not None, "made by today's init"
    old = dataclasses.replace(repo.keys, family_recovery=None)
    before = [name for name, _doc in keymod.key_files(repo.backend).readable]
    keymod.add_key_file(repo.backend, keymod.make_key_file(old, passphrase=passphrase))
    keymod.add_key_file(repo.backend, keymod.make_key_file(old, recovery=parse_recovery_key(recovery_key)))
    for name in before:
        repo.backend.remove(name)
    again = Repository.open(location)
    again.unlock(recovery_key)
    assert again.keys.family_recovery is None
