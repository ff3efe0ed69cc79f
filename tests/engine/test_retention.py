"""Retention (engine.retention.apply_policy): restic's semantics, checked against
golden files that real restic made (retention_golden/make_golden.py), plus the
rules restic 0.14 lacks and our own safety rules, table by table."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine.retention import ALL, Candidate, Duration, Policy, apply_policy

GOLDEN = json.loads((Path(__file__).parent / "retention_golden" / "restic_policies.json").read_text())
ZONE = ZoneInfo(GOLDEN["zone"])
NOW = datetime.fromisoformat(GOLDEN["now"])
SAFETY = {"newest complete snapshot", "newest verified snapshot"}


def golden_snapshots() -> list[Candidate]:
    return [Candidate(t, datetime.fromisoformat(t)) for t in GOLDEN["times"]]


def policy_of(case: dict) -> Policy:
    counts = {k: v for k, v in case.items() if k != "within"}
    return Policy(**counts, within=Duration.parse(case.get("within", "0h")) if "within" in case else Duration())


def restic_words(reasons: tuple[str, ...]) -> list[str]:
    return [r for r in reasons if r not in SAFETY]


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=lambda c: json.dumps(c["policy"], sort_keys=True))
def test_keeps_what_restic_keeps_for_the_same_reasons(case):
    decision = apply_policy(golden_snapshots(), policy_of(case["policy"]), NOW, tz=ZONE)
    assert sorted(s.snapshot_id for s in decision.keep) == case["keep"]
    for snapshot_id, matches in case["reasons"].items():
        assert restic_words(decision.reasons[snapshot_id]) == matches


def test_the_golden_set_is_big_enough_to_mean_something():
    assert len(GOLDEN["times"]) >= 90 and len(GOLDEN["cases"]) >= 40
    kept_counts = {len(c["keep"]) for c in GOLDEN["cases"]}
    assert len(kept_counts) > 15  # the policies really differ in what they keep


POLICIES = [Policy(**{k: v for k, v in c["policy"].items() if k != "within"}) for c in GOLDEN["cases"]
            if "within" not in c["policy"]] + [
    Policy(daily=ALL), Policy(hourly=ALL, yearly=2), Policy(within=Duration(days=3), weekly=ALL),
]


@pytest.mark.parametrize("policy", POLICIES, ids=str)
def test_invariants(policy):
    snaps = golden_snapshots()
    decision = apply_policy(snaps, policy, NOW, tz=ZONE)
    kept = {s.snapshot_id for s in decision.keep}
    removed = {s.snapshot_id for s in decision.remove}
    assert kept | removed == {s.snapshot_id for s in snaps} and not kept & removed
    assert set(decision.reasons) == kept and all(decision.reasons[k] for k in kept)
    counted = sum(c for c in policy.counts() if c > 0)
    if ALL not in policy.counts() and policy.within.zero:
        assert len(kept) <= counted + 1  # +1: the newest complete one is always kept
    times = [s.time for s in decision.keep]
    assert times == sorted(times, reverse=True)


def at(*moments: str, complete: bool = True, verified: tuple[str, ...] = ()) -> list[Candidate]:
    return [Candidate(m, datetime.fromisoformat(m).replace(tzinfo=UTC), complete, m in verified)
            for m in moments]


def ids(items) -> list[str]:
    return [s.snapshot_id for s in items]


NOW_UTC = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("policy, expected_keep, oldest_reason", [
    # Two snapshots on the oldest day: daily=5 keeps both days' newest, then the
    # oldest snapshot too, because counts are left (restic's "oldest" rule).
    (Policy(daily=5), ["2026-12-03T09:00", "2026-12-02T21:00", "2026-12-02T08:00"], "oldest daily snapshot"),
    (Policy(monthly=ALL), ["2026-12-03T09:00", "2026-12-02T08:00"], "oldest monthly snapshot"),
    # Counts used up: the oldest goes.
    (Policy(daily=2), ["2026-12-03T09:00", "2026-12-02T21:00"], None),
])
def test_the_oldest_snapshot_is_kept_while_a_rule_has_counts_left(policy, expected_keep, oldest_reason):
    snaps = at("2026-12-03T09:00", "2026-12-02T21:00", "2026-12-02T08:00")
    decision = apply_policy(snaps, policy, NOW_UTC, tz=UTC)
    assert ids(decision.keep) == expected_keep
    if oldest_reason:
        assert oldest_reason in decision.reasons["2026-12-02T08:00"]


def test_all_keeps_every_period():
    snaps = at(*[f"2026-11-{d:02d}T21:00" for d in range(1, 31)])
    assert len(apply_policy(snaps, Policy(daily=ALL), NOW_UTC, tz=UTC).keep) == 30
    assert len(apply_policy(snaps, Policy(weekly=ALL), NOW_UTC, tz=UTC).keep) == 6  # 5 ISO weeks + oldest


def test_within_is_anchored_to_the_newest_snapshot_not_now():
    # The schedule stopped in March: "within 30 days" still keeps March's backups.
    snaps = at("2026-03-10T21:00", "2026-03-01T21:00", "2026-01-15T21:00")
    decision = apply_policy(snaps, Policy(within=Duration(days=30)), NOW_UTC, tz=UTC)
    assert ids(decision.keep) == ["2026-03-10T21:00", "2026-03-01T21:00"]


def test_a_future_dated_snapshot_does_not_move_within():
    snaps = at("2031-01-01T00:00", "2026-12-06T21:00", "2026-12-01T21:00", "2026-11-01T21:00")
    decision = apply_policy(snaps, Policy(within=Duration(days=7)), NOW_UTC, tz=UTC)
    assert ids(decision.keep) == ["2031-01-01T00:00", "2026-12-06T21:00", "2026-12-01T21:00"]


def test_newest_verified_snapshot_is_never_removed():
    snaps = at("2026-12-06T21:00", "2026-12-05T21:00", "2026-11-20T21:00", verified=("2026-11-20T21:00",))
    decision = apply_policy(snaps, Policy(last=1), NOW_UTC, tz=UTC)
    assert ids(decision.keep) == ["2026-12-06T21:00", "2026-11-20T21:00"]
    assert decision.reasons["2026-11-20T21:00"] == ("newest verified snapshot",)


def test_the_only_complete_snapshot_is_never_removed():
    incomplete = at("2026-12-06T21:00", "2026-12-05T21:00", complete=False)
    snaps = incomplete + at("2026-11-01T21:00")
    decision = apply_policy(snaps, Policy(within=Duration(hours=1)), NOW_UTC, tz=UTC)
    assert "2026-11-01T21:00" in ids(decision.keep)
    assert decision.reasons["2026-11-01T21:00"] == ("newest complete snapshot",)


def test_incomplete_snapshots_fill_no_period_and_go_once_a_complete_one_is_newer():
    snaps = at("2026-12-06T21:00") + at("2026-12-06T09:00", "2026-12-05T21:00", complete=False) \
        + at("2026-12-05T09:00")
    decision = apply_policy(snaps, Policy(daily=2), NOW_UTC, tz=UTC)
    # The 5th's daily place goes to its complete snapshot, not the later stopped run.
    assert ids(decision.keep) == ["2026-12-06T21:00", "2026-12-05T09:00"]
    assert ids(decision.remove) == ["2026-12-06T09:00", "2026-12-05T21:00"]


def test_an_incomplete_run_newer_than_every_complete_one_is_kept_to_resume_from():
    snaps = at("2026-12-07T02:00", complete=False) + at("2026-12-06T21:00", "2026-12-05T21:00")
    decision = apply_policy(snaps, Policy(last=1), NOW_UTC, tz=UTC)
    assert ids(decision.keep) == ["2026-12-07T02:00", "2026-12-06T21:00"]


def test_with_no_complete_snapshot_nothing_is_removed():
    snaps = at("2026-12-06T21:00", "2026-12-05T21:00", complete=False)
    assert ids(apply_policy(snaps, Policy(last=1), NOW_UTC, tz=UTC).remove) == []


def test_a_policy_with_no_rule_removes_nothing():
    snaps = at("2026-12-06T21:00", "2026-12-05T21:00")
    decision = apply_policy(snaps, Policy(), NOW_UTC, tz=UTC)
    assert decision.remove == () and len(decision.keep) == 2


def test_periods_are_local_time():
    # 04:30 UTC on the 7th is 23:30 on the 6th in New York: one day there with 23:00 UTC.
    snaps = at("2026-12-07T04:30", "2026-12-06T23:00", "2026-12-05T12:00")
    ny = apply_policy(snaps, Policy(daily=5), NOW_UTC, tz=ZoneInfo("America/New_York"))
    utc = apply_policy(snaps, Policy(daily=5), NOW_UTC, tz=UTC)
    assert ids(ny.remove) == ["2026-12-06T23:00"]
    assert ids(utc.remove) == []


@pytest.mark.parametrize("text, expected", [
    ("48h", Duration(hours=48)), ("30d", Duration(days=30)), ("1y6m", Duration(years=1, months=6)),
    ("2y5m7d3h", Duration(2, 5, 7, 3)), (" 7D ", Duration(days=7)),
])
def test_durations_parse(text, expected):
    assert Duration.parse(text) == expected


@pytest.mark.parametrize("text", ["", "7", "d7", "7w", "1h2d", "-1d", "1.5d"])
def test_durations_refuse_what_they_cannot_mean(text):
    with pytest.raises(ValueError, match="not a duration"):
        Duration.parse(text)


@pytest.mark.parametrize("span, moment, expected", [
    # A month before 31 March is the end of February, not 3 March.
    (Duration(months=1), "2026-03-31T12:00", "2026-02-28T12:00"),
    (Duration(years=1), "2028-02-29T12:00", "2027-02-28T12:00"),
    (Duration(hours=48), "2026-03-09T12:00", "2026-03-07T12:00"),
])
def test_duration_before(span, moment, expected):
    assert span.before(datetime.fromisoformat(moment).replace(tzinfo=UTC), UTC) == \
        datetime.fromisoformat(expected).replace(tzinfo=UTC)


def test_hours_are_elapsed_time_and_days_calendar_days_across_a_daylight_saving_change():
    ny = ZoneInfo("America/New_York")
    noon = datetime(2026, 3, 8, 12, 0, tzinfo=ny)  # clocks went forward at 2 am that day
    assert noon - Duration(hours=48).before(noon, ny) == timedelta(hours=48)
    assert noon - Duration(days=1).before(noon, ny) == timedelta(hours=23)


def test_the_practice_default_in_plain_words():
    default = Policy(within=Duration(hours=48), daily=30, weekly=13, monthly=24, yearly=7)
    assert default.describe() == "every backup for 48h, 30 daily, 13 weekly, 24 monthly, 7 yearly"
    assert Policy().describe() == "no rule: nothing is removed"
