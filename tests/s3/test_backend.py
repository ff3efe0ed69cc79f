"""The S3 backend against a real SeaweedFS: what the repository relies on (create-only publish,
the exclusive lock, listing, ranged reads), and its errors in plain words without secrets."""
from __future__ import annotations

import os
import re
import stat
import time

import obstore
import pytest
from seaweed import KEY_ID, SECRET

from engine import storagekeys
from engine.errors import UsageError
from engine.repository.locations import open_backend
from engine.repository.s3 import (
    ClockSkew,
    NoStorageKeys,
    NoSuchBucket,
    S3Backend,
    S3Location,
    StorageKeysRefused,
    StorageUnreachable,
)
from engine.repository.storage import RangeReader


def test_locations_are_taken_apart_as_restic_writes_them():
    loc = S3Location.parse("s3:https://s3.us-west-004.backblazeb2.com/practice-backups/main/office")
    assert (loc.endpoint, loc.bucket, loc.prefix) == ("https://s3.us-west-004.backblazeb2.com",
                                                      "practice-backups", "main/office")
    assert loc.text == "s3:https://s3.us-west-004.backblazeb2.com/practice-backups/main/office"
    assert S3Location.parse("s3:http://10.0.0.5:8333/b1/").text == "s3:http://10.0.0.5:8333/b1"
    for bad in ("s3:ftp://host/bucket", "s3:https://host", "s3:https://host/Bad_Bucket!",
                "s3:https://user:pw@host/bucket/x", "s3:https:///bucket"):
        with pytest.raises(UsageError):
            S3Location.parse(bad)



