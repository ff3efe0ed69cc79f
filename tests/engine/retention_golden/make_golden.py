"""Make the retention golden files by asking real restic.

The golden files hold, for a fixed set of about 100 snapshot times and many
policies, what ``restic forget --dry-run --json`` keeps and why. The test
(``tests/engine/test_retention.py``) checks that ``engine.retention`` keeps
exactly the same snapshots: restic's semantics are the ones our users trust.

Run it again only to add policies or times (needs the ``restic`` command,
Debian's package):

    .venv/bin/python tests/engine/retention_golden/make_golden.py

restic 0.14 (Debian 12's) has neither "-1 = all" nor the "oldest snapshot"
rule (both came later), so those are tested by hand in the test module.

Periods are local time: restic runs with TZ=America/New_York, so two
daylight-saving changes fall inside the times.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).parent
ZONE = "America/New_York"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
"""The "now" the golden files were made for; all times but one lie before it."""


def snapshot_times() -> list[datetime]:
    """About 100 times a practice's backups could have: nightlies, office hours, gaps, years back."""
    zone = ZoneInfo(ZONE)
    local = [datetime(2023, 6, 30, 21, 0), datetime(2024, 1, 2, 21, 5), datetime(2024, 12, 31, 23, 59)]
    local += [datetime(2025, m, 1, 21, 0) for m in (2, 3, 5, 8, 11)]
    local += [datetime(2026, 1, 1, 0, 30), datetime(2026, 1, 4, 21, 0)]
    local += [datetime(2026, 1, d, 21, 0) for d in range(5, 32)]  # a month of nightlies
    day = datetime(2026, 2, 26, 21, 0)
    while day < datetime(2026, 3, 14):  # nightlies across the spring change (8 March)
        local.append(day)
        day += timedelta(days=1)
    for hour in range(8, 19):  # an office day of hourly runs, then its nightly
        local.append(datetime(2026, 3, 16, hour, 15))
    local.append(datetime(2026, 3, 16, 21, 0))
    local += [datetime(2026, 4, 20, 21, 0), datetime(2026, 6, 1, 21, 0), datetime(2026, 7, 15, 3, 0)]
    day = datetime(2026, 10, 24, 21, 0)
    while day < datetime(2026, 11, 9):  # nightlies across the autumn change (1 November)
        local.append(day)
        day += timedelta(days=1)
    for hour in (8, 9, 10, 12, 13, 16):
        local.append(datetime(2026, 11, 20, hour, 5))
    local += [datetime(2026, 11, 23, 21, 0), datetime(2026, 11, 24, 21, 0), datetime(2026, 11, 25, 2, 30)]
    local += [datetime(2026, 11, 28, 21, 0), datetime(2026, 11, 29, 21, 0), datetime(2026, 11, 30, 21, 0)]
    local += [datetime(2026, 11, 30, 22, 0), datetime(2026, 11, 30, 23, 30)]
    local += [datetime(2030, 1, 1, 12, 0)]  # a future-dated snapshot: must not move "within"
    return [t.replace(tzinfo=zone) for t in local]


POLICIES: list[dict[str, object]] = [
    {"last": 1}, {"last": 5}, {"last": 15}, {"last": 200},
    {"hourly": 1}, {"hourly": 2}, {"hourly": 10}, {"hourly": 30},
    {"daily": 1}, {"daily": 3}, {"daily": 7}, {"daily": 30}, {"daily": 90},
    {"weekly": 1}, {"weekly": 2}, {"weekly": 5}, {"weekly": 13}, {"weekly": 60},
    {"monthly": 1}, {"monthly": 3}, {"monthly": 6}, {"monthly": 24},
    {"yearly": 1}, {"yearly": 3}, {"yearly": 7}, {"yearly": 20},
    {"within": "48h"}, {"within": "2d"}, {"within": "7d"}, {"within": "1m"}, {"within": "3m15d"},
    {"within": "1y"}, {"within": "2y6m"},
    {"daily": 3, "weekly": 4}, {"daily": 7, "monthly": 3},
    {"hourly": 5, "daily": 5, "weekly": 5, "monthly": 5, "yearly": 5},
    {"last": 3, "daily": 2, "yearly": 2},
    {"within": "48h", "daily": 30, "weekly": 13, "monthly": 24, "yearly": 7},
    {"within": "7d", "weekly": 4}, {"within": "48h", "last": 2, "monthly": 30},
    {"daily": 10, "weekly": 2, "monthly": 2, "yearly": 2},
]


def restic(args: list[str], env: dict[str, str]) -> str:
    return subprocess.run(["restic", *args], env=env, check=True, capture_output=True, text=True).stdout


def policy_flags(policy: dict[str, object]) -> list[str]:
    return [f"--keep-{'last' if k == 'last' else k}={v}" for k, v in policy.items()]


def make_repository(root: Path, times: list[datetime], env: dict[str, str]) -> dict[str, str]:
    """A restic repository with one snapshot per time; returns restic ID -> our time key."""
    data = root / "data"
    data.mkdir()
    (data / "file").write_text("retention golden\n")
    restic(["init"], env)
    for t in times:
        stamp = t.strftime("%Y-%m-%d %H:%M:%S")
        restic(["backup", "--quiet", "--host", "golden", "--time", stamp, str(data)], env)
    listed = json.loads(restic(["snapshots", "--json"], env))
    return {s["id"]: _key(datetime.fromisoformat(s["time"])) for s in listed}


def _key(t: datetime) -> str:
    return t.astimezone(UTC).isoformat()


def main() -> int:
    times = snapshot_times()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {**os.environ, "TZ": ZONE, "RESTIC_REPOSITORY": str(root / "repo"),
               "RESTIC_PASSWORD": "golden", "RESTIC_CACHE_DIR": str(root / "cache")}
        ids = make_repository(root, times, env)
        cases = []
        for policy in POLICIES:
            out = json.loads(restic(["forget", "--dry-run", "--json", *policy_flags(policy)], env))
            (group,) = out
            keep = sorted(ids[s["id"]] for s in group["keep"] or [])
            reasons = {_key(datetime.fromisoformat(r["snapshot"]["time"])): r["matches"]
                       for r in group["reasons"] or []}
            cases.append({"policy": policy, "keep": keep, "reasons": reasons})
    golden = {"made_with": restic(["version"], env).strip(), "zone": ZONE, "now": NOW.isoformat(),
              "times": sorted(_key(t) for t in times), "cases": cases}
    (HERE / "restic_policies.json").write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")
    print(f"{len(cases)} policies over {len(times)} snapshots", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
