"""Open Dental's own Supplemental Backups settings, read from its ``preference`` table.

Open Dental 19.3 and later keep three preferences for the nightly encrypted
copy its eConnector makes (``OpenDentBusiness/TableTypes/Pref.cs``):

- ``SupplementalBackupEnabled``: ``1`` or ``0`` ("Supplemental Backups Enabled");
- ``SupplementalBackupDateLastComplete``: when the last copy to the network path
  finished (``0001-01-01 00:00:00`` until one has; "Date/Time Last Local
  Supplemental");
- ``SupplementalBackupNetworkPath``: the "Backup Copy Network Path" (a UNC path),
  empty when none is set.

odbackup only reads them (a ``READ ONLY`` session, one SELECT): it shows them
beside its own supplemental copy and never turns Open Dental's off.
"""
from __future__ import annotations

from dataclasses import dataclass

PREFS = ("SupplementalBackupEnabled", "SupplementalBackupDateLastComplete", "SupplementalBackupNetworkPath")
READ, NO_PREFS, NOT_OPEN_DENTAL, NOT_READ = "read", "no supplemental settings", "not open dental", "could not read"
NEVER = "0001-01-01"
"""How Open Dental writes "never" in a date (its ``DateTime.MinValue``)."""


@dataclass(frozen=True)
class OpenDentalSupplemental:
    """Open Dental's Supplemental Backups settings as its database holds them."""

    state: str
    """``read``; ``no supplemental settings`` (an Open Dental older than 19.3);
    ``not open dental``; ``could not read`` (``note`` says why)."""
    enabled: bool | None = None
    last_complete: str = ""
    """``YYYY-MM-DD HH:MM:SS`` as Open Dental wrote it (the office's local time); empty: never."""
    network_path: str = ""
    note: str = ""

    def words(self) -> list[tuple[str, str]]:
        """(label, value) with the manual's labels, for a screen or ``odbackup status``."""
        if self.state != READ:
            return [("Open Dental's Supplemental Backups", self.note)]
        return [("Supplemental Backups Enabled", "yes" if self.enabled else "no"),
                ("Date/Time Last Local Supplemental", self.last_complete or "never"),
                ("Backup Copy Network Path", self.network_path or "(none)")]


def read_preferences(conn, database: str) -> OpenDentalSupplemental:
    """The three preferences of ``database`` (plain SELECTs on an open connection)."""
    with conn.cursor() as cur:
        cur.execute("SELECT LOWER(COLUMN_NAME) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s"
                    " AND LOWER(TABLE_NAME) = 'preference'", (database,))
        if not {"prefname", "valuestring"} <= {row[0] for row in cur.fetchall()}:
            return OpenDentalSupplemental(NOT_OPEN_DENTAL, note="not an Open Dental database (it has no "
                                          "preference table)")
        db = "`" + database.replace("`", "``") + "`"
        cur.execute(f"SELECT PrefName, ValueString FROM {db}.preference WHERE PrefName IN (%s, %s, %s)", PREFS)
        values = {str(name).lower(): str(value or "") for name, value in cur.fetchall()}
    if not values:
        return OpenDentalSupplemental(NO_PREFS, note="the database holds no Supplemental Backups settings "
                                      "(Open Dental added them in version 19.3)")
    last = values.get(PREFS[1].lower(), "").strip()
    return OpenDentalSupplemental(READ, enabled=values.get(PREFS[0].lower(), "").strip() == "1",
                                  last_complete="" if not last or last.startswith(NEVER) else last,
                                  network_path=values.get(PREFS[2].lower(), "").strip())


def read_live(target) -> OpenDentalSupplemental:
    """The preferences of the live database ``target.database`` (read-only session). A database
    that cannot be read gives a result saying so, never an error."""
    import pymysql

    from ..database.connection import connect, translate
    from ..errors import OdbackupError

    database = target.database or ""
    try:
        conn = connect(target, database=database)
        try:
            with conn.cursor() as cur:
                cur.execute("SET SESSION TRANSACTION READ ONLY")
            return read_preferences(conn, database)
        except pymysql.err.MySQLError as exc:
            raise translate(exc, target, database) from None
        finally:
            conn.close()
    except (OdbackupError, OSError) as exc:
        return OpenDentalSupplemental(NOT_READ, note=f"they could not be read ({exc})")
