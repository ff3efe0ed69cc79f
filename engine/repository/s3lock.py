"""S3 Object Lock for a repository in a bucket: per-object COMPLIANCE retention.

With ``init --object-lock-days N`` (docs/FORMAT.md section 2.2) every pack, index file and
snapshot file is locked for N days after it is written: nobody, not even someone holding the
storage keys, can delete or overwrite that version before then. Lock files (``locks/``), key
files, ``config`` and ``policy`` are never locked (a lock file must be removable at once).
The jobs that write to such a repository extend the lock of everything still there (maintenance
for the main repository, with or without a prune; each offsite run for the offsite repository),
so a snapshot stays protected as long as it is kept; prune never deletes an object whose lock has
not run out. Those jobs run on at least one weekday each, so two of them can be up to a week
apart: a lock is extended once less than half its period, or less than
:data:`EXTEND_WHEN_UNDER` (a week and a day to spare), is left, and periods shorter than that
(:data:`MIN_DAYS`) are refused, since such a lock would run out between two runs.

obstore has no call for object retention, so this module signs the three requests it needs
itself (AWS Signature Version 4, standard library only): PutObjectRetention and
GetObjectRetention on one object, GetObjectLockConfiguration on the bucket. The bucket must
have been created with Object Lock on (the provider's console does it; versioning comes with it).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import re
import ssl
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from .. import storagekeys
from ..errors import OdbackupError, UsageError
from .s3 import (
    LOCKED_FOLDERS,
    S3Location,
    StorageError,
    StorageUnreachable,
    locked_name,
    plain_error,
)

__all__ = ["LOCKED_FOLDERS", "MIN_DAYS", "ObjectLock", "Signer", "check_days", "locked_name"]

EXTEND_WHEN_LEFT = 0.5
"""A lock is extended once less than this share of the period is left ..."""
LONGEST_GAP = timedelta(days=7)
"""... or less than the longest gap between two runs that extend locks (a job on one weekday)
plus a day to spare (a run late by some hours, a night the computer was off):"""
EXTEND_WHEN_UNDER = LONGEST_GAP + timedelta(days=1)
MIN_DAYS = EXTEND_WHEN_UNDER.days + 1
"""The shortest period: a lock extended at one run must still hold at the next, a week later, and
a lock just made is not due again at once (so a run does not lock what it sent twice)."""
MAX_DAYS = 3650
TOO_SHORT = (f"A lock shorter than {MIN_DAYS} days could run out between two runs that renew it "
             "(maintenance and the offsite copy may run only once a week).")
_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


class Signer:
    """Signs and sends one S3 request (path-style, SigV4, ``UNSIGNED`` nothing: the body's
    SHA-256 is signed)."""

    def __init__(self, where: S3Location, keys: storagekeys.StorageKeys, region: str,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.where, self._keys, self.region = where, keys, region
        self._clock = clock
        """The signing time (this computer's clock; a test signs with a wrong one)."""

    def request(self, method: str, key: str | None, query: dict[str, str], body: bytes = b"",
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """``key`` None: the bucket itself. ``query``: e.g. ``{"retention": ""}``."""
        host = self.where.endpoint.split("://", 1)[1]
        path = "/" + quote(self.where.bucket) + ("/" + quote(key, safe="/~") if key is not None else "")
        now = self._clock()
        amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        sent = {"host": host, "x-amz-date": amz_date, "x-amz-content-sha256": hashlib.sha256(body).hexdigest(),
                **{k.lower(): v for k, v in (headers or {}).items()}}
        names = ";".join(sorted(sent))
        encoded = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in sorted(query.items()))
        canonical = "\n".join([method, path, encoded, *(f"{k}:{sent[k].strip()}" for k in sorted(sent)), "",
                               names, sent["x-amz-content-sha256"]])
        scope = f"{day}/{self.region}/s3/aws4_request"
        to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        key_ = ("AWS4" + self._keys.secret).encode()
        for part in (day, self.region, "s3", "aws4_request"):
            key_ = hmac.new(key_, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(key_, to_sign.encode(), hashlib.sha256).hexdigest()
        sent["authorization"] = (f"AWS4-HMAC-SHA256 Credential={self._keys.key_id}/{scope}, "
                                 f"SignedHeaders={names}, Signature={signature}")
        conn: http.client.HTTPConnection = (
            http.client.HTTPSConnection(host, timeout=60, context=ssl.create_default_context())
            if self.where.endpoint.startswith("https:") else http.client.HTTPConnection(host, timeout=60))
        try:
            conn.request(method, f"{path}?{encoded}" if encoded else path, body=body or None, headers=sent)
            answer = conn.getresponse()
            return answer.status, answer.read()
        except OSError as exc:
            raise StorageUnreachable(f"The online storage at {self.where.text} does not answer.") from exc
        finally:
            conn.close()


class ObjectLock:
    """Locking the objects of one repository under ``where`` for ``days`` days."""

    def __init__(self, where: S3Location, keys: storagekeys.StorageKeys, region: str, days: int,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.where, self.days = where, days
        self._signer = Signer(where, keys, region, clock)

    def _key(self, name: str) -> str:
        return f"{self.where.prefix}/{name}" if self.where.prefix else name

    def _fail(self, status: int, body: bytes) -> OdbackupError:
        error = plain_error(Exception(body.decode(errors="replace")), self.where.text)
        if type(error) is StorageError and status:
            return StorageError(f"{error} (HTTP {status})")
        return error

    def bucket_has_lock(self) -> bool:
        """Is Object Lock on for the bucket (GetObjectLockConfiguration)?"""
        status, body = self._signer.request("GET", None, {"object-lock": ""})
        if status == 200:
            return b"Enabled" in body
        if status == 404 or b"ObjectLockConfigurationNotFound" in body:
            return False
        raise self._fail(status, body)

    def lock(self, name: str, until: datetime | None = None) -> datetime:
        """Lock ``name`` (COMPLIANCE) until ``until`` (default: now + the period); returns the date."""
        until = until or datetime.now(UTC) + timedelta(days=self.days)
        body = (f'<Retention xmlns="{_NS}"><Mode>COMPLIANCE</Mode><RetainUntilDate>'
                f'{until.strftime("%Y-%m-%dT%H:%M:%S.000Z")}</RetainUntilDate></Retention>').encode()
        md5 = base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()
        status, answer = self._signer.request("PUT", self._key(name), {"retention": ""}, body,
                                              {"content-md5": md5})
        if status != 200:
            raise self._fail(status, answer)
        return until

    def locked_until(self, name: str) -> datetime | None:
        """Until when ``name`` is locked (None: not locked)."""
        status, body = self._signer.request("GET", self._key(name), {"retention": ""})
        if status == 404 or b"NoSuchObjectLockConfiguration" in body:
            return None
        if status != 200:
            raise self._fail(status, body)
        found = re.search(rb"<RetainUntilDate>([^<]+)</RetainUntilDate>", body)
        if not found:
            return None
        return datetime.fromisoformat(found.group(1).decode().replace("Z", "+00:00"))

    def needs_extending(self, until: datetime | None, now: datetime | None = None) -> bool:
        """Less than half the period, or less than a week and a day, left (or no lock at all)?"""
        now = now or datetime.now(UTC)
        return until is None or until - now < extend_when_under(self.days)


def extend_when_under(days: int) -> timedelta:
    """A lock of a ``days`` period is extended once less than this is left (module docstring)."""
    return max(timedelta(days=days * EXTEND_WHEN_LEFT), EXTEND_WHEN_UNDER)


def check_days(days: int) -> int:
    """``days`` if it is a period a lock can be kept up with, else a UsageError in plain words."""
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise UsageError(f"The Object Lock period is between {MIN_DAYS} and {MAX_DAYS} days.",
                         hint=TOO_SHORT if 0 < days < MIN_DAYS else None)
    return days
