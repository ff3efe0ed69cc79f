"""The guided setup: every step validates before going on, the repository is created at the
passphrase step and the settings only at the end, every message is in view at 80x24, no
secret lands in the settings file."""
from __future__ import annotations

import os
import threading
import uuid

import pytest
from textual.widgets import Button, Checkbox, DataTable, Input
from tuihelpers import PASSPHRASE, SIZE_SMALL, admin_conn, settle, text_of

from engine.forget import stored_policy
from engine.recovery import format_recovery_key
from engine.repository import keys as keymod
from engine.repository.repo import Repository
from engine.settings import load_settings, settings_path
from engine.supplemental.settings import SupplementalSettings
from tui.app import OdbackupApp
from tui.screens.dashboard import DashboardScreen
from tui.screens.setup import folders
from tui.screens.setup.archives import ArchivesStep
from tui.screens.setup.database import DatabaseStep
from tui.screens.setup.demo import DemoStep
from tui.screens.setup.destination import DestinationStep
from tui.screens.setup.draft import SetupDraft
from tui.screens.setup.encryption import EncryptionStep, passphrase_advice
from tui.screens.setup.finish import FinishStep
from tui.screens.setup.folders import FoldersStep
from tui.screens.setup.frequency import FrequencyStep
from tui.screens.setup.recovery import RecoveryStep
from tui.screens.setup.server import ServerStep
from tui.screens.setup.supplemental import SupplementalStep
from tui.screens.setup.welcome import WelcomeScreen

NEW_PASSPHRASE = "maple kettle orbit seven"


def problem(screen) -> str:
    return screen.problem_text


async def type_into(pilot, selector: str, text: str) -> None:
    """Fill a field (as pasting would: typing long paths key by key only slows the tests)."""
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    field.value = text
    await pilot.pause()


async def next_step(pilot) -> None:
    await pilot.press("ctrl+n")
    await settle(pilot)


async def skip_archives(pilot) -> None:
    """The optional Archives step: Skip."""
    assert isinstance(pilot.app.screen, ArchivesStep)
    assert str(pilot.app.screen.query_one("#next", Button).label) == "Skip"
    await next_step(pilot)


def on_screen(app) -> str:
    """The words the terminal shows now (lines joined, so a wrapped message reads whole)."""
    lines = [strip.text for strip in app.screen._compositor.render_strips()]
    return " ".join(" ".join(lines).split())


def running_cron() -> str:
    """A cron daemon "runs" below the test's stand-in of the operating system (tests/conftest.py
    points the scheduler's paths there); returns its cron.d folder. Only as root (as CI runs): any
    other user's schedule would go into a crontab (below the stand-in too, never the real one:
    engine/schedule/install.py), not this folder; then no scheduler runs and the setup says so."""
    system = os.environ["ODBACKUP_TEST_SCHEDULE_ROOT"]
    os.makedirs(os.path.join(system, "etc", "cron.d"))
    if os.geteuid() == 0:
        os.makedirs(os.path.join(system, "proc", "4242"))
        with open(os.path.join(system, "proc", "4242", "comm"), "w") as f:
            f.write("cron\n")
    return os.path.join(system, "etc", "cron.d")


async def save_and_finish(pilot) -> str:
    """The last step's Save: the settings are saved and the schedule installed (the step stays to
    say how that went: here no scheduler runs, so it says why and how else); then on to home."""
    step = pilot.app.screen
    assert isinstance(step, FinishStep)
    await next_step(pilot)
    assert pilot.app.screen is step and load_settings() is not None
    said = text_of(step.query_one("#install-result"))
    assert said and str(step.query_one("#next", Button).label) == "Finish"
    await next_step(pilot)
    return said


async def to_encryption(pilot, images: str, destination: str) -> None:
    """Welcome -> folders only -> the images folder -> the destination -> when to back up -> step 6."""
    await settle(pilot)
    await next_step(pilot)
    pilot.app.screen.query_one("#use-db", Checkbox).value = False
    await next_step(pilot)
    await type_into(pilot, "#images", images)
    await next_step(pilot)
    await type_into(pilot, "#repository", destination)
    await next_step(pilot)
    assert isinstance(pilot.app.screen, FrequencyStep)
    await next_step(pilot)


