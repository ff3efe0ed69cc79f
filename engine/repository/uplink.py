"""Sending over a practice's uplink: an upload rate limit and a time window.

A 200 GB images folder at 20 Mbit/s is about 22 hours: the first offsite copy spans several
nights, and during the day the office needs its internet. So a copy (or a backup) into online
storage can be given

* a **rate limit**: after each object sent, the run waits until the average since it began is
  back under the limit (an object itself goes at the line's speed: S3 takes a pack in one
  PUT, so the limit holds on average over packs, not within one);
* a **window end** (``06:30``): then the run stops cleanly, as if cancelled: what reached the
  bucket in complete packs stays and is indexed, and the next run continues from there.

Only uploads to online storage are paced; a folder (USB drive, share) is not.
"""
from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from ..errors import Cancelled, UsageError
from .storage import Backend

_UNITS = {"": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "ki": 1024, "mi": 1024**2, "gi": 1024**3}


def parse_rate(text: str) -> int:
    """``20Mbit``, ``2.5MB``, ``800KiB`` (per second) -> bytes per second."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmg]i?)?(bit|b)?(?:/s|ps)?\s*", text, flags=re.I)
    if not found or float(found.group(1)) <= 0:
        raise UsageError(f"'{text}' is not an upload rate.",
                         hint="Write it as 20Mbit (megabits per second, as internet plans say) or 2.5MB.")
    number, unit, kind = float(found.group(1)), (found.group(2) or "").lower(), found.group(3) or ""
    per_second = number * _UNITS[unit]
    return max(1, int(per_second / 8 if kind == "bit" else per_second))


def window_end(text: str, now: datetime) -> datetime:
    """``HH:MM`` (or ``HH:MM:SS``) -> the next such moment after ``now`` (local time)."""
    found = re.fullmatch(r"\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*", text)
    if not found or int(found.group(1)) > 23 or int(found.group(2)) > 59 or int(found.group(3) or 0) > 59:
        raise UsageError(f"'{text}' is not a time of day.", hint="Write it as 06:30 (24-hour clock).")
    end = now.replace(hour=int(found.group(1)), minute=int(found.group(2)), second=int(found.group(3) or 0),
                      microsecond=0)
    return end if end > now else end + timedelta(days=1)


class Uplink:
    """The pace and the window of one run. ``cancel`` is the run's own cancel token: the window's
    end sets it, and a pause in the pacing ends at once when it is set."""

    def __init__(self, cancel: threading.Event, *, limit: int | None = None, until: datetime | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.cancel, self.limit, self.until = cancel, limit, until
        self._clock = clock
        self._started = clock()
        self._sent = 0
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self.window_closed = False
        """True once the window ended (the run stopped for that reason, not a person's cancel)."""

    def attach(self, backend: Backend) -> None:
        """Pace ``backend``'s uploads (online storage only) and arm the window's end."""
        # Only online storage (``S3Backend``) has the hook; testing for it rather than the class
        # keeps the S3 backend (and obstore) unloaded for a repository in a folder.
        if hasattr(backend, "on_upload"):
            backend.on_upload = self.sent
        if self.until is not None:
            seconds = (self.until - datetime.now(self.until.tzinfo)).total_seconds()
            self._timer = threading.Timer(max(0.0, seconds), self._close)
            self._timer.daemon = True
            self._timer.start()

    def _close(self) -> None:
        self.window_closed = True
        self.cancel.set()

    def sent(self, name: str, size: int) -> None:
        """Told after each object sent. After a pack: wait until the average rate is under the
        limit; once the window has ended, stop the run there (:class:`Cancelled`), whatever
        part of it is sending (the pack just sent is whole: the next run uses it)."""
        if not name.startswith("data/"):
            return  # locks, index and snapshot files are small, and a lock must be refreshed
        if self.limit:
            with self._lock:
                self._sent += size
                due = self._started + self._sent / self.limit
            wait = due - self._clock()
            if wait > 0:
                self.cancel.wait(wait)
        if self.window_closed:
            raise Cancelled("The upload window ended; what was sent stays, and the next run goes on from there.")

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
