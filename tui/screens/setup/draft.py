"""What the setup has gathered so far: one mutable draft shared by every step."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from engine.database.connection import DbTarget, resolve_password
from engine.settings import DatabaseSettings, Settings


@dataclass
class SetupDraft:
    """The answers so far. The password and passphrase stay in memory only; at the end the
    settings are saved (no secret in them) and the password goes to the owner-only file."""

    host: str = "127.0.0.1"
    port: int = 3306
    user: str = "root"
    password: str | None = None
    """Typed in this setup (None: use the saved one / the option files)."""
    use_database: bool = True
    database: str = ""
    database_bytes: int = 0
    lock_mode: str = "consistent"
    lock_timeout: float = 10.0
    images_folder: str = ""
    images_bytes: int = 0
    extra_folders: list[str] = field(default_factory=list)
    extra_bytes: dict[str, int] = field(default_factory=dict)
    repository: str = ""
    repository_ready: str = ""
    """The repository location that was created or unlocked (or already set up) in this setup."""
    repository_how: str = ""
    """How it came to be ready in this setup: "created", "unlocked", or "" (set up before)."""
    secret: str | None = None
    """The passphrase typed (or created) in this setup."""
    enrolled: bool = False
    demo: bool = False
    editing: bool = False
    """True when changing an existing setup (the dashboard's Setup)."""

    @classmethod
    def from_settings(cls, settings: Settings | None) -> SetupDraft:
        if settings is None:
            return cls()
        db = settings.database
        draft = cls(repository=settings.repository, repository_ready=settings.repository,
                    images_folder=settings.images_folder, extra_folders=list(settings.extra_folders),
                    use_database=db is not None, editing=True, enrolled=True)
        if db is not None:
            draft.host, draft.port, draft.user, draft.database = db.host, db.port, db.user, db.name
            draft.lock_mode, draft.lock_timeout = db.lock_mode, db.lock_timeout
        return draft

    def target(self, database: str | None = None) -> DbTarget:
        """The database server, with the typed password (else by the usual precedence)."""
        plain = DbTarget(host=self.host, port=self.port, user=self.user, database=database)
        return plain.with_password(self.password) if self.password is not None else resolve_password(plain)

    def to_settings(self) -> Settings:
        db = None
        if self.use_database:
            db = DatabaseSettings(host=self.host, port=self.port, user=self.user, name=self.database,
                                  lock_mode=self.lock_mode, lock_timeout=self.lock_timeout)
        return Settings(repository=self.repository, images_folder=self.images_folder,
                        extra_folders=tuple(self.extra_folders), database=db)

    def folders_chosen(self) -> bool:
        return bool(self.images_folder or self.extra_folders)

    def estimated_bytes(self) -> int:
        """About how much the first backup stores (before compression and deduplication)."""
        db = self.database_bytes if self.use_database else 0
        return db + self.images_bytes + sum(self.extra_bytes.get(f, 0) for f in self.extra_folders)


def folder_problem(path: str) -> str | None:
    """Why ``path`` cannot be backed up (None when it can)."""
    if not path.strip():
        return "Type a folder path."
    full = os.path.abspath(os.path.expanduser(path.strip()))
    if not os.path.exists(full):
        return f"'{full}' does not exist (is the drive or share connected?)."
    if not os.path.isdir(full):
        return f"'{full}' is a file, not a folder."
    if not os.access(full, os.R_OK | os.X_OK):
        return f"odbackup may not read '{full}' (permissions)."
    return None


def inside(path: str, folder: str) -> bool:
    """Is ``path`` the folder ``folder`` or somewhere below it (as this system compares names)?"""
    path, folder = (os.path.normcase(os.path.abspath(p)) for p in (path, folder))
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def extra_folder_problem(path: str, images: str, extras: list[str]) -> str | None:
    """Why ``path`` cannot join the other folders (None when it can): a folder inside another
    one chosen would be stored twice."""
    if path in extras or (images and inside(path, images) and inside(images, path)):
        return f"'{path}' is already in the list."
    if images and inside(path, images):
        return f"'{path}' is inside the images folder ({images}): it is backed up with it already."
    if images and inside(images, path):
        return (f"The images folder ({images}) is inside '{path}': it would be stored twice. "
                "Choose another folder, or change the images folder.")
    for other in extras:
        if inside(path, other):
            return f"'{path}' is inside '{other}', already in the list: it is backed up with it already."
        if inside(other, path):
            return f"'{other}', already in the list, is inside '{path}': remove it from the list first."
    return None


def images_folder_problem(images: str, extras: list[str]) -> str | None:
    """Why the images folder and the other folders cannot go together (None when they can)."""
    for other in extras:
        if inside(images, other):
            return (f"The images folder ({images}) is inside another folder in the list ({other}): "
                    "it would be stored twice. Remove one of them.")
        if inside(other, images):
            return (f"'{other}' in the list is inside the images folder ({images}): it would be stored "
                    "twice. Remove it from the list.")
    return None
