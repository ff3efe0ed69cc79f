"""The setup's Archives step setting up the offsite copy through the Online storage dialog, driven
with Pilot against a real SeaweedFS: Escape leaves everything as it was, the passphrase is asked
(not given: refused in plain words), then the offsite repository is made in the bucket (related to the backups), the
offsite copy is turned on with its default window and nights, the Finish step lists it, the saved
schedule holds the offsite job, and the nightly copy then moves a backup there with this machine's
write-only credentials. Plus the engine's refusals (other backups' repository, the recovery key), and
the Supplemental step taking a bucket's folder as its Backup Copy Network Path through the same dialog."""
from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest
from textual.widgets import Button, Input
from tuihelpers import PASSPHRASE, SIZE_SMALL, settle, text_of

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "s3"))
from seaweed import KEY_ID, SECRET, Seaweed  # noqa: E402

from engine import storagekeys  # noqa: E402
from engine.backup import BackupPlan, run_backup  # noqa: E402
from engine.errors import NeedsPassphrase, UsageError  # noqa: E402
from engine.offsite.make import make_offsite  # noqa: E402
from engine.offsite.run import open_offsite  # noqa: E402
from engine.offsite.settings import DEFAULT_DAYS  # noqa: E402
from engine.repository.copy import copy_snapshots  # noqa: E402
from engine.repository.repo import Repository  # noqa: E402
from engine.repository.s3 import S3Location  # noqa: E402
from engine.settings import load_settings, settings_path  # noqa: E402
from tui.app import OdbackupApp  # noqa: E402
from tui.screens.modals import PassphraseScreen  # noqa: E402
from tui.screens.setup.archives import ArchivesStep  # noqa: E402
from tui.screens.setup.draft import SetupDraft  # noqa: E402
from tui.screens.setup.finish import FinishStep  # noqa: E402
from tui.screens.setup.online import OnlineStorageDialog  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    found = Seaweed(tmp_path_factory.mktemp("seaweed-offsite")).start()
    yield found
    found.stop()


