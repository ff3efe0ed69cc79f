"""Plain-words helpers: what the dashboard and reports say about times and sizes."""

from datetime import UTC, datetime, timedelta

from engine import words

NOW = datetime(2026, 12, 7, 21, 0, tzinfo=UTC)


def test_ago_says_just_now_for_the_first_ten_seconds_and_for_a_clock_a_little_ahead():
    assert words.ago(NOW, NOW) == "just now"
    assert words.ago(NOW - timedelta(seconds=9), NOW) == "just now"
    assert words.ago(NOW + timedelta(seconds=3), NOW) == "just now"
    assert words.ago(NOW - timedelta(seconds=30), NOW) == "30 seconds ago"
    assert words.ago((NOW - timedelta(hours=3)).isoformat(), NOW) == "3 hours ago"


def test_ago_reads_naive_iso_times_as_utc():
    assert words.ago("2026-12-07T18:00:00", NOW) == "3 hours ago"
