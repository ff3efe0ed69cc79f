"""``odbackup run archive``: the snapshots each plugged-in archive drive lacks, its retention, a check.

For each known drive that is plugged in (found by its ID, :mod:`.drives`) and
not sealed, with this machine's write-only credentials only:

1. copy the snapshots it lacks (``engine.repository.copy``: a copy killed at
   any moment leaves a drive that passes ``check``; the next run finishes);
   a monthly drive that would not hold them is *sealed* instead (below);
2. a rotating drive's retention: the policy stored on the drive when it was
   added (``forget`` with prune); a monthly drive keeps everything. A rotating
   drive is sent only the snapshots its policy keeps among all it would then
   hold (:func:`worth_copying`), so nothing is copied only to be removed, and
   sent again next time;
3. check what it wrote: every pack this run published is read back and its
   BLAKE3 hash compared with its name (no key needed), then the drive's
   structure is checked;
4. the book records where the drive was, when, the snapshots it holds, its
   free space and its size (its growth for the forecast).

No drive plugged in is a reminder, never a failure: the run ends
``skipped`` (exit code 7) saying which drives are due. With several drives
plugged in, one that fails (pulled out, full, failing its check) does not stop
the others: each still gets its copy, the failure is kept in the book as that
drive's last message, and the run ends ``failed`` naming the drives that
failed and why, after what the others got.

Sealing: a final verification (every pack's hash, the structure, the
snapshots) is written as ``FINAL-VERIFICATION.txt`` in the drive's
repository folder, in plain words, and the book marks the drive sealed;
nothing is written to it again.
"""
from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import blake3

from ..errors import Cancelled, OdbackupError, RepositoryDamaged
from ..events import ArchiveCopyDone, ArchiveDriveFound, ArchiveDriveMissing, ArchiveSealed
from ..words import size
from .drives import (
    HISTORY,
    ArchiveDrive,
    Located,
    free_space,
    load_book,
    locate_all,
    repository_bytes,
    update_drive,
)
from .forecast import is_full, room_words

if TYPE_CHECKING:
    from ..jobs import RunContext
    from ..repository.repo import Repository

SEAL_FILE = "FINAL-VERIFICATION.txt"
FAILED_PREFIX = "the last copy failed: "
"""How a drive's last message in the book begins when its last copy failed."""
RETENTION_WAIT = 600.0
HASH_BLOCK = 1024 * 1024


def run_archive(ctx: RunContext) -> None:
    """The archive job's step (module docstring)."""
    from ..jobs import JobFailed, JobSkipped

    book = load_book()
    if not book.drives:
        raise JobFailed("No archive drive is set up.",
                        hint="Plug in a blank drive and run 'odbackup archive add PATH --label NAME'.")
    found = locate_all(book)
    usable = [spot for spot in found if spot.place and not spot.drive.sealed and not _sealed_on_drive(spot.place)]
    for spot in found:
        if spot.place is None:
            ctx.on_event(ArchiveDriveMissing(spot.drive.label, spot.drive.last_copy))
    if not usable:
        raise JobSkipped("No archive drive is plugged in" + _due_words(found) + ": plug one in.")
    source = ctx.repository()
    failed: list[str] = []
    for spot in usable:
        assert spot.place is not None
        ctx.on_event(ArchiveDriveFound(spot.drive.label, spot.place, spot.moved))
        problem = _archive_one(ctx, source, spot.drive, spot.place)
        if problem is not None:
            failed.append(f"'{spot.drive.label}' at {spot.place}: {problem}")
    if failed:
        done = " ".join(ctx.said)
        raise JobFailed((f"{done} " if done else "") + f"{len(failed)} of {len(usable)} archive drive(s) "
                        "failed: " + "; ".join(failed),
                        hint="Plug the drive that failed in again and run 'odbackup run archive'; if it fails "
                             "again, check it ('odbackup check --repo' and its folder) or replace it.")


def _archive_one(ctx: RunContext, source: Repository, drive: ArchiveDrive, place: str) -> str | None:
    """:func:`archive_to` for one drive; what went wrong (also kept as the drive's last message), so the
    next drive still gets its copy. Cancelling (and anything that is not a drive's or repository's
    error: a bug) still ends the run."""
    try:
        archive_to(ctx, source, drive, place)
    except Cancelled:
        raise
    except OdbackupError as exc:
        words = exc.message + (f" ({exc.hint})" if exc.hint else "")
    except OSError as exc:  # the drive pulled out, full, or failing
        words = f"{exc.strerror or exc}" + (f" ({exc.filename})" if exc.filename else "")
    else:
        return None
    from dataclasses import replace

    update_drive(drive.repo_id, lambda d: replace(d, hint=place, last_message=FAILED_PREFIX + words))
    return words


