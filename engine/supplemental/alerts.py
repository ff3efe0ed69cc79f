"""The supplemental copy's state and alerts, and Open Dental's admins without a password.

As in :mod:`engine.status`: :func:`gather` reads (the run records, the path's
place, the supplemental repository's verifications with machine credentials,
Open Dental's own preferences, the admin audit) and never raises; :func:`alerts`
is the pure policy, called by :func:`engine.status.alerts`.

The supplemental alerts concern setups that back up a database (the copy is
the database's last resort): off; on with no Backup Copy Network Path; the path
out of reach; no copy in the last 48 hours; its verification failed, or none in
30 days (the dashboard asks for a verify-restore of it monthly). A failed run is
said by the status's own run alerts, in the log's words.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..events import AdminPasswordsChecked
from ..opendental.supplemental import OpenDentalSupplemental
from ..places import DestinationCheck, check_destination
from ..runlog import history
from ..words import ago, when

if TYPE_CHECKING:
    from ..credentials import Sources
    from ..settings import Settings
    from ..status import Alert

COPY_MAX_AGE = timedelta(hours=48)
"""How old the newest supplemental copy may be."""
VERIFY_MAX_AGE = timedelta(days=30)
"""How often the dashboard asks for a verify-restore of the supplemental copy."""
JOB = "supplemental"


@dataclass(frozen=True)
class SupplementalState:
    """What the supplemental alerts and the Supplemental screen are decided from."""

    destination: DestinationCheck | None = None
    """The Backup Copy Network Path's place now (None: no path set)."""
    last_copy: str | None = None
    """When the newest successful supplemental run finished (None: never)."""
    last_snapshot: str | None = None
    verified_at: str | None = None
    """When the supplemental repository's newest verification was made (None: never, or unknown)."""
    verified_ok: bool | None = None
    repository_problem: str | None = None
    """Why the supplemental repository could not be read (None: it could, or there is no path)."""
    open_dental: OpenDentalSupplemental | None = None
    """Open Dental's own Supplemental Backups settings (None: not read)."""


# --- the policy ---------------------------------------------------------------------------------


def alerts(settings: Settings, supp: SupplementalState | None, admins: AdminPasswordsChecked | None,
           now: datetime) -> list[Alert]:
    """The supplemental copy's alerts (when ``supp`` was gathered and a database is backed up),
    then Open Dental's admin users without a password."""
    found = [] if supp is None or settings.database is None else _copy_alerts(settings, supp, now)
    return found + admin_alerts(admins)


def _copy_alerts(settings: Settings, supp: SupplementalState, now: datetime) -> list[Alert]:
    from ..status import Alert

    config = settings.supplemental
    if not config.enabled:
        theirs = supp.open_dental
        also = (" (Open Dental's own Supplemental Backups are on, but they are not verified and leave the "
                "images out)") if theirs is not None and theirs.enabled else ""
        return [Alert("warning", "supplemental_off", "Supplemental copy off",
                      f"Supplemental copies are off: no verified last-resort copy is kept at a Backup Copy "
                      f"Network Path{also}", "turn them on in the Supplemental screen")]
    if not config.path.strip():
        return [Alert("warning", "supplemental_no_path", "No Backup Copy Network Path",
                      "Supplemental copies are on but no Backup Copy Network Path is set",
                      "set it in the Supplemental screen")]
    if supp.destination is not None and not supp.destination.exists:
        return [Alert("critical", "supplemental_unreachable", "Supplemental path unreachable",
                      f"The Backup Copy Network Path {config.path} cannot be reached",
                      "connect the network share")] + _stale(supp, now)
    return _stale(supp, now) + _verify(supp, now)


def _stale(supp: SupplementalState, now: datetime) -> list[Alert]:
    from ..status import Alert

    if supp.last_copy is not None and now - when(supp.last_copy) <= COPY_MAX_AGE:
        return []
    last = f" (last: {ago(supp.last_copy, now)})" if supp.last_copy else " (there has been none yet)"
    return [Alert("warning", "supplemental_stale", "No recent supplemental copy",
                  f"No supplemental copy in the last 48 hours{last}", "see the job log")]


