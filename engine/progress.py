"""Throttling of progress events, and the background count used for ETAs."""
from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Callable, Iterable

from .events import Event

TICK_SECONDS = 0.25


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