@pytest.mark.parametrize("typed", [
    "s3:https://AKIAEXAMPLEKEYID:TopSecretValue@s3.example.com/bucket/office",
    "s3:http://TopSecretValue@127.0.0.1:8333/bucket",
    "  https://AKIAEXAMPLEKEYID:TopSecretValue@s3.example.com/bucket",  # without "s3:", as a folder
    "s3:https://s3.example.com/bucket?X-Amz-Credential=TopSecretValue",
])
def test_a_location_with_keys_in_it_is_refused_without_repeating_them(typed, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # (taken for a folder, it would be made here)
    from engine.offsite.settings import OffsiteSettings
    from engine.repository.locations import prepare_new

    for attempt in (lambda: S3Location.parse(typed), lambda: open_backend(typed),
                    lambda: prepare_new(typed, ("data",))):
        with pytest.raises(UsageError) as caught:
            attempt()
        said = f"{caught.value.message} {caught.value.hint} {caught.value!r}"
        assert "TopSecretValue" not in said and "AKIAEXAMPLEKEYID" not in said
        assert "must not contain keys" in said or "no '?' or '#' part" in said
    problems = " ".join(OffsiteSettings(enabled=True, location=typed).problems())
    assert problems and "TopSecretValue" not in problems and "AKIAEXAMPLEKEYID" not in problems
    assert not any(tmp_path.iterdir())  # nothing made for it either (not even as a folder)

def test_publish_is_create_only_and_a_name_already_there_counts_as_written(location, seaweed, prefix):
    backend = open_backend(location)
    assert isinstance(backend, S3Backend)
    backend.write_atomic("index/abc", [b"first ", b"bytes"])
    backend.write_atomic("index/abc", [b"other bytes"])  # same name = same bytes by construction
    assert backend.read("index/abc") == b"first bytes"  # nothing was written over
    backend.write_atomic("policy", [b"v1"])
    backend.write_atomic("policy", [b"v2"])  # the one file replaced by design
    assert backend.read("policy") == b"v2"
    assert seaweed.objects(prefix) == {"index/abc": 11, "policy": 2}


def test_the_exclusive_lock_is_a_create_only_object(location):
    backend = open_backend(location)
    assert backend.create_exclusive("locks/exclusive", b"mine")
    assert not backend.create_exclusive("locks/exclusive", b"someone else's")
    assert backend.read("locks/exclusive") == b"mine"
    assert backend.create_exclusive("locks/exclusive", b"mine")  # a retry that finds its own bytes
    backend.remove("locks/exclusive")
    assert not backend.exists("locks/exclusive")
    assert backend.create_exclusive("locks/exclusive", b"someone else's")


def test_a_pack_is_sent_whole_when_published_and_nothing_before(location, seaweed, prefix):
    backend = open_backend(location)
    tmp = backend.open_temp("data")
    tmp.write(b"x" * 1000)
    tmp.write(memoryview(b"y" * 24))
    assert tmp.tell() == 1024 and seaweed.objects(prefix) == {}
    tmp.publish("data/ab/abcdef")
    gone = backend.open_temp("data")
    gone.write(b"never sent")
    gone.discard()
    assert seaweed.objects(prefix) == {"data/ab/abcdef": 1024}


def test_listing_sizes_ranges_and_reading_through_a_range_reader(location):
    backend = open_backend(location)
    data = os.urandom(300_000)
    backend.write_atomic("data/00/pack1", [data])
    backend.write_atomic("snapshots/s1", [b"s"])
    assert sorted(backend.list("data")) == [("data/00/pack1", 300_000)]
    assert sorted(n for n, _ in backend.list("")) == ["data/00/pack1", "snapshots/s1"]
    assert backend.size("data/00/pack1") == 300_000 and backend.modified("snapshots/s1") > 0
    assert backend.read_range("data/00/pack1", 1000, 50) == data[1000:1050]
    reader = RangeReader(backend)
    assert reader.read_range("data/00/pack1", 299_990, 10) == data[-10:]
    assert reader.read_range("data/00/pack1", 5, 7) == data[5:12]
    reader.close()
    with backend.open_read("data/00/pack1") as f:
        f.seek(-4, os.SEEK_END)
        assert f.read() == data[-4:]
    with pytest.raises(FileNotFoundError):
        backend.read("snapshots/none")
    assert not backend.exists("snapshots/none")


def _assert_no_secret(exc: BaseException) -> None:
    text = f"{exc} {exc.__cause__} {exc.__context__} {getattr(exc, 'hint', '')}"
    assert SECRET not in text and "wrong-secret-value" not in text


def test_wrong_keys_are_refused_in_plain_words_at_once(seaweed, s3_env, prefix, monkeypatch):
    monkeypatch.setenv("ODBACKUP_S3_RETRY_SECONDS", "600")  # a retried refusal would hang the test
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-value")
    backend = open_backend(seaweed.location(prefix))
    with pytest.raises(StorageKeysRefused, match="refused the keys .wrong secret key") as caught:
        backend.write_atomic("index/x", [b"x"])
    _assert_no_secret(caught.value)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "no-such-key-id")
    with pytest.raises(StorageKeysRefused, match="unknown access key ID") as caught:
        list(open_backend(seaweed.location(prefix)).list("snapshots"))
    _assert_no_secret(caught.value)


def test_no_such_bucket_says_so(seaweed, s3_env):
    backend = open_backend(seaweed.location("x", bucket="no-such-bucket-here"))
    with pytest.raises(NoSuchBucket, match="There is no bucket 'no-such-bucket-here' at http://127.0.0"):
        list(backend.list("snapshots"))
    with pytest.raises(NoSuchBucket):
        backend.read("config")


