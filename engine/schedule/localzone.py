"""The machine's time zone, with its daylight-saving rules, on Linux and Windows.

Schedules are wall-clock times ("9:00 pm"), so ``next_runs`` needs the real
zone, not today's fixed offset. Where the zone has an IANA name (``TZ``, or
``/etc/localtime`` on Linux) it is a ``ZoneInfo``; elsewhere (Windows) a
small tzinfo asks the C library, which knows the system's rules.
"""
from __future__ import annotations

import os
import time as _time
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def local_zone() -> tzinfo:
    """The zone the operating system's scheduler uses for this machine."""
    for key in (os.environ.get("TZ", "").lstrip(":"), _linux_zone_key()):
        if key:
            try:
                return ZoneInfo(key)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return SystemZone()


def _linux_zone_key() -> str:
    try:
        target = os.readlink("/etc/localtime")
    except OSError:
        return ""
    marker = "zoneinfo/"
    return target.split(marker, 1)[1] if marker in target else ""


class SystemZone(tzinfo):
    """The C library's local time (``localtime``/``mktime``), for systems without a zone name."""

    def utcoffset(self, dt: datetime | None) -> timedelta:
        if dt is None:
            return timedelta(seconds=-_time.timezone)
        return timedelta(seconds=_time.localtime(self._stamp(dt)).tm_gmtoff)

    def dst(self, dt: datetime | None) -> timedelta:
        if dt is None:
            return timedelta(0)
        return timedelta(seconds=3600) if _time.localtime(self._stamp(dt)).tm_isdst > 0 else timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        return _time.tzname[1 if dt is not None and self.dst(dt) else 0]

    def fromutc(self, dt: datetime) -> datetime:
        stamp = (dt.replace(tzinfo=None) - datetime(1970, 1, 1)).total_seconds()
        parts = _time.localtime(stamp)
        return datetime(*parts[:6], microsecond=dt.microsecond, tzinfo=self)

    @staticmethod
    def _stamp(dt: datetime) -> float:
        fields = (dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, 0, 0, -1)
        return _time.mktime(fields)


__all__ = ["SystemZone", "UTC", "local_zone"]
