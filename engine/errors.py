"""One hierarchy of engine errors.

Each error has a short title, a message a non-expert understands (the
docstring is the default) and, where useful, a hint saying what to do. The CLI
maps ``exit_code`` to the process exit status; the TUI shows title, message
and hint in one place.
"""
from __future__ import annotations


class OdbackupError(Exception):
    """Something went wrong."""

    title = "Error"
    exit_code = 1
    hint: str | None = None

    def __init__(self, message: str | None = None, *, hint: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or self.title).strip())
        if hint is not None:
            self.hint = hint

    @property
    def message(self) -> str:
        return str(self)


class UsageError(OdbackupError):
    """The command was not given what it needs."""

    title = "Bad arguments"
    exit_code = 2


class RepositoryNotFound(OdbackupError):
    """There is no odbackup repository at this place."""

    title = "No repository"
    hint = "Check the path, and that the USB drive or network share is connected."


class RepositoryExists(OdbackupError):
    """A repository (or other files) already exists at this place."""

    title = "Repository exists"
    hint = "Choose an empty or new folder for a new repository."


class WrongPassphrase(OdbackupError):
    """The passphrase or recovery key does not unlock this repository."""

    title = "Wrong passphrase"
    exit_code = 4
    hint = "Check the passphrase (it is case-sensitive), or use the recovery key."


class NoCredentials(OdbackupError):
    """No passphrase was given and this machine is not enrolled for this repository."""

    title = "No credentials"
    exit_code = 4
    hint = "Set ODBACKUP_PASSPHRASE, run on a terminal to be asked, or run 'odbackup enroll'."


class NeedsFullKey(OdbackupError):
    """This needs the passphrase or recovery key: machine credentials cannot read backups."""

    title = "Passphrase needed"
    exit_code = 4
    hint = "Give the passphrase or the recovery key."


class NeedsPassphrase(NeedsFullKey):
    """This needs the passphrase itself, and the recovery key was given: a new related repository's
    passphrase key file is sealed with the passphrase (an archive drive, the supplemental copy)."""

    hint = "Give the passphrase (the recovery key opens the new repository too, once it is made)."


class RepositoryLocked(OdbackupError):
    """Another odbackup run is writing to this repository."""

    title = "Repository in use"
    exit_code = 5
    hint = "Wait for the other run to finish. If it is dead, 'odbackup unlock' clears its lock."


class RepositoryDamaged(OdbackupError):
    """The repository is damaged."""

    title = "Repository damaged"
    exit_code = 6
    hint = "Run 'odbackup check --read-data' to see which snapshots and files are affected."


class SnapshotDamaged(RepositoryDamaged):
    """A snapshot file of the repository is damaged and cannot be read."""

    title = "Snapshot damaged"
    hint = "Name an older snapshot explicitly (list them with 'odbackup snapshots'); 'odbackup check' says more."


class UnsafeSnapshot(RepositoryDamaged):
    """The snapshot is damaged or unsafe: it names a file, folder or table in a way that cannot be used safely."""

    title = "Damaged or unsafe snapshot"
    hint = ("Nothing was written from that part. Run 'odbackup check' to see every unsafe name, "
            "and restore another snapshot.")


class KeyFileDamaged(RepositoryDamaged):
    """The repository's key files are damaged: none of them can be read."""

    title = "Key files damaged"
    hint = "Restore the 'keys' folder from a copy of the repository, if there is one."


class SnapshotNotFound(OdbackupError):
    """No snapshot matches."""

    title = "No such snapshot"
    hint = "List them with 'odbackup snapshots'."


class UnsafePath(OdbackupError):
    """A path would land outside the restore folder or overwrite the source."""

    title = "Refused"


class Cancelled(OdbackupError):
    """The operation was cancelled."""

    title = "Cancelled"
    exit_code = 130
