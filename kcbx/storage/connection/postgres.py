"""PostgreSQL behind the same repositories (``KCBX_DB=postgresql://...``), with asyncpg.

The repositories write SQLite-flavoured portable SQL; this module translates what differs,
once per statement text (cached):

- ``?`` placeholders become ``$1, $2, ...``; ``LIKE`` becomes ``ILIKE`` (SQLite's LIKE
  ignores ASCII case); ``x IS ?`` becomes ``x IS NOT DISTINCT FROM $n``;
- an INSERT returns the new row's id (``RETURNING`` its identity column), as ``lastrowid``
  does; other statements return the rows they changed;
- ``executemany`` of an INSERT is one multi-row ``VALUES`` per chunk (one round trip);
- SUM and AVG come back as int and float, as in SQLite (not Decimal);
- the migrations' DDL: ``INTEGER PRIMARY KEY`` is an identity column, every integer is 64
  bits (Telegram ids do not fit in 32), text compares and sorts by code point as in SQLite
  (``COLLATE "C"``), REAL is double precision, BLOB is bytea, ``datetime('now')`` is the
  same text, PRAGMAs are left out. A migration that cannot be said portably ships
  ``NNNN_name.pg.sql`` beside it, applied as written.

A transaction holds one pooled connection for the task that opened it (nested use joins
it); statements outside a transaction run on any pooled connection, each committed alone.
Transactions are PostgreSQL's READ COMMITTED ones: unlike SQLite's ``BEGIN IMMEDIATE`` they
run side by side, so numbering takes a counter row (its update locks it to the transaction,
see kcbx.storage.counters) and work queues can claim rows with ``for_update(skip_locked=True)``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any

import asyncpg

from kcbx.storage.connection.group_commit import run_after
from kcbx.storage.db import (
    POSTGRESQL,
    Database,
    Row,
    active_connection,
    has_variant,
    joined,
    mask,
    migration_files,
    refused,
    register_engine,
    split_sql,
)

POOL_MIN = 1
POOL_MAX = 10
STATEMENT_CACHE = 1024
# PostgreSQL takes at most 32767 parameters a statement; a multi-row INSERT stays well under.
MAX_PARAMS = 30000
MAX_ROWS = 1000
# pg_advisory_xact_lock key of the migration runner: two instances starting at once apply
# each migration once.
_MIGRATION_LOCK = 0x6B636278  # "kcbx"
_REFUSED = asyncpg.IntegrityConstraintViolationError
_NOW_TEXT = "to_char(timezone('UTC', now()), 'YYYY-MM-DD HH24:MI:SS')"
_TODAY_TEXT = "to_char(timezone('UTC', now()), 'YYYY-MM-DD')"


# --- reading SQL text --------------------------------------------------------------------


def _replace(sql: str, code: str, pattern: re.Pattern[str], make: Any) -> str:
    """Replace the matches of ``pattern`` in ``code`` (the mask of ``sql``) within ``sql``."""
    pieces, last = [], 0
    for match in pattern.finditer(code):
        pieces.append(sql[last : match.start()])
        pieces.append(make(match))
        last = match.end()
    pieces.append(sql[last:])
    return "".join(pieces)


_PLACEHOLDER = re.compile(r"\?")
_LIKE = re.compile(r"\bLIKE\b", re.IGNORECASE)
_IS_PARAM = re.compile(r"\bIS\s+(NOT\s+)?\?", re.IGNORECASE)
_INSERT = re.compile(r"^\s*INSERT\s+INTO\s+\"?(\w+)\"?", re.IGNORECASE)
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_VALUES = re.compile(r"\bVALUES\s*\(", re.IGNORECASE)
_DO_UPDATE = re.compile(r"\bDO\s+UPDATE\b", re.IGNORECASE)


@lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """One statement of the repositories in PostgreSQL's words (placeholders, LIKE)."""
    numbers = iter(range(1, 1 << 16))
    text = _replace(
        sql,
        mask(sql),
        _IS_PARAM,
        lambda m: "IS DISTINCT FROM ?" if m.group(1) else "IS NOT DISTINCT FROM ?",
    )
    text = _replace(text, mask(text), _PLACEHOLDER, lambda _m: f"${next(numbers)}")
    return _replace(text, mask(text), _LIKE, lambda _m: "ILIKE")


@lru_cache(maxsize=1024)
def insert_target(sql: str) -> tuple[str | None, bool]:
    """(table, whether it says RETURNING) of an INSERT; (None, False) for anything else."""
    code = mask(sql)
    match = _INSERT.match(code)
    if match is None:
        return None, False
    return match.group(1).lower(), _RETURNING.search(code) is not None


