"""The setup's "Online storage (S3-compatible)" dialog, driven with Pilot against a real SeaweedFS:
wrong keys and a missing bucket answered in plain words, "Use it" only after a passing test, the
keys saved owner-only (never in the settings), and the whole setup then creating the repository
in the bucket. Plus SVG snapshots of the dialog at 80x24 and 120x40."""
from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest
from textual.widgets import Button, Checkbox, Input
from tuihelpers import SIZE_LARGE, SIZE_SMALL, settle, text_of

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "s3"))
from seaweed import KEY_ID, SECRET, Seaweed  # noqa: E402

from engine import storagekeys  # noqa: E402
from engine.repository.repo import Repository  # noqa: E402
from engine.repository.s3 import S3Location  # noqa: E402
from engine.repository.s3lock import Signer  # noqa: E402
from engine.repository.s3probe import ProbeResult  # noqa: E402
from engine.settings import load_settings, settings_path  # noqa: E402
from tui.app import OdbackupApp  # noqa: E402
from tui.screens.dashboard import DashboardScreen  # noqa: E402
from tui.screens.setup.archives import ArchivesStep  # noqa: E402
from tui.screens.setup.destination import DestinationStep  # noqa: E402
from tui.screens.setup.encryption import EncryptionStep  # noqa: E402
from tui.screens.setup.finish import FinishStep  # noqa: E402
from tui.screens.setup.frequency import FrequencyStep  # noqa: E402
from tui.screens.setup.online import OnlineStorageDialog, lock_cost_text, lock_days, nights_text  # noqa: E402

LOCK_BUCKET = "odlocked-tui"

PASSPHRASE = "maple kettle orbit seven"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    found = Seaweed(tmp_path_factory.mktemp("seaweed-tui")).start()
    yield found
    found.stop()


