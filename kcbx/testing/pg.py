"""PostgreSQL for the test suite: an empty, migrated database for every database a test opens.

Each database file a test opens (``tmp_path / "k.db"``, the harness's, the CLI's) is instead
a PostgreSQL database of this session's (one per pytest worker, named with a random prefix),
the same one for the same path within the test. When the test ends its databases are
emptied (every table but schema_version, identities restarted; connections the test left
open are ended) and handed to the next test; the session drops them all at its end.
Creating or dropping a database costs the server about a second of file work here, emptying
a few milliseconds. Tests need no change to run on PostgreSQL.

``KCBX_TEST_PG`` says what to do: ``auto`` (the default) runs the PostgreSQL half when a
server answers at ``KCBX_TEST_PG_URL`` and skips it otherwise; ``required`` fails instead of
skipping (CI); ``off`` skips it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from kcbx.storage import db as dbmodule

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# Test databases are thrown away: a commit need not wait for the disk.
_TEST_SETTINGS = "synchronous_commit=off"


def mode() -> str:
    value = os.environ.get("KCBX_TEST_PG", "auto").strip().lower() or "auto"
    if value not in ("auto", "required", "off"):
        raise ValueError(f"KCBX_TEST_PG={value!r}: expected auto, required or off")
    return value


def admin_url() -> str:
    return os.environ.get("KCBX_TEST_PG_URL", DEFAULT_URL)


def database_url(url: str, name: str) -> str:
    """``url`` with its database replaced by ``name`` (and the test settings)."""
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, _TEST_SETTINGS) if q)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, query, ""))


async def probe(url: str, seconds: float = 3.0) -> str | None:
    """None when a server answers at ``url`` within ``seconds``, else why not (one line)."""
    try:
        conn = await asyncpg.connect(url, timeout=seconds)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    await conn.close()
    return None


@dataclass
class PgServer:
    """The test databases of one test session (one pytest worker), all named ``prefix_*``."""

    url: str
    prefix: str = field(default_factory=lambda: f"kcbx_t{secrets.token_hex(4)}")
    free: list[str] = field(default_factory=list)  # emptied databases, ready for a test
    tables: set[str] = field(default_factory=set)  # what the migrations make
    # the rows the migrations write, by table: (columns, rows)
    seeded: dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]] = field(default_factory=dict)
    _count: int = 0

    async def _admin(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.url)

    async def take(self) -> str:
        """An empty, migrated database for a test; its URL."""
        if self.free:
            return self.free.pop()
        self._count += 1
        name = f"{self.prefix}_{self._count}"
        conn = await self._admin()
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        url = database_url(self.url, name)
        database = await dbmodule.Database.open(url)
        try:
            self.tables = set(await database.tables())
            if not self.seeded:  # what the migrations wrote (audit_head's row): kept
                for table in sorted(self.tables - {"schema_version"}):
                    rows = await database.fetchall(f'SELECT * FROM "{table}"')
                    if rows:
                        self.seeded[table] = (tuple(rows[0].keys()), [tuple(r) for r in rows])
        finally:
            await database.close()
        return url

    async def give_back(self, urls: list[str]) -> None:
        """Empty the databases a test used and keep them for the next test."""
        for url in urls:
            conn = await asyncpg.connect(url)
            try:
                await empty(conn, self.tables, self.seeded)
            finally:
                await conn.close()
            self.free.append(url)

    async def stop(self) -> None:
        """Drop every database of this session."""
        conn = await self._admin()
        try:
            rows = await conn.fetch(
                "SELECT datname FROM pg_database WHERE datname LIKE $1", self.prefix + "\\_%"
            )
            for row in rows:
                await conn.execute(f'DROP DATABASE IF EXISTS "{row[0]}" WITH (FORCE)')
        finally:
            await conn.close()
        self.free.clear()


async def empty(
    conn: asyncpg.Connection,
    tables: set[str],
    seeded: dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]],
) -> None:
    """The database as the migrations left it: only their rows (``seeded``), identities
    restarted after them, and any table beyond the migrations' ``tables`` (a test's own)
    dropped. A few round trips whatever the number of tables: each test pays this."""
    row = await conn.fetchrow(
        "SELECT (SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        "        WHERE datname = current_database() AND pid <> pg_backend_pid()),"
        " ARRAY(SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()),"
        " ARRAY(SELECT table_name || '.' || column_name FROM information_schema.columns"
        "       WHERE table_schema = current_schema() AND is_identity = 'YES')"
    )
    present, identities = row[1], row[2]
    own = sorted(set(present) - tables)
    if own:
        await conn.execute(";".join(f'DROP TABLE IF EXISTS "{t}" CASCADE' for t in own))
    deletes = ";".join(f'DELETE FROM "{t}"' for t in sorted(tables - {"schema_version"}))
    restarts = ",".join(
        f"setval(pg_get_serial_sequence('\"{table}\"', '{column}'),"
        f' (SELECT COALESCE(MAX("{column}"), 0) + 1 FROM "{table}"), false)'
        for table, column in (i.split(".", 1) for i in identities if i.split(".")[0] in tables)
    )
    async with conn.transaction():
        # no foreign-key order while emptying
        await conn.execute(f"SET LOCAL session_replication_role = replica;{deletes}")
        for table, (columns, rows) in seeded.items():
            await conn.copy_records_to_table(table, records=rows, columns=list(columns))
        if restarts:
            await conn.execute(f"SELECT {restarts}")


def _file_key(target: str) -> str:
    """One key for the spellings of one file (relative, absolute, ``sqlite:``)."""
    return os.path.abspath(dbmodule.sqlite_path(target))


class FileRedirect:
    """While installed, each SQLite path opened is one of the server's empty databases."""

    def __init__(self, server: PgServer) -> None:
        self.server = server
        self._taken: dict[str, asyncio.Future[str]] = {}

    async def __call__(self, target: str) -> str:
        key = _file_key(target)
        if key not in self._taken:  # two opens of one path at once share one database
            self._taken[key] = asyncio.ensure_future(self.server.take())
        return await self._taken[key]

    @property
    def urls(self) -> list[str]:
        """The databases taken so far."""
        return [
            f.result()
            for f in self._taken.values()
            if f.done() and not f.cancelled() and f.exception() is None
        ]

    def install(self) -> None:
        dbmodule.redirect_files(self)

    def remove(self) -> None:
        dbmodule.redirect_files(None)
