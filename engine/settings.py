"""What the setup saves: one typed, validated model, stored as TOML.

The file is ``settings.toml`` in :func:`engine.paths.config_dir` (the
platformdirs config folder; ``ODBACKUP_CONFIG_DIR`` overrides it). It holds
no secret, ever: the database password goes through
:func:`engine.database.connection.save_password` into the owner-only
credentials file, the repository passphrase is never stored, and this
machine's write-only repository keys live in their own owner-only file
(``odbackup enroll`` / the setup's "enroll this machine").

Precedence, for each value a run uses (first that gives one wins):

1. a command-line argument (``--repo``, ``--path``, ``--db``, ``--lock-mode`` ...);
2. the environment: ``ODBACKUP_PASSPHRASE`` (repository secret),
   ``ODBACKUP_DB_PASSWORD`` (database password), ``ODBACKUP_CONFIG_DIR``
   (where this file is);
3. this file, for everything that is not a secret;
4. for the database password only: this machine's credentials file, then the
   MySQL option files (``~/.my.cnf``), as :mod:`engine.database.connection` says;
5. the defaults below.

``load_settings`` and ``save_settings`` are the one read and the one write
point. Reading uses ``tomllib``; writing uses the tiny writer here (only
strings, numbers, lists of strings and one level of tables are needed).
"""
from __future__ import annotations

import math
import os
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, TypeVar

from . import paths
from .errors import OdbackupError
from .filelock import try_lock, unlock
from .jobsettings import RetentionSettings, ScheduleSettings
from .offsite.settings import OffsiteSettings
from .places import DestinationCheck, check_destination, repository_inside_problem  # noqa: F401  (importable here too)
from .supplemental.settings import SupplementalSettings

if TYPE_CHECKING:
    from .backup import BackupPlan
    from .database.connection import DbTarget

FILE_NAME = "settings.toml"
TABLES = ("schedule", "retention", "supplemental", "offsite")
"""The flat tables written field by field (each a dataclass of typed defaults)."""
_T = TypeVar("_T")
_V = TypeVar("_V")
LOCK_MODES = ("consistent", "per-table")


class SettingsError(OdbackupError):
    """The saved settings cannot be used."""

    title = "Settings problem"
    hint = "Run the setup again (odbackup with no arguments, then Setup) or fix settings.toml."


@dataclass(frozen=True)
class DatabaseSettings:
    """The database to back up, and how to lock it. Never the password."""

    host: str = "127.0.0.1"
    """Host name or IP address of the MySQL/MariaDB server (Open Dental's server)."""
    port: int = 3306
    """TCP port of the server (3306 unless the practice changed it)."""
    user: str = "root"
    """Database user odbackup connects as (needs SELECT, LOCK TABLES, RELOAD, PROCESS)."""
    name: str = "opendental"
    """Name of the database to back up (Open Dental's is usually ``opendental``)."""
    lock_mode: str = "consistent"
    """``consistent``: all MyISAM tables at one instant (the office's changes wait while
    they are read); ``per-table``: each table locked only while it is read (short pauses)."""
    lock_timeout: float = 10.0
    """Seconds to wait for a read lock before withdrawing the request and retrying."""

    def target(self) -> DbTarget:
        """The connection target (without a password; see ``resolve_password``)."""
        from .database.connection import DbTarget

        return DbTarget(host=self.host, port=self.port, user=self.user, database=self.name)

    def problems(self) -> list[str]:
        """What is wrong with these values, in plain words (empty when they are fine)."""
        found = []
        if not self.host.strip():
            found.append("Type the database server's name or address (127.0.0.1 when it is this computer).")
        if not 0 < self.port < 65536:
            found.append("The port is a number between 1 and 65535 (usually 3306).")
        if not self.user.strip():
            found.append("Type the database user name (Open Dental's is often root).")
        if not self.name.strip():
            found.append("No database was chosen.")
        if self.lock_mode not in LOCK_MODES:
            found.append(f"The lock mode '{self.lock_mode}' is unknown: use consistent or per-table.")
        if not (math.isfinite(self.lock_timeout) and 1 <= self.lock_timeout <= 600):
            found.append("The lock timeout must be between 1 and 600 seconds.")
        return found


