"""The offsite copy's state and alerts.

As in :mod:`engine.status`: :func:`gather` reads (the run records; the offsite repository in
the bucket and the main one, with this machine's write-only credentials, for what is still to
send) and never raises; :func:`alerts` is the pure policy, called by :func:`engine.status.alerts`.

The alerts, when offsite copies are on: no location set; the offsite repository cannot be
read; the main repository cannot be read to say what is still to send; no offsite copy completed in ``offsite.alert_days`` days (with how much is still to send).
A failed run is said by the status's own run alerts, in the log's words; a run the window
stopped is not a failure (the staleness alert speaks when the nights do not suffice).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..errors import OdbackupError, RepositoryLocked
from ..runlog import history
from ..words import ago, size, when

if TYPE_CHECKING:
    from ..credentials import Sources
    from ..repository.repo import Repository
    from ..settings import Settings
    from ..status import Alert

JOB = "offsite"
STATUS_RETRY_SECONDS = 8.0
"""A request for the status is retried this long at most (the next refresh looks again)."""


@dataclass(frozen=True)
class OffsiteState:
    """What the offsite alerts and the dashboard's "Offsite copy" line are decided from."""

    last_copy: str | None = None
    """When the newest offsite run that copied everything finished (None: never)."""
    last_run: str | None = None
    """When the newest offsite run that sent anything finished, complete or stopped by the window."""
    to_send: int | None = None
    """Sealed bytes the offsite repository still lacks for the snapshots it lacks (None: not known)."""
    snapshots_missing: int = 0
    """Snapshots of the main repository the offsite repository lacks."""
    problem: str | None = None
    """Why the offsite repository in the bucket could not be read (None: it could)."""
    main_problem: str | None = None
    """Why the main repository could not be read for it, so what is still to send is unknown
    (None: it could)."""


def left_words(state: OffsiteState, rate: int | None = None) -> str:
    """``1.2 GiB still to send (2 snapshots), about 3 h at the upload limit`` / ``nothing left to send``
    / ``still to send: unknown`` (``rate``: the upload limit in bytes per second, if any)."""
    if state.to_send is None:
        return "still to send: unknown"
    if not state.to_send and not state.snapshots_missing:
        return "nothing left to send"
    words = f"{size(state.to_send)} still to send ({state.snapshots_missing} snapshot(s))"
    if rate and state.to_send:
        words += f", about {_rough(state.to_send / rate)} at the upload limit"
    return words


def _rough(seconds: float) -> str:
    """``18 hours``, ``40 minutes``: an estimate, said as one."""
    if seconds >= 5400:
        return f"{seconds / 3600:.0f} hours"
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute{'s' if minutes > 1 else ''}"


def summary_words(state: OffsiteState, now: datetime, rate: int | None = None) -> str:
    """The offsite copy in one sentence, for ``odbackup status`` and the dashboard."""
    last = f"last complete copy {ago(state.last_copy, now)}" if state.last_copy else "no complete copy yet"
    return f"Offsite copy: {last}; {left_words(state, rate)}."


# --- the policy ---------------------------------------------------------------------------------


def alerts(settings: Settings, state: OffsiteState | None, now: datetime) -> list[Alert]:
    """The offsite copy's alerts (when it is on and its state was gathered)."""
    from ..status import Alert

    off = settings.offsite
    if state is None or not off.enabled:
        return []
    if not off.location.strip():
        return [Alert("warning", "offsite_no_location", "No offsite location",
                      "Offsite copies are on but no location in online storage is set",
                      "odbackup config set offsite.location s3:https://SERVER/BUCKET/FOLDER")]
    found = []
    if state.problem:
        found.append(Alert("warning", "offsite_unreadable", "Offsite copy unreadable",
                           f"The offsite repository at {off.location} cannot be read: {state.problem}"))
    if state.main_problem:
        found.append(Alert("warning", "offsite_to_send_unknown", "Offsite progress unknown",
                           "What the offsite copy still has to send is unknown: the main repository cannot "
                           f"be read ({state.main_problem})", "the offsite copy itself is not said to be wrong"))
    if state.last_copy is None or now - when(state.last_copy) > timedelta(days=off.alert_days):
        last = f"last: {ago(state.last_copy, now)}" if state.last_copy else "there has been none yet"
        left = f"; {size(state.to_send)} still to send" if state.to_send else ""
        found.append(Alert("warning", "offsite_stale", "No recent offsite copy",
                           f"No offsite copy completed in the last {off.alert_days} days ({last}{left})",
                           "see the job log; a first copy over a slow line takes several nights"))
    return found


# --- gathering ------------------------------------------------------------------------------------


def gather(settings: Settings, sources: Sources) -> dict[str, Any]:
    """``offsite`` (an :class:`OffsiteState`) for :class:`engine.status.State`, when offsite
    copies are on; nothing otherwise."""
    if not settings.offsite.enabled:
        return {}
    runs = [r for r in history(JOB, 200) if r.result in ("ok", "incomplete")]
    complete = next((r for r in runs if r.result == "ok"), None)
    found: dict[str, Any] = {"last_copy": complete.finished if complete else None,
                             "last_run": runs[0].finished if runs else None}
    if settings.offsite.location.strip():
        found.update(still_to_send(settings, sources))
    return {"offsite": OffsiteState(**found)}


def still_to_send(settings: Settings, sources: Sources) -> dict[str, Any]:
    """``to_send`` and ``snapshots_missing`` (what the bucket lacks), or ``problem`` (the bucket
    cannot be read) or ``main_problem`` (the main repository cannot be read). Read under the main
    repository's reading lock, as a copy reads it (a prune meanwhile would make it say wrong things);
    when a prune holds it, nothing (unknown). Requests are retried for ``STATUS_RETRY_SECONDS`` at most:
    a status must not stall while the internet is down."""
    from ..repository.s3 import retrying_at_most

    with retrying_at_most(STATUS_RETRY_SECONDS):
        try:
            source = _opened(settings.repository, sources)
        except (OdbackupError, OSError) as exc:
            return {"main_problem": _words(exc)}
        try:
            target, have = _bucket(settings, sources)
        except (OdbackupError, OSError) as exc:
            return {"problem": _words(exc)}
        return _compared(source, target, have)


def _opened(location: str, sources: Sources) -> Repository:
    from ..credentials import open_repository

    return open_repository(location, sources, full=False)


def _bucket(settings: Settings, sources: Sources) -> tuple[Repository, set[str]]:
    """The offsite repository, with its snapshots and index read (so what fails later is the main's)."""
    target = _opened(settings.offsite.location, sources)
    have = {name.split("/", 1)[1] for name, _size in target.backend.list("snapshots")}
    target.index  # noqa: B018 (read now, to say it is the bucket that failed)
    return target, have


def _compared(source: Repository, target: Repository, have: set[str]) -> dict[str, Any]:
    from ..repository.copy import planned_bytes

    try:
        with source.reading("offsite status"):
            missing = sum(1 for s in source.snapshots() if s.snapshot_id not in have)
            return {"to_send": planned_bytes(source, target) if missing else 0, "snapshots_missing": missing}
    except RepositoryLocked:
        return {}  # being pruned: unknown until the next look, which is no problem
    except (OdbackupError, OSError) as exc:
        return {"main_problem": _words(exc)}


def _words(exc: OdbackupError | OSError) -> str:
    if isinstance(exc, OdbackupError):
        return exc.message
    return f"{exc.strerror or exc}"