async def create_and_write_down(pilot, *, enroll: bool) -> None:
    """Step 5 (create) with NEW_PASSPHRASE, then the recovery key typed back: on to step 7."""
    await type_into(pilot, "#passphrase", NEW_PASSPHRASE)
    await type_into(pilot, "#again", NEW_PASSPHRASE)
    pilot.app.screen.query_one("#enroll", Checkbox).value = enroll
    await next_step(pilot)
    step = pilot.app.screen
    assert isinstance(step, RecoveryStep)
    for field_id, group in zip(("#group-a", "#group-b"), step.expected(), strict=True):
        await type_into(pilot, field_id, group)
    await next_step(pilot)
    await skip_archives(pilot)
    assert isinstance(pilot.app.screen, FinishStep)


def is_enrolled(location: str) -> bool:
    return os.path.exists(keymod.credentials_path(Repository.open(location).repo_id))


async def test_first_run_opens_the_setup_and_saves_nothing_yet():
    app = OdbackupApp(None)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, WelcomeScreen)
        assert "Try it first on a demo practice" in text_of(app.screen.query_one("#intro"))
        await next_step(pilot)
        assert isinstance(app.screen, ServerStep)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)
    assert not os.path.exists(settings_path())


async def test_server_step_checks_the_fields_and_tests_in_plain_words():
    app = OdbackupApp(None)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        await next_step(pilot)
        screen = app.screen
        await type_into(pilot, "#port", "")
        await pilot.press("ctrl+t")
        assert problem(screen) == "The port is a number between 1 and 65535 (usually 3306)."
        await type_into(pilot, "#port", "1")
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert text_of(screen.query_one("#test-result")) == "Server unreachable"
        assert "does not answer" in problem(screen) and "Check that MySQL/MariaDB is running" in problem(screen)
        await next_step(pilot)
        assert isinstance(app.screen, ServerStep)  # not validated: no going on
        await type_into(pilot, "#port", "3306")
        await type_into(pilot, "#user", "nobody_odbt")
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert "refused user 'nobody_odbt'" in problem(screen)
        await type_into(pilot, "#user", "root")
        await next_step(pilot)
        assert text_of(screen.query_one("#test-result")).startswith("Connected: ")
        assert isinstance(app.screen, DatabaseStep)