@dataclass(frozen=True)
class Settings:
    """Everything the setup saves."""

    repository: str = ""
    """The repository folder: a USB drive, a network share (mounted, or a UNC path) or a disk."""
    images_folder: str = ""
    """Open Dental's A to Z images folder (``OpenDentImages``); empty when not backed up."""
    extra_folders: tuple[str, ...] = ()
    """Other office folders to back up (documents, exports, ...)."""
    database: DatabaseSettings | None = None
    """The database to back up; None for a folders-only setup."""
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    """When the scheduled jobs run ([schedule])."""
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    """How long snapshots are kept ([retention])."""
    supplemental: SupplementalSettings = field(default_factory=SupplementalSettings)
    """The nightly last-resort copy to the Backup Copy Network Path ([supplemental])."""
    offsite: OffsiteSettings = field(default_factory=OffsiteSettings)
    """The nightly copy of the new snapshots into online storage ([offsite])."""
    extra: dict = field(default_factory=dict, compare=False, repr=False)
    """Unknown keys found in the file, kept so a newer version's settings are not lost."""

    @property
    def folders(self) -> tuple[str, ...]:
        """All folders to back up: the images folder first, then the extra ones."""
        return ((self.images_folder,) if self.images_folder else ()) + tuple(self.extra_folders)

    def problems(self) -> list[str]:
        """What is wrong, in plain words (empty when the settings can be used for a backup)."""
        found = []
        if not self.repository.strip():
            found.append("No repository (backup destination) is set.")
        if not self.folders and self.database is None:
            found.append("Nothing to back up: choose a database or at least one folder.")
        if len(set(self.folders)) != len(self.folders):
            found.append("A folder is listed twice.")
        found += _nested_folders(self.folders)
        inside = repository_inside_problem(self.repository, self.folders)
        if inside:
            found.append(inside)
        if self.database is not None:
            found += self.database.problems()
        return (found + self.schedule.problems() + self.retention.problems() + self._supplemental_problems()
                + self._offsite_problems())

    def _supplemental_problems(self) -> list[str]:
        """The supplemental copy's: its window (clear of the nightly backup when it is on), and a path
        apart from the main repository and from the folders it copies."""
        supp = self.supplemental
        found = supp.problems(self.schedule.nightly if supp.enabled else "off")
        path = supp.path.strip()
        if path and self.repository.strip():
            from .places import inside

            if inside(path, self.repository) or inside(self.repository, path):
                found.append("The Backup Copy Network Path must be apart from the main repository (another drive "
                             "or share): a copy in the same place is lost with it.")
        if path and repository_inside_problem(path, self.folders):
            found.append("The Backup Copy Network Path cannot be inside a folder being backed up.")
        return found

    def _offsite_problems(self) -> list[str]:
        """The offsite copy's: its own values, maintenance outside its window, and a location other
        than the main repository's."""
        found = self.offsite.problems()
        clash = self.offsite.maintenance_problem(self.schedule.maintenance, self.schedule.maintenance_days)
        if clash:
            found.append(clash)
        if self.offsite.location.strip() and self.offsite.location.strip() == self.repository.strip():
            found.append("The offsite location must be another repository than the main one (make it with "
                         "odbackup init LOCATION --related-to MAIN).")
        return found

    def calendars(self) -> dict:
        """Job name -> when the operating system starts it: the schedule's jobs, and the supplemental
        copy at its window's start when it is on; the archive copies only once an archive drive is
        set up (before, there is nothing to copy to). Raises ScheduleError."""
        found = self.schedule.calendars()
        if "archive" in found and not _archive_drives_set_up():
            del found["archive"]
        if self.supplemental.enabled:
            found["supplemental"] = self.supplemental.calendar()
        if self.offsite.enabled:
            found["offsite"] = self.offsite.calendar()
        return found

    def validate(self) -> Settings:
        """Return self, or raise :class:`SettingsError` naming every problem."""
        found = self.problems()
        if found:
            raise SettingsError(" ".join(found))
        return self

    def backup_plan(self) -> BackupPlan:
        """The backup these settings describe; the database password is resolved by its
        precedence (environment, this machine's credentials file, option files)."""
        from .backup import BackupPlan

        databases: tuple[DatabasePlan, ...] = ()
        if self.database is not None:
            from .database.connection import resolve_password
            from .database.dump import DatabasePlan

            target = resolve_password(self.database.target())
            databases = (DatabasePlan(target, lock_mode=self.database.lock_mode,
                                      lock_timeout=self.database.lock_timeout),)
        return BackupPlan(self.folders, databases)