@pytest.fixture
def no_aws_env(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ODBACKUP_S3_RETRY_SECONDS", "3")


# the form helpers of the dialog's own tests
from test_online_storage import _fill, _press  # noqa: E402


def _words(step, widget_id: str) -> str:
    return " ".join(text_of(step.query_one(f"#{widget_id}")).split())


async def test_the_archives_step_sets_up_the_offsite_copy_in_online_storage(server, no_aws_env, folder_settings):
    location = server.location(f"offsite-{uuid.uuid4().hex[:8]}")
    where = S3Location.parse(location).text
    draft = SetupDraft.from_settings(folder_settings)
    app = OdbackupApp(folder_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        app.push_screen(ArchivesStep(draft))
        await settle(pilot)
        step = app.screen
        assert "Or an offsite copy: each night" in _words(step, "offsite-result")
        await _press(pilot, "offsite-online")
        dialog = app.screen
        assert isinstance(dialog, OnlineStorageDialog)
        assert "Online storage (S3-compatible): offsite copy" in text_of(dialog.query_one(".dialog-title"))
        await _fill(pilot, "online-location", location)
        await pilot.press("escape")  # cancelled: nothing made, nothing chosen
        await settle(pilot)
        assert app.screen is step and draft.offsite is None
        assert app.focused is step.query_one("#offsite-online")
        assert not server.objects(where.rsplit("/", 1)[1])

        await _press(pilot, "offsite-online")
        await _fill(pilot, "online-location", location)
        await _fill(pilot, "online-key-id", KEY_ID)
        await _fill(pilot, "online-secret", SECRET)
        await _press(pilot, "online-test")
        assert "The keys work" in _words(app.screen, "online-result")
        await _press(pilot, "online-use")  # no passphrase typed in this setup nor this session: asked
        assert isinstance(app.screen, PassphraseScreen)
        await pilot.press("escape")  # not given
        await settle(pilot)
        assert app.screen is step
        assert step.problem_text.startswith("No offsite copy: Making the offsite copy needs the passphrase")
        assert draft.offsite is None and not server.objects(where.rsplit("/", 1)[1])

        await _press(pilot, "offsite-online")
        assert app.screen.query_one("#online-location", Input).value == ""  # nothing was set up yet
        await _fill(pilot, "online-location", location)
        await _press(pilot, "online-test")  # the keys saved by the first test serve
        await _press(pilot, "online-use")
        assert isinstance(app.screen, PassphraseScreen)
        await _fill(pilot, "secret", PASSPHRASE)
        await pilot.press("enter")
        await settle(pilot)
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert app.screen is step and not step.problem_text
        said = _words(step, "offsite-result")
        assert said == (f"Offsite copy to {where} Mon-Sat nights from 11:00 pm to 6:30 am. "
                        "The offsite repository was made."), said
        assert str(step.query_one("#next", Button).label) == "Next"

        await _press(pilot, "offsite-online")  # again, same place: found and used as it is
        assert app.screen.query_one("#online-location", Input).value == where
        await _press(pilot, "online-test")
        await _press(pilot, "online-use")
        assert "The offsite repository was found (made before: used as it is)." in _words(step, "offsite-result")

        await pilot.press("ctrl+n")
        await settle(pilot)
        finish = app.screen
        assert isinstance(finish, FinishStep)
        assert f"Offsite copy: to {where} Mon-Sat nights from 11:00 pm to 6:30 am" in _words(finish, "summary")
        await pilot.press("ctrl+n")  # saved (the schedule's install is the tests' fake)
        await settle(pilot)
    saved = load_settings()
    assert saved is not None and saved.offsite.enabled and saved.offsite.location == where
    assert (saved.offsite.window, saved.offsite.days) == ("23:00-06:30", DEFAULT_DAYS)
    assert "offsite" in saved.calendars()
    settings_text = Path(settings_path()).read_text()
    assert SECRET not in settings_text and KEY_ID not in settings_text and PASSPHRASE not in settings_text

    main = Repository.open(saved.repository)
    main.use_machine_credentials()
    snapshot = run_backup(main, BackupPlan(saved.folders)).snapshot_id
    target = open_offsite(saved.offsite, saved.repository)  # as the nightly job opens it
    copy_snapshots(main, target)
    offsite = Repository.open(where)
    offsite.unlock(PASSPHRASE)  # the backups' passphrase opens it
    assert offsite.related_to(main) and snapshot in {s.snapshot_id for s in offsite.snapshots()}


def test_make_offsite_refuses_other_backups_the_recovery_key_and_a_folder(server, no_aws_env, enrolled, tmp_path):
    storagekeys.save_keys(S3Location.parse(server.location("x")).site, storagekeys.StorageKeys(KEY_ID, SECRET))
    other = server.location(f"other-{uuid.uuid4().hex[:8]}")
    Repository.init(other, "another practice's passphrase")
    with pytest.raises(UsageError, match="belongs to other backups"):
        make_offsite(other, enrolled, PASSPHRASE)
    with pytest.raises(UsageError, match="is not an S3 location"):
        make_offsite(str(tmp_path / "folder"), enrolled, PASSPHRASE)
    with pytest.raises(NeedsPassphrase, match="takes the passphrase, not the recovery key"):
        make_offsite(server.location("fresh"), enrolled, "RK-" + "A2C4-" * 10)


async def test_the_supplemental_step_takes_online_storage_for_the_network_path(server, no_aws_env, enrolled, tmp_path):
    from textual.widgets import Checkbox

    from tui.screens.setup.supplemental import SupplementalStep

    location = server.location(f"supp-{uuid.uuid4().hex[:8]}")
    where = S3Location.parse(location).text
    draft = SetupDraft(repository=enrolled, repository_ready=enrolled, database="opendental",
                       images_folder=str(tmp_path / "OpenDentImages"), secret=PASSPHRASE)
    app = OdbackupApp(None)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        app.push_screen(step := SupplementalStep(draft))
        await settle(pilot)
        await _press(pilot, "supp-online")
        dialog = app.screen
        assert isinstance(dialog, OnlineStorageDialog)
        assert "Online storage (S3-compatible): supplemental copy" in text_of(dialog.query_one(".dialog-title"))
        await _fill(pilot, "online-location", "s3:https://")  # wrong: said in plain words, the dialog stays
        await _press(pilot, "online-test")
        assert app.screen is dialog and _words(dialog, "online-result")
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is step and step.query_one("#supp-path", Input).value == ""
        assert not step.query_one("#supp-enabled", Checkbox).value

        await _press(pilot, "supp-online")
        await _fill(pilot, "online-location", location)
        await _fill(pilot, "online-key-id", KEY_ID)
        await _fill(pilot, "online-secret", SECRET)
        await _press(pilot, "online-test")
        await _press(pilot, "online-use")
        assert app.screen is step and step.query_one("#supp-path", Input).value == where
        assert step.query_one("#supp-enabled", Checkbox).value
        assert "Online storage: the keys work for" in _words(step, "supp-step-result")
        await pilot.press("ctrl+n")
        await settle(pilot)
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert app.screen is step, step.problem_text
        assert f"Made the supplemental repository at {where}" in _words(step, "supp-step-result")
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, FinishStep)
        assert where in _words(app.screen, "summary")
    assert draft.supplemental is not None and draft.supplemental.enabled and draft.supplemental.path == where
    there = Repository.open(where)
    there.unlock(PASSPHRASE)
    assert there.related_to(Repository.open(enrolled))
    there.use_machine_credentials()  # the scheduled job's way in: this machine's, of the main repository


async def test_the_archives_screen_turns_on_the_offsite_copy(server, no_aws_env, saved):
    from tuihelpers import open_from_home

    from tui.screens.archives import ArchivesScreen

    location = server.location(f"offsite-a-{uuid.uuid4().hex[:8]}")
    where = S3Location.parse(location).text
    app = OdbackupApp(saved)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        screen = await open_from_home(pilot, "a", ArchivesScreen)
        await pilot.press("o")
        await settle(pilot)
        assert isinstance(app.screen, OnlineStorageDialog)
        await pilot.press("escape")  # cancelled: nothing said, nothing saved
        await settle(pilot)
        assert app.screen is screen and not load_settings().offsite.enabled  # type: ignore[union-attr]
        await pilot.press("o")
        await settle(pilot)
        await _fill(pilot, "online-location", location)
        await _fill(pilot, "online-key-id", KEY_ID)
        await _fill(pilot, "online-secret", SECRET)
        await _press(pilot, "online-test")
        await _press(pilot, "online-use")
        assert isinstance(app.screen, PassphraseScreen)  # the passphrase, asked once for the session
        await _fill(pilot, "secret", PASSPHRASE)
        await pilot.press("enter")
        await settle(pilot)
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert app.screen is screen
        said = _words(screen, "archive-said")
        assert f"Offsite copy to {where} Mon-Sat nights from 11:00 pm to 6:30 am. The offsite repository was " \
               "made. Install the schedule from Frequency (f)" in said, said
        assert app.settings is not None and app.settings.offsite.location == where
    now = load_settings()
    assert now is not None and now.offsite.enabled and now.offsite.location == where and not now.problems()
    assert now.images_folder == saved.images_folder  # the rest kept
    assert Repository.open(where).related_to(Repository.open(saved.repository))