async def test_the_whole_setup_creates_the_repository_and_saves(small_db, images, tmp_path):
    extra = tmp_path / "OfficeDocs"
    extra.mkdir()
    share = tmp_path / "nas" / "odbackup-supplemental"
    (extra / "letter.txt").write_text("hello")
    destination = str(tmp_path / "usb" / "odbackup")
    app = OdbackupApp(None)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        await next_step(pilot)
        await next_step(pilot)
        step = app.screen
        assert isinstance(step, DatabaseStep)
        table = step.query_one(DataTable)
        table.move_cursor(row=[d.name for d in step.databases].index(small_db))
        await pilot.pause()
        mix = text_of(step.query_one("#engine-mix"))
        assert "2 MyISAM tables" in mix and "during a consistent backup, the office's changes wait" in mix
        assert "1 InnoDB table: never block anyone" in mix
        await type_into(pilot, "#timeout", "0")
        await next_step(pilot)
        assert problem(step) == "The lock timeout must be between 1 and 600 seconds."
        await type_into(pilot, "#timeout", "8")
        await next_step(pilot)

        step = app.screen
        assert isinstance(step, FoldersStep)
        await type_into(pilot, "#images", str(tmp_path / "nowhere"))
        await next_step(pilot)
        assert "does not exist" in problem(step)
        await type_into(pilot, "#images", images)
        await pilot.pause(0.6)  # the path is checked once typing pauses
        await settle(pilot)
        assert text_of(step.query_one("#images-scan")) == "9 files, 18.5 KiB."
        await type_into(pilot, "#extra", str(extra))
        await pilot.press("enter")
        await settle(pilot)
        assert step.draft.extra_folders == [str(extra)]
        await next_step(pilot)

        step = app.screen
        assert isinstance(step, DestinationStep)
        await type_into(pilot, "#repository", os.path.join(images, "backups"))
        await next_step(pilot)
        assert "cannot go inside a folder being backed up" in problem(step)
        await type_into(pilot, "#repository", destination)
        await next_step(pilot)
        step = app.screen
        assert isinstance(step, FrequencyStep)
        await type_into(pilot, "#sched-nightly", "9pm")
        await next_step(pilot)
        assert problem(step) == "'9pm' is not a time of day: write it like 21:00"
        await type_into(pilot, "#sched-nightly", "20:00")
        await next_step(pilot)

        step = app.screen
        assert isinstance(step, EncryptionStep) and step.mode == "create"
        await type_into(pilot, "#passphrase", "short")
        await next_step(pilot)
        assert problem(step).startswith("Too short")
        await type_into(pilot, "#passphrase", NEW_PASSPHRASE)
        await type_into(pilot, "#again", NEW_PASSPHRASE + "x")
        await next_step(pilot)
        assert problem(step) == "The two passphrases differ: type the same one twice."
        await type_into(pilot, "#again", NEW_PASSPHRASE)
        await next_step(pilot)

        step = app.screen
        assert isinstance(step, RecoveryStep)
        main_recovery_key = step.recovery_key
        first, second = step.expected()
        await type_into(pilot, "#group-a", "AAAAA")
        await type_into(pilot, "#group-b", second)
        await next_step(pilot)
        assert problem(step).startswith("That does not match the key above")
        await type_into(pilot, "#group-a", first.lower())
        await next_step(pilot)

        await skip_archives(pilot)
        step = app.screen  # with a database: the supplemental copy, optional (its repository made here)
        assert isinstance(step, SupplementalStep)
        step.query_one("#supp-enabled", Checkbox).value = True
        await next_step(pilot)
        assert problem(step) == "Type the Backup Copy Network Path, or leave supplemental copies off."
        await type_into(pilot, "#supp-path", str(share))
        await next_step(pilot)
        made = text_of(step.query_one("#supp-step-result"))
        assert app.screen is step and "RK-" not in made and made.endswith("no new key to write down). Press Next.")
        assert Repository.open(str(share)).related_to(Repository.open(destination))
        Repository.open(str(share)).unlock(main_recovery_key)  # the main recovery key opens it
        await next_step(pilot)

        step = app.screen
        assert isinstance(step, FinishStep)
        summary = text_of(step.query_one("#summary"))
        assert f"Supplemental copy: each night 22:00-04:00 to {share}" in summary
        assert f"Database: {small_db} on 127.0.0.1:3306 as root (consistent locking, lock timeout 8 s)" in summary
        assert f"Backups go to: {destination}" in summary and "enrolled" in summary
        cron = running_cron()
        said = await save_and_finish(pilot)
        if os.geteuid() == 0:
            assert said.startswith("Installed: next backup ") and "backup: installed, next run " in said, said
            assert "at 8:00 pm" in said and "0 20 * * *" in open(os.path.join(cron, "odbackup")).read()
        else:
            assert said.startswith("Not installed: Neither systemd nor cron is running"), said
        assert isinstance(app.screen, DashboardScreen)
        assert len(app.screen_stack) == 2

    saved = load_settings()
    assert saved is not None and saved.repository == destination
    assert saved.folders == (images, str(extra)) and saved.database.name == small_db
    assert saved.database.lock_timeout == 8.0
    assert saved.schedule.nightly == "20:00"  # chosen at the Frequency step
    assert saved.supplemental == SupplementalSettings(enabled=True, path=str(share))
    text = open(settings_path()).read()
    assert NEW_PASSPHRASE not in text and "password" not in text
    repo = Repository.open(destination)
    repo.unlock(NEW_PASSPHRASE)
    assert os.path.exists(keymod.credentials_path(repo.repo_id))  # enrolled
    machine = Repository.open(destination)
    machine.use_machine_credentials()  # scheduled maintenance finds the settings' retention stored, signed
    stored = stored_policy(machine)
    assert stored is not None and stored.policy == saved.retention.policy() and not stored.policy.empty


