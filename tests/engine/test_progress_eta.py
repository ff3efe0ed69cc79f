"""The time left: none until enough is known, never from an unknown (0) total, and measured
only over the work it is about (not the database dump that came before the folders)."""
from __future__ import annotations

import pytest

from engine.progress import ETA_AFTER_SECONDS, Eta

MB = 1_000_000


@pytest.mark.parametrize("samples, expected", [
    # (done, total, elapsed) ..., seconds left after the last one (None: nothing said)
    ([(0, 0, 0.5), (5 * MB, 0, 2.0)], None),  # the total is not known yet
    ([(1 * MB, 50 * MB, 2.6), (2 * MB, 50 * MB, 2.9)], None),  # the "8 minutes" of a 3 s backup
    ([(1 * MB, 50 * MB, 2.0), (50 * MB, 50 * MB, 12.0)], None),  # done
    ([(10 * MB, 50 * MB, 2.0), (10 * MB, 50 * MB, 2.0 + ETA_AFTER_SECONDS + 1)], None),  # nothing moved
    ([(10 * MB, 100 * MB, 2.0), (40 * MB, 100 * MB, 12.0)], 20.0),  # 3 MB/s since the total was known
    ([(10 * MB, 0, 1.0), (20 * MB, 100 * MB, 4.0), (50 * MB, 100 * MB, 14.0)], 16.666),
])
def test_time_left(samples, expected):
    eta = Eta()
    left = [eta.seconds_left(*sample) for sample in samples][-1]
    assert left == (None if expected is None else pytest.approx(expected, rel=1e-3))


def test_a_database_dump_before_the_folders_does_not_slow_the_folders_rate():
    """2.5 s of database, then 20 MB of files in 1 s and 20 MB more each second after."""
    eta = Eta()
    assert eta.seconds_left(20 * MB, 200 * MB, 3.5) is None
    for second in range(1, 6):
        eta.seconds_left((20 + 20 * second) * MB, 200 * MB, 3.5 + second)
    assert eta.seconds_left(140 * MB, 200 * MB, 9.5) == pytest.approx(3.0)
