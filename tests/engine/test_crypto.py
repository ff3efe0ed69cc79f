"""Keyed IDs, symmetric seals, public-key sessions, the recovery key."""
import pytest

from engine import crypto
from engine.recovery import (
    BadRecoveryKey,
    format_recovery_key,
    new_recovery_secret,
    parse_recovery_key,
)


def test_blob_ids_are_keyed_and_typed():
    a, b = crypto.IdKeys(b"a" * 32), crypto.IdKeys(b"b" * 32)
    data = b"x-ray bytes"
    assert a.blob_id("data", data) == a.blob_id("data", data)
    assert a.blob_id("data", data) != b.blob_id("data", data)  # needs the key
    assert a.blob_id("data", data) != a.blob_id("tree", data)  # types never collide
    assert a.blob_id("data", data) != crypto.content_hash(data)


def test_seal_detects_tampering_and_wrong_kind():
    key = crypto.random_bytes(32)
    sealed = crypto.seal(key, b"index contents", "index")
    assert crypto.unseal(key, sealed, "index") == b"index contents"
    with pytest.raises(crypto.DecryptionFailed):
        crypto.unseal(key, sealed, "snapshot")
    flipped = bytearray(sealed)
    flipped[20] ^= 1
    with pytest.raises(crypto.DecryptionFailed):
        crypto.unseal(key, bytes(flipped), "index")
    with pytest.raises(crypto.DecryptionFailed):
        crypto.unseal(crypto.random_bytes(32), sealed, "index")


def test_session_seals_what_only_the_private_key_opens():
    private, public = crypto.new_keypair()
    session = crypto.SealSession(public)
    aad = crypto.blob_aad("data", b"\x01" * 32)
    sealed = [session.seal(b"chunk %d" % i, aad) for i in range(3)]
    assert len({s[:12] for s in sealed}) == 3  # counter nonces never repeat
    opener = crypto.SessionOpener(private)
    assert opener.open(session.public, sealed[1], aad) == b"chunk 1"
    with pytest.raises(crypto.DecryptionFailed):
        opener.open(session.public, sealed[1], crypto.blob_aad("tree", b"\x01" * 32))
    other_private, _ = crypto.new_keypair()
    with pytest.raises(crypto.DecryptionFailed):
        crypto.SessionOpener(other_private).open(session.public, sealed[1], aad)


def test_two_sessions_use_different_keys():
    _, public = crypto.new_keypair()
    s1, s2 = crypto.SealSession(public), crypto.SealSession(public)
    aad = b"data\x00" + b"\x00" * 32
    assert s1.public != s2.public
    assert s1.seal(b"same", aad) != s2.seal(b"same", aad)


def test_recovery_key_round_trip_and_typos():
    secret = new_recovery_secret()
    text = format_recovery_key(secret)
    assert text.startswith("RK-") and len(text.split("-")) == 9
    assert parse_recovery_key(text) == secret
    assert parse_recovery_key(text.lower().replace("-", " ")) == secret
    body = list(text)
    i = 5
    body[i] = "2" if body[i] != "2" else "3"
    with pytest.raises(BadRecoveryKey):
        parse_recovery_key("".join(body))
    with pytest.raises(BadRecoveryKey):
        parse_recovery_key("RK-123")


def test_argon2_params_weak_only_in_tests(monkeypatch):
    assert crypto.argon2_params()["memory_kib"] == 64
    monkeypatch.delenv("ODBACKUP_TEST_WEAK_KDF")
    assert crypto.argon2_params()["memory_kib"] == 64 * 1024


def test_files_cache_keys_cover_every_name_a_folder_can_hold():
    ids = crypto.IdKeys(crypto.random_bytes(32))
    names = ["C:\\Images\\a.jpg", "/srv/\udcff.jpg", "C:\\Images\\\ud800.jpg", "C:\\Images\\\udcff.jpg"]
    keys = [ids.cache_key(n) for n in names]  # a lone surrogate (Windows) must not raise
    assert len(set(keys)) == len(keys) and all(len(k) == 32 for k in keys)
    assert ids.cache_key(names[0]) == keys[0]
    other = crypto.IdKeys(crypto.random_bytes(32))
    assert other.cache_key(names[0]) != keys[0]  # keyed: a path cannot be tested without the key
    assert ids.cache_digest(b"listing") != ids.cache_key("listing")
