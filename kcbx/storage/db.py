"""The SQLite connection: WAL, foreign keys, numbered migrations recorded in schema_version."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# durability setting -> PRAGMA synchronous: "full" syncs the WAL at every commit, so a write
# a person is told is saved survives a power cut; "normal" only at checkpoints.
SYNCHRONOUS = {"full": "FULL", "normal": "NORMAL"}
_IN_TX: contextvars.ContextVar[bool] = contextvars.ContextVar("kcbx_in_tx", default=False)


def migration_files() -> list[tuple[int, str, str]]:
    """All shipped migrations as (number, name, sql), in order."""
    found = []
    for entry in resources.files("kcbx.storage.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [n for n, _, _ in found]
    if len(set(numbers)) != len(numbers):
        raise RuntimeError(f"two migrations share a number: {numbers}")
    return found


class Database:
    """One aiosqlite connection with a write lock, so that transactions never interleave.

    Every write goes through ``transaction()``; the lock keeps a sweep and a handler from
    mixing their statements into one another's transaction on the shared connection.
    """

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self.conn = conn
        self.path = path
        self._lock = asyncio.Lock()
        self.audit_key = ""  # the audit chain's HMAC key (config), see kcbx.storage.records.audit

    @classmethod
    async def open(cls, path: str | Path, durability: str = "full") -> Database:
        """Open (creating if needed) the database and apply pending migrations."""
        path = str(path)
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute(f"PRAGMA synchronous={SYNCHRONOUS[durability]}")
        await conn.execute("PRAGMA busy_timeout=5000")
        db = cls(conn, path)
        await db.migrate()
        return db

    async def close(self) -> None:
        await self.conn.close()

    async def migrate(self) -> list[int]:
        """Apply the migrations not yet recorded in schema_version; return their numbers."""
        await self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        rows = await self.fetchall("SELECT version FROM schema_version")
        done = {r["version"] for r in rows}
        applied = []
        for number, name, sql in migration_files():
            if number in done:
                continue
            log.info("applying migration %s", name)
            async with self.transaction():
                for statement in _split_sql(sql):
                    await self.conn.execute(statement)
                await self.conn.execute(
                    "INSERT INTO schema_version (version, name, applied_at)"
                    " VALUES (?, ?, datetime('now'))",
                    (number, name),
                )
            applied.append(number)
        return applied

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error: nothing half-written."""
        if _IN_TX.get():
            # nested use joins the outer transaction of the same task
            yield self.conn
            return
        async with self._lock:
            token = _IN_TX.set(True)
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            else:
                await self.conn.execute("COMMIT")
            finally:
                _IN_TX.reset(token)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return lastrowid (for INSERT) or rowcount."""
        cursor = await self.conn.execute(sql, params)
        try:
            if sql.lstrip().upper().startswith("INSERT"):
                return int(cursor.lastrowid or 0)
            return int(cursor.rowcount)
        finally:
            await cursor.close()

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self.conn.executemany(sql, rows)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        async with self.conn.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        async with self.conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]


def _split_sql(sql: str) -> list[str]:
    """Split a migration into statements (no semicolons inside our string literals)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


# What SQLite says when it cannot write at all (as opposed to a busy lock or a bad statement).
_UNWRITABLE = (
    "readonly database",
    "read-only",
    "database or disk is full",
    "disk i/o error",
    "unable to open database file",
)


def cannot_write(error: BaseException) -> bool:
    """Is ``error`` the database refusing writes: a read-only file or folder, a full disk,
    an I/O error? (The bot says so loudly instead of retrying in silence.)"""
    if not isinstance(error, sqlite3.Error):
        return False
    text = str(error).lower()
    return any(phrase in text for phrase in _UNWRITABLE)
