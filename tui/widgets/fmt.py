"""Plain-words formatting of sizes, times, durations, rates and ETAs (humanize)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import humanize


def now() -> datetime:
    """The current time (tests replace this to freeze the clock)."""
    return datetime.now(UTC)


def size(n: int | float) -> str:
    """``1.5 GiB``."""
    return humanize.naturalsize(int(n), binary=True)


def when(iso: str | datetime) -> datetime:
    """An ISO timestamp (as the engine stores them) as an aware datetime."""
    value = datetime.fromisoformat(iso) if isinstance(iso, str) else iso
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def local(value: str | datetime) -> str:
    """``2025-06-30 18:05`` in this machine's time zone."""
    return when(value).astimezone().strftime("%Y-%m-%d %H:%M")


def ago(value: str | datetime, current: datetime | None = None) -> str:
    """``3 hours ago``, ``just now``."""
    text = humanize.naturaltime(when(value), when=current or now())
    return "just now" if text == "now" else text


def duration(seconds: float) -> str:
    """``12 seconds``, ``3 minutes and 20 seconds``."""
    if seconds < 1:
        return f"{seconds:.1f} seconds"
    return humanize.precisedelta(timedelta(seconds=int(seconds)), minimum_unit="seconds")


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
