"""What a snapshot stores, as typed records: its stats, its sources, its folder and database trees.

Each record reads its JSON with ``from_json`` and writes it back with ``to_json``, exactly: for
every document this version or an older one wrote, ``to_json(from_json(doc))`` gives the same
JSON, key order included (the snapshot header is written without sorted keys, so order is part of
its bytes; bodies and trees are canonical JSON with sorted keys). docs/FORMAT.md sections 8 and 11
describe the same keys.

Compatibility, decided once for every record here:

- a key added after the first release of the format is *optional*: a document without it reads
  as ``None`` (or ``False`` for a flag), and ``to_json`` leaves it out again, so "not recorded"
  (an old snapshot) stays distinct from zero;
- a key this version does not know (written by a newer one) is *kept*, in ``extra``, and written
  back after the known keys: nothing a newer version stored is lost by reading it here;
- a source of a kind this version does not know is kept whole as an :class:`OtherSource`
  (readers skip it, as FORMAT.md section 8.1 says).

Names are not checked here: :mod:`engine.repository.names` checks a body or tree before it is read.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar

Json = dict[str, Any]
Content = tuple[tuple[str, int], ...]
"""A file's or table's chunks in order: (data blob ID as hex, length)."""


class _Record(Protocol):
    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Any: ...


R = TypeVar("R", bound=_Record)


def parse(cls: type[R], doc: Any) -> R:
    """``cls.from_json(doc)``, where a document missing a key or of the wrong shape (damaged, or
    forged) is a :class:`ValueError`, as malformed JSON is."""
    try:
        return cls.from_json(doc)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"a malformed {cls.__name__} ({type(exc).__name__}: {exc})") from exc


def _extra(doc: Mapping[str, Any], known: tuple[str, ...]) -> dict[str, Any]:
    """The keys of ``doc`` this version does not know, in their order."""
    return {k: v for k, v in doc.items() if k not in known}


def _optional(doc: dict[str, Any], **values: Any) -> None:
    """Add each value that is not None to ``doc``."""
    doc.update({k: v for k, v in values.items() if v is not None})


def _content(items: Any) -> Content:
    return tuple((str(c), int(n)) for c, n in items)


def _content_json(content: Content) -> list[list[Any]]:
    return [[c, n] for c, n in content]


# --- the snapshot header ----------------------------------------------------------------------


@dataclass(frozen=True)
class SnapshotStats:
    """A snapshot's figures (the header's ``stats``): readable with machine credentials."""

    files: int
    """Files backed up (from all folder sources)."""
    bytes: int
    """Their size in bytes."""
    bytes_added: int
    """Bytes of new content this run added (before compression and sealing)."""
    bytes_stored: int
    """Bytes this run wrote to the repository (packs, index)."""
    duration: float
    """Seconds the run took, rounded to milliseconds."""
    skipped: int
    """Files and tables not backed up (the body's ``skipped`` names them)."""
    databases: int | None = None
    """Database sources (None: a snapshot from before databases were counted)."""
    db_tables: int | None = None
    """Tables backed up, over all databases."""
    db_rows: int | None = None
    """Rows backed up, over all databases."""
    db_bytes: int | None = None
    """Bytes of table streams backed up, over all databases."""
    lock_window: float | None = None
    """Seconds the office's writes were or could have been blocked, summed over the databases
    (``0`` when there were none)."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Keys written by a newer version, kept as they were."""

    ORDER: ClassVar[tuple[str, ...]] = ("files", "bytes", "databases", "db_tables", "db_rows", "db_bytes",
                                        "lock_window", "bytes_added", "bytes_stored", "duration", "skipped")
    REQUIRED: ClassVar[tuple[str, ...]] = ("files", "bytes", "bytes_added", "bytes_stored", "duration", "skipped")

    @property
    def backed_up_bytes(self) -> int:
        """What the snapshot backed up: its folders' files and its databases' tables."""
        return self.bytes + (self.db_bytes or 0)

    def to_json(self) -> Json:
        doc: Json = {}
        for key in self.ORDER:
            value = getattr(self, key)
            if value is not None:
                doc[key] = value
        return doc | dict(self.extra)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> SnapshotStats:
        missing = [k for k in cls.REQUIRED if k not in doc]
        if missing:
            raise ValueError(f"snapshot stats without {', '.join(missing)}")
        # values are taken as stored (no int()/float()): 0 and 0.0 are different bytes
        return cls(**{k: doc[k] for k in cls.ORDER if k in doc}, extra=_extra(doc, cls.ORDER))


# --- the snapshot body: sources and skipped ---------------------------------------------------


@dataclass(frozen=True)
class FolderSource:
    """A folder in a snapshot."""

    name: str
    """Its name in the snapshot (the last path component; ``Name-2`` for a duplicate)."""
    path: str
    """Its absolute path on the machine that backed it up."""
    tree: str
    """Hex ID of its tree blob."""
    mode: int
    """Permission bits of the folder itself."""
    mtime_ns: int
    """Its modification time, nanoseconds since the epoch."""
    extra: Mapping[str, Any] = field(default_factory=dict)

    kind: ClassVar[str] = "folder"
    KEYS: ClassVar[tuple[str, ...]] = ("kind", "name", "path", "tree", "mode", "mtime_ns")

    @property
    def where(self) -> str:
        return self.path

    def to_json(self) -> Json:
        return {"kind": self.kind, "name": self.name, "path": self.path, "tree": self.tree, "mode": self.mode,
                "mtime_ns": self.mtime_ns} | dict(self.extra)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> FolderSource:
        return cls(doc["name"], doc["path"], doc["tree"], doc["mode"], doc["mtime_ns"], _extra(doc, cls.KEYS))


@dataclass(frozen=True)
class DatabaseSource:
    """A database in a snapshot (FORMAT.md section 11)."""

    name: str
    """The database's name on its server (``opendental``)."""
    server: str
    """``host:port`` as the backup reached it."""
    server_version: str
    """The server's ``VERSION()``."""
    tree: str
    """Hex ID of its database tree blob."""
    lock_mode: str
    """How it was locked: ``consistent`` or ``per-table``."""
    lock_window: float
    """Seconds the office's writes were or could have been blocked by its locks."""
    tables: int
    """Tables backed up."""
    rows: int
    """Rows backed up."""
    bytes: int
    """Bytes of table streams backed up."""
    user: str | None = None
    """The account the backup connected as (None: a snapshot from before it was recorded)."""
    extra: Mapping[str, Any] = field(default_factory=dict)

    kind: ClassVar[str] = "database"
    KEYS: ClassVar[tuple[str, ...]] = ("kind", "name", "server", "user", "server_version", "tree", "lock_mode",
                                       "lock_window", "tables", "rows", "bytes")

    @property
    def where(self) -> str:
        return f"{self.server}/{self.name}"

    def to_json(self) -> Json:
        doc: Json = {"kind": self.kind, "name": self.name, "server": self.server}
        _optional(doc, user=self.user)
        return doc | {"server_version": self.server_version, "tree": self.tree, "lock_mode": self.lock_mode,
                      "lock_window": self.lock_window, "tables": self.tables, "rows": self.rows,
                      "bytes": self.bytes} | dict(self.extra)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> DatabaseSource:
        return cls(doc["name"], doc["server"], doc["server_version"], doc["tree"], doc["lock_mode"],
                   doc["lock_window"], doc["tables"], doc["rows"], doc["bytes"], doc.get("user"),
                   _extra(doc, cls.KEYS))


@dataclass(frozen=True)
class OtherSource:
    """A source of a kind this version does not know: kept whole, skipped by every reader."""

    doc: Mapping[str, Any]

    @property
    def kind(self) -> str:
        return str(self.doc.get("kind"))

    @property
    def name(self) -> str:
        return str(self.doc.get("name", ""))

    @property
    def where(self) -> str:
        return str(self.doc.get("path") or self.name)

    def to_json(self) -> Json:
        return dict(self.doc)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> OtherSource:
        return cls(dict(doc))


Source = FolderSource | DatabaseSource | OtherSource


def source_from_json(doc: Mapping[str, Any]) -> Source:
    """The record for one entry of a body's ``sources``, by its ``kind``."""
    kinds: dict[str, Any] = {"folder": FolderSource, "database": DatabaseSource}
    return kinds.get(doc.get("kind"), OtherSource).from_json(doc)  # type: ignore[arg-type]


@dataclass(frozen=True)
class SkippedEntry:
    """A file or table a run could not back up (or that changed while it was read), and why."""

    path: str
    """A file's path, or ``database.table``."""
    reason: str

    def to_json(self) -> Json:
        return {"path": self.path, "reason": self.reason}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> SkippedEntry:
        return cls(doc["path"], doc["reason"])


@dataclass(frozen=True)
class SnapshotBody:
    """A snapshot's body (sealed to the repository key): what it holds."""

    program: str
    """The program and version that wrote it (``odbackup 0.1.0``)."""
    sources: tuple[Source, ...]
    skipped: tuple[SkippedEntry, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    KEYS: ClassVar[tuple[str, ...]] = ("program", "sources", "skipped")

    @property
    def folders(self) -> tuple[FolderSource, ...]:
        return tuple(s for s in self.sources if isinstance(s, FolderSource))

    @property
    def databases(self) -> tuple[DatabaseSource, ...]:
        return tuple(s for s in self.sources if isinstance(s, DatabaseSource))

    def to_json(self) -> Json:
        return {"program": self.program, "sources": [s.to_json() for s in self.sources],
                "skipped": [s.to_json() for s in self.skipped]} | dict(self.extra)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> SnapshotBody:
        return cls(doc["program"], tuple(source_from_json(s) for s in doc["sources"]),
                   tuple(SkippedEntry.from_json(s) for s in doc["skipped"]), _extra(doc, cls.KEYS))


# --- folder trees (FORMAT.md 8.2) -------------------------------------------------------------


@dataclass(frozen=True)
class TreeNode:
    """One entry of a folder's tree blob: a file, a folder (``dir``) or a symbolic link."""

    name: str
    type: str
    """``file``, ``dir`` or ``symlink``."""
    mode: int
    mtime_ns: int
    size: int | None = None
    """A file's size (files only)."""
    content: Content | None = None
    """A file's chunks (files only)."""
    subtree: str | None = None
    """A folder's tree blob, hex (folders only)."""
    target: str | None = None
    """A link's target (links only)."""
    changed_while_read: bool = False
    """The file changed while it was read: its copy may be inconsistent."""
    extra: Mapping[str, Any] = field(default_factory=dict)

    KEYS: ClassVar[tuple[str, ...]] = ("name", "type", "mode", "mtime_ns", "size", "content", "subtree", "target",
                                       "changed_while_read")

    def to_json(self) -> Json:
        doc: Json = {"name": self.name, "type": self.type, "mode": self.mode, "mtime_ns": self.mtime_ns}
        _optional(doc, size=self.size, content=None if self.content is None else _content_json(self.content),
                  subtree=self.subtree, target=self.target, changed_while_read=self.changed_while_read or None)
        return doc | dict(self.extra)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> TreeNode:
        content = doc.get("content")
        return cls(doc["name"], doc["type"], doc["mode"], doc["mtime_ns"], doc.get("size"),
                   None if content is None else _content(content), doc.get("subtree"), doc.get("target"),
                   bool(doc.get("changed_while_read", False)), _extra(doc, cls.KEYS))


@dataclass(frozen=True)
class FolderTree:
    """A folder's tree blob: its entries, sorted by name."""

    nodes: tuple[TreeNode, ...]
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> Json:
        return {"nodes": [n.to_json() for n in self.nodes]} | dict(self.extra)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> FolderTree:
        return cls(tuple(TreeNode.from_json(n) for n in doc["nodes"]), _extra(doc, ("nodes",)))


# --- database trees (FORMAT.md 11) ------------------------------------------------------------


@dataclass(frozen=True)
class TableNode:
    """One table of a database tree: its definition and its stream's chunks."""

    name: str
    engine: str
    create: str
    """``SHOW CREATE TABLE``, read before any lock."""
    stream: Mapping[str, Any]
    """The stream's layout (``engine.database.stream.StreamSpec.to_json``)."""
    rows: int
    bytes: int
    """Length of the stream."""
    checksum: str
    """BLAKE3 hex of the stream (of its parts' digests when in ``parts``)."""
    auto_increment: int | None
    """The counter read under the lock (None: the table has none)."""
    content: Content
    parts: tuple[tuple[int, int], ...] | None = None
    """``(rows, chunks)`` per part, when the table was read in parts."""
    rows_elsewhere: bool = False
    """The engine holds no rows of its own: only the definition is backed up."""
    extra: Mapping[str, Any] = field(default_factory=dict)

    KEYS: ClassVar[tuple[str, ...]] = ("name", "engine", "create", "stream", "rows", "bytes", "checksum",
                                       "auto_increment", "content", "parts", "rows_elsewhere")

    def to_json(self) -> Json:
        doc: Json = {"name": self.name, "engine": self.engine, "create": self.create, "stream": dict(self.stream),
                     "rows": self.rows, "bytes": self.bytes, "checksum": self.checksum,
                     "content": _content_json(self.content), "auto_increment": self.auto_increment}
        _optional(doc, rows_elsewhere=self.rows_elsewhere or None,
                  parts=None if self.parts is None else [list(p) for p in self.parts])
        return doc | dict(self.extra)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> TableNode:
        parts = doc.get("parts")
        return cls(doc["name"], doc["engine"], doc["create"], dict(doc["stream"]), doc["rows"], doc["bytes"],
                   doc["checksum"], doc["auto_increment"], _content(doc["content"]),
                   None if parts is None else tuple((int(r), int(c)) for r, c in parts),
                   bool(doc.get("rows_elsewhere", False)), _extra(doc, cls.KEYS))


@dataclass(frozen=True)
class DatabaseTree:
    """A database source's tree blob: the database, its tables and its programs."""

    database: str
    charset: str
    collation: str
    server_version: str
    tables: tuple[TableNode, ...]
    programs: tuple[Mapping[str, Any], ...]
    """Views, routines, triggers, events (``engine.database.schema.Program.to_json``)."""
    extra: Mapping[str, Any] = field(default_factory=dict)

    KEYS: ClassVar[tuple[str, ...]] = ("database", "charset", "collation", "server_version", "tables", "programs")

    def to_json(self) -> Json:
        return {"database": self.database, "charset": self.charset, "collation": self.collation,
                "server_version": self.server_version, "tables": [t.to_json() for t in self.tables],
                "programs": [dict(p) for p in self.programs]} | dict(self.extra)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> DatabaseTree:
        return cls(doc["database"], doc["charset"], doc["collation"], doc["server_version"],
                   tuple(TableNode.from_json(t) for t in doc["tables"]),
                   tuple(dict(p) for p in doc["programs"]), _extra(doc, cls.KEYS))