def _archive_drives_set_up() -> bool:
    """Whether the archive book names a drive (an unreadable book counts: its alert says so)."""
    from .archive.drives import load_book
    from .errors import OdbackupError

    try:
        return bool(load_book().drives)
    except OdbackupError:
        return True


def _nested_folders(folders: tuple[str, ...]) -> list[str]:
    """A folder inside another one in the list would be stored twice."""
    found = []
    normal = [os.path.normcase(os.path.abspath(f)) for f in folders]
    for i, inner in enumerate(normal):
        for j, outer in enumerate(normal):
            if i != j and inner.startswith(outer.rstrip(os.sep) + os.sep):
                found.append(f"The folder {folders[i]} is inside {folders[j]}: it would be stored twice.")
    return found


# --- reading -----------------------------------------------------------------------------------


def settings_path() -> str:
    """Where the settings file is."""
    return os.path.join(paths.config_dir(), FILE_NAME)


def load_settings(path: str | None = None) -> Settings | None:
    """The saved settings, or None when there are none yet (first run)."""
    path = path or settings_path()
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except FileNotFoundError:
        return None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"The settings file {path} is not valid TOML ({exc}).") from exc
    except OSError as exc:
        raise SettingsError(f"The settings file {path} cannot be read ({exc.strerror}).") from exc
    return from_dict(doc, path)


def _typed(doc: dict, key: str, kind: type[_V], default: object, where: str) -> _V:
    value = doc.get(key, default)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise SettingsError(f"In {where}, '{key}' has the wrong type ({type(value).__name__}).")
    return value


def from_dict(doc: dict, where: str = FILE_NAME) -> Settings:
    """Settings from a parsed TOML document (types checked, unknown keys kept)."""
    folders = doc.get("folders", {})
    if not isinstance(folders, dict):
        raise SettingsError(f"In {where}, [folders] must be a table.")
    extra = _typed(folders, "extra", list, [], where)
    if not all(isinstance(x, str) for x in extra):
        raise SettingsError(f"In {where}, folders.extra must be a list of folder paths.")
    database = None
    if "database" in doc:
        d = doc["database"]
        if not isinstance(d, dict):
            raise SettingsError(f"In {where}, [database] must be a table.")
        defaults = DatabaseSettings()
        database = DatabaseSettings(
            host=str(_typed(d, "host", str, defaults.host, where)),
            port=int(_typed(d, "port", int, defaults.port, where)),
            user=str(_typed(d, "user", str, defaults.user, where)),
            name=str(_typed(d, "name", str, defaults.name, where)),
            lock_mode=str(_typed(d, "lock_mode", str, defaults.lock_mode, where)),
            lock_timeout=float(_typed(d, "lock_timeout", float, defaults.lock_timeout, where)),
        )
    known = {"repository", "folders", "database", "schedule", "retention", "supplemental", "offsite"}
    return Settings(
        repository=str(_typed(doc, "repository", str, "", where)),
        images_folder=str(_typed(folders, "images", str, "", where)),
        extra_folders=tuple(extra),
        database=database,
        schedule=_table(doc, "schedule", ScheduleSettings(), where),
        retention=_table(doc, "retention", RetentionSettings(), where),
        supplemental=_table(doc, "supplemental", SupplementalSettings(), where),
        offsite=_table(doc, "offsite", OffsiteSettings(), where),
        extra={k: v for k, v in doc.items() if k not in known} | _unknown_in_tables(doc),
    )


def _unknown_in_tables(doc: dict) -> dict:
    """Keys of [schedule] and [retention] this version does not know (a newer one's), kept."""
    found = {}
    for name, defaults in (("schedule", ScheduleSettings()), ("retention", RetentionSettings()),
                           ("supplemental", SupplementalSettings()), ("offsite", OffsiteSettings())):
        known = {f.name for f in fields(defaults)}
        table = doc.get(name, {})
        unknown = {k: v for k, v in table.items() if k not in known} if isinstance(table, dict) else {}
        if unknown:
            found[name] = unknown
    return found


