"""Retention: which snapshots a policy keeps, which it removes, and why.

Pure: no repository, no clock, no printing. ``apply_policy`` takes the
snapshots' times and flags, a :class:`Policy` and ``now``, and returns a
:class:`Decision`. The forget command, the maintenance job and the Frequency
screen's "what it would keep and remove now" all call this one function.

The rules are restic's (``internal/data/snapshot_policy.go``), because its
users trust them and they are documented and golden-tested there:

- each rule is counted on its own: one snapshot may be the newest of its day
  *and* of its week, and then it uses one count of each;
- periods (hour, day, ISO week, month, year) are taken in local time;
- "within" is measured back from the newest snapshot that is not in the
  future, never from now, so a schedule that stopped months ago never ages
  the whole history out, and a forged future-dated snapshot moves nothing;
- while a rule still has counts left when the oldest snapshot is reached,
  the oldest snapshot is kept too ("oldest daily snapshot"): a short history
  is kept as long as it can be.

Our own rules on top, because a practice must never be left without a good
backup:

- the newest verified snapshot is always kept;
- the newest complete snapshot is always kept (in particular when it is the
  only complete one);
- an incomplete snapshot (a run that stopped before the end) never fills a
  period's place: periods count complete snapshots only. It is kept while it
  is newer than the newest complete one (the next run resumes from it), when
  ``within`` keeps it, or while no snapshot is complete at all;
- a policy with no rule removes nothing.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

ALL = -1
"""A rule's count meaning "every period, however many"."""

_DURATION = re.compile(r"(?:(\d+)y)?(?:(\d+)m)?(?:(\d+)d)?(?:(\d+)h)?")


@dataclass(frozen=True)
class Duration:
    """A calendar span such as ``2y6m`` or ``48h``: years and months are calendar ones."""

    years: int = 0
    months: int = 0
    days: int = 0
    hours: int = 0

    @classmethod
    def parse(cls, text: str) -> Duration:
        """``1y2m3d4h`` and any part of it, in that order; raises ValueError otherwise."""
        match = _DURATION.fullmatch(text.strip().lower())
        if not text.strip() or match is None:
            raise ValueError(f"{text!r} is not a duration: write it like 48h, 30d, 6m or 1y6m")
        return cls(*(int(part or 0) for part in match.groups()))

    @property
    def zero(self) -> bool:
        return not (self.years or self.months or self.days or self.hours)

    def before(self, moment: datetime, tz: tzinfo | None = None) -> datetime:
        """``moment`` minus this span: years, months and days on the calendar in ``tz``
        (month ends clamp: a month before 31 March is 28 or 29 February), hours as
        elapsed time (48h is 48 hours even across a daylight-saving change)."""
        local = moment.astimezone(tz)
        month_index = local.year * 12 + (local.month - 1) - self.years * 12 - self.months
        year, month = divmod(month_index, 12)
        day = min(local.day, _days_in_month(year, month + 1))
        calendar = local.replace(year=year, month=month + 1, day=day) - timedelta(days=self.days)
        return calendar.astimezone(UTC) - timedelta(hours=self.hours)

    def __str__(self) -> str:
        parts = zip((self.years, self.months, self.days, self.hours), "ymdh", strict=True)
        return "".join(f"{n}{unit}" for n, unit in parts if n) or "0h"


