"""Reading folder trees ahead, for a repository in online storage.

A restore (and ``ls``) walks a snapshot's folders one tree blob at a time; each read is one
ranged GET, and over the internet each costs a round trip (docs/BENCHMARKS.md: 443 of a
restore's 535 GETs). Tree blobs sit in packs among the file data, so the block cache
(s3buffers.py) seldom holds the next one. So once a folder tree is read, the sealed bytes of
its subfolders' trees are fetched in the background, several at a time; the read of such a
tree then takes them, and opens and checks them exactly as it would have (nothing is trusted
for having been read ahead). A read ahead that failed is simply read again.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from ..errors import OdbackupError
from .pack import pack_name

if TYPE_CHECKING:
    from .index import BlobLocation
    from .storage import Backend

FETCHERS = 8
KEEP = 1024
"""Trees read ahead and not yet taken, at most (the oldest are dropped)."""


class TreeReadAhead:
    """The sealed bytes of subfolder trees, fetched in the background (module docstring)."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._lock = threading.Lock()
        self._ahead: OrderedDict[bytes, Future[bytes]] = OrderedDict()
        self._pool: ThreadPoolExecutor | None = None

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
            if self._pool is None:
                self._pool = ThreadPoolExecutor(FETCHERS, thread_name_prefix="odbackup-tree-ahead")
            self._ahead[tree_id] = self._pool.submit(self._backend.read_range, pack_name(loc.pack_id),
                                                     loc.offset, loc.length)
            while len(self._ahead) > KEEP:
                self._ahead.popitem(last=False)[1].cancel()

    def take(self, blob_id: bytes) -> bytes | None:
        """The sealed bytes read ahead for ``blob_id`` (None: not read ahead, or it failed)."""
        with self._lock:
            future = self._ahead.pop(blob_id, None)
        if future is None:
            return None
        try:
            return future.result()
        except (OdbackupError, OSError):  # read again by the caller, whose error then says what is wrong
            return None
