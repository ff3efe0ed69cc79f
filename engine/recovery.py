"""The recovery key: 160 random bits a person can write down.

Written as 8 groups of 5 characters from Crockford's base32 alphabet (no I,
L, O, U: nothing to misread): 32 characters of secret, then 8 characters
(40 bits) of a BLAKE3 checksum, so a typo is caught before any key file is
tried::

    RK-7QK2M-0HV9D-X4T1C-8WNZE-BF3P6-J5RAY-M2G0Q-KS8HT
"""
from __future__ import annotations

import os

import blake3

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {c: i for i, c in enumerate(ALPHABET)}
_DECODE.update({"I": 1, "L": 1, "O": 0, "U": _DECODE["V"]})
SECRET_BITS = 160
_CHECK_BITS = 40
PREFIX = "RK-"


class BadRecoveryKey(ValueError):
    """The text is not a well-formed recovery key (typo?)."""


def _to_chars(value: int, n: int) -> str:
    return "".join(ALPHABET[(value >> (5 * (n - 1 - i))) & 31] for i in range(n))


def _checksum(secret: bytes) -> int:
    digest = blake3.blake3(secret, derive_key_context="odbackup recovery key checksum").digest()
    return int.from_bytes(digest[:5], "big")


def new_recovery_secret() -> bytes:
    return os.urandom(SECRET_BITS // 8)


def format_recovery_key(secret: bytes) -> str:
    """20 secret bytes -> the printed form (32 secret chars + 8 checksum chars)."""
    value = (int.from_bytes(secret, "big") << _CHECK_BITS) | _checksum(secret)
    chars = _to_chars(value, (SECRET_BITS + _CHECK_BITS) // 5)
    return PREFIX + "-".join(chars[i : i + 5] for i in range(0, len(chars), 5))


def key_chars(text: str) -> str:
    """What a person typed, read in the key's alphabet: upper case, spaces and dashes
    dropped, look-alikes read as the digit or letter they stand for (O as 0, I and L as 1,
    U as V). The one reader of typed key text: the setup's check of the groups written down
    uses it as :func:`parse_recovery_key` does. Raises :class:`BadRecoveryKey` for any other
    character."""
    chars = [c for c in text.strip().upper() if c not in "- "]
    wrong = sorted({c for c in chars if c not in _DECODE})
    if wrong:
        raise BadRecoveryKey(f"A recovery key has only letters and digits (not {' '.join(wrong)}).")
    return "".join(ALPHABET[_DECODE[c]] for c in chars)


def looks_like_recovery_key(text: str) -> bool:
    return text.strip().upper().startswith("RK") and len([c for c in text if c not in "- "]) == 42


def parse_recovery_key(text: str) -> bytes:
    """The printed form (any case, spaces or dashes) -> the 20-byte secret."""
    shape = BadRecoveryKey("A recovery key has 40 letters and digits after 'RK-'.")
    try:
        chars = key_chars(text)
    except BadRecoveryKey:
        raise shape from None
    n = (SECRET_BITS + _CHECK_BITS) // 5
    if len(chars) == n + 2 and chars.startswith("RK"):
        chars = chars[2:]
    if len(chars) != n:
        raise shape
    value = 0
    for c in chars:
        value = (value << 5) | _DECODE[c]
    secret = (value >> _CHECK_BITS).to_bytes(SECRET_BITS // 8, "big")
    if value & ((1 << _CHECK_BITS) - 1) != _checksum(secret):
        raise BadRecoveryKey("The recovery key has a typo (its checksum does not match).")
    return secret
