"""Throttling of progress events, the background count used for ETAs, and the ETA itself."""
from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Callable, Iterable

from .events import Event

TICK_SECONDS = 0.25
ETA_AFTER_SECONDS = 5.0
"""How long the rate is measured (once the total is known) before any time left is given."""


class Throttle:
    """Calls ``emit`` at most every ``TICK_SECONDS`` (or when forced)."""

    def __init__(self, emit: Callable[[], Event], sink: Callable[[Event], None]) -> None:
        self._emit, self._sink = emit, sink
        self._last = 0.0

    def tick(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last >= TICK_SECONDS:
            self._last = now
            self._sink(self._emit())


class TreeCounter(threading.Thread):
    """Counts files and bytes below some folders, in the background, for the ETA."""

    def __init__(self, roots: Iterable[str], cancel: threading.Event) -> None:
        super().__init__(daemon=True, name="odbackup-count")
        self._roots = list(roots)
        self._cancel = cancel
        self.files = 0
        self.bytes = 0
        self.finished = False

    def run(self) -> None:
        stack = list(self._roots)
        while stack and not self._cancel.is_set():
            try:
                entries = list(os.scandir(stack.pop()))
            except OSError:
                continue
            for entry in entries:
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISDIR(st.st_mode):
                    stack.append(entry.path)
                elif stat.S_ISREG(st.st_mode):
                    self.files += 1
                    self.bytes += st.st_size
        self.finished = not self._cancel.is_set()


class Eta:
    """The time left of a job counted in bytes, for one progress display.

    Nothing is said while the total is unknown (0: the background count has not finished),
    once it is reached, or before the rate has been measured for ``ETA_AFTER_SECONDS``. The
    rate is measured from the first report that knew the total, not from the job's start:
    counting from the start took in the database dump that comes before the folders, and a
    backup that took 3 s said "about 8 minutes left"."""

    def __init__(self) -> None:
        self._first: tuple[float, int] | None = None
        """(elapsed, done) when the total was first known."""

    def seconds_left(self, done: int, total: int | None, elapsed: float) -> float | None:
        """Seconds left, or None when that is not known well enough to say (or ``total`` is not)."""
        if not total or total <= 0 or done >= total:
            return None
        if self._first is None:
            self._first = (elapsed, done)
            return None
        span, moved = elapsed - self._first[0], done - self._first[1]
        if span < ETA_AFTER_SECONDS or moved <= 0:
            return None
        return (total - done) * span / moved
