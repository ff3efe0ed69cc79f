"""Open Dental's admin users without a password: read-only SQL over the user tables.

A user is an *admin* when one of its user groups holds the SecurityAdmin
permission (``grouppermission.PermType = 24``, Open Dental's
``EnumPermType.SecurityAdmin``). Its groups come from ``usergroupattach``
(Open Dental 16.x and later) or, in older schemas that lack that table, from
``userod.UserGroupNum``.

A password is *blank* when ``userod.Password`` is NULL, empty, or Open
Dental's hashed form of an empty password, ``None$<salt>$`` (hash type
``None`` and nothing after the second ``$``; its own unit tests call
``None$$`` "the correct format for a blank password"). Anything else (an
``SHA3-512$salt$hash``, a legacy MD5 string) is a password.

Open Dental logs in by itself, with no login window, as the *first* admin
by ``UserName`` that is not hidden, when that user's ``Password`` is NULL or
empty (``Userods.GetFirstSecurityAdminUserNumNoPasswordNoCache``). The audit
names that user in :attr:`AdminPasswordsChecked.auto_login`.

Nothing is written: the session is ``READ ONLY`` and only SELECTs run. Hidden
users are listed too (marked), and so are users that log in through the
Windows domain (``DomainUser``): their password may live there.
"""
from __future__ import annotations

from ..events import AdminPasswordsChecked

SECURITY_ADMIN = 24
"""Open Dental's ``EnumPermType.SecurityAdmin``."""
CHECKED, NOT_OPEN_DENTAL, NO_USERS, NOT_READ = "checked", "not open dental", "no user accounts", "could not check"
PASSWORDS_ONLY = "passwords only"
"""The schema has users but no permission tables: only "does any user lack a password" is known."""
_BLANK = "(u.Password IS NULL OR u.Password = '' OR CAST(u.Password AS BINARY) REGEXP '^None[$][^$]*[$]$')"
_EMPTY = "(u.Password IS NULL OR u.Password = '')"


def _tables(conn, database: str) -> dict[str, set[str]]:
    """The lower-cased columns of the tables the audit reads."""
    with conn.cursor() as cur:
        cur.execute("SELECT LOWER(TABLE_NAME), LOWER(COLUMN_NAME) FROM information_schema.COLUMNS"
                    " WHERE TABLE_SCHEMA = %s AND LOWER(TABLE_NAME) IN"
                    " ('userod', 'usergroupattach', 'grouppermission', 'preference')", (database,))
        found: dict[str, set[str]] = {}
        for table, column in cur.fetchall():
            found.setdefault(table, set()).add(column)
    return found


def _quoted(database: str) -> str:
    return "`" + database.replace("`", "``") + "`"


def audit(conn, database: str) -> AdminPasswordsChecked:
    """The admins of ``database`` without a password (plain SELECTs on an open connection)."""
    columns = _tables(conn, database)
    userod = columns.get("userod", set())
    if not {"username", "password"} <= userod:
        if "preference" in columns:
            return AdminPasswordsChecked(database, NO_USERS, note="this Open Dental database is from before user "
                                         "accounts with passwords (it has no userod table): nothing to check")
        return AdminPasswordsChecked(database, NOT_OPEN_DENTAL, note="not an Open Dental database (it has no "
                                     "userod table of users): no admin passwords to check")
    if "permtype" not in columns.get("grouppermission", set()):
        return _passwords_only(conn, database, userod)
    if {"usernum", "usergroupnum"} <= columns.get("usergroupattach", set()):
        how, join = "usergroupattach", "JOIN {db}.usergroupattach a ON a.UserNum = u.UserNum" \
                                       " JOIN {db}.grouppermission g ON g.UserGroupNum = a.UserGroupNum"
    else:
        how, join = "userod.UserGroupNum", "JOIN {db}.grouppermission g ON g.UserGroupNum = u.UserGroupNum"
    return _admins(conn, database, userod, how, join.format(db=_quoted(database)))


def _flags(userod: set[str]) -> str:
    hidden = "u.IsHidden <> 0" if "ishidden" in userod else "0"
    domain = "COALESCE(u.DomainUser, '') <> ''" if "domainuser" in userod else "0"
    return f"{hidden}, {domain}"


