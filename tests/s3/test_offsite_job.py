"""``odbackup run offsite`` against a real bucket (SeaweedFS): the main repository's new snapshots
copied into a related repository in online storage, within the saved window and upload limit,
as the scheduler starts it (the real program, no passphrase); the dashboard's state (what the
bucket still lacks) and alerts before and after; a run stopped by the window's end is
``incomplete`` and the next run sends only what is still missing."""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cli_helpers import (
    Repo,
    cli_env,
    describe_tree,
    explain,
    init_repo,
    ok,
    random_file,
    run_cli,
    summary,
)

from engine import runlog
from engine.credentials import Sources
from engine.settings import load_settings
from engine.status import alerts, gather_state

SCANS = 30


def _clock(at: datetime) -> str:
    return f"{at:%H:%M}"


@pytest.fixture
def office(tmp_path, seaweed, s3_env, prefix) -> tuple[Repo, Path, Repo]:
    """A main repository (machine enrolled) with one snapshot of ~4.5 MB of scans, the offsite
    repository made related to it in the bucket, and the settings saved with offsite copies on."""
    local = init_repo(tmp_path / "usb" / "repo")
    ok(run_cli(["enroll", "--repo", local.path], cli_env()))
    source = tmp_path / "OpenDentImages"
    rng = random.Random(16)
    for i in range(SCANS):
        random_file(source / f"scan{i}.jpg", rng.randrange(100_000, 200_000))
    ok(run_cli(["backup", "--repo", local.path, "--path", source], cli_env()))
    location = seaweed.location(prefix)
    doc = summary(ok(run_cli(["init", location, "--related-to", local.path, "--json"], cli_env())))
    offsite = Repo(location, doc["recovery_key"], doc["repository_id"], None)  # type: ignore[arg-type]
    now = datetime.now()
    for key, value in (("repository", local.path), ("folders.images", source), ("offsite.location", location),
                       ("offsite.window", f"{_clock(now - timedelta(hours=1))}-{_clock(now + timedelta(hours=1))}"),
                       ("offsite.enabled", "on")):
        ok(run_cli(["config", "set", key, value], cli_env()))
    return local, source, offsite


def _offsite_alerts(now: datetime | None = None) -> tuple:
    settings = load_settings()
    assert settings is not None
    state = gather_state(settings, Sources.here())
    found = [a for a in alerts(settings, state, now or datetime.now().astimezone())
             if a.kind.startswith("offsite") or "Offsite" in a.title]
    return state.offsite, found


def run_offsite(*extra: str) -> object:
    return run_cli(["run", "offsite", "--json", *extra], cli_env(None))


def test_the_offsite_job_copies_the_new_snapshots_into_the_bucket_and_says_what_is_left(office, tmp_path):
    local, source, offsite = office
    before, found = _offsite_alerts()
    assert before.to_send > 4_000_000 and before.snapshots_missing == 1 and before.last_copy is None
    assert [a.kind for a in found] == ["offsite_stale"] and "still to send" in found[0].message

    cp = run_offsite("--scheduled")
    done = summary(ok(cp))
    assert done["result"] == "ok" and done["trigger"] == "schedule", explain(cp)
    assert done["message"].startswith(f"Offsite copy to {offsite.path}: 1 snapshot(s) copied")
    assert done["bytes"] == before.to_send and done["snapshot_id"]
    assert runlog.last_run("offsite").result == "ok"

    after, found = _offsite_alerts()
    assert (after.to_send, after.snapshots_missing, found) == (0, 0, [])
    assert after.last_copy == done["finished"]

    again = summary(ok(run_offsite()))
    assert again["result"] == "ok" and again["bytes"] == 0 and ": 0 snapshot(s) copied" in again["message"]
    ok(run_cli(["check", "--repo", offsite.path, "--read-data"], cli_env()))
    ok(run_cli(["restore", "--repo", offsite.path, "latest", "--to", tmp_path / "back"], cli_env()))
    assert describe_tree(tmp_path / "back" / "OpenDentImages") == describe_tree(source)
    # four days on without a new copy: the alert comes back
    _state, later = _offsite_alerts(datetime.now().astimezone() + timedelta(days=4))
    assert [a.kind for a in later] == ["offsite_stale"]


