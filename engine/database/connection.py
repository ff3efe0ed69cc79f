"""Connecting to MySQL/MariaDB: URLs, where the password comes from, plain errors.

Password precedence (first that gives one wins):

1. ``ODBACKUP_DB_PASSWORD`` in the environment (scheduled runs, tests);
2. this machine's database credentials file (``<config dir>/db-credentials.json``,
   owner-only), written by ``save_password``;
3. the MySQL option files: ``[client]`` / ``[mysql]`` ``password`` in
   ``~/.my.cnf`` (POSIX) or ``my.ini`` / ``my.cnf`` in ``%PROGRAMDATA%\\MySQL``,
   ``%WINDIR%``, ``C:\\`` (Windows);
4. a prompt, when a person is at the terminal (the CLI passes ``ask``) and the server
   refuses the user without a password (tried first: none is asked for where none is needed);
5. no password.

Never from a command-line argument: a URL with a password is refused.
"""
from __future__ import annotations

import configparser
import functools
import json
import os
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote, urlsplit

import pymysql
import pymysql.cursors

from .. import paths
from ..errors import OdbackupError, UsageError
from . import loadlocal

DEFAULT_PORT = 3306
ENV_PASSWORD = "ODBACKUP_DB_PASSWORD"


class DatabaseError(OdbackupError):
    """The database server reported a problem."""

    title = "Database error"


class ServerUnreachable(DatabaseError):
    """The database server does not answer."""

    title = "Server unreachable"
    hint = "Check that MySQL/MariaDB is running on that machine and the host and port are right."


class AccessDenied(DatabaseError):
    """The database server refused the user name or password."""

    title = "Wrong database credentials"
    hint = "Check the user name and password (Open Dental's are in its FreeDentalConfig.xml)."


class MissingPrivilege(DatabaseError):
    """The database user lacks a privilege odbackup needs."""

    title = "Missing privilege"


class UnknownDatabase(DatabaseError):
    """The database does not exist on that server."""

    title = "Unknown database"
    hint = "Check the database name (Open Dental's is usually 'opendental')."


@dataclass(frozen=True)
class DbTarget:
    """Where a database lives. The password is never shown in repr or logs."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    user: str = "root"
    database: str | None = None
    password: str | None = field(default=None, repr=False, compare=False)

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"

    def url(self) -> str:
        from urllib.parse import quote

        db = f"/{quote(self.database, safe='')}" if self.database else ""
        return f"mysql://{quote(self.user, safe='')}@{self.host}:{self.port}{db}"

    def with_database(self, name: str | None) -> DbTarget:
        return replace(self, database=name)

    def with_password(self, password: str) -> DbTarget:
        return replace(self, password=password)


def parse_url(url: str) -> DbTarget:
    """``mysql://USER@HOST:PORT/DBNAME`` (percent-encoded parts) -> DbTarget."""
    parts = urlsplit(url)
    if parts.scheme not in ("mysql", "mariadb"):
        raise UsageError(f"'{url}' is not a database URL; write mysql://USER@HOST:PORT/DBNAME.")
    if parts.password is not None:
        raise UsageError(
            "A database password may not be written in the URL (others can read command lines).",
            hint=f"Use {ENV_PASSWORD}, the prompt, or the MySQL option file (~/.my.cnf).",
        )
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError as exc:
        raise UsageError(f"The port in '{url}' is not a number: write mysql://USER@HOST:PORT/DBNAME, "
                         "for example mysql://root@127.0.0.1:3306/opendental.") from exc
    database = unquote(parts.path.lstrip("/")) or None
    return DbTarget(
        host=parts.hostname or "127.0.0.1",
        port=port,
        user=unquote(parts.username) if parts.username else "root",
        database=database,
    )


# --- the password -------------------------------------------------------------------


def _credentials_file() -> str:
    return os.path.join(paths.config_dir(), "db-credentials.json")


def _credential_key(target: DbTarget) -> str:
    return f"{target.user}@{target.host}:{target.port}"


