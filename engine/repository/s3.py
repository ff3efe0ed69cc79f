"""A repository in an S3-compatible bucket (AWS S3, Backblaze B2, Wasabi, SeaweedFS, Ceph ...).

Locations are written as restic writes them: ``s3:https://HOST[:PORT]/BUCKET/PREFIX``
(``http`` for a server on the local network). Requests are path-style and signed
(SigV4) with the keys of :mod:`engine.storagekeys`.

An object store has no rename and no ``O_EXCL``, so the repository's two promises
(docs/FORMAT.md sections 2 and 9) are kept another way:

* every file is published with **one** PUT, which the store applies whole or not at all;
* that PUT is **create-only** (``If-None-Match: *``): nothing already in the bucket is
  ever overwritten. Names are the BLAKE3 of the bytes, so a name already there holds the
  same bytes (a retried PUT whose first answer was lost): that counts as written. The
  exclusive lock is such a create-only object. Only ``locks/`` (refreshed in place) and
  ``policy`` (replaced when the rules change) are written over, still with one PUT each.

A pack is built in memory (``open_temp``) and sent in one PUT when it is finished: a
killed run leaves nothing half-written in the bucket. The library, obstore (Rust
``object_store``), retries transient failures (5xx, dropped connections, timeouts) with
exponential backoff and jitter for up to ``ODBACKUP_S3_RETRY_SECONDS`` (default 180);
4xx answers (wrong keys, no such bucket, clock skew) are never retried and become the
plain errors below.
"""
from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, BinaryIO, TypeVar, cast
from urllib.parse import urlsplit

import obstore
from obstore.exceptions import AlreadyExistsError, BaseError, PreconditionError
from obstore.store import S3Store

from .. import storagekeys
from ..errors import OdbackupError, UsageError
from .locations import KEYS_HINT, KEYS_IN_LOCATION, refuse_keys_in
from .s3buffers import BlockCache, MemoryTemp, ObjectReader
from .storage import StillLocked

LOCKED_FOLDERS = ("data/", "index/", "snapshots/")

if TYPE_CHECKING:
    from obstore.store import ClientConfig, RetryConfig

    from .s3lock import ObjectLock

SCHEME = "s3:"
REGION_ENV = "ODBACKUP_S3_REGION"
RETRY_ENV = "ODBACKUP_S3_RETRY_SECONDS"
DEFAULT_RETRY_SECONDS = 180.0
MUTABLE_FOLDERS = ("locks/",)
MUTABLE_NAMES = ("policy",)

T = TypeVar("T")


# --- errors in plain words --------------------------------------------------------------------


class StorageError(OdbackupError):
    """The online storage refused or did not answer."""

    title = "Online storage"
    hint = "Check the location, the keys and the internet connection, then run it again."


class StorageKeysRefused(StorageError):
    """The online storage refused the keys."""

    title = "Storage keys refused"
    exit_code = 4
    hint = ("Check the access key ID and the secret access key (set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or save them again with 'odbackup storage-keys').")


class NoStorageKeys(StorageError):
    """No keys for this online storage."""

    title = "No storage keys"
    exit_code = 4
    hint = ("Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or save them for this machine with "
            "'odbackup storage-keys LOCATION'.")


class NoSuchBucket(StorageError):
    """The bucket does not exist on this online storage."""

    title = "No such bucket"
    hint = "Check the bucket's name in the location, or create the bucket in the provider's console."


class ClockSkew(StorageError):
    """This computer's clock is too far from the storage server's: it refuses the requests."""

    title = "Clock is wrong"
    hint = "Set this computer's date, time and time zone right (or turn on automatic time), then run it again."


class StorageUnreachable(StorageError):
    """The online storage does not answer."""

    title = "Online storage unreachable"
    hint = ("Check the internet connection and the server's name and port; the next run continues "
            "where this one stopped.")


# --- locations --------------------------------------------------------------------------------


def is_s3_location(location: str) -> bool:
    """Is ``location`` an S3 location (``s3:...``) rather than a folder?"""
    return location.strip().startswith(SCHEME)




