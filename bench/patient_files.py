#!/usr/bin/env python3
"""What verify's patient-files check (issue 18) costs: verify with and without it, same snapshot.

The demo practice (``engine.opendental.demo``) at ``--scale``, one backup of its
database and images folder into a fresh repository, then ``verify_snapshot``
``--repeat`` times with the check and as many times without it (alternating,
so the machine's load falls on both alike), and the check alone. "Without"
replaces ``engine.verify._check_patient_files`` by a no-op for those runs: a
measurement switch, nothing else changes. Prints medians, min-max and the
ratio; run it on a quiet machine. Needs the MariaDB server of the tests
(127.0.0.1:3306, root); the database it creates is dropped at the end, and its
reports, caches and settings stay in a temporary folder.

    .venv/bin/python bench/patient_files.py --scale 4 --repeat 5
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("ODBACKUP_TEST_WEAK_KDF", "1")

from engine import verify as verify_module  # noqa: E402
from engine.backup import BackupPlan, run_backup  # noqa: E402
from engine.database.connection import DbTarget, connect  # noqa: E402
from engine.database.dump import DatabasePlan  # noqa: E402
from engine.opendental.demo import create_demo  # noqa: E402
from engine.opendental.documents import check_snapshot, images_source  # noqa: E402
from engine.repository.repo import Repository  # noqa: E402

PASSPHRASE = "patient files benchmark passphrase"


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=4.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    server = DbTarget(host="127.0.0.1", port=3306, user="root", database="")
    db = f"odbench_patient_files_{os.getpid()}"
    admin = connect(server)
    with tempfile.TemporaryDirectory() as tmp:
        for name, folder in (("ODBACKUP_REPORTS_DIR", "reports"), ("ODBACKUP_CACHE_DIR", "cache"),
                             ("ODBACKUP_CONFIG_DIR", "config")):
            os.environ[name] = os.path.join(tmp, folder)  # never this machine's own folders
        try:
            images = os.path.join(tmp, "OpenDentImages")
            create_demo(admin, db, images, scale=args.scale)
            repo, _recovery = Repository.init(os.path.join(tmp, "repo"), PASSPHRASE)
            run_backup(repo, BackupPlan((images,), (DatabasePlan(server.with_database(db)),)))
            snap = repo.find_snapshot("latest")
            with_check, without, alone = [], [], []
            real = verify_module._check_patient_files
            for _ in range(args.repeat):
                with_check.append(timed(lambda: verify_module.verify_snapshot(repo, snap, images_folder=images)))
                verify_module._check_patient_files = lambda *a, **k: None  # type: ignore[assignment]
                try:
                    without.append(timed(lambda: verify_module.verify_snapshot(repo, snap, images_folder=images)))
                finally:
                    verify_module._check_patient_files = real
                source = images_source(snap.open_body(repo.require_full_key()).sources, images)
                conn = connect(server)
                try:
                    alone.append(timed(lambda s=source, c=conn: check_snapshot(repo, s, c, db, images)))
                finally:
                    conn.close()
        finally:
            with admin.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{db}`")
            admin.close()
    med = statistics.median
    print(f"demo scale {args.scale}, {args.repeat} runs each, medians (min-max):")
    for name, xs in (("verify with the check", with_check), ("verify without", without), ("the check alone", alone)):
        print(f"  {name}: {med(xs):.2f} s ({min(xs):.2f}-{max(xs):.2f})")
    print(f"  with / without: {med(with_check) / med(without):.3f}x; "
          f"check alone / verify without: {100 * med(alone) / med(without):.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
