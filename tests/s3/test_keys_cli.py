"""``odbackup storage-keys`` and the setting ``repository`` with an S3 location: the keys are tried,
then kept only in the owner-only file; never in settings.toml, the output, or an argument."""
from __future__ import annotations

import os
import stat
from pathlib import Path

from cli_helpers import PASSPHRASE, cli_env, ok, run_cli, summary
from seaweed import KEY_ID, SECRET


def _env(**extra: str | None) -> dict[str, str]:
    given: dict[str, str | None] = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, **extra}
    return cli_env(PASSPHRASE, ODBACKUP_S3_RETRY_SECONDS="3", **given)


def _everything_written(config_dir: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in config_dir.rglob("*") if p.is_file())


def test_keys_are_tried_saved_owner_only_and_then_used_without_the_environment(seaweed, prefix, isolated_env):
    location = seaweed.location(prefix)
    cp = ok(run_cli(["storage-keys", location], _env(AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET)))
    assert "The keys work" in cp.stdout and "It is empty" in cp.stdout and SECRET not in cp.stdout + cp.stderr
    saved = Path(os.environ["ODBACKUP_CONFIG_DIR"]) / "storage-keys.json"
    if os.name != "nt":
        assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert seaweed.objects(prefix) == {}  # the probe was removed
    doc = summary(ok(run_cli(["init", location, "--json"], _env())))  # no AWS_* in the environment now
    assert doc["repository_id"] and "config" in seaweed.objects(prefix)
    ok(run_cli(["config", "set", "repository", location], _env()))
    shown = ok(run_cli(["config", "get", "repository"], _env())).stdout
    assert location in shown
    settings_text = _everything_written(Path(os.environ["ODBACKUP_CONFIG_DIR"]).joinpath()).replace(
        saved.read_text(), "")
    assert SECRET not in settings_text and KEY_ID not in settings_text
    ok(run_cli(["storage-keys", location, "--forget"], _env()))
    cp = run_cli(["snapshots", "--repo", location], _env())
    assert cp.returncode == 4 and "No keys for the online storage" in cp.stderr, cp.stderr


def test_wrong_keys_are_not_saved(seaweed, prefix):
    cp = run_cli(["storage-keys", seaweed.location(prefix)],
                 _env(AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY="wrong-secret-value"))
    assert cp.returncode == 4 and "Not saved" in cp.stdout and "refused the keys" in cp.stdout, cp.stdout
    assert "wrong-secret-value" not in cp.stdout + cp.stderr
    assert not (Path(os.environ["ODBACKUP_CONFIG_DIR"]) / "storage-keys.json").exists()


def test_without_keys_or_a_terminal_it_says_where_keys_come_from(seaweed, prefix):
    cp = run_cli(["storage-keys", seaweed.location(prefix)], _env())
    assert cp.returncode == 2 and "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in cp.stderr, cp.stderr


def test_a_repository_setting_in_a_bucket_is_checked_against_the_server(seaweed, prefix):
    cp = run_cli(["config", "set", "repository", seaweed.location(prefix, bucket="no-such-bucket-x")],
                 _env(AWS_ACCESS_KEY_ID=KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET))
    assert cp.returncode != 0 and "There is no bucket 'no-such-bucket-x'" in cp.stdout + cp.stderr
