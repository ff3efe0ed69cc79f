"""The archive book (which drives are archives) and finding a drive wherever it is plugged in.

The book is ``archives.json`` in :func:`engine.paths.config_dir`, written
atomically under a lock beside it (as the settings are). A drive is found by
its repository ID only (:func:`locate`): first at its hint (where it was
last seen), then at the candidate mount points (:func:`candidate_places`:
on Linux ``/media/*/*``, ``/run/media/*/*`` and ``/mnt/*``; on Windows
every drive letter; plus the book's search folders), looking at each place
and the folders just inside it. Looking only reads a ``config`` file.
"""
from __future__ import annotations

import glob
import json
import os
import string
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace

from .. import paths
from ..errors import OdbackupError, UsageError

BOOK_FILE = "archives.json"
KINDS = ("rotating", "monthly")
ROTATE_DAYS = 7
"""A rotating drive not copied for longer than this is due to be swapped in."""
WARN_MONTHS = 3
"""A monthly drive with room for this many months or fewer says so."""
KEEP_FREE_PERCENT = 2.0
"""A monthly drive is full when a copy would leave less than this share of it free."""
HISTORY = 24
"""How many (time, bytes used) measurements of each drive the book keeps."""


class ArchiveError(OdbackupError):
    """The archive drives cannot be used as asked."""

    title = "Archive drive problem"


@dataclass(frozen=True)
class ArchiveDrive:
    """One known archive drive: who it is (repository ID, label, kind) and what the last copy found."""

    repo_id: str
    """The ID of the repository on the drive: the only thing it is recognized by."""
    label: str
    """The user's name for it ("Drive B, kept at home")."""
    kind: str = "rotating"
    """``rotating`` (takes turns; its own retention) or ``monthly`` (keeps everything)."""
    hint: str = ""
    """Where the repository was last seen: only where to look first, never trusted."""
    last_copy: str | None = None
    """When the last copy to it ended well (UTC, ISO 8601)."""
    snapshots: int = 0
    """Snapshots it held after the last copy."""
    free_bytes: int | None = None
    """Free space on the drive after the last copy."""
    total_bytes: int | None = None
    """The drive's size."""
    used: tuple[tuple[str, int], ...] = ()
    """(time, bytes the repository takes) after each copy, oldest first: its growth."""
    sealed: str | None = None
    """When a full monthly drive was sealed (nothing is written to it after that)."""
    last_message: str = ""
    """What the last copy to it said."""

    @property
    def monthly(self) -> bool:
        return self.kind == "monthly"

    def to_json(self) -> dict:
        doc = asdict(self)
        doc["used"] = [list(pair) for pair in self.used]
        return doc

    @classmethod
    def from_json(cls, doc: dict) -> ArchiveDrive:
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in doc.items() if k in known}
        values["used"] = tuple((str(t), int(n)) for t, n in doc.get("used", ()))
        drive = cls(**values)
        if drive.kind not in KINDS or not drive.repo_id:
            raise ArchiveError(f"The archive book lists a drive it cannot use ({doc!r}).")
        return drive


@dataclass(frozen=True)
class ArchiveBook:
    """The known archive drives and where else to look for them."""

    drives: tuple[ArchiveDrive, ...] = ()
    search_folders: tuple[str, ...] = ()
    """Folders searched besides the system's mount points (each, and two levels inside it)."""
    rotate_days: int = ROTATE_DAYS
    """A rotating drive not copied for longer than this is due to be swapped in."""
    warn_months: int = WARN_MONTHS
    """A monthly drive with room for this many months or fewer says so ahead."""
    keep_free_percent: float = KEEP_FREE_PERCENT
    """A monthly drive is full when a copy would leave less than this share of it free."""

    def find(self, key: str) -> ArchiveDrive:
        """The drive whose ID starts with ``key`` or whose label is ``key`` (any case)."""
        found = [d for d in self.drives if d.label.lower() == key.lower()] or \
                [d for d in self.drives if key and d.repo_id.startswith(key.lower())]
        if len(found) != 1:
            names = ", ".join(f"'{d.label}'" for d in self.drives) or "none yet"
            raise UsageError(f"There is no one archive drive '{key}' (the archive drives: {names}).")
        return found[0]

    def with_drive(self, drive: ArchiveDrive) -> ArchiveBook:
        """The book with ``drive`` added, or replacing the one with its ID."""
        others = tuple(d for d in self.drives if d.repo_id != drive.repo_id)
        if drive.repo_id not in {d.repo_id for d in self.drives}:
            return replace(self, drives=others + (drive,))
        return replace(self, drives=tuple(drive if d.repo_id == drive.repo_id else d for d in self.drives))

    def without(self, repo_id: str) -> ArchiveBook:
        return replace(self, drives=tuple(d for d in self.drives if d.repo_id != repo_id))

    def to_json(self) -> dict:
        return {"drives": [d.to_json() for d in self.drives], "search_folders": list(self.search_folders),
                "rotate_days": self.rotate_days, "warn_months": self.warn_months,
                "keep_free_percent": self.keep_free_percent}

    @classmethod
    def from_json(cls, doc: dict) -> ArchiveBook:
        return cls(drives=tuple(ArchiveDrive.from_json(d) for d in doc.get("drives", ())),
                   search_folders=tuple(str(f) for f in doc.get("search_folders", ())),
                   rotate_days=int(doc.get("rotate_days", ROTATE_DAYS)),
                   warn_months=int(doc.get("warn_months", WARN_MONTHS)),
                   keep_free_percent=float(doc.get("keep_free_percent", KEEP_FREE_PERCENT)))


# --- reading and writing the book ----------------------------------------------------------------


def book_path() -> str:
    """Where the archive book is."""
    return os.path.join(paths.config_dir(), BOOK_FILE)