def _table(doc: dict, name: str, defaults: _T, where: str) -> _T:
    """A flat settings table read field by field, each typed like its default."""
    table = doc.get(name, {})
    if not isinstance(table, dict):
        raise SettingsError(f"In {where}, [{name}] must be a table.")
    values: dict[str, object] = {}
    for f in fields(defaults):  # type: ignore[arg-type]
        default = getattr(defaults, f.name)
        if isinstance(default, tuple):
            items = _typed(table, f.name, list, list(default), f"{where} [{name}]")
            if not all(isinstance(x, str) for x in items):
                raise SettingsError(f"In {where}, {name}.{f.name} must be a list of words.")
            values[f.name] = tuple(items)
        else:
            values[f.name] = _typed(table, f.name, type(default), default, f"{where} [{name}]")
    return type(defaults)(**values)


# --- writing -----------------------------------------------------------------------------------


def save_settings(settings: Settings, path: str | None = None) -> str:
    """Validate and write the settings (atomically, under the settings' lock); returns the file's path."""
    settings.validate()
    path = path or settings_path()
    with settings_lock(path):
        paths.write_private_file(path, to_toml(settings).encode("utf-8"))
    return path


def update_settings(change: Callable[[Settings | None], Settings], path: str | None = None) -> Settings:
    """Read, change and write the settings under their lock, so that writers at the same time
    (a script's loop of ``odbackup config set``, the app's Save) never lose each other's change.

    ``change`` gets the saved settings (None when there are none yet) and returns the new
    ones, or raises to leave the file as it was. The result is not validated as a whole: the
    caller decides (``config set`` lets a setup be built one key at a time). The file is
    replaced atomically: a reader sees the old or the new one, never half of one."""
    path = path or settings_path()
    with settings_lock(path):
        new = change(load_settings(path))
        paths.write_private_file(path, to_toml(new).encode("utf-8"))
    return new


LOCK_WAIT = 30.0
"""Seconds a writer waits for another one to finish before giving up."""


@contextmanager
def settings_lock(path: str | None = None, wait: float = LOCK_WAIT) -> Iterator[None]:
    """Hold ``settings.toml.lock`` beside the settings while they are read, changed and written.

    An operating-system lock on an open file (:mod:`engine.filelock`), not a file whose
    existence is the lock: the system releases it when the process ends,
    however it ends, so a killed writer never leaves the settings locked."""
    lock_path = (path or settings_path()) + ".lock"
    os.makedirs(os.path.dirname(lock_path) or ".", exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
    try:
        deadline = time.monotonic() + wait
        while not try_lock(fd):
            if time.monotonic() > deadline:
                raise SettingsError(f"The settings are being changed by another odbackup for more than "
                                    f"{wait:g} seconds ({lock_path} is locked).",
                                    hint="Wait for the setup or the other 'odbackup config' to finish, then "
                                         "try again.")
            time.sleep(0.02)  # another writer holds it for milliseconds
        try:
            yield
        finally:
            unlock(fd)
    finally:
        os.close(fd)


def to_toml(settings: Settings) -> str:
    """The TOML text of ``settings``."""
    lines = ["# odbackup settings, written by the setup. No secrets are kept here.",
             f"repository = {_value(settings.repository)}", ""]
    lines += ["[folders]", f"images = {_value(settings.images_folder)}",
              f"extra = {_value(list(settings.extra_folders))}", ""]
    if settings.database is not None:
        d = settings.database
        lines += ["[database]", f"host = {_value(d.host)}", f"port = {_value(d.port)}",
                  f"user = {_value(d.user)}", f"name = {_value(d.name)}",
                  f"lock_mode = {_value(d.lock_mode)}", f"lock_timeout = {_value(d.lock_timeout)}", ""]
    for name in TABLES:
        table = getattr(settings, name)
        lines += [f"[{name}]"] + [f"{f.name} = {_value(getattr(table, f.name))}" for f in fields(table)]
        lines += [f"{_key(k)} = {_value(v)}" for k, v in settings.extra.get(name, {}).items()] + [""]
    for key, value in settings.extra.items():
        if key in TABLES:
            continue
        if not isinstance(value, dict):
            lines.insert(2, f"{_key(key)} = {_value(value)}")
    for key, value in settings.extra.items():
        if isinstance(value, dict) and key not in TABLES:
            lines += [f"[{_key(key)}]"] + [f"{_key(k)} = {_value(v)}" for k, v in value.items()] + [""]
    return "\n".join(lines)


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _string(text: str) -> str:
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _key(key: str) -> str:
    return key if key and all(c.isascii() and (c.isalnum() or c in "-_") for c in key) else _string(key)


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SettingsError("A setting is not a finite number.")
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise SettingsError(f"A setting of type {type(value).__name__} cannot be saved.")
