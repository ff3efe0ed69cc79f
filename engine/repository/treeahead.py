"""Reading folder trees ahead, for a repository in online storage.

A restore (and ``ls``) walks a snapshot's folders one tree blob at a time; each read is one
ranged GET, and over the internet each costs a round trip (docs/BENCHMARKS.md: 443 of a
restore's 535 GETs). Tree blobs sit in packs among the file data, so the block cache
(s3buffers.py) seldom holds the next one. So once a folder tree is read, the sealed bytes of
its subfolders' trees are fetched in the background, several at a time; the read of such a
tree then takes them, and opens and checks them exactly as it would have (nothing is trusted
for having been read ahead). A read ahead that failed is simply read again.

What it may cost is bounded: at most ``PENDING`` fetches wait for a fetcher (the oldest waiting
one is dropped for a newer one); a read that finds its tree still waiting reads it itself
rather than wait behind the others; :meth:`TreeReadAhead.close` (when the reading ends: the
reader's lock is released, cancelled or not) drops everything waiting at once. The fetchers
are daemon threads that end when idle or closed, so a program never waits for them at exit,
and the caller gives them a reader with a short retry limit, so one that was fetching when it
was closed stops soon, network down or not.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING

from ..errors import OdbackupError
from .pack import pack_name

if TYPE_CHECKING:
    from .index import BlobLocation

FETCHERS = 8
PENDING = 4 * FETCHERS
"""Fetches waiting for a fetcher, at most. Measured (a restore's plan from a local SeaweedFS, a 0.4 GB
bench/make_atoz_tree.py tree, 444 folder trees): with 2 x FETCHERS a wide folder's later subfolders
were dropped and read one at a time (85-87 trees), with 4 x as few as with no limit (41-49)."""
KEEP = 1024
"""Trees read ahead and not yet taken, at most (the oldest are dropped)."""
IDLE_SECONDS = 2.0
"""A fetcher with nothing to fetch for this long ends (the next fetch starts another)."""
THREAD_NAME = "odbackup-tree-ahead"

ReadRange = Callable[[str, int, int], bytes]


class TreeReadAhead:
    """The sealed bytes of subfolder trees, fetched in the background (module docstring)."""

    def __init__(self, read_range: ReadRange) -> None:
        self._read_range = read_range
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._ahead: OrderedDict[bytes, Future[bytes]] = OrderedDict()
        """Every tree fetched or to fetch, and not yet taken."""
        self._waiting: OrderedDict[bytes, tuple[BlobLocation, Future[bytes]]] = OrderedDict()
        """Those not yet started, oldest first."""
        self._fetchers = 0
        self._closed = threading.Event()

    def after(self, tree: dict, locate: Callable[[bytes], BlobLocation | None]) -> None:
        """``tree`` was just read: fetch its subfolders' trees (a checked folder listing)."""
        for node in tree.get("nodes", ()):
            if node.get("type") != "dir":
                continue
            tree_id = bytes.fromhex(node["subtree"])
            loc = locate(tree_id)
            if loc is not None:
                self._fetch(tree_id, loc)

    def _fetch(self, tree_id: bytes, loc: BlobLocation) -> None:
        with self._lock:
            if tree_id in self._ahead:
                return
            future: Future[bytes] = Future()
            self._ahead[tree_id] = future
            self._waiting[tree_id] = (loc, future)
            while len(self._waiting) > PENDING:
                dropped, (_loc, old) = self._waiting.popitem(last=False)
                old.cancel()
                self._ahead.pop(dropped, None)
            while len(self._ahead) > KEEP:
                self._ahead.popitem(last=False)[1].cancel()
            if self._fetchers < min(FETCHERS, len(self._waiting)):
                self._fetchers += 1
                threading.Thread(target=self._fetcher, args=(self._closed,), name=THREAD_NAME,
                                 daemon=True).start()
            self._wake.notify()

    def _fetcher(self, closed: threading.Event) -> None:
        while True:
            with self._lock:
                while not self._waiting and not closed.is_set():
                    if not self._wake.wait(IDLE_SECONDS) and not self._waiting:
                        break
                if closed.is_set() or not self._waiting:
                    if not closed.is_set():  # (after close(), the count is already a new one's)
                        self._fetchers -= 1
                    return
                _tree_id, (loc, future) = self._waiting.popitem(last=True)  # the newest: needed soonest
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(self._read_range(pack_name(loc.pack_id), loc.offset, loc.length))
            except BaseException as exc:  # handed to take(), whose caller then reads it again
                future.set_exception(exc)

    def take(self, blob_id: bytes) -> bytes | None:
        """The sealed bytes read ahead for ``blob_id`` (None: not read ahead, still waiting for a
        fetcher, or it failed: the caller reads it itself)."""
        with self._lock:
            future = self._ahead.pop(blob_id, None)
            if future is not None:
                self._waiting.pop(blob_id, None)
        if future is None or future.cancel():
            return None
        try:
            return future.result()
        except (OdbackupError, OSError):  # read again by the caller, whose error then says what is wrong
            return None

    def close(self) -> None:
        """Drop every fetch not yet started and end the fetchers (each after the read it is in, if
        any); a later :meth:`after` starts afresh."""
        with self._lock:
            for _loc, future in self._waiting.values():
                future.cancel()
            self._waiting.clear()
            self._ahead.clear()
            self._closed.set()
            self._closed = threading.Event()
            self._fetchers = 0
            self._wake.notify_all()

