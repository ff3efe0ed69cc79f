"""The settings by name, for ``odbackup config``: dotted keys named after settings.toml.

``repository``; ``folders.images`` and ``folders.extra``; ``database.<field>``,
``schedule.<field>``, ``retention.<field>``, ``supplemental.<field>`` and ``offsite.<field>`` for each
field of :class:`~engine.settings.DatabaseSettings`, :class:`~engine.jobsettings.ScheduleSettings`,
:class:`~engine.jobsettings.RetentionSettings`,
:class:`~engine.supplemental.settings.SupplementalSettings` and
:class:`~engine.offsite.settings.OffsiteSettings` (``on``/``off`` for a switch);
and ``database`` itself (``on`` / ``off``: off is a folders-only setup). A key's meaning is its field's docstring.

A value comes in as text (a command line) and is checked exactly as the app checks it:
the place checks of :mod:`engine.places` (a folder exists and can be read, folders are not
inside each other, the destination can be used), then :meth:`Settings.problems` over the
whole. A change is refused when it brings a problem that was not there before; a problem
that was there already (a setup being built one key at a time has no repository yet) does
not stop it, and is returned as still to fix.

Secrets have no key: the settings file never holds one (see :mod:`engine.settings`).
"""
from __future__ import annotations

import ast
import inspect
import math
import re
import textwrap
from dataclasses import dataclass, fields, replace
from functools import cache
from typing import Any

from .errors import UsageError
from .jobsettings import RetentionSettings, ScheduleSettings, parse_days
from .offsite.settings import OffsiteSettings
from .places import extra_folder_problem, folder_problem, images_folder_problem, normal
from .schedule.model import WEEKDAY_NAMES, ScheduleError
from .settings import DatabaseSettings, Settings, _value, check_destination, update_settings
from .supplemental.settings import SupplementalSettings

SECRETS = (
    "Secrets are never kept in the settings. The database password: set ODBACKUP_DB_PASSWORD, type it "
    "in the setup, or let this machine remember it in an owner-only file with 'odbackup enroll --repo "
    "REPO --db mysql://USER@HOST:PORT/DBNAME' (it asks for the password, or reads ODBACKUP_DB_PASSWORD). "
    "The repository passphrase is never stored: set ODBACKUP_PASSPHRASE, or run 'odbackup enroll' so "
    "this machine backs up with write-only credentials.")
_SECRET_WORDS = {"password", "passphrase", "passwd", "pwd", "secret", "recovery", "credential", "credentials"}
SWITCH = "database"
"""The key that turns the database on or off (off: a folders-only setup)."""


class SettingRefused(UsageError):
    """This value cannot be used for this setting."""

    title = "Setting refused"


@dataclass(frozen=True)
class Key:
    """One setting by name."""

    name: str
    """The dotted name, e.g. ``database.port``."""
    table: str
    """``""`` for what lives on Settings itself (repository, folders), else the sub-table."""
    attr: str
    """The dataclass field it is."""
    default: object
    meaning: str

    @property
    def is_list(self) -> bool:
        return isinstance(self.default, tuple)

    @property
    def is_folder(self) -> bool:
        return self.name in ("repository", "folders.images", "folders.extra")


@dataclass(frozen=True)
class Change:
    """A setting changed and saved."""

    key: str
    value: object
    settings: Settings
    left: tuple[str, ...]
    """What is still to fix before a backup can run (a setup being built up)."""


@cache
def field_docs(cls: type) -> dict[str, str]:
    """Field name -> its docstring (the string under it in the class), in one line."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):  # no source (a frozen build): no meanings, still works
        return {}
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs = {}
    for stmt, after in zip(body, body[1:], strict=False):
        if (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant) and isinstance(after.value.value, str)):
            docs[stmt.target.id] = " ".join(after.value.value.replace("``", "").split())
    return docs


@cache
def all_keys() -> dict[str, Key]:
    """Every key, in the order settings.toml has them."""
    top = Settings()
    docs = field_docs(Settings)
    found = [Key("repository", "", "repository", top.repository, docs.get("repository", "")),
             Key("folders.images", "", "images_folder", top.images_folder, docs.get("images_folder", "")),
             Key("folders.extra", "", "extra_folders", top.extra_folders, docs.get("extra_folders", ""))]
    for table, defaults in (("database", DatabaseSettings()), ("schedule", ScheduleSettings()),
                            ("retention", RetentionSettings()), ("supplemental", SupplementalSettings()),
                            ("offsite", OffsiteSettings())):
        cls: type = type(defaults)  # (to mypy, a union of classes is not hashable)
        docs = field_docs(cls)
        found += [Key(f"{table}.{f.name}", table, f.name, getattr(defaults, f.name), docs.get(f.name, ""))
                  for f in fields(defaults)]
    return {k.name: k for k in found}


def key(name: str) -> Key:
    """The key called ``name``; a secret or unknown name is refused, saying where secrets go."""
    found = all_keys().get(name.strip().lower())
    if found is not None:
        return found
    if _SECRET_WORDS & set(re.split(r"[._\-\s]+", name.lower())):
        raise SettingRefused(f"'{name}' is a secret, not a setting. {SECRETS}")
    raise SettingRefused(f"'{name}' is not a setting. The settings are {SWITCH} (on or off) and "
                         f"{', '.join(all_keys())}; 'odbackup config show' lists them with their meaning. {SECRETS}")


def value_of(settings: Settings, k: Key) -> object:
    """The key's value in ``settings`` (None for a database key of a folders-only setup)."""
    owner = settings if not k.table else getattr(settings, k.table)
    return None if owner is None else getattr(owner, k.attr)