def _due_words(found: list[Located]) -> str:
    parts = []
    for spot in found:
        if spot.drive.sealed:
            continue
        last = f"last copied {spot.drive.last_copy[:10]}" if spot.drive.last_copy else "never copied"
        parts.append(f"'{spot.drive.label}' {last}")
    return f" ({'; '.join(parts)})" if parts else ""


def _sealed_on_drive(place: str) -> bool:
    return os.path.exists(os.path.join(place, SEAL_FILE))


def open_drive(place: str) -> Repository:
    """The drive's repository, unlocked with this machine's write-only credentials."""
    from ..repository.repo import Repository

    target = Repository.open(place)
    target.use_machine_credentials()
    return target


def archive_to(ctx: RunContext, source: Repository, drive: ArchiveDrive, place: str) -> None:
    """Copy, retention, check and book-keeping for one plugged-in drive (module docstring)."""
    target = open_drive(place)
    before = {name for name, _size in target.backend.list("data")}
    copied = _copy(ctx, source, target, drive, load_book().keep_free_percent)
    if copied is None:
        _seal(ctx, target, drive, place)
        return
    note = _retention(ctx, target) if not drive.monthly else "it keeps everything (a monthly drive)"
    _check_written(ctx, target, before)
    held = len(target.snapshots())
    updated = update_drive(drive.repo_id, lambda d: _measured(d, place, held, len(copied), note))
    entry = next((d for d in updated.drives if d.repo_id == drive.repo_id), drive)
    ctx.on_event(ArchiveCopyDone(drive.label, place, len(copied), held, room_words(entry)))
    ctx.said.append(f"Archive drive '{drive.label}' at {place}: {len(copied)} snapshot(s) copied, {held} held, "
                    f"{note}; checked, {room_words(entry)}. It may be unplugged now.")


def _copy(ctx: RunContext, source: Repository, target: Repository, drive: ArchiveDrive,
          keep_free_percent: float) -> tuple[str, ...] | None:
    """The snapshots copied; None when a monthly drive would not hold them (it is to be sealed)."""
    from ..repository.copy import copy_snapshots, planned_bytes
    from ..repository.lock import RepoLock

    with source.reading("archive"):
        lock, _replaced = RepoLock.acquire(target.backend, target.keys.maint_key, "archive", mode="write")
        with lock:
            if drive.monthly:
                room = free_space(target.location)
                now = drive if room is None else _with_room(drive, room)
                if is_full(now, planned_bytes(source, target), keep_free_percent):
                    return None
            wanted = None if drive.monthly else worth_copying(source, target)
            if wanted == []:
                return ()
            result = copy_snapshots(source, target, wanted, on_event=ctx.on_event, cancel=ctx.cancel,
                                    refresh=lock.refresh)
    return result.snapshots


def worth_copying(source: Repository, target: Repository) -> list[str] | None:
    """The snapshots a rotating drive lacks that its own policy keeps among all it would then hold
    (None: every one it lacks, when it stores no policy this machine can read). Copying what its
    retention would remove at once would only send it again on every run."""
    from datetime import UTC, datetime

    from ..errors import NoCredentials
    from ..forget import stored_policy
    from ..reports import verifications
    from ..retention import Candidate, apply_policy
    from ..schedule.localzone import local_zone

    try:
        stored = stored_policy(target)
    except NoCredentials:
        return None
    if stored is None:
        return None
    held = target.snapshots()
    have = {s.snapshot_id for s in held}
    lacking = [s for s in source.snapshots() if s.snapshot_id not in have]
    checked = verifications(target)
    candidates = [Candidate(s.snapshot_id, datetime.fromisoformat(s.time), s.complete,
                            bool(checked.get(s.snapshot_id, (None, False))[1])) for s in held + lacking]
    kept = {c.snapshot_id for c in apply_policy(candidates, stored.policy, datetime.now(UTC), tz=local_zone()).keep}
    return [s.snapshot_id for s in lacking if s.snapshot_id in kept]


def _with_room(drive: ArchiveDrive, room: tuple[int, int]) -> ArchiveDrive:
    from dataclasses import replace

    return replace(drive, free_bytes=room[0], total_bytes=room[1])


def _retention(ctx: RunContext, target: Repository) -> str:
    from ..errors import NoCredentials
    from ..forget import forget, stored_policy

    try:
        policy = stored_policy(target)
    except NoCredentials:  # enrolled for the main repository only (the drive was added elsewhere)
        policy = None
    if policy is None:
        ctx.incomplete = (f"the archive drive at {target.location} holds no retention policy, so nothing was "
                          "removed from it (add the drive again with the passphrase to store one)")
        return "no retention policy on it"
    result = forget(target, None, with_prune=True, wait=RETENTION_WAIT, on_event=ctx.on_event, cancel=ctx.cancel)
    return f"retention removed {len(result.removed)} snapshot(s)"