async def test_an_existing_repository_is_unlocked_not_created(enrolled, images):
    app = OdbackupApp(None)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        await next_step(pilot)
        app.screen.query_one("#use-db").value = False
        await next_step(pilot)
        await type_into(pilot, "#images", images)
        await next_step(pilot)
        await type_into(pilot, "#repository", enrolled)
        await next_step(pilot)
        await next_step(pilot)  # when to back up: the defaults
        step = app.screen
        assert isinstance(step, EncryptionStep) and step.mode == "unlock"
        await type_into(pilot, "#passphrase", "not the passphrase")
        await next_step(pilot)
        assert "does not unlock this repository" in problem(step)
        await type_into(pilot, "#passphrase", PASSPHRASE)
        await next_step(pilot)
        await skip_archives(pilot)
        assert isinstance(app.screen, FinishStep)
        assert "Database: none (folders only)" in text_of(app.screen.query_one("#summary"))
        step = app.screen
        await next_step(pilot)  # saved; no scheduler runs here: the step says so, in view at 80x24
        assert app.screen is step and load_settings() is not None
        assert text_of(step.query_one("#install-result")).startswith(
            "Not installed: Neither systemd nor cron is running")
        assert problem(step).startswith("Not installed: Neither systemd nor cron is running")
        assert "install the schedule later with f on the home screen" in problem(step)
        assert step.query_one("#step-problem").region.bottom <= 24
        await next_step(pilot)
        assert isinstance(app.screen, DashboardScreen)
    assert load_settings().database is None


async def test_setup_from_home_changes_the_passphrase(folder_settings):
    app = OdbackupApp(folder_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen) and app.screen.draft.editing
        for _ in range(5):  # welcome, server (folders only), folders, destination, when to back up
            await next_step(pilot)
        step = app.screen
        assert isinstance(step, EncryptionStep) and step.mode == "ready"
        await type_into(pilot, "#current", PASSPHRASE)
        await type_into(pilot, "#passphrase", NEW_PASSPHRASE)
        await type_into(pilot, "#again", NEW_PASSPHRASE)
        step.query_one("#change-now").focus()
        await pilot.press("enter")
        await settle(pilot)
        assert "The passphrase was changed" in text_of(step.query_one("#encryption-result"))
        await next_step(pilot)
        await skip_archives(pilot)
        await save_and_finish(pilot)
        assert isinstance(app.screen, DashboardScreen) and len(app.screen_stack) == 2
    Repository.open(folder_settings.repository).unlock(NEW_PASSPHRASE)


async def test_demo_refuses_a_database_that_is_in_use(small_db):
    app = OdbackupApp(None)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        step = app.screen
        assert isinstance(step, DemoStep)
        assert step.query_one("#images").value.endswith(os.path.join("demo", "OpenDentImages"))
        await type_into(pilot, "#database", small_db)
        await next_step(pilot)
        assert isinstance(app.screen, DemoStep)
        assert problem(step).startswith("Refused:") and "Choose a new database name" in problem(step)


def test_passphrase_advice():
    assert passphrase_advice("short")[0] is False
    assert passphrase_advice("aaaaaaaaaaaa")[0] is False
    ok, text = passphrase_advice("maple kettle orbit seven")
    assert ok and text.plain.startswith("Strong")
    assert passphrase_advice("Tr0ub4dor&3x")[1].plain.startswith("Acceptable")


# --- going Back once the repository exists (issue 12) ---------------------------------------------------


async def test_back_to_step_5_once_the_repository_is_created_shows_it_as_it_is(images, tmp_path):
    destination = str(tmp_path / "usb" / "odbackup")
    app = OdbackupApp(None)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await to_encryption(pilot, images, destination)
        await create_and_write_down(pilot, enroll=False)
        assert "This computer: not enrolled" in text_of(app.screen.query_one("#summary"))
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ArchivesStep)
        await pilot.press("escape")
        await settle(pilot)
        step = app.screen
        assert isinstance(step, EncryptionStep) and step.mode == "ready"
        shown = on_screen(app)
        assert f"The repository at {destination} was created in this setup" in shown
        assert "odbackup passwd" in shown
        assert not step.query("#enroll")  # no box whose changes would be ignored
        assert "This computer is not enrolled" in shown
        await type_into(pilot, "#passphrase", "another passphrase typed")
        await next_step(pilot)
        assert app.screen is step and problem(step).startswith("The passphrase is not changed: press")
        await type_into(pilot, "#passphrase", "")
        step.query_one("#enroll-now", Button).press()
        await settle(pilot)
        assert is_enrolled(destination)  # the button really enrolls
        assert "This computer is enrolled" in on_screen(app) and not step.query_one("#enroll-now").display
        await next_step(pilot)
        await skip_archives(pilot)
        assert isinstance(app.screen, FinishStep)
        assert "This computer: enrolled" in text_of(app.screen.query_one("#summary"))
        cron = running_cron()
        app.screen.query_one("#install-schedule", Checkbox).value = False  # not now: straight home
        await next_step(pilot)
        assert isinstance(app.screen, DashboardScreen)
    assert not os.listdir(cron)  # nothing was installed
    Repository.open(destination).unlock(NEW_PASSPHRASE)  # the passphrase chosen first, as the step said


