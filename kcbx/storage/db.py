"""The database behind the repositories: a SQLite file (one county, the default) or a
PostgreSQL server (a province), selected by the target (``KCBX_DB``).

The repositories write one SQL for both: ``?`` placeholders, ``INSERT ... ON CONFLICT``, no
functions of one engine only. This module is the SQLite side (WAL, foreign keys, one
connection and a write lock); :mod:`kcbx.storage.connection.postgres` is the other, and
translates what differs. Both apply the numbered migrations recorded in ``schema_version``.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

import aiosqlite

from kcbx.storage.connection.group_commit import CommitGroup, GroupCommitter

log = logging.getLogger(__name__)
_T = TypeVar("_T")

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
# durability setting -> PRAGMA synchronous: "full" syncs the WAL at every commit, so a write
# a person is told is saved survives a power cut; "normal" only at checkpoints.
SYNCHRONOUS = {"full": "FULL", "normal": "NORMAL"}

# NNNN_name.sql is the migration; NNNN_name.pg.sql or NNNN_name.sqlite.sql, beside it, is what
# that dialect applies instead where the portable SQL cannot say it.
_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)(?:\.(pg|sqlite))?\.sql$")
_VARIANT = {SQLITE: "sqlite", POSTGRESQL: "pg"}


class Row(Protocol):
    """A result row: by column name (``row["id"]``) or position (``row[0]``), like a tuple."""

    def __getitem__(self, key: int | str, /) -> Any: ...
    def __iter__(self) -> Iterator[Any]: ...
    def __len__(self) -> int: ...
    def keys(self) -> Any: ...


class IntegrityError(Exception):
    """A constraint refused a write (unique, foreign key, check, not null), on either engine."""


@contextmanager
def refused(*driver_errors: type[Exception]) -> Iterator[None]:
    """The driver's constraint errors, raised as :class:`IntegrityError`."""
    try:
        yield
    except driver_errors as exc:
        raise IntegrityError(str(exc)) from exc


def _integrity(error: Exception) -> Exception:
    """A COMMIT's error as callers see it: a refused constraint as :class:`IntegrityError`."""
    return IntegrityError(str(error)) if isinstance(error, sqlite3.IntegrityError) else error


def is_postgres(target: str | Path) -> bool:
    """Whether a database target names a PostgreSQL server (``postgresql://...``)."""
    return str(target).startswith(("postgresql://", "postgres://"))


def shown(target: str | Path) -> str:
    """A target fit to print: a PostgreSQL URL without its password."""
    text = str(target)
    if not is_postgres(text):
        return text
    parts = urlsplit(text)
    if parts.password is None:
        return text
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def sqlite_path(target: str | Path) -> str:
    """The file of a SQLite target: a path, or ``sqlite:PATH`` / ``sqlite:///ABSOLUTE``."""
    text = str(target)
    if text.startswith("sqlite:"):
        text = text[len("sqlite:") :]
        if text.startswith("//"):
            text = text[2:]
    return text


