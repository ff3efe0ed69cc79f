"""Reading a recovery key as typed by a person: one reader for the engine and the setup."""
from __future__ import annotations

import pytest

from engine.recovery import BadRecoveryKey, format_recovery_key, key_chars, parse_recovery_key

ZERO_KEY = format_recovery_key(bytes(20))
"""A key whose secret groups are all zeros (and ones once misread): ``RK-00000-00000-...``."""


@pytest.mark.parametrize(("typed", "read"), [
    ("0hv9d", "0HV9D"),
    ("OHV9D", "0HV9D"),  # O for 0
    ("ilL1o", "11110"),  # I and L for 1
    ("u", "V"),
    (" 7qk2m ", "7QK2M"),
    ("RK-7QK2M 0HV9D", "RK7QK2M0HV9D"),
])
def test_typed_text_reads_as_the_key_alphabet(typed, read):
    assert key_chars(typed) == read


@pytest.mark.parametrize("typed", ["7QK2M!", "ÄBCDE", "12_34"])
def test_a_character_outside_the_alphabet_is_refused(typed):
    with pytest.raises(BadRecoveryKey):
        key_chars(typed)


def test_the_engine_takes_the_same_look_alikes():
    assert ZERO_KEY.startswith("RK-00000-00000-")
    assert parse_recovery_key(ZERO_KEY.replace("0", "O")) == bytes(20)
    assert parse_recovery_key(ZERO_KEY.lower().replace("0", "o").replace("-", " ")) == bytes(20)
