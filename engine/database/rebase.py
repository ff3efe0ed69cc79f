"""A program's definition moved to the database it is restored into.

The server keeps a trigger's statement as it was typed (``SHOW CREATE TRIGGER``
gives ``CREATE TRIGGER opendental.t AFTER INSERT ON opendental.patient ...``),
and the bodies of routines and events the same way. Replayed verbatim into a new
database, such a trigger would be created in the *original* database (the live
one, on the same server) and a restored event or procedure would write to it.
``mariadb-dump`` files have this problem too.

:func:`rebase` rewrites every reference to the source database by name into the
target's: ``opendental.patient`` becomes ```restored`.patient``. It reads the
statement with a small SQL lexer (strings, comments, quoted identifiers; the
``ANSI_QUOTES`` and ``NO_BACKSLASH_ESCAPES`` modes), so a string or a comment
that mentions the name is left alone. A qualifier is a name followed by ``.``
and another name. Where the database's name is also the name of one of its
tables, ``name.x`` may mean that table's column ``x``; such two-part names are
rewritten only after FROM, JOIN, INTO, UPDATE, TABLE or CALL, where they name a
table or routine (three-part names, ``db.table.column``, always). ``@name.x`` is
a user variable and stays.
Names of databases compare without regard to case, as on Windows servers.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from .schema import quote_ident

_IDENT_CHAR = r"[0-9A-Za-z_$\u0080-\uffff]"
_BARE = re.compile(_IDENT_CHAR + "+")
_SPACE = re.compile(r"\s+")
_EXECUTABLE = re.compile(r"/\*M?!\d*")  # an executable comment's marker and version


@dataclass(frozen=True)
class _Token:
    kind: str  # "name" (bare or quoted), "dot", "space", "other"
    text: str
    value: str = ""  # for names: the identifier itself, unquoted


def _quoted(sql: str, at: int, quote: str, backslash: bool) -> int:
    """The end (exclusive) of the quoted text starting at ``at``; a doubled quote stays inside."""
    i = at + 1
    while i < len(sql):
        c = sql[i]
        if backslash and c == "\\":
            i += 2
            continue
        if c == quote:
            if i + 1 < len(sql) and sql[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    return len(sql)


def _match_end(pattern: re.Pattern[str], sql: str, i: int) -> int:
    """Where ``pattern``, known to match at ``i``, ends."""
    match = pattern.match(sql, i)
    assert match is not None
    return match.end()


def tokens(sql: str, sql_mode: str = "") -> Iterator[_Token]:
    """The statement's tokens; joined, they give back ``sql`` exactly."""
    modes = {m.strip().upper() for m in sql_mode.split(",")}
    ansi_quotes = "ANSI_QUOTES" in modes or "ANSI" in modes
    backslash = "NO_BACKSLASH_ESCAPES" not in modes
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c.isspace():
            end = _match_end(_SPACE, sql, i)
            yield _Token("space", sql[i:end])
        elif c == "#" or (sql.startswith("--", i) and (i + 2 == n or sql[i + 2].isspace())):
            end = sql.find("\n", i)
            end = n if end < 0 else end + 1
            yield _Token("space", sql[i:end])
        elif sql.startswith("/*", i):
            if sql.startswith("/*!", i) or sql.startswith("/*M!", i):
                # executable comment: its marker and version are skipped, its text is SQL
                end = _match_end(_EXECUTABLE, sql, i)
                yield _Token("other", sql[i:end])
            else:
                end = sql.find("*/", i + 2)
                end = n if end < 0 else end + 2
                yield _Token("space", sql[i:end])
        elif c == "`" or (c == '"' and ansi_quotes):
            end = _quoted(sql, i, c, backslash=False)
            yield _Token("name", sql[i:end], sql[i + 1 : end - 1].replace(c * 2, c))
        elif c in "'\"":
            end = _quoted(sql, i, c, backslash)
            yield _Token("other", sql[i:end])
        elif c == ".":
            end = i + 1
            yield _Token("dot", ".")
        elif _BARE.match(sql, i):
            end = _match_end(_BARE, sql, i)
            word = sql[i:end]
            yield _Token("other" if word[0].isdigit() and word.isdigit() else "name", word, word)
        else:
            end = i + 1
            yield _Token("other", c)
        i = end


def rebase(sql: str, source: str, target: str, *, sql_mode: str = "",
           table_names: frozenset[str] = frozenset()) -> str:
    """``sql`` with each qualifier naming database ``source`` naming ``target`` instead.
    ``table_names``: the database's tables and views, lower-cased (see the module)."""
    if source == target:
        return sql
    toks = list(tokens(sql, sql_mode))
    wanted = source.lower()
    ambiguous = wanted in table_names
    out: list[str] = []
    for i, tok in enumerate(toks):
        # not the second part of x.name, nor @name.x (a user variable)
        if tok.kind == "name" and tok.value.lower() == wanted and _previous(toks, i) not in (".", "@"):
            parts = _qualified_parts(toks, i)
            if parts >= 3 or (parts == 2 and (not ambiguous or _previous(toks, i).upper() in TABLE_WORDS)):
                out.append(quote_ident(target))
                continue
        out.append(tok.text)
    return "".join(out)


TABLE_WORDS = frozenset({"FROM", "JOIN", "INTO", "UPDATE", "TABLE", "CALL"})
"""Words after which ``a.b`` names a table (or routine) of database ``a``, never a column."""


def _previous(toks: list[_Token], i: int) -> str:
    """The text of the token before ``i`` that is not a space or comment ('' at the start)."""
    i -= 1
    while i >= 0 and toks[i].kind == "space":
        i -= 1
    return toks[i].text if i >= 0 else ""


def next_token(toks: list[_Token], i: int) -> int:
    """The index of the next token after ``i`` that is not a space or comment (or len)."""
    i += 1
    while i < len(toks) and toks[i].kind == "space":
        i += 1
    return i


def _qualified_parts(toks: list[_Token], i: int) -> int:
    """How many dotted parts the name at ``i`` starts: 1 (alone), 2 (``a.b``), 3 (``a.b.c``)."""
    parts = 1
    while parts < 3:
        dot = next_token(toks, i)
        if dot >= len(toks) or toks[dot].kind != "dot":
            break
        name = next_token(toks, dot)
        if name >= len(toks) or toks[name].kind != "name":
            break
        parts, i = parts + 1, name
    return parts