def load_book(path: str | None = None) -> ArchiveBook:
    """The archive book (empty when there is none yet)."""
    path = path or book_path()
    try:
        with open(path, "rb") as f:
            doc = json.loads(f.read())
    except FileNotFoundError:
        return ArchiveBook()
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArchiveError(f"The archive book {path} cannot be read ({exc}).",
                           hint="Fix or remove the file; then add the drives again.") from exc
    return ArchiveBook.from_json(doc)


@contextmanager
def _locked(path: str) -> Iterator[None]:
    from ..settings import settings_lock

    with settings_lock(path):
        yield


def update_book(change: Callable[[ArchiveBook], ArchiveBook], path: str | None = None) -> ArchiveBook:
    """Read, change and write the book under its lock (a run and the app never lose each other's change)."""
    path = path or book_path()
    with _locked(path):
        new = change(load_book(path))
        paths.write_private_file(path, json.dumps(new.to_json(), indent=1).encode("utf-8"))
    return new


def update_drive(repo_id: str, change: Callable[[ArchiveDrive], ArchiveDrive]) -> ArchiveBook:
    """Change one drive's entry (left alone when it was removed meanwhile)."""
    def apply(book: ArchiveBook) -> ArchiveBook:
        for drive in book.drives:
            if drive.repo_id == repo_id:
                return book.with_drive(change(drive))
        return book

    return update_book(apply)


# --- finding a drive ----------------------------------------------------------------------------


def repo_id_at(place: str) -> str | None:
    """The ID of the odbackup repository whose ``config`` is in ``place``, else None (reads only)."""
    try:
        with open(os.path.join(place, "config"), "rb") as f:
            config = json.loads(f.read(64 * 1024))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(config, dict) or config.get("format") != _format_name():
        return None
    return str(config.get("id") or "") or None


def _format_name() -> str:
    from ..repository.repo import FORMAT_NAME

    return FORMAT_NAME


def system_mount_points() -> list[str]:
    """Where this system mounts removable drives: drive letters on Windows; /media/USER/NAME,
    /run/media/USER/NAME and /mnt/NAME elsewhere."""
    if os.name == "nt":
        return [f"{letter}:\\" for letter in string.ascii_uppercase if os.path.exists(f"{letter}:\\")]
    found: list[str] = []
    for pattern in ("/media/*/*", "/run/media/*/*", "/mnt/*", "/media/*"):
        found += sorted(p for p in glob.glob(pattern) if os.path.isdir(p))
    return list(dict.fromkeys(found))


def candidate_places(search_folders: tuple[str, ...] = (), *, system: bool = True) -> list[str]:
    """Every folder a drive's repository may be in: each mount point and the folders just inside
    it; each search folder, and two levels inside it (its drives, and folders on them)."""
    places: list[str] = []
    for folder in search_folders:
        places += [folder] + _inside(folder, 2)
    for mount in system_mount_points() if system else []:
        places += [mount] + _inside(mount, 1)
    return list(dict.fromkeys(os.path.abspath(p) for p in places))


def _inside(folder: str, depth: int) -> list[str]:
    try:
        children = sorted(e.path for e in os.scandir(folder) if e.is_dir(follow_symlinks=True))
    except OSError:
        return []
    found = list(children)
    if depth > 1:
        for child in children:
            found += _inside(child, depth - 1)
    return found


@dataclass(frozen=True)
class Located:
    """Where a known drive was found now (``place`` None: not plugged in, or not found)."""

    drive: ArchiveDrive
    place: str | None
    moved: bool = False
    """Found somewhere else than its hint (another letter or mount point)."""


def locate(drive: ArchiveDrive, places: list[str] | None = None, *, search_folders: tuple[str, ...] = ()) -> Located:
    """Find ``drive`` by its repository ID: at its hint, then among ``places``
    (default: :func:`candidate_places`)."""
    if drive.hint and repo_id_at(drive.hint) == drive.repo_id:
        return Located(drive, os.path.abspath(drive.hint))
    for place in candidate_places(search_folders) if places is None else places:
        if repo_id_at(place) == drive.repo_id:
            return Located(drive, place, moved=True)
    return Located(drive, None)


def locate_all(book: ArchiveBook) -> list[Located]:
    """Every known drive, found or not (the candidate places are listed once)."""
    places = candidate_places(book.search_folders)
    return [locate(drive, places) for drive in book.drives]


def blank_drives(mounts: list[str] | None = None, is_mount: Callable[[str], bool] = os.path.ismount) -> list[str]:
    """Drives plugged in now that could become archive drives: mount points (default: the system's,
    :func:`system_mount_points`) that are really mounted (an unplugged drive's left-over folder is
    not), writable, and hold no odbackup repository at the top or one level inside. Reads only."""
    found = []
    system = os.path.normcase(os.environ.get("SystemDrive", "C:") + "\\") if os.name == "nt" else "/"
    for mount in system_mount_points() if mounts is None else mounts:
        if os.path.normcase(mount) == system or not is_mount(mount) or not os.access(mount, os.W_OK):
            continue  # (Windows' own drive is never offered)
        if any(repo_id_at(place) for place in [mount, *_inside(mount, 1)]):
            continue
        found.append(os.path.abspath(mount))
    return found


def free_space(place: str) -> tuple[int, int] | None:
    """(free, total) bytes of the drive holding ``place``, or None when it cannot be read."""
    import shutil

    try:
        usage = shutil.disk_usage(place)
    except OSError:
        return None
    return usage.free, usage.total


def repository_bytes(place: str) -> int:
    """What the repository at ``place`` takes on its drive."""
    total = 0
    for root, _dirs, files in os.walk(place):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                continue  # a temporary file that went away meanwhile
    return total