def toml_value(value: object) -> str:
    """A value as settings.toml writes it (``"text"``, ``3306``, ``["Mon", "Fri"]``)."""
    return _value(list(value) if isinstance(value, tuple) else value)


def as_dict(settings: Settings) -> dict:
    """The settings as settings.toml nests them (lists as lists; ``database`` None when off)."""
    doc: dict = {"repository": settings.repository,
                 "folders": {"images": settings.images_folder, "extra": list(settings.extra_folders)}}
    for table in ("database", "schedule", "retention", "supplemental", "offsite"):
        part = getattr(settings, table)
        doc[table] = None if part is None else {
            f.name: list(v) if isinstance(v := getattr(part, f.name), tuple) else v for f in fields(part)}
    return doc


# --- changing ------------------------------------------------------------------------------------


def set_value(name: str, words: list[str], mode: str = "set", path: str | None = None) -> Change:
    """Set ``name`` from ``words`` (``mode``: ``set``; for a list also ``add`` or ``remove``), check
    it as the app does and save it. A first change creates the settings. Raises SettingRefused."""
    if name.strip().lower() == SWITCH:
        return _switch(_one(SWITCH, words).lower(), path)
    k = key(name)
    if mode != "set" and not k.is_list:
        raise SettingRefused(f"--{mode} is for lists ({', '.join(n for n, x in all_keys().items() if x.is_list)}); "
                             f"'{k.name}' takes one value.")
    value = _parse(k, words)
    _check_disk(k, value if mode != "remove" else ())
    return _save(k, lambda current: _combined(k, current, value, mode), path)


def unset_value(name: str, path: str | None = None) -> Change:
    """Put ``name`` back to its default (``database``: off, a folders-only setup)."""
    if name.strip().lower() == SWITCH:
        return _switch("off", path)
    k = key(name)
    return _save(k, lambda _current: k.default, path)


def _switch(word: str, path: str | None) -> Change:
    if word not in ("on", "off"):
        raise SettingRefused(f"'{SWITCH}' is on (back up a database) or off (folders only), not '{word}'.")

    def change(old: Settings | None) -> Settings:
        current = old or Settings()
        database = None if word == "off" else (current.database or DatabaseSettings())
        return _checked(current, replace(current, database=database))

    new = _update(change, path)
    return Change(SWITCH, word, new, tuple(new.problems()))


def _save(k: Key, new_value, path: str | None) -> Change:
    def change(old: Settings | None) -> Settings:
        current = old or Settings()
        value = new_value(current)
        _check_relations(k, current, value)
        return _checked(current, _with(current, k, value))

    new = _update(change, path)
    return Change(k.name, value_of(new, k), new, tuple(new.problems()))


def _update(change, path: str | None) -> Settings:
    return update_settings(change, path)


def _with(settings: Settings, k: Key, value: object) -> Settings:
    change: dict[str, Any] = {k.attr: value}  # (any key's: its value was checked by _parse)
    if not k.table:
        return replace(settings, **change)
    owner: Any = getattr(settings, k.table) or DatabaseSettings()  # a database key turns the database on
    return replace(settings, **{k.table: replace(owner, **change)})


def _checked(old: Settings, new: Settings) -> Settings:
    """Refuse what brings a problem the settings did not have (the app's words, Settings.problems)."""
    before = set(old.problems())
    brought = [p for p in new.problems() if p not in before]
    if brought:
        raise SettingRefused(" ".join(brought))
    return new