@lru_cache(maxsize=256)
def values_parts(sql: str) -> tuple[str, str, str] | None:
    """An INSERT ... VALUES (row) ... as (head, row, tail), to repeat the row; None when the
    statement cannot take several rows at once (no VALUES, parameters after the row, or
    ``DO UPDATE``, which may not touch one row twice in a statement)."""
    code = mask(sql)
    match = _VALUES.search(code)
    if match is None or _DO_UPDATE.search(code):
        return None
    start = match.end() - 1
    depth = 0
    for i in range(start, len(code)):
        if code[i] == "(":
            depth += 1
        elif code[i] == ")":
            depth -= 1
            if depth == 0:
                tail = sql[i + 1 :]
                if "?" in code[i + 1 :]:
                    return None
                return sql[: match.start()] + "VALUES ", sql[start : i + 1], tail
    return None


# --- the migrations' DDL -----------------------------------------------------------------

# a column's type: after "(" or "," (a CREATE TABLE) or ADD [COLUMN], and the column's name
_COLUMN = r"(?P<lead>(?:^|[(,]|\bADD\s+(?:COLUMN\s+)?)\s*\w+\s+)"
_TEXT_TYPES = r"(?:(?:VAR)?CHAR\s*\(\s*\d+\s*\)|TEXT|CLOB|JSON|DATETIME|TIMESTAMP|DATE)(?![\w(])"
_DDL_RULES: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    (
        re.compile(
            r"\bINTEGER\s+(NOT\s+NULL\s+)?PRIMARY\s+KEY(\s+ASC)?(\s+AUTOINCREMENT)?\b", re.I
        ),
        "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    ),
    (re.compile(r"\bAUTOINCREMENT\b", re.I), ""),
    (
        re.compile(r"\b(?:INTEGER|INT|BOOLEAN|BOOL|TINYINT|SMALLINT|MEDIUMINT|INT8)\b", re.I),
        "BIGINT",
    ),
    (re.compile(r"\b(?:REAL|DOUBLE(?!\s+PRECISION)|FLOAT)\b", re.I), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b", re.I), "BYTEA"),
    # SQLite keeps any of these as text, as written: so does PostgreSQL, by code point
    (re.compile(_COLUMN + _TEXT_TYPES, re.I), lambda m: m.group("lead") + 'TEXT COLLATE "C"'),
    (re.compile(r"\bdatetime\s*\(\s*'now'\s*\)", re.I), _NOW_TEXT),
    (re.compile(r"\bdate\s*\(\s*'now'\s*\)", re.I), _TODAY_TEXT),
    (
        re.compile(r"\bstrftime\s*\(\s*'%s'\s*,\s*'now'\s*\)", re.I),
        "CAST(EXTRACT(EPOCH FROM now()) AS BIGINT)",
    ),
    (re.compile(r"\bCURRENT_TIMESTAMP\b", re.I), _NOW_TEXT),
    (re.compile(r"\bCURRENT_DATE\b", re.I), _TODAY_TEXT),
    (re.compile(r"\)\s*WITHOUT\s+ROWID\s*$", re.I), ")"),
    (re.compile(r"\)\s*STRICT\s*$", re.I), ")"),
]
# statements PostgreSQL leaves out: SQLite's settings, and what cannot run in the migration's
# transaction (the runner makes the transaction)
_SKIP = re.compile(r"^\s*(?:PRAGMA|VACUUM|BEGIN|COMMIT|END)\b", re.I)
_INSERT_OR_IGNORE = re.compile(r"^(\s*INSERT)\s+OR\s+IGNORE\b", re.I)


def translate_ddl(statement: str) -> str | None:
    """One statement of a portable (SQLite-flavoured) migration for PostgreSQL; None to skip.

    ``'now'`` is a string literal, so the date rules look at the text itself; everything else
    only at code (not inside literals or comments).
    """
    if _SKIP.match(mask(statement)):
        return None
    text = statement
    for pattern, replacement in _DDL_RULES:
        code = mask(text) if "'now'" not in pattern.pattern else text
        make = replacement if callable(replacement) else (lambda _m, r=replacement: r)
        text = _replace(text, code, pattern, make)
    ignore = _INSERT_OR_IGNORE.match(mask(text))
    if ignore:
        text = text[: ignore.end(1)] + text[ignore.end() :] + " ON CONFLICT DO NOTHING"
    return translate(text)


@lru_cache(maxsize=256)
def pg_script(number: int, sql: str) -> str:
    """The script PostgreSQL runs for one migration (translated once a process)."""
    if has_variant(number, POSTGRESQL):
        return sql
    statements = [translate_ddl(s) for s in split_sql(sql)]
    return "\n;\n".join(s for s in statements if s) + "\n;"


# --- values ------------------------------------------------------------------------------


def _numeric(text: str) -> int | float:
    """numeric (what SUM and AVG of integers give) as SQLite gives it: int, else float."""
    try:
        return int(text)
    except ValueError:
        return float(text)


def _count(status: str) -> int:
    """The row count of a command tag ("UPDATE 3", "INSERT 0 1")."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class _Connection(asyncpg.Connection):
    """A pooled connection that needs no reset query when it goes back to the pool (one round
    trip fewer for every statement outside a transaction and every transaction): kcbx sets
    no session state on it (no SET, LISTEN, cursor or session advisory lock; an open
    transaction is still rolled back). Work that holds a session lock, such as a lease,
    takes a connection of its own outside the pool."""

    def get_reset_query(self) -> str:
        return ""


async def _setup(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "numeric", encoder=str, decoder=_numeric, schema="pg_catalog", format="text"
    )


# --- the database ------------------------------------------------------------------------


class PostgresDatabase(Database):
    dialect = POSTGRESQL

    def __init__(self, pool: asyncpg.Pool, target: str) -> None:
        self.pool = pool
        self.target = target
        self._identity: dict[str, str] = {}

    @classmethod
    async def connect(cls, url: str, *, migrate: bool = True) -> PostgresDatabase:
        pool = await asyncpg.create_pool(
            url,
            min_size=POOL_MIN,
            max_size=POOL_MAX,
            init=_setup,
            statement_cache_size=STATEMENT_CACHE,
            connection_class=_Connection,
        )
        db = cls(pool, url)
        if migrate:
            await db.migrate()
        else:
            await db._load_identities()
        return db

    async def close(self) -> None:
        await self.pool.close()

    def _conn(self) -> Any:
        return active_connection(self) or self.pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """BEGIN ... COMMIT on one pooled connection, or ROLLBACK on any error."""
        current = active_connection(self)
        if current is not None:
            yield current
            return
        async with self.pool.acquire() as conn, joined(self, conn) as after:
            tx = conn.transaction()
            await tx.start()
            try:
                yield conn
            except BaseException:
                await tx.rollback()
                raise
            else:
                with refused(_REFUSED):
                    await tx.commit()
        run_after(after)

    async def migrate(self) -> list[int]:
        applied = []
        async with self.transaction() as conn:
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY,"
                ' name TEXT COLLATE "C" NOT NULL, applied_at TEXT COLLATE "C" NOT NULL)'
            )
            done = {r[0] for r in await conn.fetch("SELECT version FROM schema_version")}
            for number, name, sql in migration_files(POSTGRESQL):
                if number in done:
                    continue
                await conn.execute(pg_script(number, sql))
                await conn.execute(
                    "INSERT INTO schema_version (version, name, applied_at)"
                    f" VALUES ($1, $2, {_NOW_TEXT})",
                    number,
                    name,
                )
                applied.append(number)
            await self._load_identities(conn)
            if applied:
                await self.sync_identities()
        return applied

    async def _load_identities(self, conn: Any = None) -> None:
        rows = await (conn or self.pool).fetch(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND is_identity = 'YES'"
        )
        self._identity = {str(r[0]): str(r[1]) for r in rows}

    async def sync_identities(self) -> None:
        """Set each identity's next value past the table's highest id (after rows were
        written with their ids: a table rebuilt by a migration, a copied database)."""
        async with self.transaction() as conn:
            for table, column in sorted(self._identity.items()):
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"
                    f" COALESCE(MAX({column}), 0) + 1, false) FROM {table}"
                )

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; return the new row's id (for INSERT) or the rows changed."""
        conn = self._conn()
        table, returning = insert_target(sql)
        with refused(_REFUSED):
            if table is not None and (returning or table in self._identity):
                query = translate(sql)
                if not returning:
                    query += f" RETURNING {self._identity[table]}"
                rows = await conn.fetch(query, *params)
                value = rows[-1][0] if rows else 0
                return value if isinstance(value, int) else len(rows)
            return _count(await conn.execute(translate(sql), *params))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        batch = [tuple(r) for r in rows]
        if not batch:
            return 0
        table, _ = insert_target(sql)
        with refused(_REFUSED):
            async with self.transaction() as conn:
                if table is None:
                    await conn.executemany(translate(sql), batch)
                    return 0
                parts = values_parts(sql)
                if parts is None:
                    total = 0
                    for row in batch:
                        total += _count(await conn.execute(translate(sql), *row))
                    return total
                head, one, tail = parts
                per = max(1, min(MAX_ROWS, MAX_PARAMS // max(1, one.count("?"))))
                total = 0
                for start in range(0, len(batch), per):
                    chunk = batch[start : start + per]
                    query = translate(head + ", ".join([one] * len(chunk)) + tail)
                    args = [value for row in chunk for value in row]
                    total += _count(await conn.execute(query, *args))
                return total

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        with refused(_REFUSED):
            row: Row | None = await self._conn().fetchrow(translate(sql), *params)
            return row

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with refused(_REFUSED):
            return list(await self._conn().fetch(translate(sql), *params))

    def for_update(self, *, skip_locked: bool = False) -> str:
        return " FOR UPDATE SKIP LOCKED" if skip_locked else " FOR UPDATE"

    async def tables(self) -> list[str]:
        rows = await self.pool.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
        )
        return [str(r[0]) for r in rows]


async def _open(url: str, migrate: bool) -> Database:
    return await PostgresDatabase.connect(url, migrate=migrate)


register_engine(POSTGRESQL, _open)
