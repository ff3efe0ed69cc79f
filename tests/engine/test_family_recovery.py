"""The main repository's recovery key opens the repositories related to it (archive drives, the
supplemental copy) through the family recovery key (docs/FORMAT.md 4.1 and 10.4), and nothing else."""
from __future__ import annotations

import json
import shutil

import pytest
from oldstyle import make_old_style

from engine.errors import WrongPassphrase
from engine.repository import keys as keymod
from engine.repository.repo import Repository

PASS = "a long test passphrase"


@pytest.fixture
def main(tmp_path):
    repo, recovery = Repository.init(str(tmp_path / "main"), PASS)
    return repo, recovery


def _opens(location: str, secret: str) -> bool:
    repo = Repository.open(location)
    try:
        repo.unlock(secret)
    except WrongPassphrase:
        return False
    return True


def _key_file(location: str, kind: str) -> str:
    [name] = [n for n, doc in keymod.key_files(Repository.open(location).backend).readable if doc["kind"] == kind]
    return name


def test_the_main_recovery_key_opens_a_related_repository_which_gets_no_key_of_its_own(main, tmp_path):
    repo, recovery = main
    related, own = Repository.init_related(str(tmp_path / "drive"), repo, PASS, label="Drive B")
    assert own is None
    opened = Repository.open(related.location)
    opened.unlock(recovery)
    assert opened.keys.data_private == repo.keys.data_private and opened.keys.repo_id == related.repo_id
    kinds = sorted(doc["kind"] for _n, doc in keymod.key_files(related.backend).readable)
    assert kinds == ["passphrase", "recovery"]
    assert _opens(related.location, PASS)
    # a relative of the relative: the family recovery key travels with the secrets
    second, own2 = Repository.init_related(str(tmp_path / "drive2"), opened, PASS, label="Drive C")
    assert own2 is None and _opens(second.location, recovery)


def test_the_family_recovery_key_is_never_in_machine_credentials(main):
    repo, _recovery = main
    assert repo.keys.family_recovery is not None
    assert repo.keys.write_only().family_recovery is None
    path = keymod.enroll_machine(repo.keys, repo.location)
    with open(path) as f:
        doc = json.load(f)
    assert "family_recovery" not in doc and "data_private" not in doc
    doc["family_recovery"] = repo.keys.family_recovery.to_json()  # planted by hand: never honoured
    with open(path, "w") as f:
        json.dump(doc, f)
    assert keymod.load_machine_credentials(repo.repo_id).family_recovery is None


def test_a_related_recovery_key_file_lets_nothing_else_in(main, tmp_path):
    repo, recovery = main
    related, _ = Repository.init_related(str(tmp_path / "drive"), repo, PASS)
    stranger, stranger_key = Repository.init(str(tmp_path / "stranger"), PASS)
    name = _key_file(related.location, "recovery")
    # moved into another repository, it opens nothing there: its seal names the drive's ID
    shutil.copy(tmp_path / "drive" / name, tmp_path / "stranger" / name)
    assert not _opens(stranger.location, recovery)
    # nor into the main repository, once the main's own recovery key file is gone
    shutil.copy(tmp_path / "drive" / name, tmp_path / "main" / name)
    (tmp_path / "main" / _key_file_other(tmp_path / "main", name)).unlink()
    assert not _opens(repo.location, recovery)
    # and another repository's recovery key does not open the drive
    assert not _opens(related.location, stranger_key)


def _key_file_other(folder, planted: str) -> str:
    """The main repository's own recovery key file (not the one planted)."""
    [name] = [n for n, doc in keymod.key_files(Repository.open(str(folder)).backend).readable
              if doc["kind"] == "recovery" and n != planted]
    return name


def test_passwd_on_one_does_not_break_the_other(main, tmp_path):
    repo, recovery = main
    related, _ = Repository.init_related(str(tmp_path / "drive"), repo, PASS)
    repo.change_passphrase(PASS, "the main's new passphrase")
    assert _opens(related.location, PASS) and _opens(related.location, recovery)
    assert _opens(repo.location, recovery) and not _opens(repo.location, PASS)
    Repository.open(related.location).change_passphrase(recovery, "the drive's new passphrase")
    assert _opens(repo.location, "the main's new passphrase") and _opens(repo.location, recovery)
    assert _opens(related.location, "the drive's new passphrase") and _opens(related.location, recovery)
    assert not _opens(related.location, PASS)


def test_an_old_style_main_repository_gives_its_relatives_their_own_recovery_key(main, tmp_path):
    repo, recovery = main
    make_old_style(repo.location, PASS, recovery)
    old = Repository.open(repo.location)
    old.unlock(PASS)
    related, own = Repository.init_related(str(tmp_path / "drive"), old, PASS)
    assert own is not None and own != recovery
    assert _opens(related.location, own) and _opens(related.location, PASS)
    assert not _opens(related.location, recovery)
    assert _opens(old.location, recovery) and _opens(old.location, PASS)  # the old one still works


def test_an_old_style_main_repository_unlocked_with_its_recovery_key_gives_it_to_its_relatives(main, tmp_path):
    repo, recovery = main
    make_old_style(repo.location, PASS, recovery)
    old = Repository.open(repo.location)
    old.unlock(recovery)
    related, own = Repository.init_related(str(tmp_path / "drive"), old, "the drive's passphrase",
                                           source_recovery_key=recovery)
    assert own is None and _opens(related.location, recovery)
    _, other_key = Repository.init(str(tmp_path / "other"), PASS)
    with pytest.raises(WrongPassphrase):  # a recovery key that is not the main's is refused, nothing made
        Repository.init_related(str(tmp_path / "drive2"), old, PASS, source_recovery_key=other_key)
    assert not (tmp_path / "drive2" / "config").exists()
