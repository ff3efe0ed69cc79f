"""Run records (engine/runlog.py) and the jobs' run lock (engine/joblock.py), on real files."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from engine import jobs, runlog
from engine.joblock import JobBusy, JobLock
from engine.runlog import RunRecord


def record(job: str = "backup", result: str = "ok", started: str = "2026-12-07T20:00:00+00:00",
           trigger: str = "schedule", **extra) -> RunRecord:
    return RunRecord(job=job, trigger=trigger, started=started, finished="2026-12-07T20:03:30+00:00",
                     result=result, message="Saved 3 file(s).", exit_code=0, **extra)


def test_a_record_round_trips_through_json_and_knows_its_length():
    r = record(snapshot_id="ab" * 32, files=3, bytes=1234, databases=1, office_wait=0.25, pid=42)
    assert RunRecord.from_json(r.to_json()) == r
    assert r.seconds == 210
    newer = r.to_json()[:-1] + ', "added_later": 1}'
    assert RunRecord.from_json(newer) == r  # a newer version's extra field is ignored


@pytest.mark.parametrize("bad", [dict(result="maybe"), dict(trigger="cron")])
def test_unknown_results_and_triggers_are_refused(bad):
    with pytest.raises(ValueError):
        record(**bad)


def test_records_are_written_and_read_back(tmp_path):
    assert runlog.last_runs(str(tmp_path)) == {} and runlog.history(folder=str(tmp_path)) == []
    first = record(started="2026-12-06T20:00:00+00:00")
    second = record(result="incomplete", started="2026-12-07T20:00:00+00:00")
    check = record(job="maintenance")
    for r in (first, check, second):
        runlog.write_record(r, str(tmp_path))
    assert runlog.last_runs(str(tmp_path)) == {"backup": second, "maintenance": check}
    assert runlog.history("backup", 10, str(tmp_path)) == [second, first]
    assert runlog.history(n=2, folder=str(tmp_path)) == [second, check]
    with open(tmp_path / "runs" / runlog.HISTORY_FILE, "a") as f:
        f.write('{"job": "backup", "trig')  # a run killed while it wrote its line
    assert runlog.history("backup", 10, str(tmp_path)) == [second, first]


def test_the_run_lock_is_exclusive_and_released(tmp_path):
    path = str(tmp_path / "runs" / "backup.lock")
    with JobLock(path, "backup"):
        with pytest.raises(JobBusy) as busy:
            JobLock(path, "backup").acquire()
        assert busy.value.holder.startswith("process ")
    JobLock(path, "backup").acquire().release()


def test_a_killed_holder_leaves_no_stuck_lock(tmp_path):
    path = str(tmp_path / "runs" / "backup.lock")
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from engine.joblock import JobLock
        lock = JobLock({path!r}, "backup").acquire()  # kept: a closed file is an unlocked one
        print("held", flush=True)
        time.sleep(600)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(JobBusy) as busy:
            JobLock(path, "backup").acquire()
        assert f"process {holder.pid}" in busy.value.holder
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    JobLock(path, "backup").acquire().release()


def test_a_run_while_another_holds_the_lock_is_recorded_as_skipped(tmp_path):
    with JobLock(jobs.lock_path("maintenance", str(tmp_path)), "maintenance"):
        r = jobs.run(jobs.JOBS["maintenance"], None, folder=str(tmp_path))
    assert (r.result, r.exit_code) == ("skipped", jobs.EXIT_SKIPPED)
    assert runlog.last_run("maintenance", str(tmp_path)) == r


def test_a_run_without_settings_is_a_recorded_failure(tmp_path):
    r = jobs.run(jobs.JOBS["backup"], None, folder=str(tmp_path))
    assert r.result == "failed" and r.exit_code == 1 and "no saved settings" in r.message
    assert runlog.history(folder=str(tmp_path)) == [r]


def test_every_job_is_declared_with_words_a_limit_and_steps():
    assert tuple(jobs.JOBS) == ("backup", "intraday", "maintenance", "archive", "supplemental", "offsite")
    for job in jobs.JOBS.values():
        assert job.description and job.steps and job.time_limit.total_seconds() > 0
    assert jobs.JOBS["intraday"].time_limit.total_seconds() < 3600  # over before the next hour's run


def test_a_filesystem_error_is_a_recorded_failure_in_plain_words(tmp_path):
    """An OSError of the run (a share gone, a folder replaced) is the run's failure, not a bug."""
    import shutil

    from engine.repository import keys
    from engine.repository.repo import Repository
    from engine.settings import Settings

    repo, _recovery = Repository.init(str(tmp_path / "repo"), "a passphrase for this test")
    keys.enroll_machine(repo.keys, repo.location)
    shutil.rmtree(tmp_path / "repo" / "locks")
    (tmp_path / "repo" / "locks").write_text("not a folder any more")
    folder = tmp_path / "Docs"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    settings = Settings(repository=str(tmp_path / "repo"), extra_folders=(str(folder),))
    r = jobs.run(jobs.JOBS["backup"], settings, folder=str(tmp_path / "logs"))
    assert (r.result, r.exit_code) == ("failed", 1), r
    assert "Unexpected" not in r.message and "drive or network share" in r.message


def test_office_hours_backups_without_a_database_fail_in_plain_words(tmp_path):
    from engine.settings import Settings

    folder = tmp_path / "Docs"
    folder.mkdir()
    r = jobs.run(jobs.JOBS["intraday"], Settings(repository=str(tmp_path / "repo"), extra_folders=(str(folder),)),
                 folder=str(tmp_path / "logs"))
    assert (r.result, r.exit_code) == ("failed", 1) and "no database is set up" in r.message