async def test_the_enrolment_shown_is_the_machines_own(enrolled, images):
    """Unlocking with the enroll box cleared does not un-enroll: the summary says what is true."""
    app = OdbackupApp(None)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await to_encryption(pilot, images, enrolled)
        step = app.screen
        assert isinstance(step, EncryptionStep) and step.mode == "unlock"
        await type_into(pilot, "#passphrase", PASSPHRASE)
        step.query_one("#enroll", Checkbox).value = False
        await next_step(pilot)
        await skip_archives(pilot)
        assert isinstance(app.screen, FinishStep)
        assert "This computer: enrolled" in text_of(app.screen.query_one("#summary"))
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ArchivesStep)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is step and step.mode == "ready"
        assert not step.query("#enroll") and "This computer is enrolled" in on_screen(app)
    assert is_enrolled(enrolled)


# --- messages in view at 80x24 -------------------------------------------------------------------------------


async def test_every_message_of_the_server_step_is_in_view_at_80x24():
    app = OdbackupApp(None)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        await next_step(pilot)
        screen = app.screen
        await type_into(pilot, "#port", "1")
        await next_step(pilot)
        assert isinstance(app.screen, ServerStep)
        said = " ".join(problem(screen).split())
        assert said.startswith("The database server at 127.0.0.1:1 does not answer")
        assert said in on_screen(app)  # all of it, hint included
        await type_into(pilot, "#port", "3306")
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert problem(screen) == ""
        assert "Connected: " in on_screen(app)


async def test_every_message_of_the_passphrase_step_is_in_view_at_80x24(images, tmp_path):
    app = OdbackupApp(None)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await to_encryption(pilot, images, str(tmp_path / "usb" / "odbackup"))
        await type_into(pilot, "#passphrase", "Tr0ub4dor&3x")
        await type_into(pilot, "#again", "Tr0ub4dor&3y")
        await next_step(pilot)
        assert isinstance(app.screen, EncryptionStep)
        assert "The two passphrases differ: type the same one twice." in on_screen(app)


# --- error 1698 --------------------------------------------------------------------------------------------------


@pytest.fixture
def socket_user():
    """A user who may log in only through the server's own socket: over TCP this MariaDB
    refuses it with error 1698 (not 1045), as it refuses an unknown user on a fresh install."""
    name = f"odbt_sock_{uuid.uuid4().hex[:8]}"
    conn = admin_conn()
    with conn.cursor() as cur:
        cur.execute(f"CREATE USER '{name}'@'%' IDENTIFIED VIA unix_socket")
    try:
        yield name
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP USER '{name}'@'%'")
        conn.close()


async def test_error_1698_reads_as_wrong_credentials(socket_user):
    app = OdbackupApp(None)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        await next_step(pilot)
        screen = app.screen
        await type_into(pilot, "#user", socket_user)
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert text_of(screen.query_one("#test-result")) == "Wrong database credentials"
        assert problem(screen).startswith(f"The server at 127.0.0.1:3306 refused user '{socket_user}'")
        assert "1698" not in problem(screen)


# --- the recovery key typed back ------------------------------------------------------------------------------


async def test_the_recovery_check_reads_look_alikes_as_the_engine_does():
    key = format_recovery_key(bytes(20))  # RK-00000-00000-...
    app = OdbackupApp(None)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        app.push_screen(RecoveryStep(SetupDraft(), key, asked=(0, 1)))
        await settle(pilot)
        await type_into(pilot, "#group-a", "OOOOO")
        await type_into(pilot, "#group-b", "o0O0o")
        await next_step(pilot)
        await skip_archives(pilot)
        assert isinstance(app.screen, SupplementalStep)  # (the draft has a database: that step comes next)


# --- what is saved when ---------------------------------------------------------------------------------------