@dataclass(frozen=True)
class S3Location:
    """``s3:ENDPOINT/BUCKET/PREFIX`` taken apart."""

    endpoint: str
    """``http(s)://HOST[:PORT]``"""
    bucket: str
    prefix: str
    """Folder inside the bucket ("" for the whole bucket), without slashes at either end."""

    @classmethod
    def parse(cls, text: str) -> S3Location:
        """Take ``s3:https://HOST[:PORT]/BUCKET[/PREFIX]`` apart (:class:`UsageError` when malformed)."""
        text = text.strip()
        refuse_keys_in(text)
        url = text[len(SCHEME):] if text.startswith(SCHEME) else text
        parts = urlsplit(url)
        bucket, _, prefix = parts.path.strip("/").partition("/")
        if "@" in parts.netloc:  # (refused above; never repeated, whatever its shape)
            raise UsageError(KEYS_IN_LOCATION, hint=KEYS_HINT)
        if parts.query or parts.fragment:  # (may carry a signature or a token: not repeated either)
            raise UsageError("An S3 location has no '?' or '#' part.", hint=KEYS_HINT)
        if parts.scheme not in ("http", "https") or not parts.hostname or not bucket:
            raise UsageError(f"'{text}' is not an S3 location.",
                             hint="Write it as s3:https://HOST[:PORT]/BUCKET/FOLDER, for example "
                                  "s3:https://s3.us-west-004.backblazeb2.com/practice-backups/main-office.")
        if not re.fullmatch(r"[a-z0-9][a-z0-9.\-_]{1,62}", bucket):
            raise UsageError(f"'{bucket}' is not a bucket name (3 to 63 lower-case letters, digits, dots, dashes).")
        return cls(f"{parts.scheme}://{parts.netloc}", bucket, prefix.strip("/"))

    @property
    def text(self) -> str:
        return f"{SCHEME}{self.endpoint}/{self.bucket}" + (f"/{self.prefix}" if self.prefix else "")

    @property
    def site(self) -> str:
        """The server and bucket (what saved keys are for)."""
        return f"{self.endpoint}/{self.bucket}"


# --- the backend ------------------------------------------------------------------------------


_RETRY_LIMIT: ContextVar[float | None] = ContextVar("odbackup_s3_retry_limit", default=None)


@contextmanager
def retrying_at_most(seconds: float) -> Iterator[None]:
    """Backends opened inside (in this thread) retry for at most ``seconds``: for a look that must
    not stall (the status with the internet down), where the next look tries again anyway."""
    token = _RETRY_LIMIT.set(seconds)
    try:
        yield
    finally:
        _RETRY_LIMIT.reset(token)


def _retry_seconds() -> float:
    try:
        seconds = max(0.0, float(os.environ.get(RETRY_ENV) or DEFAULT_RETRY_SECONDS))
    except ValueError:
        seconds = DEFAULT_RETRY_SECONDS
    limit = _RETRY_LIMIT.get()
    return seconds if limit is None else min(seconds, limit)


def _code(exc: BaseException) -> str:
    """The S3 error code in an error's text (``<Code>NoSuchBucket</Code>``), or ""."""
    found = re.search(r"<Code>([A-Za-z]+)</Code>", str(exc))
    return found.group(1) if found else ""


def plain_error(exc: BaseException, location: str, seconds: float | None = None) -> OdbackupError:
    """The storage library's error as one of ours, in plain words (its text, which names
    URLs and request IDs but never a secret, is not passed on). ``seconds``: how long the request
    was really tried, retries included (measured by the caller), said when the server does not answer."""
    code = _code(exc)
    if code in ("SignatureDoesNotMatch", "InvalidAccessKeyId", "InvalidToken", "ExpiredToken"):
        return StorageKeysRefused(f"The online storage at {location} refused the keys "
                                  f"({'unknown access key ID' if code == 'InvalidAccessKeyId' else 'wrong secret key'}).")
    if code == "AccessDenied":
        return StorageKeysRefused(f"The keys may not do this at {location} (access denied).",
                                  hint="Give the keys read, write, list and delete rights on the bucket.")
    if code == "NoSuchBucket":
        return NoSuchBucket(f"There is no bucket '{S3Location.parse(location).bucket}' at "
                            f"{S3Location.parse(location).endpoint}.")
    if code == "RequestTimeTooSkewed":
        return ClockSkew(f"The online storage at {location} refused the request: this computer's clock "
                         "differs too much from the server's (more than 15 minutes).")
    if code:
        return StorageError(f"The online storage at {location} answered with an error ({code}).")
    text = str(exc)
    if "error sending request" in text or "Connect" in text or "timed out" in text.lower() or "after " in text:
        tried = f" (tried for {max(1, round(seconds))} second{'' if round(seconds) <= 1 else 's'})" \
            if seconds is not None else ""
        return StorageUnreachable(f"The online storage at {location} does not answer{tried}.")
    return StorageError(f"The online storage at {location} failed ({type(exc).__name__}).")


