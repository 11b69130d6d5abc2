"""`kcbx db copy`: a county's SQLite file into an empty PostgreSQL database, verified.

The target must hold no county yet (no audit entry, unit, person, student or case; the rows
its migrations wrote are replaced by the source's). Every table is copied row for row with
its ids (PostgreSQL's COPY, in batches), in the order of the foreign keys (a table after the
tables it refers to; a column that refers to its own table is filled in once the table is
there), all in one transaction: the target is either the whole county or unchanged. Before
it commits, each table's row count in the target must equal the source's; then the
identities continue after the highest id copied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kcbx.storage.connection.postgres import PostgresDatabase
from kcbx.storage.db import Database, SqliteDatabase, migration_files

BATCH = 2000
# A database that holds a county has rows here (every write is audited); a new one, only the
# rows its migrations wrote elsewhere.
HELD = ("audit_log", "units", "people", "students", "cases")


class CopyError(Exception):
    """The copy cannot be made (the message is one line for the operator); nothing written."""


@dataclass(frozen=True)
class TableCopy:
    table: str
    source_rows: int
    target_rows: int


@dataclass(frozen=True)
class _Table:
    name: str
    columns: tuple[str, ...]
    key: str | None  # the single-column primary key, if any
    parents: frozenset[str]  # the other tables it refers to
    self_refs: tuple[str, ...]  # its columns that refer to itself


async def _describe(source: SqliteDatabase, name: str) -> _Table:
    info = await source.fetchall(f'PRAGMA table_info("{name}")')
    columns = tuple(str(r["name"]) for r in info)
    keys = [str(r["name"]) for r in info if r["pk"]]
    refs = await source.fetchall(f'PRAGMA foreign_key_list("{name}")')
    parents = frozenset(str(r["table"]) for r in refs if r["table"] != name)
    self_refs = tuple(sorted({str(r["from"]) for r in refs if r["table"] == name}))
    return _Table(name, columns, keys[0] if len(keys) == 1 else None, parents, self_refs)


def _in_order(tables: list[_Table]) -> list[_Table]:
    """Each table after the tables it refers to."""
    by_name = {t.name: t for t in tables}
    done: list[_Table] = []
    placed: set[str] = set()
    while len(done) < len(tables):
        ready = [
            t
            for t in tables
            if t.name not in placed and all(p in placed or p not in by_name for p in t.parents)
        ]
        if not ready:
            left = sorted(t.name for t in tables if t.name not in placed)
            raise CopyError(f"the foreign keys of {', '.join(left)} form a cycle")
        for t in sorted(ready, key=lambda t: t.name):
            done.append(t)
            placed.add(t.name)
    return done


def _coercer(pg_type: str) -> Callable[[Any], Any]:
    """A value as the PostgreSQL column takes it (SQLite keeps whatever it was given)."""
    if pg_type in ("bigint", "integer", "smallint"):
        return int
    if pg_type == "double precision":
        return float
    if pg_type == "bytea":
        return lambda v: v if isinstance(v, bytes) else bytes(v)
    return lambda v: v if isinstance(v, str) else str(v)


async def copy_database(
    source: SqliteDatabase,
    target: PostgresDatabase,
    *,
    progress: Callable[[str, int], None] | None = None,
) -> list[TableCopy]:
    """Copy every table of ``source`` into ``target`` (empty, migrated); the counts per table."""
    wanted = [n for n, _, _ in migration_files()]
    if await source.versions() != wanted:
        raise CopyError(
            f"{source.target} is not at this version's schema (migrations {wanted[-1]:04d}):"
            f" run `kcbx --db {source.target} db migrate` first"
        )
    if await target.versions() != wanted:
        raise CopyError(f"{target.target} is not at this version's schema")
    names = [n for n in await source.tables() if n != "schema_version"]
    missing = sorted(set(names) - set(await target.tables()))
    if missing:
        raise CopyError(f"the target has no table {', '.join(missing)}")
    tables = _in_order([await _describe(source, n) for n in names])
    copied: list[TableCopy] = []
    async with target.transaction() as conn:
        for name in HELD:
            if name in names and await conn.fetchval(f'SELECT 1 FROM "{name}" LIMIT 1'):
                raise CopyError(f"the target is not empty: {name} has rows")
        # what the migrations wrote (the audit chain's head) gives way to the source's
        for table in reversed(tables):
            await conn.execute(f'DELETE FROM "{table.name}"')
        for table in tables:
            rows = await _copy_table(source, conn, table)
            if progress is not None:
                progress(table.name, rows)
        for table in tables:
            have = int(await source.fetchval(f'SELECT COUNT(*) FROM "{table.name}"'))
            put = int(await conn.fetchval(f'SELECT COUNT(*) FROM "{table.name}"'))
            if have != put:
                raise CopyError(f"{table.name}: {have} rows in the source, {put} copied")
            copied.append(TableCopy(table.name, have, put))
        await target.sync_identities()
    return copied


async def _copy_table(source: Database, conn: Any, table: _Table) -> int:
    types = {
        str(r[0]): str(r[1])
        for r in await conn.fetch(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = $1",
            table.name,
        )
    }
    unknown = [c for c in table.columns if c not in types]
    if unknown:
        raise CopyError(f"the target's {table.name} has no column {', '.join(unknown)}")
    if table.self_refs and table.key is None:
        raise CopyError(f"{table.name} refers to itself but has no single-column key")
    convert = [_coercer(types[c]) for c in table.columns]
    later = [table.columns.index(c) for c in table.self_refs]
    key_at = table.columns.index(table.key) if table.key else -1
    fill: list[tuple[Any, ...]] = []  # (value, key) of each self-reference, set afterwards
    columns = ", ".join(f'"{c}"' for c in table.columns)
    last, count = None, 0
    while True:
        if last is None:
            batch = await source.fetchall(
                f'SELECT rowid, {columns} FROM "{table.name}" ORDER BY rowid LIMIT ?', (BATCH,)
            )
        else:
            batch = await source.fetchall(
                f'SELECT rowid, {columns} FROM "{table.name}" WHERE rowid > ?'
                " ORDER BY rowid LIMIT ?",
                (last, BATCH),
            )
        if not batch:
            break
        last = batch[-1][0]
        try:
            records = []
            for row in batch:
                cells = zip(convert, tuple(row)[1:], strict=True)
                values = [None if v is None else f(v) for f, v in cells]
                for i in later:
                    if values[i] is not None:
                        fill.append((table.columns[i], values[i], values[key_at]))
                        values[i] = None
                records.append(tuple(values))
            await conn.copy_records_to_table(
                table.name, records=records, columns=list(table.columns)
            )
        except (ValueError, TypeError) as exc:
            raise CopyError(f"{table.name}: a value does not fit its column ({exc})") from exc
        count += len(records)
    for column in table.self_refs:  # once every row is there, whatever order they came in
        pairs = [(value, key) for c, value, key in fill if c == column]
        if pairs:
            await conn.executemany(
                f'UPDATE "{table.name}" SET "{column}" = $1 WHERE "{table.key}" = $2', pairs
            )
    return count
