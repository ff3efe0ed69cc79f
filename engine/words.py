"""Plain words for sizes, times and durations (humanize), as every front end says them.

``tui/widgets/fmt.py`` uses these too, so the engine's messages (the
dashboard's alerts, ``odbackup status``) and the app's panels agree.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import humanize


def size(n: int | float) -> str:
    """``1.5 GiB``."""
    return humanize.naturalsize(int(n), binary=True)


def when(iso: str | datetime) -> datetime:
    """An ISO timestamp (as the engine stores them) as an aware datetime."""
    value = datetime.fromisoformat(iso) if isinstance(iso, str) else iso
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def ago(value: str | datetime, current: datetime) -> str:
    """``3 hours ago``; ``just now`` for anything under ten seconds (and a clock a little ahead)."""
    then = when(value)
    if abs((current - then).total_seconds()) < 10:
        return "just now"
    return humanize.naturaltime(then, when=current)


def duration(seconds: float) -> str:
    """``12 seconds``, ``3 minutes and 20 seconds``."""
    if seconds < 1:
        return f"{seconds:.1f} seconds"
    return humanize.precisedelta(timedelta(seconds=int(seconds)), minimum_unit="seconds")