async def test_the_setup_says_truthfully_when_what_is_saved(folder_settings, images, tmp_path):
    app = OdbackupApp(None)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        intro = " ".join(text_of(app.screen.query_one("#intro")).split())
        assert "Nothing is saved until the last step" not in intro
        assert "The encrypted repository is created at step 6" in intro and "the settings are saved at the last step" in intro
        await to_encryption(pilot, images, str(tmp_path / "usb" / "odbackup"))
        assert "Next creates the encrypted repository there now" in on_screen(app)
    app = OdbackupApp(folder_settings)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        shown = on_screen(app)
        assert "nothing changes until you save" not in shown
        assert "A passphrase change or enrolling at step 6 applies at once" in shown


# --- folders and destination -----------------------------------------------------------------------------------


async def test_a_missing_images_folder_is_said_once(tmp_path):
    app = OdbackupApp(None)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        await next_step(pilot)
        app.screen.query_one("#use-db", Checkbox).value = False
        await next_step(pilot)
        await type_into(pilot, "#images", str(tmp_path / "nowhere"))
        await pilot.pause(0.6)  # the path is checked once typing pauses
        await settle(pilot)
        assert on_screen(app).count("does not exist") == 1
        await next_step(pilot)
        assert isinstance(app.screen, FoldersStep)
        assert on_screen(app).count("does not exist") == 1


async def test_folders_inside_one_another_are_refused(images, tmp_path):
    office = tmp_path / "Office"
    (office / "Scans").mkdir(parents=True)
    app = OdbackupApp(None)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        await next_step(pilot)
        app.screen.query_one("#use-db", Checkbox).value = False
        await next_step(pilot)
        step = app.screen
        await type_into(pilot, "#images", images)
        await type_into(pilot, "#extra", os.path.join(images, "S"))
        await pilot.press("enter")
        await settle(pilot)
        assert step.draft.extra_folders == []
        assert problem(step) == (f"'{os.path.join(images, 'S')}' is inside the images folder ({images}): "
                                 "it is backed up with it already.")
        await type_into(pilot, "#extra", str(office))
        await pilot.press("enter")
        await settle(pilot)
        assert step.draft.extra_folders == [str(office)] and problem(step) == ""
        await type_into(pilot, "#images", str(office / "Scans"))
        await next_step(pilot)
        assert isinstance(app.screen, FoldersStep)
        assert problem(step) == (f"The images folder ({office / 'Scans'}) is inside another folder in the list "
                                 f"({office}): it would be stored twice. Remove one of them.")


async def test_next_pressed_before_the_images_field_is_checked_keeps_its_problem(images, tmp_path):
    """Next comes before the images field's delayed check (typed, then Next at once): that late
    check must not take Next's problem away (it did: the test above failed now and then)."""
    office = tmp_path / "Office"
    (office / "Scans").mkdir(parents=True)
    app = OdbackupApp(None)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        await next_step(pilot)
        app.screen.query_one("#use-db", Checkbox).value = False
        await next_step(pilot)
        step = app.screen
        await type_into(pilot, "#extra", str(office))
        await pilot.press("enter")
        await settle(pilot)
        await type_into(pilot, "#images", str(office / "Scans"))
        await next_step(pilot)
        said = (f"The images folder ({office / 'Scans'}) is inside another folder in the list "
                f"({office}): it would be stored twice. Remove one of them.")
        assert problem(step) == said
        await pilot.pause(folders.DEBOUNCE * 2)  # the delayed check's time has passed
        await settle(pilot)
        assert isinstance(app.screen, FoldersStep) and problem(step) == said


async def test_next_pressed_before_the_images_field_is_checked_still_counts_it(images):
    """The images folder typed and Next pressed at once: it is still counted (the destination
    step's room estimate includes it)."""
    app = OdbackupApp(None)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        await next_step(pilot)
        app.screen.query_one("#use-db", Checkbox).value = False
        await next_step(pilot)
        step = app.screen
        await type_into(pilot, "#images", images)
        await next_step(pilot)
        assert isinstance(app.screen, DestinationStep)
        await pilot.pause(folders.DEBOUNCE * 2)  # when the delayed check would have counted it
        await settle(pilot)
        assert step.draft.images_bytes == sum(os.path.getsize(os.path.join(d, f))
                                              for d, _, files in os.walk(images) for f in files) > 0


