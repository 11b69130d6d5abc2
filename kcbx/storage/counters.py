"""Numbered series (case numbers per year, notice numbers per kind and year), migration 0020.

The next number is the counter row incremented inside the caller's transaction: nothing
else can take a number of the same series until that transaction ends (PostgreSQL keeps the
updated row locked to it; SQLite's BEGIN IMMEDIATE keeps out every other writer), and a
rollback gives the number back, so a series never repeats and never skips.
"""

from __future__ import annotations

from kcbx.storage.db import Database


async def take_next(db: Database, series: str, *, highest: int) -> int:
    """The next number of ``series``; call inside the transaction that writes the numbered
    row. ``highest`` is the highest number the caller sees written (rows written without the
    counter, by an older version or by hand, are never numbered again)."""
    async with db.transaction():
        return int(
            await db.fetchval(
                "INSERT INTO counters (name, value) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = CASE"
                " WHEN excluded.value > counters.value THEN excluded.value"
                " ELSE counters.value + 1 END RETURNING value",
                (series, highest + 1),
            )
        )
