"""One instance per database: the lease that `kcbx run` holds while it runs.

Two bots on one database would both poll Telegram and both deliver, so every message would
arrive twice. `kcbx run` therefore takes the database's lease before it starts and renews it
every :data:`HEARTBEAT_SECONDS`; a second `kcbx run` finds it held and stops with one line.
When the holder dies without a word, its lease expires after :data:`LEASE_SECONDS` and the
next instance takes over (at once, if the dead holder ran on the same machine). `kcbx sweep`
takes it only for the moment it delivers; beside a running bot it queues and leaves the
sending to the bot.

Times are the wall clock of the machine, whatever clock the services run on (`kcbx sweep
--now` sweeps as if at another time, yet must see a live bot as live).
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from kcbx.storage.connection.leases import Lease, LeaseRepo
from kcbx.storage.db import Database

LEASE_NAME = "bot"
LEASE_SECONDS = 30
HEARTBEAT_SECONDS = 10


def wall_clock() -> datetime:
    return datetime.now(UTC)


class LeaseHeld(Exception):
    """Another live process holds the database's lease."""

    def __init__(self, lease: Lease, now: datetime) -> None:
        self.lease = lease
        self.now = now
        super().__init__(self.line())

    def line(self) -> str:
        lease = self.lease
        ago = max(0, int((self.now - lease.heartbeat_at).total_seconds()))
        left = max(0, int((lease.expires_at - self.now).total_seconds()))
        return (
            f"{describe_holder(lease.holder)} on {lease.host} (pid {lease.pid}) holds this "
            f"database, last heartbeat {ago} s ago; a second bot would send everything twice "
            f"(stop it, or its lease expires {left} s after it stops)"
        )


def _alive(pid: int) -> bool:
    """Is a process with this id running on this machine?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def describe_holder(holder: str) -> str:
    """'kcbx run' from a holder id such as 'run@host:123:ab12cd'."""
    return "kcbx " + holder.partition("@")[0]


@dataclass
class InstanceLease:
    """This process's claim on the database: who we are, and the lease row's repository."""

    repo: LeaseRepo
    holder: str
    host: str
    pid: int
    seconds: int = LEASE_SECONDS
    clock: Callable[[], datetime] = field(default=wall_clock)
    held: bool = False

    @classmethod
    def of_this_process(
        cls, db: Database, command: str = "run", holder: str | None = None
    ) -> InstanceLease:
        """This process's identity (``holder`` to keep one taken earlier by this process)."""
        host, pid = socket.gethostname(), os.getpid()
        holder = holder or f"{command}@{host}:{pid}:{secrets.token_hex(3)}"
        return cls(repo=LeaseRepo(db), holder=holder, host=host, pid=pid)

    async def acquire(self) -> None:
        """Take the lease (or keep it, if ours); raises LeaseHeld when another has it."""
        now = self.clock()
        until = now + timedelta(seconds=self.seconds)
        if await self.repo.acquire(
            LEASE_NAME, holder=self.holder, host=self.host, pid=self.pid, now=now, until=until
        ):
            self.held = True
            return
        lease = await self.repo.get(LEASE_NAME)
        if lease is None:  # released between our two statements: try once more
            return await self.acquire()
        # a holder on this machine whose process is gone (killed, crashed): no need to wait
        if (
            lease.host == self.host
            and not _alive(lease.pid)
            and await self.repo.take_over(
                LEASE_NAME,
                holder=self.holder,
                host=self.host,
                pid=self.pid,
                stale=lease.holder,
                now=now,
                until=until,
            )
        ):
            self.held = True
            return
        raise LeaseHeld(lease, now)

    async def try_acquire(self) -> Lease | None:
        """Take the lease if free; the other holder's lease if not."""
        try:
            await self.acquire()
        except LeaseHeld as held:
            return held.lease
        return None

    async def renew(self) -> bool:
        """The heartbeat; False if another instance has taken the lease over. (A lease that
        merely lapsed, say while the database could not be written, is taken again.)"""
        now = self.clock()
        self.held = await self.repo.renew(
            LEASE_NAME, holder=self.holder, now=now, until=now + timedelta(seconds=self.seconds)
        )
        if not self.held:
            try:
                await self.acquire()
            except LeaseHeld:
                return False
        return self.held

    async def release(self) -> None:
        if self.held:
            await self.repo.release(LEASE_NAME, holder=self.holder)
            self.held = False


__all__ = [
    "HEARTBEAT_SECONDS",
    "LEASE_NAME",
    "LEASE_SECONDS",
    "InstanceLease",
    "LeaseHeld",
    "describe_holder",
    "wall_clock",
]