@pytest.fixture
def no_aws_env(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ODBACKUP_S3_RETRY_SECONDS", "3")


async def _fill(pilot, widget_id: str, text: str) -> None:
    field = pilot.app.screen.query_one(f"#{widget_id}", Input)
    field.focus()
    field.value = text
    await pilot.pause()


async def _press(pilot, widget_id: str) -> None:
    pilot.app.screen.query_one(f"#{widget_id}", Button).press()
    await settle(pilot)
    await pilot.app.workers.wait_for_complete()
    await settle(pilot)


def _result(pilot) -> str:
    return " ".join(text_of(pilot.app.screen.query_one("#online-result")).split())


async def _to_destination(pilot, images: str) -> None:
    await settle(pilot)
    await pilot.press("ctrl+n")
    await settle(pilot)
    pilot.app.screen.query_one("#use-db", Checkbox).value = False
    await pilot.press("ctrl+n")
    await settle(pilot)
    await _fill(pilot, "images", images)
    await pilot.press("ctrl+n")
    await settle(pilot)
    assert isinstance(pilot.app.screen, DestinationStep)


async def test_setup_with_online_storage_tests_in_plain_words_then_creates_the_repository_there(
        server, no_aws_env, images):
    location = server.location(f"office-{uuid.uuid4().hex[:8]}")
    app = OdbackupApp(None)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await _to_destination(pilot, images)
        await _press(pilot, "online")
        assert isinstance(app.screen, OnlineStorageDialog)
        await _press(pilot, "online-use")
        assert "Test it first" in _result(pilot)
        await _fill(pilot, "online-location", "https://not-an-s3-location")
        await _press(pilot, "online-test")
        assert "is not an S3 location" in _result(pilot)
        await _fill(pilot, "online-location", location)
        await _fill(pilot, "online-key-id", KEY_ID)
        await _press(pilot, "online-test")
        assert "Type both the access key ID and the secret access key" in _result(pilot)
        await _fill(pilot, "online-secret", "wrong-secret-value")
        await _press(pilot, "online-test")
        assert "refused the keys (wrong secret key)" in _result(pilot)
        await _fill(pilot, "online-location", server.location("x", bucket="no-such-bucket-tui"))
        await _fill(pilot, "online-secret", SECRET)
        await _press(pilot, "online-test")
        assert "There is no bucket 'no-such-bucket-tui'" in _result(pilot)
        assert not Path(storagekeys.keys_path()).exists()  # nothing saved while nothing worked
        await _fill(pilot, "online-location", location)
        await _press(pilot, "online-test")
        shown = _result(pilot)
        assert "The keys work" in shown and "It is empty" in shown and "Press Use it" in shown
        assert "This bucket has no Object Lock" in shown  # (the plain bucket): nothing to choose
        assert not app.screen.query_one("#online-lock-row").display
        await _press(pilot, "online-use")
        await _create_and_finish(pilot, location)
    saved = load_settings()
    assert saved is not None and saved.repository == S3Location.parse(location).text
    settings_text = Path(settings_path()).read_text()
    assert SECRET not in settings_text and KEY_ID not in settings_text
    repo = Repository.open(saved.repository)
    repo.unlock(PASSPHRASE)  # with the saved keys, no AWS_* around
    assert repo.backend.object_lock is None  # type: ignore[attr-defined]
    assert "config" in server.objects(location.rsplit("/", 1)[1])


async def _create_and_finish(pilot, location: str) -> None:
    """From the destination the dialog filled: Frequency, a new passphrase, Archives, Finish, home."""
    app = pilot.app
    step = app.screen
    assert isinstance(step, DestinationStep)
    assert step.query_one("#repository", Input).value == S3Location.parse(location).text
    assert "Online storage: the keys work" in text_of(step.query_one("#destination-result"))
    await pilot.press("ctrl+n")
    await settle(pilot)
    assert isinstance(app.screen, FrequencyStep)
    await pilot.press("ctrl+n")
    await settle(pilot)
    step = app.screen
    assert isinstance(step, EncryptionStep) and step.mode == "create"
    await _fill(pilot, "passphrase", PASSPHRASE)
    await _fill(pilot, "again", PASSPHRASE)
    await pilot.press("ctrl+n")
    await settle(pilot)
    first, second = app.screen.expected()  # type: ignore[attr-defined]
    await _fill(pilot, "group-a", first)
    await _fill(pilot, "group-b", second)
    await pilot.press("ctrl+n")
    await settle(pilot)
    assert isinstance(app.screen, ArchivesStep)
    await pilot.press("ctrl+n")  # no archive drive now: Next skips the step
    await settle(pilot)
    step = app.screen
    assert isinstance(step, FinishStep)
    await pilot.press("ctrl+n")  # saved, and the schedule's install tried: the step stays to say how
    await settle(pilot)
    assert app.screen is step and load_settings() is not None
    await pilot.press("ctrl+n")
    await settle(pilot)
    assert isinstance(app.screen, DashboardScreen)


async def test_object_lock_is_offered_with_its_cost_for_a_bucket_that_has_it_and_the_repository_locks_with_it(
        server, no_aws_env, images):
    where = S3Location.parse(server.location("x", bucket=LOCK_BUCKET))
    status, body = Signer(where, storagekeys.StorageKeys(KEY_ID, SECRET), "us-east-1").request(
        "PUT", None, {}, headers={"x-amz-bucket-object-lock-enabled": "true"})
    assert status in (200, 409), body  # (409: made by an earlier test of this module's server)
    location = server.location(f"locked-{uuid.uuid4().hex[:8]}", bucket=LOCK_BUCKET)
    app = OdbackupApp(None)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await _to_destination(pilot, images)
        await _press(pilot, "online")
        await _fill(pilot, "online-location", location)
        await _fill(pilot, "online-key-id", KEY_ID)
        await _fill(pilot, "online-secret", SECRET)
        await _press(pilot, "online-test")
        dialog = app.screen
        assert "The keys work" in _result(pilot) and "no Object Lock" not in _result(pilot)
        assert dialog.query_one("#online-lock-row").display
        assert "Object Lock off" in text_of(dialog.query_one("#online-lock-cost"))
        await _fill(pilot, "online-lock-days", "thirty")
        await _press(pilot, "online-use")
        assert app.screen is dialog and "0 (no lock), or a whole number from 9 to 3650" in _result(pilot)
        await _fill(pilot, "online-lock-days", "8")  # the weekly renewals could not keep it up
        assert "a shorter lock could run out between them" in " ".join(text_of(dialog.query_one("#online-lock-cost")).split())
        await _press(pilot, "online-use")
        assert app.screen is dialog and "from 9 to 3650" in _result(pilot)
        await _fill(pilot, "online-lock-days", "30")
        cost = " ".join(text_of(dialog.query_one("#online-lock-cost")).split())
        assert "COMPLIANCE lock: nobody, even with these keys, can delete or change a backup for 30 days" in cost
        assert "storage kept at least 30 days: data removed from your backups still is billed until then" in cost
        await _press(pilot, "online-use")
        assert app.screen.draft.object_lock_days() == 30  # type: ignore[attr-defined]
        await _create_and_finish(pilot, location)
    saved = load_settings()
    assert saved is not None
    repo = Repository.open(saved.repository)
    assert repo.backend.object_lock is not None and repo.backend.object_lock.days == 30  # type: ignore[attr-defined]
    assert lock_cost_text(0).startswith("Object Lock off") and lock_days("3651") is None and lock_days("") == 0
    assert [lock_days(d) for d in ("0", "1", "8", "9")] == [0, None, None, 9]


async def test_escape_leaves_the_destination_as_it_was(server, no_aws_env, images):
    app = OdbackupApp(None)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await _to_destination(pilot, images)
        before = app.screen.query_one("#repository", Input).value
        await _press(pilot, "online")
        await _fill(pilot, "online-location", server.location("whatever"))
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DestinationStep)
        assert app.screen.query_one("#repository", Input).value == before