def _admins(conn, database: str, userod: set[str], how: str, join: str) -> AdminPasswordsChecked:
    db = _quoted(database)
    with conn.cursor() as cur:
        # one row per admin, ordered as Open Dental orders its users (by UserName, in the column's collation)
        cur.execute(f"SELECT u.UserName, {_BLANK}, {_EMPTY}, {_flags(userod)} FROM {db}.userod u {join}"
                    f" WHERE g.PermType = {SECURITY_ADMIN} GROUP BY u.UserNum ORDER BY u.UserName, u.UserNum")
        rows = [(str(name or ""), bool(blank), bool(empty), bool(hidden), bool(domain))
                for name, blank, empty, hidden, domain in cur.fetchall()]
    shown = [r for r in rows if not r[3]]
    first = shown[0] if shown else None
    return AdminPasswordsChecked(
        database, CHECKED, admins=len(rows), schema=how,
        without_password=tuple(r[0] for r in rows if r[1]),
        hidden=tuple(r[0] for r in rows if r[1] and r[3]),
        domain=tuple(r[0] for r in rows if r[1] and r[4]),
        auto_login=first[0] if first is not None and first[2] else "")


def _passwords_only(conn, database: str, userod: set[str]) -> AdminPasswordsChecked:
    """No ``grouppermission`` table: who is an admin cannot be told, but a user without a password can."""
    db = _quoted(database)
    with conn.cursor() as cur:
        cur.execute(f"SELECT u.UserName, {_flags(userod)} FROM {db}.userod u WHERE {_BLANK}"
                    " ORDER BY u.UserName, u.UserNum")
        rows = [(str(name or ""), bool(hidden), bool(domain)) for name, hidden, domain in cur.fetchall()]
    note = "this database has no grouppermission table, so which users are admins cannot be told"
    return AdminPasswordsChecked(database, PASSWORDS_ONLY, schema=PASSWORDS_ONLY, note=note,
                                 without_password=tuple(r[0] for r in rows),
                                 hidden=tuple(r[0] for r in rows if r[1]), domain=tuple(r[0] for r in rows if r[2]))


def check_live(target) -> AdminPasswordsChecked:
    """The audit of the live database ``target.database`` (a read-only session). Raises the
    database's errors in plain words (:class:`engine.database.connection.DatabaseError`)."""
    import pymysql

    from ..database.connection import connect, translate

    database = target.database or ""
    conn = connect(target, database=database)
    try:
        with conn.cursor() as cur:
            cur.execute("SET SESSION TRANSACTION READ ONLY")
        return audit(conn, database)
    except pymysql.err.MySQLError as exc:
        raise translate(exc, target, database) from None
    finally:
        conn.close()


def check_quietly(target) -> AdminPasswordsChecked:
    """:func:`check_live`, but a database that cannot be read gives a result saying so (the
    backup's preflight and the status must not stop for it)."""
    from ..errors import OdbackupError

    try:
        return check_live(target)
    except (OdbackupError, OSError) as exc:
        return AdminPasswordsChecked(target.database or "", NOT_READ, note=f"it could not be checked ({exc})")


def check_settings(settings) -> AdminPasswordsChecked | None:
    """The audit for saved settings: None when they back up no database."""
    if settings.database is None:
        return None
    from ..database.connection import resolve_password

    return check_quietly(resolve_password(settings.database.target()))


# --- words ----------------------------------------------------------------------------------------


def _named(names: tuple[str, ...], e: AdminPasswordsChecked) -> str:
    def one(name: str) -> str:
        marks = [m for m, group in (("hidden", e.hidden), ("domain login", e.domain)) if name in group]
        return f"'{name}'" + (f" ({', '.join(marks)})" if marks else "")

    return ", ".join(map(one, names))


def finding(e: AdminPasswordsChecked) -> str | None:
    """What needs a person, in one sentence without its full stop (None: nothing does)."""
    if not e.without_password:
        return None
    n = len(e.without_password)
    who = "user" if e.state == PASSWORDS_ONLY else "admin user"
    said = f"{n} Open Dental {who}{'s' if n != 1 else ''} without a password: {_named(e.without_password, e)}"
    if e.auto_login:
        said += f"; Open Dental opens without a login, as '{e.auto_login}'"
    if e.state == PASSWORDS_ONLY:
        said += f" ({e.note})"
    return said


def summary_words(e: AdminPasswordsChecked) -> str:
    """One sentence: what was checked and found, or why nothing was."""
    found = finding(e)
    if found:
        return found + "."
    if e.state == CHECKED:
        if not e.admins:
            return "Admin passwords: no Open Dental user holds the SecurityAdmin permission."
        return f"Admin passwords: all {e.admins} Open Dental admin user(s) have a password."
    if e.state == PASSWORDS_ONLY:
        return "Admin passwords: every Open Dental user has a password."
    return f"Admin passwords not checked: {e.note}."


HINT = "give each admin user a password in Open Dental (Setup, Security, the user, Change Password)"
