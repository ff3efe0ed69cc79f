"""What the setup has gathered so far: one mutable draft shared by every step."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from engine.database.connection import DbTarget, resolve_password
from engine.jobsettings import RetentionSettings, ScheduleSettings
from engine.offsite.settings import OffsiteSettings
from engine.places import (  # noqa: F401  (the setup's checks live in the engine, shared with 'config set')
    extra_folder_problem,
    folder_problem,
    images_folder_problem,
    inside,
)
from engine.settings import DatabaseSettings, Settings
from engine.supplemental.settings import SupplementalSettings


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
    object_lock: tuple[str, int] = ("", 0)
    """The Object Lock days chosen for a location in online storage (the Online storage dialog):
    a repository created there locks its objects that many days."""
    secret: str | None = None
    """The passphrase typed (or created) in this setup."""
    enrolled: bool = False
    demo: bool = False
    editing: bool = False
    """True when changing an existing setup (the dashboard's Setup)."""
    schedule: ScheduleSettings | None = None
    """The schedule chosen at the Frequency step (None: kept from the saved settings, else the defaults)."""
    retention: RetentionSettings | None = None
    """The retention chosen at the Frequency step (None: as for the schedule)."""
    supplemental: SupplementalSettings | None = None
    """The supplemental copy chosen at its step (None: kept from the saved settings, else off)."""
    offsite: OffsiteSettings | None = None
    """The offsite copy set up at the Archives step (None: kept from the saved settings, else off)."""
    saved: Settings | None = None
    """The settings this setup changes: what it does not ask about (the schedule, retention, keys a
    newer version or 'odbackup config' wrote) is kept from them."""

    def object_lock_days(self) -> int:
        """The Object Lock days for the repository as it is chosen now (0 for any other place)."""
        location, days = self.object_lock
        return days if location and location == self.repository.strip() else 0

    @classmethod
    def from_settings(cls, settings: Settings | None) -> SetupDraft:
        if settings is None:
            return cls()
        db = settings.database
        draft = cls(repository=settings.repository, repository_ready=settings.repository,
                    images_folder=settings.images_folder, extra_folders=list(settings.extra_folders),
                    use_database=db is not None, editing=True, enrolled=True, saved=settings)
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
        base = self.saved or Settings()
        return replace(base, repository=self.repository, images_folder=self.images_folder,
                       extra_folders=tuple(self.extra_folders), database=db,
                       schedule=self.schedule or base.schedule, retention=self.retention or base.retention,
                       supplemental=self.supplemental or base.supplemental,
                       offsite=self.offsite or base.offsite)

    def folders_chosen(self) -> bool:
        return bool(self.images_folder or self.extra_folders)

    def estimated_bytes(self) -> int:
        """About how much the first backup stores (before compression and deduplication)."""
        db = self.database_bytes if self.use_database else 0
        return db + self.images_bytes + sum(self.extra_bytes.get(f, 0) for f in self.extra_folders)
