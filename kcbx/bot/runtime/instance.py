"""One instance per database: the lease that `kcbx run` holds while it runs.

Two bots on one database would both poll Telegram and both deliver, so every message would
arrive twice. `kcbx run` therefore takes the database's lease before it starts and renews it
every third of :data:`LEASE_SECONDS` (``Config.lease_seconds``). A second `kcbx run` finds it
held: on SQLite (one machine, one file) it stops with one line; on PostgreSQL it stands by,
checking the lease every fifth of the lease, and takes over when the holder's lease expires
(at once, if the dead holder ran on the same machine): after a SIGKILL within the lease plus
one check, well under 30 s by default. `kcbx sweep` takes it only for the moment it
delivers; beside a running bot it queues and leaves the sending to the bot.

Times are the wall clock of the machine, whatever clock the services run on (`kcbx sweep
--now` sweeps as if at another time, yet must see a live bot as live).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from kcbx.bot.runtime.config import Config
from kcbx.storage.connection.leases import Lease, LeaseRepo
from kcbx.storage.db import Database

log = logging.getLogger(__name__)

LEASE_NAME = "bot"
# A standby takes over at most LEASE_SECONDS + LEASE_SECONDS / 5 after the holder's last
# heartbeat (and the holder renews every LEASE_SECONDS / 3): 18 s, plus the start of the bot.
LEASE_SECONDS = 15.0
HEARTBEAT_SECONDS = LEASE_SECONDS / 3


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
    seconds: float = LEASE_SECONDS
    clock: Callable[[], datetime] = field(default=wall_clock)
    held: bool = False

    @classmethod
    def of_this_process(
        cls,
        db: Database,
        command: str = "run",
        holder: str | None = None,
        *,
        seconds: float = LEASE_SECONDS,
        host: str = "",
    ) -> InstanceLease:
        """This process's identity (``holder`` to keep one taken earlier by this process;
        ``host`` names the instance, the machine's name unless given)."""
        host, pid = host or socket.gethostname(), os.getpid()
        holder = holder or f"{command}@{host}:{pid}:{secrets.token_hex(3)}"
        return cls(repo=LeaseRepo(db), holder=holder, host=host, pid=pid, seconds=seconds)

    @property
    def heartbeat_seconds(self) -> float:
        """How often the holder renews: three heartbeats a lease, so one late one is no loss."""
        return self.seconds / 3

    @property
    def standby_seconds(self) -> float:
        """How often a standby looks at the lease."""
        return self.seconds / 5

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

    async def stand_by(self) -> None:
        """Wait until the lease is ours, looking at it every :attr:`standby_seconds`; a
        database that does not answer for a while (a server restarting) is waited for too."""
        while True:
            try:
                await self.acquire()
                return
            except LeaseHeld:
                pass
            except Exception as exc:  # the next look tries again
                log.warning("standing by: the database did not answer (%s)", exc)
            await asyncio.sleep(self.standby_seconds)

    async def holds(self) -> bool:
        """Is the lease still ours in the database (not taken over by another instance)?"""
        lease = await self.repo.get(LEASE_NAME)
        return lease is not None and lease.holder == self.holder

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


async def live_holder(db: Database, now: datetime | None = None) -> Lease | None:
    """The lease of an instance that is running on this database now (not expired, and not
    a process of this machine known to be gone); None if nobody holds it."""
    lease = await LeaseRepo(db).get(LEASE_NAME)
    now = now or wall_clock()
    if lease is None or lease.expires_at < now:
        return None
    if lease.host == socket.gethostname() and not _alive(lease.pid):
        return None
    return lease


def configured_lease(
    db: Database, config: Config, command: str = "run", holder: str | None = None
) -> InstanceLease:
    """This process's lease as the configuration times and names it."""
    return InstanceLease.of_this_process(
        db, command, holder, seconds=float(config.lease_seconds), host=config.instance
    )


__all__ = [
    "HEARTBEAT_SECONDS",
    "LEASE_NAME",
    "LEASE_SECONDS",
    "InstanceLease",
    "LeaseHeld",
    "configured_lease",
    "describe_holder",
    "live_holder",
    "wall_clock",
]
