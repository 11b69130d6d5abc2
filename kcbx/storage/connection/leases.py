"""Leases: which process may act for a database (deliver the outbox, run the jobs).

A lease is one row with a holder and an expiry that the holder keeps pushing forward (its
heartbeat). Taking it is an INSERT, or an UPDATE that only matches when the lease has expired
or is already ours, checked by its row count: plain SQL with no lock of its own, so it works
the same on SQLite and on a PostgreSQL database that several hosts share.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kcbx.bot.domain.clock import from_iso, to_iso
from kcbx.storage.db import Database


@dataclass(frozen=True)
class Lease:
    """Who holds a lease, and until when (unless they renew it)."""

    name: str
    holder: str
    host: str
    pid: int
    acquired_at: datetime
    heartbeat_at: datetime
    expires_at: datetime


class LeaseRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def acquire(
        self, name: str, *, holder: str, host: str, pid: int, now: datetime, until: datetime
    ) -> bool:
        """Take the lease if it is free, expired, or ours already; True if we hold it now."""
        stamp, expiry = to_iso(now), to_iso(until)
        async with self.db.transaction():
            taken = await self.db.execute(
                "UPDATE leases SET holder = ?, host = ?, pid = ?, acquired_at = CASE WHEN"
                " holder = ? THEN acquired_at ELSE ? END, heartbeat_at = ?, expires_at = ?"
                " WHERE name = ? AND (expires_at < ? OR holder = ?)",
                (holder, host, pid, holder, stamp, stamp, expiry, name, stamp, holder),
            )
            if taken == 1:
                return True
            await self.db.execute(
                "INSERT INTO leases (name, holder, host, pid, acquired_at, heartbeat_at,"
                " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
                (name, holder, host, pid, stamp, stamp, expiry),
            )
            return await self._holder(name) == holder

    async def take_over(
        self,
        name: str,
        *,
        holder: str,
        host: str,
        pid: int,
        stale: str,
        now: datetime,
        until: datetime,
    ) -> bool:
        """Take the lease from ``stale``, a holder known to be dead; False if it has changed
        hands meanwhile."""
        stamp = to_iso(now)
        async with self.db.transaction():
            taken = await self.db.execute(
                "UPDATE leases SET holder = ?, host = ?, pid = ?, acquired_at = ?,"
                " heartbeat_at = ?, expires_at = ? WHERE name = ? AND holder = ?",
                (holder, host, pid, stamp, stamp, to_iso(until), name, stale),
            )
        return taken == 1

    async def renew(self, name: str, *, holder: str, now: datetime, until: datetime) -> bool:
        """Push our lease's expiry forward; False if it is no longer ours."""
        async with self.db.transaction():
            renewed = await self.db.execute(
                "UPDATE leases SET heartbeat_at = ?, expires_at = ? WHERE name = ? AND holder = ?",
                (to_iso(now), to_iso(until), name, holder),
            )
        return renewed == 1

    async def release(self, name: str, *, holder: str) -> None:
        """Give our lease up at once (a clean stop: the next instance need not wait)."""
        async with self.db.transaction():
            await self.db.execute(
                "DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder)
            )

    async def get(self, name: str) -> Lease | None:
        row = await self.db.fetchone("SELECT * FROM leases WHERE name = ?", (name,))
        if row is None:
            return None
        return Lease(
            name=row["name"],
            holder=row["holder"],
            host=row["host"],
            pid=int(row["pid"]),
            acquired_at=from_iso(row["acquired_at"]),
            heartbeat_at=from_iso(row["heartbeat_at"]),
            expires_at=from_iso(row["expires_at"]),
        )

    async def _holder(self, name: str) -> str | None:
        value = await self.db.fetchval("SELECT holder FROM leases WHERE name = ?", (name,))
        return None if value is None else str(value)