def save_password(target: DbTarget, password: str) -> str:
    """Remember the password for this server and user on this machine (owner-only file)."""
    store = _load_store()
    store[_credential_key(target)] = password
    paths.write_private_file(_credentials_file(), json.dumps(store, indent=1).encode())
    return _credentials_file()


def _load_store() -> dict[str, str]:
    try:
        with open(_credentials_file(), encoding="utf-8") as f:
            return dict(json.load(f))
    except FileNotFoundError:
        return {}


def option_file_paths() -> list[str]:
    if os.name == "nt":
        roots = [os.environ.get("PROGRAMDATA", r"C:\ProgramData") + r"\MySQL",
                 os.environ.get("WINDIR", r"C:\Windows"), "C:\\"]
        return [os.path.join(r, n) for r in roots for n in ("my.ini", "my.cnf")]
    return ["/etc/my.cnf", "/etc/mysql/my.cnf", os.path.expanduser("~/.my.cnf")]


def _password_from_option_files() -> str | None:
    found = None
    for path in option_file_paths():
        parser = configparser.ConfigParser(allow_no_value=True, strict=False, interpolation=None)
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, OSError, UnicodeDecodeError):
            continue
        for section in ("client", "mysql"):
            if parser.has_option(section, "password"):
                found = (parser.get(section, "password") or "").strip().strip("'\"")
    return found  # later files override earlier ones, as in the mysql client


def resolve_password(target: DbTarget, ask: Callable[[str], str | None] | None = None) -> DbTarget:
    """Fill in the password by the documented precedence."""
    if target.password is not None:
        return target
    for source in (
        lambda: os.environ.get(ENV_PASSWORD),
        lambda: _load_store().get(_credential_key(target)),
        _password_from_option_files,
        lambda: _ask_if_needed(target, ask),
    ):
        value = source()
        if value is not None:
            return replace(target, password=value)
    return replace(target, password="")


def _ask_if_needed(target: DbTarget, ask: Callable[[str], str | None] | None) -> str | None:
    """A person is asked only when the server refuses the user without a password: where none
    is needed (root with an empty password on a test server) nobody is stopped by a prompt."""
    if ask is None or not refuses_without_password(target):
        return None
    return ask(f"Password for {_credential_key(target)}: ")


# --- connecting ------------------------------------------------------------------------