@pytest.mark.parametrize("minutes", [-20, 16, 60 * 24])
def test_a_request_signed_with_a_wrong_clock_is_refused_in_plain_words(seaweed, s3_env, prefix, minutes):
    """A real request, signed (SigV4) at this computer's time moved by ``minutes``: the server
    refuses it (RequestTimeTooSkewed, beyond its 15 minutes) and the error says to set the clock.
    (The storage library signs with the system clock, which a test cannot move; the Object Lock
    requests are signed by our own code, which takes the signing time, and share the error words.)"""
    from datetime import UTC, datetime, timedelta

    from engine.repository.s3lock import ObjectLock

    where = S3Location.parse(seaweed.location(prefix))
    right = ObjectLock(where, storagekeys.StorageKeys(KEY_ID, SECRET), "us-east-1", 1)
    assert right.bucket_has_lock() is False  # (the plain bucket has none) the right clock is answered
    skewed = ObjectLock(where, storagekeys.StorageKeys(KEY_ID, SECRET), "us-east-1", 1,
                        clock=lambda: datetime.now(UTC) + timedelta(minutes=minutes))
    with pytest.raises(ClockSkew, match="this computer's clock differs too much from the server's") as caught:
        skewed.bucket_has_lock()
    assert caught.value.title == "Clock is wrong"
    assert caught.value.hint and "Set this computer's date, time and time zone right" in caught.value.hint
    _assert_no_secret(caught.value)


def test_a_server_that_does_not_answer_is_named_after_the_retries(s3_env):
    from seaweed import free_ports
    port = free_ports(1)[0]  # nobody listens there
    backend = open_backend(f"s3:http://127.0.0.1:{port}/bucket/x")
    with pytest.raises(StorageUnreachable, match=f"127.0.0.1:{port}/bucket/x does not answer") as caught:
        backend.write_atomic("index/x", [b"x"])
    assert caught.value.hint and "continues where this one stopped" in caught.value.hint


def test_keys_come_from_the_environment_else_the_owner_only_file(seaweed, prefix, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    where = S3Location.parse(seaweed.location(prefix))
    with pytest.raises(NoStorageKeys, match="No keys for the online storage") as caught:
        open_backend(where.text)
    assert "odbackup storage-keys" in str(caught.value.hint)
    storagekeys.save_keys(where.site, storagekeys.StorageKeys(KEY_ID, SECRET))
    path = storagekeys.keys_path()
    if os.name != "nt":
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    backend = open_backend(where.text)
    backend.write_atomic("keys/k", [b"k"])
    assert SECRET not in repr(storagekeys.keys_for(where.site))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-value")  # the environment comes first
    with pytest.raises(StorageKeysRefused):
        open_backend(where.text).read("keys/k")
    assert storagekeys.forget_keys(where.site) and not storagekeys.forget_keys(where.site)


def test_create_only_is_what_the_server_enforces(seaweed, s3_env, prefix):
    """The promise rests on the server refusing the second create (If-None-Match: *)."""
    store = seaweed.store(prefix)
    obstore.put(store, "n", b"1", mode="create")
    with pytest.raises(obstore.exceptions.AlreadyExistsError):
        obstore.put(store, "n", b"2", mode="create")


def test_a_server_that_does_not_answer_is_said_with_the_time_really_tried(monkeypatch):
    """The message gives the seconds the request was really tried, retries included (it said the
    configured 180 s after 8 s of attempts), and gives no figure when none was measured."""
    from seaweed import free_ports

    from engine.repository.s3 import S3Backend, StorageUnreachable, plain_error

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "odbackup-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "odbackup-test-secret")
    monkeypatch.setenv("ODBACKUP_S3_RETRY_SECONDS", "180")
    location = f"s3:http://127.0.0.1:{free_ports(1)[0]}/bucket/office"  # nobody listens there
    started = time.monotonic()
    with pytest.raises(StorageUnreachable) as caught:
        S3Backend(location).exists("config")
    took = time.monotonic() - started
    said = re.fullmatch(rf"The online storage at {re.escape(location)} does not answer \(tried for (\d+) seconds?\)\.",
                        caught.value.message)
    assert said, caught.value.message
    assert abs(int(said.group(1)) - took) <= 1.5, (caught.value.message, took)
    assert plain_error(Exception("error sending request"), location).message == \
        f"The online storage at {location} does not answer."