def _days_in_month(year: int, month: int) -> int:
    following = datetime(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


@dataclass(frozen=True)
class Policy:
    """How many snapshots to keep. A count of 0 turns a rule off; ``ALL`` (-1) keeps every period."""

    last: int = 0
    """The newest N snapshots, whatever their times."""
    hourly: int = 0
    """The newest snapshot of each of the last N hours that have one."""
    daily: int = 0
    """The newest snapshot of each of the last N days that have one."""
    weekly: int = 0
    """The newest snapshot of each of the last N ISO weeks (Monday to Sunday) that have one."""
    monthly: int = 0
    """The newest snapshot of each of the last N months that have one."""
    yearly: int = 0
    """The newest snapshot of each of the last N years that have one."""
    within: Duration = field(default_factory=Duration)
    """Every snapshot newer than this span before the newest snapshot."""

    @property
    def empty(self) -> bool:
        return not any(self.counts()) and self.within.zero

    def counts(self) -> tuple[int, ...]:
        return (self.last, self.hourly, self.daily, self.weekly, self.monthly, self.yearly)

    def describe(self) -> str:
        """The policy in plain words, e.g. "every backup for 48h, 30 daily, 13 weekly"."""
        words = [f"every backup for {self.within}"] if not self.within.zero else []
        for count, name in zip(self.counts(), _RULE_NAMES, strict=True):
            if count:
                words.append(f"{'all' if count == ALL else count} {name}")
        return ", ".join(words) if words else "no rule: nothing is removed"


_RULE_NAMES = ("latest", "hourly", "daily", "weekly", "monthly", "yearly")


@dataclass(frozen=True)
class Candidate:
    """What retention needs to know of one snapshot."""

    snapshot_id: str
    time: datetime
    """When the backup ran; timezone-aware."""
    complete: bool = True
    verified: bool = False


@dataclass(frozen=True)
class Decision:
    """The outcome: ``keep`` and ``remove`` newest first; a reason list for every kept snapshot."""

    keep: tuple[Candidate, ...]
    remove: tuple[Candidate, ...]
    reasons: dict[str, tuple[str, ...]]


def _hour(t: datetime) -> tuple[int, ...]:
    return (t.year, t.month, t.day, t.hour)


def _day(t: datetime) -> tuple[int, ...]:
    return (t.year, t.month, t.day)


def _week(t: datetime) -> tuple[int, ...]:
    iso = t.isocalendar()
    return (iso.year, iso.week)


def _month(t: datetime) -> tuple[int, ...]:
    return (t.year, t.month)


def _year(t: datetime) -> tuple[int, ...]:
    return (t.year,)


_PERIODS: tuple[tuple[str, Callable[[datetime], tuple[int, ...]]], ...] = (
    ("hourly", _hour), ("daily", _day), ("weekly", _week), ("monthly", _month), ("yearly", _year),
)


@dataclass
class _Rule:
    """One counted rule while the snapshots are walked newest to oldest."""

    name: str
    left: int
    period: Callable[[datetime, int], object]
    seen: object = None

    def take(self, local: datetime, position: int, oldest: bool) -> str | None:
        """The reason if this rule keeps the snapshot, else None."""
        if self.left == 0:
            return None
        key = self.period(local, position)
        if key == self.seen and not oldest:
            return None
        reason = f"{self.name} snapshot" if key != self.seen else f"oldest {self.name} snapshot"
        self.seen = key
        if self.left > 0:
            self.left -= 1
        return reason


def _rules(policy: Policy) -> list[_Rule]:
    rules = [_Rule("last", policy.last, lambda _t, position: position)]
    for (name, period), count in zip(_PERIODS, policy.counts()[1:], strict=True):
        rules.append(_Rule(name, count, _of_time(period)))
    return rules


def _of_time(period: Callable[[datetime], tuple[int, ...]]) -> Callable[[datetime, int], object]:
    """A rule's period from the snapshot's time alone (not its position)."""
    return lambda t, _position: period(t)


def _anchor(snapshots: Iterable[Candidate], now: datetime) -> datetime | None:
    """The newest snapshot time that is not in the future."""
    past = [s.time for s in snapshots if s.time < now]
    return max(past) if past else None


def apply_policy(snapshots: Iterable[Candidate], policy: Policy, now: datetime,
                 *, tz: tzinfo | None = None) -> Decision:
    """Split ``snapshots`` into kept and removed under ``policy`` (see the module's rules).

    ``now`` and every snapshot time must be timezone-aware; periods are taken
    in ``tz`` (the machine's local zone when None).
    """
    ordered = sorted(snapshots, key=lambda s: s.time, reverse=True)
    if policy.empty:
        return Decision(tuple(ordered), (), {s.snapshot_id: ("no rule given",) for s in ordered})
    reasons = _counted_reasons(ordered, policy, now, tz)
    _add_safety_reasons(ordered, reasons)
    keep = tuple(s for s in ordered if reasons.get(s.snapshot_id))
    remove = tuple(s for s in ordered if not reasons.get(s.snapshot_id))
    return Decision(keep, remove, {k: tuple(v) for k, v in reasons.items() if v})


def _counted_reasons(ordered: list[Candidate], policy: Policy, now: datetime,
                     tz: tzinfo | None) -> dict[str, list[str]]:
    anchor = _anchor(ordered, now)
    cutoff = policy.within.before(anchor, tz) if anchor and not policy.within.zero else None
    rules = _rules(policy)
    complete = [s for s in ordered if s.complete]
    reasons: dict[str, list[str]] = {s.snapshot_id: [] for s in ordered}
    for snap in ordered:
        if cutoff is not None and snap.time > cutoff:
            reasons[snap.snapshot_id].append(f"within {policy.within}")
    for position, snap in enumerate(complete):
        local = snap.time.astimezone(tz)
        oldest = position == len(complete) - 1
        for rule in rules:
            reason = rule.take(local, position, oldest)
            if reason:
                reasons[snap.snapshot_id].append(reason)
    return reasons


def _add_safety_reasons(ordered: list[Candidate], reasons: dict[str, list[str]]) -> None:
    newest_complete = next((s for s in ordered if s.complete), None)
    newest_verified = next((s for s in ordered if s.verified and s.complete), None)
    if newest_verified is not None:
        reasons[newest_verified.snapshot_id].append("newest verified snapshot")
    if newest_complete is None:
        for snap in ordered:
            reasons[snap.snapshot_id].append("no complete snapshot yet")
        return
    reasons[newest_complete.snapshot_id].append("newest complete snapshot")
    for snap in ordered:
        if snap.time <= newest_complete.time:
            break
        reasons[snap.snapshot_id].append("newer than the newest complete snapshot")