_WITHOUT_TLS: set[str] = set()
"""Servers (host:port) that answered that they offer no TLS: later connections do not ask again."""


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """TLS whenever the server offers it. Office servers use self-signed
    certificates, so the certificate is not verified (like the mysql client's
    default ``--ssl-mode=PREFERRED``): the link is encrypted, not authenticated.
    So no certificate authorities are loaded (``create_default_context`` would
    read the system's whole bundle, about 0.1 s, on every connection), and one
    context serves every connection."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


_UNKNOWN_THREAD = 1094
_WRONG_CREDENTIALS = (1045, 1698)
"""ER_ACCESS_DENIED_ERROR, and ER_ACCESS_DENIED_NO_PASSWORD_ERROR: how MariaDB refuses a user
whose login goes through another plugin (unix_socket), which on a fresh install is also how
an unknown user is refused. Both mean the user name or the password is wrong."""


def kill_session(conn: pymysql.connections.Connection | None, thread_id: int) -> bool:
    """End a session of ours on the server at once: its statement and its locks go with it.
    False when the KILL could not be sent through ``conn`` (the session may still be there)."""
    if conn is None:
        return False
    try:
        with conn.cursor() as cur:
            cur.execute(f"KILL CONNECTION {int(thread_id)}")
    except pymysql.err.MySQLError as exc:
        return bool(exc.args) and exc.args[0] == _UNKNOWN_THREAD  # already gone: nothing holds a lock
    return True


def one_row(cur: pymysql.cursors.Cursor) -> tuple[Any, ...]:
    """The row of a query that always returns one (``SELECT COUNT(*) ...``, ``SELECT @@...``)."""
    row = cur.fetchone()
    if row is None:
        raise DatabaseError("The database server gave an empty answer to a question that always has one; try again.")
    return row


def connect(target: DbTarget, *, database: str | None = None, **options: object) -> pymysql.connections.Connection:
    """Open a connection (TLS when the server offers it); server errors become
    plain-words :class:`DatabaseError` s. ``LOAD DATA LOCAL`` is allowed (the restore loads
    rows so), and answered only by :mod:`loadlocal`: a server asking any connection for a
    file of this machine (a rogue or impersonated one) is refused."""
    loadlocal.install()
    args: dict[str, Any] = dict(host=target.host, port=target.port, user=target.user, password=target.password or "",
                database=database, charset="utf8mb4", autocommit=True, local_infile=True, connect_timeout=10,
                **options)
    try:
        if target.server not in _WITHOUT_TLS:
            try:
                return pymysql.connect(ssl=_tls_context(), **args)
            except pymysql.err.OperationalError as exc:
                if exc.args[0] != 2026:  # "SSL is required but the server doesn't support it"
                    raise
                _WITHOUT_TLS.add(target.server)
        return pymysql.connect(ssl_disabled=True, **args)
    except pymysql.err.MySQLError as exc:
        raise translate(exc, target, database) from None


_REFUSED = (1045, 1698)
"""Access denied: a wrong password (1045), or MariaDB refusing an unknown user, or one that
signs in another way (unix_socket), without a password (1698)."""


def refuses_without_password(target: DbTarget) -> bool:
    """Whether the server turns ``target``'s user away when no password is given (the one case
    where asking a person for one helps). Any other answer (it lets the user in, it does not
    answer at all) is False: the connection made afterwards reports it in plain words. Asked
    the way :func:`connect` asks (TLS when offered), with pymysql's own error codes."""
    args: dict[str, Any] = dict(host=target.host, port=target.port, user=target.user, password="", connect_timeout=10)
    try:
        if target.server not in _WITHOUT_TLS:
            try:
                pymysql.connect(ssl=_tls_context(), **args).close()
                return False
            except pymysql.err.OperationalError as exc:
                if exc.args[0] != 2026:  # the server offers no TLS
                    raise
        pymysql.connect(ssl_disabled=True, **args).close()
    except pymysql.err.MySQLError as exc:
        return bool(exc.args) and exc.args[0] in _REFUSED
    return False


def translate(exc: Exception, target: DbTarget, database: str | None = None) -> DatabaseError:
    """A pymysql error -> the engine error a person understands (no password in it)."""
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
    text = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    if code in (2003, 2002, 2006, 2013) and "Lost connection" not in text:
        return ServerUnreachable(f"The database server at {target.server} does not answer ({text}).")
    if code in _WRONG_CREDENTIALS:
        return AccessDenied(f"The server at {target.server} refused user '{target.user}' (wrong password?).")
    if code == 1049:
        return UnknownDatabase(f"There is no database '{database}' on {target.server}.")
    if code in (1044, 1142, 1143, 1227, 1370, 1419):
        return MissingPrivilege(
            f"The user '{target.user}' lacks a privilege: {text}",
            hint=f"Grant it, e.g. GRANT {privilege_named(text)} ON *.* TO '{target.user}'@'%'.",
        )
    if code in (2013, 2006):
        return DatabaseError(f"The connection to {target.server} was lost ({text}).",
                             hint="The server may have restarted, or the connection was killed.")
    return DatabaseError(f"{target.server}: {text} (error {code})")


def privilege_named(message: str) -> str:
    """Best guess of the privilege a server error message is about."""
    upper = message.upper()
    for name in ("RELOAD", "LOCK TABLES", "SHOW VIEW", "TRIGGER", "EVENT", "PROCESS", "SUPER",
                 "SELECT", "CREATE ROUTINE", "CREATE", "INSERT", "DROP", "FILE"):
        if name in upper:
            return name
    return "the privilege named above"