def _check_written(ctx: RunContext, target: Repository, before: set[str]) -> int:
    """Read back every pack published since ``before`` (its hash is its name), then check the structure."""
    from ..check import check

    new = sorted({name for name, _size in target.backend.list("data")} - before)
    bad = [name for name in new if not _pack_intact(target, name)]
    result = check(target, read_data=False, on_event=ctx.on_event, cancel=ctx.cancel)
    problems = [f"pack {name.rsplit('/', 1)[-1][:12]} does not read back as written" for name in bad]
    problems += result.errors
    if problems:
        raise RepositoryDamaged(f"The archive drive at {target.location} failed its check after the copy: "
                                + "; ".join(problems[:3]),
                                hint="Try another drive; this one may be failing.")
    return len(new)


def _pack_intact(target: Repository, name: str) -> bool:
    digest = blake3.blake3()
    with target.backend.open_read(name) as f:
        while block := f.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest() == name.rsplit("/", 1)[-1]


def _measured(drive: ArchiveDrive, place: str, held: int, copied: int, note: str) -> ArchiveDrive:
    from dataclasses import replace

    now = datetime.now(UTC).isoformat(timespec="seconds")
    room = free_space(place)
    used = (drive.used + ((now, repository_bytes(place)),))[-HISTORY:]
    return replace(drive, hint=place, last_copy=now, snapshots=held, used=used,
                   free_bytes=room[0] if room else None, total_bytes=room[1] if room else None,
                   last_message=f"{copied} snapshot(s) copied, {held} held; {note}")


# --- sealing a full monthly drive -----------------------------------------------------------------


def _seal(ctx: RunContext, target: Repository, drive: ArchiveDrive, place: str) -> None:
    """The final verification, written on the drive; the book marks it sealed."""
    from ..check import check

    packs = [name for name, _size in target.backend.list("data")]
    bad = [name for name in packs if not _pack_intact(target, name)]
    result = check(target, read_data=False, on_event=ctx.on_event, cancel=ctx.cancel)
    snaps = sorted(target.snapshots(), key=lambda s: s.time)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    ok = not bad and result.ok
    report = _report_text(drive, target, now, packs, bad, result.errors, snaps, ok)
    path = os.path.join(place, SEAL_FILE)
    target.backend.write_atomic(SEAL_FILE, [report.encode("utf-8")])
    update_drive(drive.repo_id, lambda d: _sealed(d, place, now, len(snaps), ok))
    ctx.on_event(ArchiveSealed(drive.label, place, path))
    verdict = "passed" if ok else "FOUND PROBLEMS"
    ctx.said.append(f"Archive drive '{drive.label}' is full: sealed with its final verification ({verdict}, "
                    f"{len(snaps)} snapshot(s)); put it in storage and add the next monthly drive.")
    if not ok:
        ctx.incomplete = f"the final verification of '{drive.label}' found problems (see {path})"


def _sealed(drive: ArchiveDrive, place: str, now: str, held: int, ok: bool) -> ArchiveDrive:
    from dataclasses import replace

    room = free_space(place)
    return replace(drive, hint=place, sealed=now, snapshots=held, free_bytes=room[0] if room else None,
                   total_bytes=room[1] if room else None,
                   last_message="sealed: final verification " + ("passed" if ok else "found problems"))


def _report_text(drive: ArchiveDrive, target: Repository, now: str, packs: list[str], bad: list[str],
                 errors: list[str], snaps: list, ok: bool) -> str:
    lines = [
        "odbackup archive drive: final verification",
        "",
        f"Label:          {drive.label}",
        f"Repository ID:  {target.repo_id}",
        f"Sealed at:      {now} (UTC)",
        f"Verdict:        {'PASSED' if ok else 'PROBLEMS FOUND'}",
        f"Packs read:     {len(packs)} ({size(sum(target.backend.size(p) for p in packs))}), "
        f"{len(bad)} not as written",
        f"Snapshots:      {len(snaps)}",
        "",
        "This drive is full and sealed: odbackup writes nothing to it again. Keep it in storage.",
        "Open it with the practice's passphrase or recovery key (or this drive's own recovery key,",
        "if one was printed when it was made):",
        f"    odbackup snapshots --repo {target.location}",
        "",
        "Snapshots held (UTC):",
    ]
    lines += [f"    {s.snapshot_id[:8]}  {s.time}" for s in snaps]
    if bad or errors:
        lines += ["", "Problems:"] + [f"    pack {b}" for b in bad] + [f"    {e}" for e in errors]
    return "\n".join(lines) + "\n"
