"""`kcbx db migrate` and `kcbx db copy SQLITE_FILE postgresql://...`: the operators' tools
for the database itself (the copy moves a county's file into the province's server)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import asyncpg

from kcbx.storage.connection.copy import CopyError, copy_database
from kcbx.storage.connection.postgres import PostgresDatabase
from kcbx.storage.db import Database, SqliteDatabase, is_postgres, shown, sqlite_path

EXIT_USAGE = 2
# what a server that is down, refuses us or has no such database raises
_UNREACHABLE = (OSError, asyncio.TimeoutError, asyncpg.PostgresError)


def migrate_command(target: str, echo: Callable[[str], None]) -> int:
    """Apply the pending migrations to the database the configuration names."""
    return asyncio.run(_migrate(target, echo))


async def _migrate(target: str, echo: Callable[[str], None]) -> int:
    try:
        database = await Database.open(target, migrate=False)
    except _UNREACHABLE as exc:
        echo(f"kcbx: cannot open {shown(target)}: {exc}")
        return 1
    try:
        applied = await database.migrate()
        versions = await database.versions()
    finally:
        await database.close()
    latest = f"{versions[-1]:04d}" if versions else "none"
    if applied:
        numbers = ", ".join(f"{n:04d}" for n in applied)
        echo(f"{shown(target)}: applied migrations {numbers}; now at {latest}")
    else:
        echo(f"{shown(target)}: up to date (migration {latest})")
    return 0


def copy_command(source: str, target: str, echo: Callable[[str], None]) -> int:
    """Copy a SQLite file into an empty PostgreSQL database; print each table's counts."""
    if is_postgres(source) or not Path(sqlite_path(source)).is_file():
        echo(f"kcbx: {source}: not a SQLite file")
        return EXIT_USAGE
    if not is_postgres(target):
        echo(f"kcbx: {target}: not a PostgreSQL database (postgresql://user@host/name)")
        return EXIT_USAGE
    return asyncio.run(_copy(source, target, echo))


async def _copy(source: str, target: str, echo: Callable[[str], None]) -> int:
    src = await SqliteDatabase.connect(sqlite_path(source), migrate=False)
    try:
        try:
            dst = await PostgresDatabase.connect(target)
        except _UNREACHABLE as exc:
            echo(f"kcbx: cannot open {shown(target)}: {exc}")
            return 1
        try:
            copied = await copy_database(src, dst)
        except CopyError as exc:
            echo(f"kcbx: nothing copied: {exc}")
            return 1
        finally:
            await dst.close()
    finally:
        await src.close()
    width = max(len(c.table) for c in copied)
    for c in copied:
        echo(f"  {c.table:<{width}}  {c.source_rows:>9} -> {c.target_rows:>9}")
    total = sum(c.target_rows for c in copied)
    echo(
        f"copied {total} rows of {len(copied)} tables from {source} into {shown(target)};"
        " every table's count matches"
    )
    return 0