def test_the_window_end_stops_the_job_incomplete_and_the_next_run_sends_only_what_is_missing(office, seaweed,
                                                                                            prefix, tmp_path):
    local, source, offsite = office
    now = datetime.now()
    end = (now + timedelta(minutes=1)).replace(second=0, microsecond=0)
    if (end - now).total_seconds() < 6:
        end += timedelta(minutes=1)
    total, _found = _offsite_alerts()
    seconds = (end - now).total_seconds()
    rate = int(total.to_send / (seconds + 8))  # the copy would take 8 s longer than the window has
    ok(run_cli(["config", "set", "offsite.limit_upload", f"{rate}B"], cli_env()))
    ok(run_cli(["config", "set", "offsite.window", f"{_clock(now - timedelta(hours=1))}-{_clock(end)}"], cli_env()))

    cp = run_offsite("--scheduled")
    assert cp.returncode == 3, explain(cp)
    done = summary(cp)
    assert done["result"] == "incomplete" and "Traceback" not in cp.stderr
    assert f"the upload window ended at {_clock(end)} with " in done["message"]
    assert "still to send; the next night's run continues from there" in done["message"]
    landed = sum(s for n, s in seaweed.objects(prefix).items() if n.startswith("data/"))
    assert 0 < landed < total.to_send
    ok(run_cli(["check", "--repo", offsite.path], cli_env()))
    state, found = _offsite_alerts()
    assert not [a for a in found if a.kind.startswith("run_")]  # stopped by its window: not a failure
    assert 0 < state.to_send <= total.to_send - landed + 2 * 256 * 1024  # (the pack sent as it ended: indexed next run)

    outside = run_offsite()  # after the window: a catch-up run does not start
    assert outside.returncode == 7 and summary(outside)["message"].startswith("skipped: outside the offsite window")
    ok(run_cli(["config", "unset", "offsite.limit_upload"], cli_env()))
    final = summary(ok(run_offsite("--force")))
    assert final["result"] == "ok" and final["bytes"] <= state.to_send
    sent = sum(s for n, s in seaweed.objects(prefix).items() if n.startswith("data/")) - landed
    assert sent <= 1.1 * (total.to_send - landed) + 4096
    ok(run_cli(["check", "--repo", offsite.path, "--read-data"], cli_env()))
    ok(run_cli(["restore", "--repo", offsite.path, "latest", "--to", tmp_path / "back"], cli_env()))
    assert describe_tree(tmp_path / "back" / "OpenDentImages") == describe_tree(source)


def test_offsite_settings_are_checked_as_the_app_checks_them(seaweed, s3_env, prefix, tmp_path):
    location = seaweed.location(prefix)
    main = init_repo(tmp_path / "usb" / "repo")
    (tmp_path / "Images").mkdir()
    ok(run_cli(["config", "set", "repository", main.path], cli_env()))
    ok(run_cli(["config", "set", "folders.images", tmp_path / "Images"], cli_env()))
    for key, value, words in (("offsite.limit_upload", "fast", "is not an upload rate"),
                              ("offsite.window", "2300", "is not an upload window"),
                              ("offsite.window", "23:00-23:00", "starts and ends at the same time"),
                              ("offsite.location", "/mnt/nas/offsite", "is not in online storage"),
                              ("offsite.alert_days", "0", "at least 1"),
                              ("offsite.days", "Someday", "Days are written")):
        cp = run_cli(["config", "set", key, value], cli_env())
        assert cp.returncode == 2 and words in cp.stderr, explain(cp)
    ok(run_cli(["config", "set", "offsite.location", location], cli_env()))
    ok(run_cli(["config", "set", "offsite.limit_upload", "20Mbit"], cli_env()))
    saved = load_settings()
    assert saved is not None and saved.offsite.rate() == 2_500_000 and saved.offsite.location == location
    cp = run_offsite("--force")
    assert summary(cp)["result"] == "skipped" and "offsite copies are off" in summary(cp)["message"]
    ok(run_cli(["config", "set", "offsite.enabled", "on"], cli_env()))
    cp = run_offsite("--force")  # on, but no offsite repository made there yet
    assert cp.returncode == 1 and summary(cp)["result"] == "failed"
    assert f"odbackup init {location} --related-to" in summary(cp)["message"], explain(cp)
