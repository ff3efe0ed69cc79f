"""The ``[offsite]`` settings (pure: no disk, no network, no clock).

``window`` is a range of the office's local time such as ``23:00-06:30`` (past midnight when the
end is earlier than the start), as the supplemental copy's is: the scheduler starts the job at
the window's start on the chosen days, and the run stops at its end.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from ..errors import OdbackupError
from ..jobsettings import ALL_DAYS, OFF, parse_clock, parse_days
from ..schedule.model import Calendar, ScheduleError

DEFAULT_WINDOW = "23:00-06:30"
"""After the nightly backup (21:00), until before the office opens."""
DEFAULT_DAYS = ALL_DAYS[:6]
"""Monday to Saturday: Sunday night is maintenance's (23:30), which cannot free space while the copy
reads the repository."""


@dataclass(frozen=True)
class OffsiteSettings:
    """The offsite copy into online storage ([offsite])."""

    enabled: bool = False
    """Copy the new snapshots each night into the offsite repository in online storage (on or off)."""
    location: str = ""
    """The offsite repository, s3:https://SERVER/BUCKET/FOLDER, made once with odbackup init LOCATION
    --related-to MAIN; its keys are saved with odbackup storage-keys, never here."""
    window: str = DEFAULT_WINDOW
    """When the copy may send, such as 23:00-06:30: it starts at the first time and stops at the
    second (the office opens); the next night continues where it stopped."""
    days: tuple[str, ...] = DEFAULT_DAYS
    """The nights the offsite copy starts (not maintenance's night: it cannot free space meanwhile)."""
    limit_upload: str = ""
    """Upload at most this fast on average, as internet plans write it (20Mbit, 2.5MB per second);
    empty: as fast as the line goes."""
    alert_days: int = 3
    """Warn when no offsite copy has completed for this many days."""

    def bounds(self) -> tuple[time, time]:
        """The window's start and end. Raises ScheduleError in plain words."""
        first, dash, last = self.window.partition("-")
        if not dash:
            raise ScheduleError(f"'{self.window}' is not an upload window: write it like 23:00-06:30")
        (h1, m1), (h2, m2) = parse_clock(first), parse_clock(last)
        if (h1, m1) == (h2, m2):
            raise ScheduleError("The offsite window starts and ends at the same time: write it like 23:00-06:30")
        return time(h1, m1), time(h2, m2)

    def calendar(self) -> Calendar:
        """When the scheduler starts the job: the window's start on the chosen days."""
        start, _end = self.bounds()
        return Calendar(parse_days(self.days), (start.hour,), start.minute)

    def describe(self) -> str:
        """In plain words: "Offsite copy to s3:https://... each night 11:00 pm to 6:30 am, Mon-Sat"."""
        from ..schedule.model import clock, days_words

        try:
            (start, end), nights = self.bounds(), parse_days(self.days)
        except ScheduleError:
            return f"Offsite copy to {self.location} ({self.window}, {', '.join(self.days)})"
        when = "each night" if len(nights) == 7 else f"{days_words(nights)} nights"
        limit = f", at most {self.limit_upload.strip()}" if self.limit_upload.strip() else ""
        return f"Offsite copy to {self.location} {when} from {clock(start)} to {clock(end)}{limit}"

    def rate(self) -> int | None:
        """The upload limit in bytes per second (None: no limit). Raises UsageError."""
        from ..repository.uplink import parse_rate

        return parse_rate(self.limit_upload) if self.limit_upload.strip() else None

    def problems(self) -> list[str]:
        """What cannot be used, in plain words (empty when all is well)."""
        found = []
        try:
            self.calendar()
        except ScheduleError as exc:
            found.append(str(exc))
        try:
            self.rate()
        except OdbackupError as exc:
            found.append(f"{exc.message} {exc.hint or ''}".strip())
        if self.location.strip():
            from ..repository.locations import is_s3_location, refuse_keys_in
            from ..repository.s3 import S3Location

            try:
                refuse_keys_in(self.location)  # (never repeated in a problem: it holds keys)
                if not is_s3_location(self.location):
                    found.append(f"The offsite location '{self.location}' is not in online storage: write it "
                                 "like s3:https://SERVER/BUCKET/FOLDER.")
                else:
                    S3Location.parse(self.location)
            except OdbackupError as exc:
                found.append(f"{exc.message} {exc.hint or ''}".strip())
        if self.alert_days < 1:
            found.append("offsite.alert_days is a number of days, at least 1.")
        return found

    def maintenance_problem(self, time_text: str, days: tuple[str, ...]) -> str | None:
        """Maintenance at ``time_text`` on ``days`` falls in the window (its retention waits for the
        copy's reading, and gives up): said in plain words, else None."""
        if not self.enabled or time_text.strip().lower() == OFF:
            return None
        try:
            (start, end), at = self.bounds(), time(*parse_clock(time_text))
            nights, maintenance_days = parse_days(self.days), parse_days(days)
        except ScheduleError:
            return None  # their own checks say it
        hit = any(_in_window(day, at, night, start, end) for day in maintenance_days for night in nights)
        if not hit:
            return None
        return (f"Maintenance at {time_text} falls in the offsite window {self.window}: it could not free space "
                "while the copy reads the repository. Leave maintenance's day out of offsite.days, or move the "
                "window or maintenance.")


def _in_window(day: int, at: time, night: int, start: time, end: time) -> bool:
    """Is ``at`` on weekday ``day`` inside the window that opens on weekday ``night``?"""
    if start < end:
        return day == night and start <= at < end
    return (day == night and at >= start) or (day == (night + 1) % 7 and at < end)
