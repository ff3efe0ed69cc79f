"""Plain-words formatting of sizes, times, durations, rates and ETAs (humanize).

Sizes, times and durations come from :mod:`engine.words`, which the engine's own
messages (the dashboard's alerts) use too.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import humanize

from engine import words
from engine.words import duration, size, when

__all__ = ["ago", "count", "duration", "local", "now", "rate", "short_duration", "size", "time_left", "when"]


def now() -> datetime:
    """The current time (tests replace this to freeze the clock)."""
    return datetime.now(UTC)


def local(value: str | datetime) -> str:
    """``2025-06-30 18:05`` in this machine's time zone."""
    return when(value).astimezone().strftime("%Y-%m-%d %H:%M")


def ago(value: str | datetime, current: datetime | None = None) -> str:
    """``3 hours ago``, ``just now``."""
    return words.ago(value, current or now())


def short_duration(seconds: float) -> str:
    """``12.3 s``, ``3 min 20 s`` (for live counters)."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def rate(done: int, elapsed: float) -> str:
    """``45.2 MiB/s``."""
    return f"{size(done / elapsed)}/s" if elapsed > 0 else ""


def time_left(seconds: float | None) -> str:
    """``about 2 minutes left``; empty when it is not known (see ``engine.progress.Eta``)."""
    if seconds is None:
        return ""
    return f"about {humanize.naturaldelta(timedelta(seconds=seconds))} left"


def count(n: int, word: str) -> str:
    """``1 table``, ``3 tables``, ``1,024 files``."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"