def locked_name(name: str) -> bool:
    """Is ``name`` one of the objects a locked repository locks (packs, index, snapshots; never
    lock files, key files, config or policy)?"""
    return name.startswith(LOCKED_FOLDERS)


class _AlreadyThere(Exception):
    """A create-only PUT found the name taken."""


class S3Backend:
    """A repository under a prefix of an S3-compatible bucket (module docstring)."""

    reads_ahead_trees = True
    """Each read is a round trip: a repository here reads subfolder trees ahead (treeahead.py)."""

    def __init__(self, location: str, *, keys: storagekeys.StorageKeys | None = None,
                 retry_seconds: float | None = None) -> None:
        self.where = S3Location.parse(location)
        self.location = self.where.text
        keys = keys or storagekeys.keys_for(self.where.site)
        if keys is None:
            raise NoStorageKeys(f"No keys for the online storage {self.where.site}.")
        self.retry_seconds = _retry_seconds() if retry_seconds is None else retry_seconds
        """How long a failing request is tried again (``ODBACKUP_S3_RETRY_SECONDS``, or less)."""
        retry: RetryConfig = {"max_retries": 10, "retry_timeout": timedelta(seconds=self.retry_seconds),
                              "backoff": {"init_backoff": timedelta(milliseconds=200),
                                          "max_backoff": timedelta(seconds=15), "base": 2}}
        client: ClientConfig = {"allow_http": self.where.endpoint.startswith("http:"),
                                "connect_timeout": "10s", "timeout": "30m"}
        self._keys, self._region = keys, os.environ.get(REGION_ENV) or "us-east-1"
        self.object_lock: ObjectLock | None = None
        """Set by :meth:`use_config` when the repository locks its objects (s3lock.py)."""
        self._store = S3Store(self.where.bucket, prefix=self.where.prefix or None,
                              endpoint=self.where.endpoint, access_key_id=keys.key_id,
                              secret_access_key=keys.secret,
                              region=self._region,
                              virtual_hosted_style_request=False, client_options=client,
                              retry_config=retry)
        self._sizes: dict[str, int] = {}
        self.blocks = BlockCache(self)
        """Blocks of packs read through :meth:`open_read` (shared by the threads)."""
        self.on_upload: Callable[[str, int], None] = lambda _name, _size: None
        """Told the name and size of every object sent (the upload pace listens here)."""

    def retrying_at_most(self, seconds: float) -> S3Backend:
        """The same place and keys, its requests retried for at most ``seconds`` (for reads whose
        failure costs nothing: trees read ahead are read again when needed)."""
        return S3Backend(self.location, keys=self._keys, retry_seconds=min(seconds, self.retry_seconds))

    def use_config(self, config: dict) -> None:
        """The repository's config was read: lock objects if it says so (``object_lock_days``)."""
        from .s3lock import ObjectLock

        days = int(config.get("object_lock_days") or 0)
        self.object_lock = ObjectLock(self.where, self._keys, self._region, days) if days else None

    def bucket_has_object_lock(self) -> bool:
        """Was the bucket created with Object Lock on (so ``init --object-lock-days`` can be offered)?"""
        from .s3lock import ObjectLock

        return ObjectLock(self.where, self._keys, self._region, 1).bucket_has_lock()

    def extend_locks(self, refresh: Callable[[], None] = lambda: None) -> int:
        """Extend the lock of every pack, index and snapshot file whose lock is running out
        (s3lock.py: ``needs_extending``) or missing (a run killed between a PUT and its lock);
        returns how many were extended. ``refresh`` keeps the caller's repository lock fresh
        (one request or two per object: a long walk in a big repository)."""
        if self.object_lock is None:
            return 0
        extended = 0
        for folder in LOCKED_FOLDERS:
            for name, _size in self.list(folder.rstrip("/")):
                refresh()
                if self.object_lock.needs_extending(self.object_lock.locked_until(name)):
                    self.object_lock.lock(name)
                    extended += 1
        return extended

    def _call(self, action: Callable[[], T]) -> T:
        started = time.monotonic()
        try:
            return action()
        except (AlreadyExistsError, PreconditionError):
            raise _AlreadyThere() from None
        except FileNotFoundError as exc:
            if _code(exc) == "NoSuchBucket":
                raise plain_error(exc, self.location) from None
            raise FileNotFoundError(str(exc).split(":", 1)[0]) from None
        except BaseError as exc:
            raise plain_error(exc, self.location, time.monotonic() - started) from None

    def exists(self, name: str) -> bool:
        try:
            self._call(lambda: obstore.head(self._store, name))
        except FileNotFoundError:
            return False
        return True

    def read(self, name: str) -> bytes:
        return bytes(self._call(lambda: obstore.get(self._store, name).bytes()))

    def read_range(self, name: str, offset: int, length: int) -> bytes:
        if length <= 0:
            return b""
        return bytes(self._range(name, offset, length))

    def _range(self, name: str, offset: int, length: int) -> memoryview:
        """The bytes as the library holds them (no copy)."""
        return memoryview(self._call(lambda: obstore.get_range(self._store, name, start=offset, length=length)))

    def open_read(self, name: str) -> BinaryIO:
        return cast(BinaryIO, ObjectReader(self, name))

    def size(self, name: str) -> int:
        """The object's size; a pack's is asked once (its name is the hash of its bytes): a
        restore's threads each open the packs they read."""
        known = self._sizes.get(name)
        if known is None:
            known = int(self._call(lambda: obstore.head(self._store, name))["size"])
            if name.startswith("data/"):
                self._sizes[name] = known
        return known

    def modified(self, name: str) -> float:
        return self._call(lambda: obstore.head(self._store, name))["last_modified"].timestamp()

    def write_atomic(self, name: str, parts: Iterable[bytes]) -> None:
        """Publish ``name`` with one PUT: create-only, except for the few names written over."""
        data = b"".join(parts)
        if name in MUTABLE_NAMES or name.startswith(MUTABLE_FOLDERS):
            self._call(lambda: obstore.put(self._store, name, data, mode="overwrite", use_multipart=False))
            self.on_upload(name, len(data))
        elif not self._create(name, data) and name == "config":
            raise StorageError(f"{self.location} already holds a repository.")

    def create_exclusive(self, name: str, data: bytes) -> bool:
        """Create ``name`` only if absent (If-None-Match: *). A retried PUT that finds its own
        bytes there (the first answer was lost) has created it."""
        return self._create(name, data) or self.read(name) == data

    def _create(self, name: str, data: bytes) -> bool:
        try:
            self._call(lambda: obstore.put(self._store, name, data, mode="create"))
        except _AlreadyThere:
            self.lock_if_missing(name)
            return False
        if self.object_lock is not None and locked_name(name):
            self.object_lock.lock(name)
        self.on_upload(name, len(data))
        return True

    def lock_if_missing(self, name: str) -> None:
        """A name found already there may have been sent by a run killed before its lock: lock it
        now (one GET for a name sent again or a pack adopted, which only a resumed run meets)."""
        if self.object_lock is not None and locked_name(name) and self.object_lock.locked_until(name) is None:
            self.object_lock.lock(name)

    def list(self, folder: str) -> Iterator[tuple[str, int]]:
        """Every object below ``folder`` as (name, size)."""
        prefix = folder.strip("/")
        stream = self._call(lambda: iter(obstore.list(self._store, prefix=prefix or None)))
        while True:
            batch = self._call(lambda: next(stream, None))
            if batch is None:
                return
            for meta in batch:
                yield meta["path"], int(meta["size"])

    def remove(self, name: str) -> None:
        """Delete ``name``; :class:`StillLocked` while its Object Lock runs (never a delete marker
        placed over a locked version)."""
        if self.object_lock is not None and locked_name(name):
            until = self.object_lock.locked_until(name)
            if until is not None and until > datetime.now(UTC):
                raise StillLocked(name, until)
        self._call(lambda: obstore.delete(self._store, name))

    def open_temp(self, folder: str) -> MemoryTemp:
        return MemoryTemp(self)

    def put_new(self, name: str, data: bytes | bytearray) -> None:
        """Publish a finished temporary object (content-addressed: already there counts as sent)."""
        self._create(name, bytes(data))