def _combined(k: Key, current: Settings, value: object, mode: str) -> object:
    if mode == "set":
        return value
    have, given = _texts(value_of(current, k)), _texts(value)
    if mode == "add":
        return have + given  # (one already there is refused, in the app's words)
    missing = [v for v in given if v not in have]
    if missing:
        raise SettingRefused(f"'{missing[0]}' is not in {k.name} ({', '.join(have) or 'empty'}).")
    return tuple(v for v in have if v not in given)


def _texts(value: object) -> tuple[str, ...]:
    """A list key's value (None, a database key of a folders-only setup, is empty)."""
    return tuple(str(v) for v in value) if isinstance(value, tuple) else ()


# --- checking one value ----------------------------------------------------------------------------


def _one(name: str, words: list[str]) -> str:
    if len(words) != 1:
        raise SettingRefused(f"'{name}' takes one value (got {len(words)}); quote a value with spaces.")
    return words[0]


def _parse(k: Key, words: list[str]) -> object:
    """The typed value of ``words`` for ``k`` (type errors said in plain words)."""
    if k.is_list:
        if not words:
            raise SettingRefused(f"Give '{k.name}' at least one value ('odbackup config unset {k.name}' "
                                 "puts it back to its default).")
        if k.is_folder:
            return tuple(normal(w) if w.strip() else w for w in words)
        return _days([part.strip() for w in words for part in w.split(",") if part.strip()])
    if k.name == ARCHIVE_TIMES and words:  # times of day: "10:00 23:00", "10:00, 23:00" or "10:00,23:00"
        return ", ".join(part.strip() for w in words for part in w.split(",") if part.strip())
    text = _one(k.name, words)
    if k.is_folder or k.name == SUPPLEMENTAL_PATH:
        return normal(text) if text.strip() else text
    if isinstance(k.default, bool):
        return _switch_word(k.name, text)
    if isinstance(k.default, int):
        try:
            return int(text.strip())
        except ValueError:
            raise SettingRefused(f"'{k.name}' is a whole number, not '{text}'.") from None
    if isinstance(k.default, float):
        try:
            number = float(text.strip())
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise SettingRefused(f"'{k.name}' is a number (of seconds), not '{text}'.")
        return number
    return text


SUPPLEMENTAL_PATH = "supplemental.path"
ARCHIVE_TIMES = "schedule.archive"
_ON, _OFF = ("on", "true", "yes", "1"), ("off", "false", "no", "0")


def _switch_word(name: str, text: str) -> bool:
    """``on``/``off`` (also true/false, yes/no, 1/0) -> a bool."""
    word = text.strip().lower()
    if word not in _ON + _OFF:
        raise SettingRefused(f"'{name}' is on or off, not '{text}'.")
    return word in _ON


def _days(words: list[str]) -> tuple[str, ...]:
    """Day names as the settings write them (Mon, Tue, ...), in week order; left as typed when
    they are not days, so that the schedule's own check says what is wrong with them."""
    try:
        return tuple(WEEKDAY_NAMES[i] for i in sorted(parse_days(tuple(words))))
    except ScheduleError:
        return tuple(words)


def _check_disk(k: Key, value: object) -> None:
    """The checks that look at the disk, done before the settings are locked (a share that does
    not answer must not hold the lock): folders exist and can be read, the destination can be used."""
    if k.name == "repository" or k.name == SUPPLEMENTAL_PATH and str(value):
        problem = check_destination(str(value)).problem
    elif k.is_folder:
        problem = next(filter(None, map(folder_problem, _texts(value) if k.is_list else (str(value),))), None)
    else:
        return
    if problem:
        raise SettingRefused(problem)


def _check_relations(k: Key, current: Settings, value: object) -> None:
    """The setup's checks of folders against each other, with its words."""
    problem = None
    if k.name == "folders.images" and value:
        problem = images_folder_problem(str(value), list(current.extra_folders))
    elif k.name == "folders.extra":
        chosen: list[str] = []
        for folder in _texts(value):
            problem = problem or extra_folder_problem(folder, current.images_folder, chosen)
            chosen.append(folder)
    if problem:
        raise SettingRefused(problem)


def readiness(settings: Settings | None) -> list[str]:
    """Everything that stops a backup from these settings, in plain words (empty: ready):
    :meth:`Settings.problems`, then whether each folder and the destination can be used now."""
    if settings is None:
        return ["No settings are saved yet: run the setup, or 'odbackup config set'."]
    found = settings.problems()
    found += [p for p in map(folder_problem, settings.folders) if p]
    if settings.repository.strip():
        found += [p for p in (check_destination(settings.repository).problem,) if p]
    return found