def test_the_first_copy_is_said_in_nights():
    found = ProbeResult("s3:http://h/b", True, "ok", upload_bytes_per_second=2_500_000)  # 20 Mbit/s
    assert nights_text(found, 200 * 10**9) == " The first full copy (about 186.3 GiB) takes about 2 nights at this speed."
    assert "less than a night" in nights_text(found, 30 * 10**9)
    assert nights_text(found, 10**8) == ""  # minutes, not nights


@pytest.mark.parametrize("size", [SIZE_SMALL, SIZE_LARGE], ids=["80x24", "120x40"])
def test_online_storage_dialog_snapshot(snap_compare, size):
    async def run_before(pilot) -> None:
        await settle(pilot)
        dialog = OnlineStorageDialog("s3:https://s3.us-west-004.backblazeb2.com/practice-backups/main-office",
                                     first_copy_bytes=200 * 10**9)
        pilot.app.push_screen(dialog)
        await settle(pilot)
        found = ProbeResult(dialog.location, True, "The keys work: a test file was written, read back and removed "
                            "(upload 19.8 Mbit/s). It is empty: a new repository can be made there.",
                            upload_bytes_per_second=2_475_000)
        dialog.query_one("#online-result").update(found.message + nights_text(found, 200 * 10**9))
        await settle(pilot)

    assert snap_compare(OdbackupApp(None), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [SIZE_SMALL, SIZE_LARGE], ids=["80x24", "120x40"])
def test_online_storage_dialog_offering_object_lock_snapshot(snap_compare, size):
    async def run_before(pilot) -> None:
        await settle(pilot)
        dialog = OnlineStorageDialog("s3:https://s3.us-west-004.backblazeb2.com/practice-backups/main-office")
        pilot.app.push_screen(dialog)
        await settle(pilot)
        dialog.query_one("#online-lock-days", Input).value = "30"
        dialog._offer_lock(True)  # what a passing test on a bucket with Object Lock shows
        dialog.query_one("#online-result").update("The keys work: a test file was written, read back and removed "
                                                  "(upload 19.8 Mbit/s). It is empty: a new repository can be made "
                                                  "there. Press Use it.")
        await settle(pilot)

    assert snap_compare(OdbackupApp(None), terminal_size=size, run_before=run_before)