async def test_a_successful_check_of_the_destination_clears_the_old_error(images, tmp_path):
    app = OdbackupApp(None)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        await next_step(pilot)
        app.screen.query_one("#use-db", Checkbox).value = False
        await next_step(pilot)
        await type_into(pilot, "#images", images)
        await next_step(pilot)
        step = app.screen
        assert isinstance(step, DestinationStep)
        await type_into(pilot, "#repository", os.path.join(images, "backups"))
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert "cannot go inside a folder being backed up" in problem(step)
        await type_into(pilot, "#repository", str(tmp_path / "usb" / "odbackup"))
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert problem(step) == ""
        assert "A new folder: it will be created" in text_of(step.query_one("#destination-result"))


async def test_back_while_the_repository_is_created_waits_for_the_recovery_key(images, tmp_path, monkeypatch):
    """Leaving step 5 while the repository is being created would leave a repository whose
    recovery key nobody saw."""
    from tui.screens.setup import encryption

    gate = threading.Event()
    create = encryption.create_repository

    def held_create(*args):
        gate.wait(10)
        return create(*args)

    monkeypatch.setattr(encryption, "create_repository", held_create)
    app = OdbackupApp(None)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await to_encryption(pilot, images, str(tmp_path / "usb" / "odbackup"))
        step = app.screen
        await type_into(pilot, "#passphrase", NEW_PASSPHRASE)
        await type_into(pilot, "#again", NEW_PASSPHRASE)
        await pilot.press("ctrl+n")
        await pilot.pause()
        for press in (lambda: pilot.press("escape"), lambda: pilot.click("#back")):  # the key and the button
            await press()
            await pilot.pause()
            assert app.screen is step and problem(step).startswith("The repository is being created")
        gate.set()
        await settle(pilot)
        assert isinstance(app.screen, RecoveryStep)


async def test_the_quit_button_of_the_welcome_quits():
    """The button, like Escape, runs the step's own Back (here: quit), not a bare pop."""
    app = OdbackupApp(None)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        await pilot.click("#back")
        await pilot.pause()
        assert app.return_code == 0


async def test_the_retention_default_and_why_stay_in_view_at_80x24_while_its_fields_are_typed_in():
    """Step 5 at 80x24: tabbing down to the last retention field keeps the words above it (the
    default explained: how far back by which step, and the reports' 6 years) and the field in view."""
    app = OdbackupApp(None)
    async with app.run_test(size=SIZE_SMALL) as pilot:
        await settle(pilot)
        draft = SetupDraft(repository="/media/usb/odbackup", database="opendental",
                           images_folder="/srv/OpenDentImages")
        await app.push_screen(FrequencyStep(draft))
        await settle(pilot)
        step = app.screen
        for _ in range(20):
            if app.focused is not None and app.focused.id == "keep-yearly":
                break
            await pilot.press("tab")
        assert app.focused is not None and app.focused.id == "keep-yearly"
        await settle(pilot)
        words = text_of(step.query_one("#freq-retention"))
        assert ("Keeps every backup for 48 hours, 30 daily, 13 weekly, 24 monthly, 7 yearly. The practice can "
                "go back 2 days backup by backup, a month by the day, about 3 months by the week, 2 years by the "
                "month and 7 years by the year. Verification reports are kept 6 years, even after their backup "
                "is gone: HIPAA keeps testing records 6 years.") == words
        assert "HIPAA keeps testing records 6 years." in on_screen(app)  # its last line is in view
        for selector in ("#freq-retention", "#keep-within", "#keep-yearly"):
            region = step.query_one(selector).region
            assert region.height and 0 < region.y and region.bottom <= 22, selector  # above the buttons
        await pilot.press("ctrl+a", "ctrl+k", *"many", "ctrl+n")  # wrong input: Next refuses it
        await settle(pilot)
        assert problem(step) == "Yearly backups kept: 'many' is not a whole number (0 turns it off)."
        await pilot.press("ctrl+a", "ctrl+k", *"3")  # fewer years: the words follow what is typed
        await settle(pilot)
        assert problem(step) == "" and app.focused.id == "keep-yearly"
        assert 0 < step.query_one("#keep-yearly").region.y and step.query_one("#keep-yearly").region.bottom <= 22
        assert "2 years by the month and 3 years by the year." in text_of(step.query_one("#freq-retention"))

