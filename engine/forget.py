"""Forget: remove the snapshots a retention policy does not keep (then, optionally, prune).

Which policy applies:

- with the passphrase (full key): the one given, else the one stored in the
  repository (``repository/policy.py``); the passphrase holder may also
  store the given one (``save=True``);
- with machine credentials: the stored one, whose signature they check. They
  may give a policy only when it removes nothing the stored one keeps
  (tighter is fine, looser is refused): a stolen server cannot forget the
  history.

The decision is :func:`engine.retention.apply_policy` over every readable
snapshot (times in this machine's local zone; verified = its latest
verification report passed). Damaged snapshot files are never removed here,
and verification reports are never deleted (kept at least 6 years, also
after their snapshot is gone). Removing snapshots holds the delete lock
(docs/FORMAT.md section 9); a dry run holds a reader's lock only, and says
how much space the forget would free
(:func:`engine.repository.prune.estimate_freed`).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from .errors import Cancelled, NeedsFullKey, OdbackupError, RepositoryLocked
from .events import EventSink, SnapshotForgotten, SnapshotKept, ignore_events
from .reports import verifications
from .repository import keys as keymod
from .repository.lock import RepoLock
from .repository.policy import StoredPolicy, load_policy, public_key, save_policy
from .repository.prune import PruneResult, SpaceEstimate, estimate_freed, prune
from .repository.repo import Repository
from .repository.storage import StillLocked
from .retention import Candidate, Decision, Policy, apply_policy
from .schedule.localzone import local_zone

WAIT_STEP = 2.0


class NoPolicy(OdbackupError):
    """No retention policy was given and none is stored in the repository."""

    exit_code = 2


class PolicyRefused(OdbackupError):
    """Machine credentials may apply the stored policy, never loosen it."""

    exit_code = 4


@dataclass(frozen=True)
class ForgetResult:
    """What forget decided and did."""

    policy: Policy
    policy_source: str
    """``given``, ``stored`` or ``saved`` (given, and stored with the passphrase)."""
    decision: Decision
    removed: tuple[str, ...]
    dry_run: bool
    pruned: PruneResult | None
    estimate: SpaceEstimate | None = None
    """A dry run without prune: the space forgetting would free (a prune's plan says it otherwise)."""


def stored_policy(repo: Repository) -> StoredPolicy | None:
    """The repository's policy, its signature checked with the key this side has."""
    verify_key: bytes | None
    if repo.keys.data_private is not None:
        verify_key = public_key(repo.keys.data_private)
    else:
        verify_key = keymod.machine_policy_key(repo.repo_id)
        if verify_key is None:
            if not repo.backend.exists("policy"):
                return None
            raise PolicyRefused("This machine's credentials are older than the stored retention policy and "
                                "cannot check its signature.",
                                hint="Enroll the machine again with the passphrase: 'odbackup enroll --repo REPO'.")
    return load_policy(repo.backend, repo.keys.maint_key, repo.repo_id, verify_key)


def forget(repo: Repository, given: Policy | None = None, *, save: bool = False, dry_run: bool = False,
           with_prune: bool = False, wait: float = 0.0, now: datetime | None = None,
           on_event: EventSink = ignore_events, cancel: threading.Event | None = None) -> ForgetResult:
    """Apply the policy (see the module's docstring); ``wait`` seconds for a running backup or reader."""
    cancel = cancel or threading.Event()
    stored = stored_policy(repo)
    policy, source = _choose_policy(repo, given, stored, save)
    lock = take_lock(repo, "forget", mode="read" if dry_run else "delete", wait=wait, cancel=cancel)
    try:
        if save and not dry_run:
            save_policy(repo.backend, repo.keys.maint_key, repo.repo_id, repo.keys.data_private, policy)  # type: ignore[arg-type]
        decision = decide(repo, policy, now)
        if not repo.can_read and given is not None and stored is not None:
            _refuse_loosening(decision, decide(repo, stored.policy, now))
        removed = _apply(repo, decision, dry_run, on_event)
        pruned = prune(repo, lock, dry_run=dry_run, on_event=on_event, cancel=cancel,
                       leaving_out=frozenset(removed)) if with_prune else None
        estimate = estimate_freed(repo, removed, cancel=cancel) if dry_run and not with_prune else None
    finally:
        lock.release()
    return ForgetResult(policy, source, decision, removed, dry_run, pruned, estimate)


def _choose_policy(repo: Repository, given: Policy | None, stored: StoredPolicy | None,
                   save: bool) -> tuple[Policy, str]:
    if save:
        if not repo.can_read:
            raise NeedsFullKey("Only the passphrase holder may set the retention policy; machine credentials "
                               "only apply it.")
        if given is None or given.empty:
            raise NoPolicy("Saving a retention policy needs at least one --keep-* rule.")
        return given, "saved"
    if given is not None and not given.empty:
        if not repo.can_read and stored is None:
            raise PolicyRefused("With machine credentials, forget applies only the policy stored in the "
                                "repository, and none is stored yet.",
                                hint="The passphrase holder stores one: 'odbackup forget --repo REPO "
                                     "--save-policy --keep-...'.")
        return given, "given"
    if stored is None:
        raise NoPolicy("No retention rule was given and the repository has no stored policy, so nothing "
                       "was forgotten.",
                       hint="Give rules such as --keep-daily 30, or store the practice's policy with the "
                            "passphrase: 'odbackup forget --repo REPO --save-policy --keep-...'.")
    return stored.policy, "stored"


def decide(repo: Repository, policy: Policy, now: datetime | None = None) -> Decision:
    """The policy applied to the repository's readable snapshots, now, in local time."""
    checked = verifications(repo)
    candidates = [Candidate(s.snapshot_id, datetime.fromisoformat(s.time), s.complete,
                            bool(checked.get(s.snapshot_id, (None, False))[1]))
                  for s in repo.snapshots()]
    return apply_policy(candidates, policy, now or datetime.now(UTC), tz=local_zone())


def _refuse_loosening(given: Decision, stored: Decision) -> None:
    kept = {c.snapshot_id for c in stored.keep}
    loosened = [c for c in given.remove if c.snapshot_id in kept]
    if loosened:
        names = ", ".join(c.snapshot_id[:8] for c in loosened[:5]) + (" ..." if len(loosened) > 5 else "")
        raise PolicyRefused(f"Forget with machine credentials refused: these rules would remove {len(loosened)} "
                            f"snapshot(s) that the stored policy keeps ({names}). Nothing was removed.",
                            hint="Only the passphrase holder may loosen the retention policy.")


def _apply(repo: Repository, decision: Decision, dry_run: bool, on_event: EventSink) -> tuple[str, ...]:
    for snap in decision.keep:
        on_event(SnapshotKept(snap.snapshot_id, snap.time.isoformat(), decision.reasons[snap.snapshot_id]))
    removed = []
    for snap in decision.remove:
        if not dry_run:
            try:
                repo.backend.remove(f"snapshots/{snap.snapshot_id}")
            except FileNotFoundError:
                pass
            except StillLocked as exc:  # a bucket's Object Lock: kept until it runs out
                on_event(SnapshotKept(snap.snapshot_id, snap.time.isoformat(),
                                      (f"locked until {exc.until:%Y-%m-%d} (Object Lock)",)))
                continue
        on_event(SnapshotForgotten(snap.snapshot_id, snap.time.isoformat(), dry_run))
        removed.append(snap.snapshot_id)
    return tuple(removed)


def take_lock(repo: Repository, command: str, *, mode: str, wait: float = 0.0,
              cancel: threading.Event | None = None) -> RepoLock:
    """The lock in ``mode``, trying again for up to ``wait`` seconds while a backup or reader holds it."""
    deadline = time.monotonic() + wait
    while True:
        try:
            lock, _stale = RepoLock.acquire(repo.backend, repo.keys.maint_key, command, mode=mode)
            return lock
        except RepositoryLocked:
            if time.monotonic() >= deadline:
                raise
        if cancel is not None and cancel.wait(WAIT_STEP):
            raise Cancelled("Cancelled while waiting for the repository.")
        if cancel is None:
            time.sleep(WAIT_STEP)
