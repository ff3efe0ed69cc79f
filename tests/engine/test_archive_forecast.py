"""The archive drives' pure reckoning: growth between copies, room left in months, rotation due,
and the alerts the dashboard and ``odbackup status`` show (engine/archive/forecast.py)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.archive.drives import ArchiveBook, ArchiveDrive
from engine.archive.forecast import (
    archive_alerts,
    growth_per_month,
    is_full,
    months_left,
    room_words,
    rotation_due,
)

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
GIB = 1024**3


def iso(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat(timespec="seconds")


def drive(label: str = "Drive A", kind: str = "rotating", **kw) -> ArchiveDrive:
    return ArchiveDrive(repo_id=label.encode().hex().ljust(32, "0"), label=label, kind=kind, **kw)


@pytest.mark.parametrize(("used", "expected"), [
    ((), None),
    (((iso(1), 10 * GIB),), None),  # one measurement: no growth yet
    (((iso(0.2), 10 * GIB), (iso(0), 11 * GIB)), None),  # closer than 12 hours
    (((iso(30.44), 10 * GIB), (iso(0), 12 * GIB)), 2 * GIB),  # 2 GiB over a month
    (((iso(60.88), 10 * GIB), (iso(30.44), 11 * GIB), (iso(0), 12 * GIB)), 1 * GIB),
    (((iso(10), 12 * GIB), (iso(0), 11 * GIB)), 0.0),  # shrank (a rotating drive's retention)
])
def test_growth_per_month_from_the_first_to_the_latest_measurement(used, expected):
    got = growth_per_month(drive(used=used))
    assert got == pytest.approx(expected, rel=1e-6) if expected is not None else got is None


@pytest.mark.parametrize(("free", "growth_gib", "months", "words"), [
    (6 * GIB, 2, 3.0, "room for about 3 more month(s)"),
    (7 * GIB, 2, 3.5, "room for about 3 more month(s)"),
    (40 * GIB, 2, 20.0, "room for about 20 more month(s)"),
    (1 * GIB, 2, 0.5, "room for less than a month more"),
])
def test_months_left_is_the_free_space_over_the_measured_growth(free, growth_gib, months, words):
    d = drive(kind="monthly", free_bytes=free, total_bytes=100 * GIB,
              used=((iso(30.44), 10 * GIB), (iso(0), (10 + growth_gib) * GIB)))
    assert months_left(d) == pytest.approx(months)
    assert room_words(d) == words


def test_room_words_before_growth_is_known_and_when_sealed():
    assert room_words(drive(free_bytes=5 * GIB)) == "5.0 GiB free"
    assert room_words(drive()) == "room not known yet"
    assert room_words(drive(sealed=iso(1), free_bytes=0)) == "full and sealed"


@pytest.mark.parametrize(("needed", "free", "keep_percent", "full"), [
    (0, 0, 2.0, False),  # nothing to copy never fills a drive
    (5 * GIB, 10 * GIB, 2.0, False),
    (9 * GIB, 10 * GIB, 2.0, True),  # 2 % of 100 GiB must stay free
    (8 * GIB, 10 * GIB, 2.0, False),
    (1, 10 * GIB, 100.0, True),
])
def test_is_full_keeps_a_share_of_the_drive_free(needed, free, keep_percent, full):
    assert is_full(drive(free_bytes=free, total_bytes=100 * GIB), needed, keep_percent) is full


def test_a_rotating_drive_not_copied_for_longer_than_the_rotation_is_due_and_says_swap_it():
    book = ArchiveBook(drives=(drive("Drive A", last_copy=iso(9)), drive("Drive B", last_copy=iso(2))))
    assert [rotation_due(d, book, NOW) for d in book.drives] == [True, False]
    alerts = archive_alerts(book, NOW)
    assert [a.text for a in alerts] == ["Drive A last copied 9 days ago: swap it."]
    assert alerts[0].kind == "archive_rotation_due" and alerts[0].level == "warning"


def test_a_drive_never_copied_is_a_reminder():
    alerts = archive_alerts(ArchiveBook(drives=(drive("Drive C"),)), NOW)
    assert [a.kind for a in alerts] == ["archive_never_copied"]
    assert alerts[0].text == "Drive C has no copy yet: plug it in; the next archive run copies to it."


def test_a_monthly_drive_says_ahead_when_its_room_runs_short():
    filling = drive("Monthly 2026", "monthly", last_copy=iso(3), free_bytes=6 * GIB, total_bytes=500 * GIB,
                    used=((iso(61), 400 * GIB), (iso(3), 410 * GIB)))
    alerts = archive_alerts(ArchiveBook(drives=(filling,)), NOW)
    assert [a.text for a in alerts] == ["Monthly 2026 has room for about 1 more month(s): buy the next drive."]
    roomy = drive("Monthly 2027", "monthly", last_copy=iso(3), free_bytes=300 * GIB, total_bytes=500 * GIB,
                  used=((iso(61), 100 * GIB), (iso(3), 110 * GIB)))
    assert archive_alerts(ArchiveBook(drives=(roomy,)), NOW) == []


def test_a_monthly_drive_is_due_after_35_days_and_a_rotation_of_14_days_is_honoured():
    book = ArchiveBook(drives=(drive("M", "monthly", last_copy=iso(36)), drive("R", last_copy=iso(10))),
                       rotate_days=14)
    assert [a.text for a in archive_alerts(book, NOW)] == ["M last copied a month ago: swap it."]


def test_when_every_monthly_drive_is_sealed_the_next_one_is_asked_for():
    sealed = drive("Monthly 2025", "monthly", last_copy=iso(40), sealed=iso(40))
    alerts = archive_alerts(ArchiveBook(drives=(sealed,)), NOW)
    assert [a.kind for a in alerts] == ["archive_next_drive"]
    assert alerts[0].text == ("The monthly archive drive 'Monthly 2025' is full and sealed: put it in storage, "
                              "and add the next drive (odbackup archive add).")
    fresh = drive("Monthly 2026", "monthly", last_copy=iso(1))
    assert archive_alerts(ArchiveBook(drives=(sealed, fresh)), NOW) == []


def test_the_book_round_trips_through_json():
    book = ArchiveBook(drives=(drive("A", last_copy=iso(1), used=((iso(2), 5), (iso(1), 7)), free_bytes=9),
                               drive("M", "monthly", sealed=iso(0))), search_folders=("/srv/drives",),
                       rotate_days=10, warn_months=2, keep_free_percent=5.0)
    assert ArchiveBook.from_json(book.to_json()) == book
