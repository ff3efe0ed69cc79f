"""Pure reckoning about archive drives: growth, room left, rotation due, and the alerts.

Everything here is a function of the archive book and the time, so it is
tested without drives or a clock. The growth of a drive is measured between
copies (``ArchiveDrive.used``: what its repository took after each copy),
and the room left is its free space over that growth, in months of 30.44
days.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from ..status import Alert, Level
from ..words import ago, size, when
from .drives import ArchiveBook, ArchiveDrive

DAYS_PER_MONTH = 30.44
MIN_SPAN = timedelta(hours=12)
"""Growth is only reckoned over measurements at least this far apart."""
MONTHLY_COPY_DUE = timedelta(days=35)
"""A monthly drive not copied for longer than this is due (it is copied once a month)."""


def growth_per_month(drive: ArchiveDrive) -> float | None:
    """Bytes the drive's repository grows by per month, from its first to its latest measurement
    (None while they are less than ``MIN_SPAN`` apart)."""
    if len(drive.used) < 2:
        return None
    (t0, b0), (t1, b1) = drive.used[0], drive.used[-1]
    span = when(t1) - when(t0)
    if span < MIN_SPAN:
        return None
    return max(0.0, (b1 - b0) / (span / timedelta(days=1)) * DAYS_PER_MONTH)


def months_left(drive: ArchiveDrive) -> float | None:
    """About how many more months the drive's free space holds at its measured growth
    (None: not known yet; ``inf`` when it does not grow)."""
    growth = growth_per_month(drive)
    if growth is None or drive.free_bytes is None:
        return None
    return float("inf") if growth == 0 else drive.free_bytes / growth


def is_full(drive: ArchiveDrive, needed: int, keep_free_percent: float) -> bool:
    """Would ``needed`` more bytes (more than none) not fit on the drive, keeping
    ``keep_free_percent`` of it free?"""
    if drive.free_bytes is None or needed <= 0:
        return False
    keep = int((drive.total_bytes or 0) * keep_free_percent / 100)
    return needed > drive.free_bytes - keep


def room_words(drive: ArchiveDrive) -> str:
    """``room for about 3 more months`` (or what is known of the room left)."""
    left = months_left(drive)
    if drive.sealed:
        return "full and sealed"
    if left is None:
        return f"{size(drive.free_bytes)} free" if drive.free_bytes is not None else "room not known yet"
    if left == float("inf"):
        return f"{size(drive.free_bytes or 0)} free (not growing)"
    if left < 1:
        return "room for less than a month more"
    return f"room for about {int(left)} more month(s)"


def rotation_due(drive: ArchiveDrive, book: ArchiveBook, now: datetime) -> bool:
    """Is this drive due to be plugged in (never copied, or not within the rotation's days)?"""
    if drive.sealed:
        return False
    if drive.last_copy is None:
        return True
    limit = MONTHLY_COPY_DUE if drive.monthly else timedelta(days=book.rotate_days)
    return now - when(drive.last_copy) > limit


# --- the alerts ---------------------------------------------------------------------------------


def archive_alerts(book: ArchiveBook, now: datetime) -> list[Alert]:
    """What the archive drives need from a person (none when there are no archive drives)."""
    found: list[Alert] = []
    for drive in book.drives:
        found += _drive_alerts(drive, book, now)
    monthly = [d for d in book.drives if d.monthly]
    if monthly and all(d.sealed for d in monthly):
        last = monthly[-1]
        found.append(Alert("warning", "archive_next_drive", "Next archive drive needed",
                           f"The monthly archive drive '{last.label}' is full and sealed",
                           "put it in storage, and add the next drive (odbackup archive add)"))
    return found


def _drive_alerts(drive: ArchiveDrive, book: ArchiveBook, now: datetime) -> list[Alert]:
    if drive.sealed:
        return []
    found: list[Alert] = []
    level: Level = "warning"
    if drive.last_copy is None:
        found.append(Alert(level, "archive_never_copied", "Archive drive never copied",
                           f"{drive.label} has no copy yet", "plug it in; the next archive run copies to it"))
    elif rotation_due(drive, book, now):
        found.append(Alert(level, "archive_rotation_due", "Swap the archive drive",
                           f"{drive.label} last copied {ago(drive.last_copy, now)}", "swap it"))
    left = months_left(drive)
    if drive.monthly and left is not None and left <= book.warn_months:
        found.append(Alert(level, "archive_nearly_full", "Archive drive filling up",
                           f"{drive.label} has {room_words(drive)}", "buy the next drive"))
    return found