def _verify(supp: SupplementalState, now: datetime) -> list[Alert]:
    from ..status import Alert

    if supp.last_copy is None:
        return []
    if supp.verified_ok is False:
        return [Alert("critical", "supplemental_verify_failed", "Supplemental verification failed",
                      f"The last verification of the supplemental copy FAILED ({ago(supp.verified_at or '', now)})",
                      "see its report, then make a new supplemental copy and verify it")]
    if supp.verified_at is None or now - when(supp.verified_at) > VERIFY_MAX_AGE:
        last = f"last: {ago(supp.verified_at, now)}" if supp.verified_at else "never"
        return [Alert("warning", "supplemental_verify_due", "Verify the supplemental copy",
                      f"The supplemental copy has not been verified this month ({last})",
                      "verify a restore of it (Supplemental screen, or odbackup verify --repo PATH)")]
    return []


def admin_alerts(admins: AdminPasswordsChecked | None) -> list[Alert]:
    """Open Dental's admin users without a password (engine.opendental.admins)."""
    from ..opendental.admins import HINT, finding
    from ..status import Alert

    said = finding(admins) if admins is not None else None
    if said is None:
        return []
    return [Alert("warning", "admin_no_password", "Admin without a password", said, HINT)]


# --- gathering ------------------------------------------------------------------------------------


def gather(settings: Settings, sources: Sources, *, database_ok: bool) -> dict[str, Any]:
    """``supplemental`` (a :class:`SupplementalState`) and ``admin_passwords`` for
    :class:`engine.status.State`; the database is asked only when ``database_ok``."""
    if settings.database is None:
        return {}
    found: dict[str, Any] = {}
    od = None
    if database_ok:
        from ..database.connection import resolve_password

        found["admin_passwords"], od = read_open_dental(resolve_password(settings.database.target()))
    found["supplemental"] = gather_copy(settings, sources, od)
    return found


def read_open_dental(target) -> tuple[AdminPasswordsChecked, OpenDentalSupplemental]:
    """The admin audit and Open Dental's Supplemental settings on one read-only connection (a
    server that does not answer costs one wait, not two); never raises."""
    import pymysql

    from ..database.connection import connect, translate
    from ..errors import OdbackupError
    from ..opendental import admins, supplemental

    database = target.database or ""
    try:
        conn = connect(target, database=database)
        try:
            with conn.cursor() as cur:
                cur.execute("SET SESSION TRANSACTION READ ONLY")
            return admins.audit(conn, database), supplemental.read_preferences(conn, database)
        except pymysql.err.MySQLError as exc:
            raise translate(exc, target, database) from None
        finally:
            conn.close()
    except (OdbackupError, OSError) as exc:
        return (AdminPasswordsChecked(database, admins.NOT_READ, note=f"it could not be checked ({exc})"),
                supplemental.OpenDentalSupplemental(supplemental.NOT_READ, note=f"they could not be read ({exc})"))


def gather_copy(settings: Settings, sources: Sources, od: OpenDentalSupplemental | None = None
                ) -> SupplementalState:
    """The supplemental copy's state (never raises)."""
    path = settings.supplemental.path.strip()
    runs = [r for r in history(JOB, 200) if r.result in ("ok", "incomplete") and r.snapshot_id]
    last = runs[0] if runs else None
    state: dict[str, Any] = {"open_dental": od, "last_copy": last.finished if last else None,
                             "last_snapshot": last.snapshot_id if last else None}
    if not path:
        return SupplementalState(**state)
    state["destination"] = place = check_destination(path)
    if place.exists and place.is_repository:
        state.update(_verification(path, sources))
    return SupplementalState(**state)


def _verification(path: str, sources: Sources) -> dict[str, Any]:
    from ..credentials import open_repository
    from ..errors import OdbackupError
    from ..reports import verifications

    try:
        checked = verifications(open_repository(path, sources, full=False))
    except OdbackupError as exc:
        return {"repository_problem": exc.message}
    except OSError as exc:
        return {"repository_problem": f"{exc.strerror or exc}"}
    if not checked:
        return {}
    at, ok = max(checked.values())
    return {"verified_at": at, "verified_ok": ok}