def migration_files(dialect: str = SQLITE) -> list[tuple[int, str, str]]:
    """All shipped migrations as (number, name, sql) in order, with the dialect's variants."""
    base: dict[int, tuple[str, str]] = {}
    variant: dict[int, str] = {}
    for entry in resources.files("kcbx.storage.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if not match:
            continue
        number, text = int(match.group(1)), entry.read_text(encoding="utf-8")
        if match.group(3) is None:
            if number in base:
                raise RuntimeError(f"two migrations share the number {number:04d}")
            base[number] = (entry.name, text)
        elif match.group(3) == _VARIANT[dialect]:
            variant[number] = text
    orphans = sorted(set(variant) - set(base))
    if orphans:
        raise RuntimeError(f"dialect variants without a migration: {orphans}")
    return [(n, name, variant.get(n, sql)) for n, (name, sql) in sorted(base.items())]


def has_variant(number: int, dialect: str) -> bool:
    """Whether migration ``number`` ships its own file for ``dialect`` (applied verbatim)."""
    suffix = f".{_VARIANT[dialect]}.sql"
    return any(
        entry.name.startswith(f"{number:04d}_") and entry.name.endswith(suffix)
        for entry in resources.files("kcbx.storage.migrations").iterdir()
    )


# How Database.open opens a server's target, by dialect: kcbx.storage.connection.postgres registers
# itself (kcbx/storage/__init__.py imports it), so that this module needs no import of it.
_ENGINES: dict[str, Callable[[str, bool], Awaitable[Database]]] = {}


def register_engine(dialect: str, opener: Callable[[str, bool], Awaitable[Database]]) -> None:
    """``opener(target, migrate)`` opens the targets of ``dialect``."""
    _ENGINES[dialect] = opener


# Tests point every database file they open at a PostgreSQL database of its own
# (kcbx.testing.pg); None in production.
_file_redirect: Callable[[str], Awaitable[str]] | None = None


def redirect_files(hook: Callable[[str], Awaitable[str]] | None) -> None:
    """Open every SQLite target through ``hook`` (a target to open instead); None: stop."""
    global _file_redirect
    _file_redirect = hook


async def resolve(target: str | Path) -> str:
    """The target ``Database.open`` opens for ``target``."""
    text = str(target)
    if _file_redirect is not None and not is_postgres(text):
        text = await _file_redirect(text)
    return text


# The transactions open in this task: id(database) -> its connection (nested use joins).
_ACTIVE: contextvars.ContextVar[dict[int, Any] | None] = contextvars.ContextVar(
    "kcbx_transactions", default=None
)


def active_connection(db: object) -> Any:
    """The connection of the transaction this task has open on ``db``, or None."""
    return (_ACTIVE.get() or {}).get(id(db))


# Inline statements (SqliteDatabase.inline); BEGIN and COMMIT always go to aiosqlite's thread.
# The task whose block it is: a task started inside the block (which copies the context) is
# not inline, since nothing says its statements are short.
_INLINE: contextvars.ContextVar[object] = contextvars.ContextVar("kcbx_inline", default=None)
_QUEUED = frozenset({"BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"})

# What runs once this task's transaction on a database has committed: id(database) -> callbacks.
_AFTER: contextvars.ContextVar[dict[int, list[Callable[[], None]]] | None] = contextvars.ContextVar(
    "kcbx_after_commit", default=None
)


@asynccontextmanager
async def joined(db: object, conn: Any) -> AsyncIterator[list[Callable[[], None]]]:
    """Mark ``conn`` as this task's transaction on ``db`` while the block runs; yields the
    callbacks :func:`after_commit` adds, which the engine runs once the transaction commits."""
    after: list[Callable[[], None]] = []
    token = _ACTIVE.set({**(_ACTIVE.get() or {}), id(db): conn})
    token_after = _AFTER.set({**(_AFTER.get() or {}), id(db): after})
    try:
        yield after
    finally:
        _AFTER.reset(token_after)
        _ACTIVE.reset(token)


def after_commit(db: object, fn: Callable[[], None]) -> None:
    """Call ``fn`` once the transaction this task has open on ``db`` has committed (not at
    all if it rolls back); at once when none is open."""
    pending = (_AFTER.get() or {}).get(id(db))
    if pending is None:
        fn()
    else:
        pending.append(fn)


class Database:
    """What the repositories use; ``Database.open`` gives the engine the target names.

    Every write goes through ``transaction()`` (nested use joins the outer transaction of
    the same task); ``execute`` returns the new row's id for an INSERT, else the rows changed.
    """

    dialect: ClassVar[str]
    target: str
    audit_key: str = ""  # the audit chain's HMAC key (config), see kcbx.storage.records.audit

    @classmethod
    async def open(
        cls, target: str | Path, durability: str = "full", *, migrate: bool = True
    ) -> Database:
        """Open (creating if needed) the database and, unless told not to, migrate it.
        ``durability`` is SQLite's: PostgreSQL commits durably (synchronous_commit) as is."""
        text = await resolve(target)
        if is_postgres(text):
            return await _ENGINES[POSTGRESQL](text, migrate)
        path = sqlite_path(text)
        return await SqliteDatabase.connect(path, durability=durability, migrate=migrate)

    async def close(self) -> None:
        raise NotImplementedError

    async def migrate(self) -> list[int]:
        """Apply the migrations not yet recorded in schema_version; return their numbers."""
        raise NotImplementedError

    def transaction(self) -> Any:
        """An async context manager: all or nothing; yields the driver's connection."""
        raise NotImplementedError

    @contextmanager
    def inline(self) -> Iterator[None]:
        """Short statements that need no round trip to a worker thread (SQLite's, see
        :meth:`SqliteDatabase.inline`); on a server nothing changes."""
        yield

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        raise NotImplementedError

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """Run one statement for each row; return how many rows an INSERT added (else 0)."""
        raise NotImplementedError

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        raise NotImplementedError

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        raise NotImplementedError

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    def for_update(self, *, skip_locked: bool = False) -> str:
        """The clause that locks the selected rows to this transaction (append it to a
        SELECT): SQLite's transactions already exclude every other writer, so nothing."""
        return ""

    async def tables(self) -> list[str]:
        """The application's tables (schema_version included), by name."""
        raise NotImplementedError

    async def versions(self) -> list[int]:
        """The migrations applied, in order."""
        rows = await self.fetchall("SELECT version FROM schema_version ORDER BY version")
        return [int(r[0]) for r in rows]


class SqliteDatabase(Database):
    """One aiosqlite connection with a write lock, so that transactions never interleave.

    The lock keeps a sweep and a handler from mixing their statements into one another's
    transaction on the shared connection; ``BEGIN IMMEDIATE`` keeps out other processes.
    """

    dialect = SQLITE

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self.conn = conn
        self.path = path
        self.target = path
        self._queued = 0  # statements handed to aiosqlite's thread and not yet back
        self._committer = GroupCommitter(self._statement, _integrity)
        self._lock = self._committer.lock

    @classmethod
    async def connect(
        cls, path: str, *, durability: str = "full", migrate: bool = True
    ) -> SqliteDatabase:
        # check_same_thread: the statements of an inline block run on the loop's thread,
        # only while aiosqlite's has none (SqliteDatabase._run), so never two at once
        conn = await aiosqlite.connect(path, isolation_level=None, check_same_thread=False)
        conn.row_factory = aiosqlite.Row
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute(f"PRAGMA synchronous={SYNCHRONOUS[durability]}")
            await conn.execute("PRAGMA busy_timeout=5000")
            db = cls(conn, path)
            if migrate:
                await db.migrate()
        except BaseException:
            # a file that is not a database, or cannot be migrated: the caller says so in
            # one line; the connection's thread must not keep the process alive after that
            await conn.close()
            raise
        return db

    async def close(self) -> None:
        async with self._lock:  # the transactions under way commit first
            await self._committer.settle(force=True)
            await self.conn.close()

    async def migrate(self) -> list[int]:
        await self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        rows = await self.fetchall("SELECT version FROM schema_version")
        done = {r["version"] for r in rows}
        pending = [m for m in migration_files(SQLITE) if m[0] not in done]
        # All pending migrations in one transaction: one commit (a new database is made in
        # one fsync, not one per file), and a failing one leaves the schema as it was.
        async with self.transaction():
            for number, name, sql in pending:
                log.info("applying migration %s", name)
                for statement in split_sql(sql):
                    await self.conn.execute(statement)
                await self.conn.execute(
                    "INSERT INTO schema_version (version, name, applied_at)"
                    " VALUES (?, ?, datetime('now'))",
                    (number, name),
                )
        return [number for number, _name, _sql in pending]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A SAVEPOINT in the open commit group (kcbx.storage.connection.group_commit):
        released, or rolled back on any error, so nothing half-written; the block's exit
        returns once the group's COMMIT (and, with synchronous=FULL, its sync) has."""
        if active_connection(self) is not None:
            yield self.conn
            return
        group = await self._enter()
        try:
            async with joined(self, self.conn) as after:
                await self._statement("SAVEPOINT kcbx_tx")
                try:
                    yield self.conn
                except BaseException as exc:
                    await self._undo(group, exc)
                    raise
                await self._statement("RELEASE kcbx_tx")
                group.members += 1
                group.after.extend(after)
        finally:
            await self._committer.settle(force=group.broken is not None)
            self._lock.release()
        await asyncio.shield(group.done)

    async def _undo(self, group: CommitGroup, cause: BaseException) -> None:
        """Roll this transaction back to its SAVEPOINT. If SQLite has already rolled back the
        whole group (a full disk, an I/O error), the group is broken: every member fails
        with ``cause``, at once, and no one else joins it."""
        try:
            await self._statement("ROLLBACK TO kcbx_tx")
            await self._statement("RELEASE kcbx_tx")
        except sqlite3.Error as exc:
            group.broken = cause if isinstance(cause, Exception) else exc

    async def _enter(self) -> CommitGroup:
        """The write lock, and the commit group this transaction joins."""
        self._committer.waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self._committer.waiting -= 1
        try:
            return await self._committer.join()
        except BaseException:
            self._lock.release()
            raise

    async def _statement(self, sql: str) -> None:
        await self._run(lambda conn: conn.execute(sql).close(), queued=sql in _QUEUED)

    @contextmanager
    def inline(self) -> Iterator[None]:
        """Within the block, this task's statements run on the event loop's own thread
        whenever aiosqlite's thread has nothing queued (else they queue behind, in order).
        For short, indexed statements (a confirmation, a page of a class) whose hand-over to
        the thread and back costs more than the statement; never around a scan or a bulk
        write, which would hold up every other update. BEGIN and COMMIT (which may wait for
        another process's lock, or sync the disk) always go to the thread."""
        token = _INLINE.set(asyncio.current_task())
        try:
            yield
        finally:
            _INLINE.reset(token)

    async def _run(self, work: Callable[[sqlite3.Connection], _T], *, queued: bool = False) -> _T:
        """``work(connection)``: one round trip for a statement and its rows (aiosqlite's
        own ``execute`` + ``fetchone`` + ``close`` are three), or none in an inline block."""
        conn = self.conn
        if not queued and self._queued == 0 and _INLINE.get() is asyncio.current_task():
            return work(conn._conn)
        self._queued += 1
        try:
            return await conn._execute(lambda: work(conn._conn))
        finally:
            self._queued -= 1

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return lastrowid (for INSERT) or rowcount."""
        insert = sql.lstrip()[:6].upper() == "INSERT"

        def work(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(sql, params)
            try:
                return int(cursor.lastrowid or 0) if insert else int(cursor.rowcount)
            finally:
                cursor.close()

        with refused(sqlite3.IntegrityError):
            return await self._run(work)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        insert = sql.lstrip()[:6].upper() == "INSERT"

        def work(conn: sqlite3.Connection) -> int:
            cursor = conn.executemany(sql, rows)
            try:
                return max(int(cursor.rowcount), 0) if insert else 0
            finally:
                cursor.close()

        with refused(sqlite3.IntegrityError):
            return await self._run(work)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        def work(conn: sqlite3.Connection) -> Row | None:
            cursor = conn.execute(sql, params)
            try:
                row: Row | None = cursor.fetchone()
                return row
            finally:
                cursor.close()

        with refused(sqlite3.IntegrityError):
            return await self._run(work)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        def work(conn: sqlite3.Connection) -> list[Row]:
            cursor = conn.execute(sql, params)
            try:
                return list(cursor.fetchall())
            finally:
                cursor.close()

        with refused(sqlite3.IntegrityError):
            return await self._run(work)

    async def tables(self) -> list[str]:
        rows = await self.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            " AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
        return [str(r[0]) for r in rows]


def mask(sql: str) -> str:
    """The statement with string literals, quoted names and comments blanked to spaces
    (same length), so that a search for keywords and ``?`` finds only code."""
    out = list(sql)
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c in ("'", '"'):
            j = i + 1
            while j < n:
                if sql[j] == c:
                    if j + 1 < n and sql[j + 1] == c:
                        j += 2
                        continue
                    break
                j += 1
            end = min(j + 1, n)
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            end = n if j < 0 else j
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            end = n if j < 0 else j + 2
        else:
            i += 1
            continue
        for k in range(i, end):
            if out[k] != "\n":
                out[k] = " "
        i = end
    return "".join(out)


@cache
def split_sql(sql: str) -> tuple[str, ...]:
    """Split a migration into statements at the semicolons of its code (not those inside
    literals or comments); a piece that is only comments is left out. Cached: every new
    database (each test's, each restore's) splits the same files."""
    code = mask(sql)
    statements, start = [], 0
    for i, c in enumerate(code):
        if c == ";":
            statements.append((sql[start:i], code[start:i]))
            start = i + 1
    statements.append((sql[start:], code[start:]))
    return tuple(text.strip() for text, bare in statements if bare.strip())


# What SQLite says when it cannot write at all (as opposed to a busy lock or a bad statement).
_UNWRITABLE = (
    "readonly database",
    "read-only",
    "database or disk is full",
    "disk i/o error",
    "unable to open database file",
)


def not_a_database(error: BaseException) -> bool:
    """Is ``error`` SQLite finding no database in the file (another file given as KCBX_DB, or
    one damaged past reading)?"""
    text = str(error).lower()
    return isinstance(error, sqlite3.DatabaseError) and (
        "file is not a database" in text or "disk image is malformed" in text
    )


def cannot_write(error: BaseException) -> bool:
    """Is ``error`` the database refusing writes: a read-only file or folder, a full disk,
    an I/O error? (The bot says so loudly instead of retrying in silence.)"""
    if not isinstance(error, sqlite3.Error):
        return False
    text = str(error).lower()
    return any(phrase in text for phrase in _UNWRITABLE)
