"""Group commit on SQLite: the transactions of concurrent callers share one COMMIT.

With ``synchronous=FULL`` every COMMIT syncs the WAL to the disk, and a person is told that a
report is saved only after that. When a hundred teachers confirm at once, their transactions
still run one after another on the one connection (each in a SAVEPOINT of its own, so that
one that fails rolls back alone), but the COMMIT, and its sync, is shared: the group stays
open while more transactions wait to join it, up to :data:`GROUP_MOST` of them or
:data:`GROUP_SECONDS`, and is then committed once. While writers keep coming (the last group
had more than one), a group with nobody waiting is still held open until it is
:data:`GROUP_SECONDS` old, for those on their way; a writer alone commits at once.

Each caller's ``transaction()`` returns only when the group's COMMIT has returned, so no one
is told "saved" before the data is on the disk; if the COMMIT fails, every member of the
group gets the error and nothing of the group is written.

PostgreSQL needs none of this: each transaction commits on its own pooled connection, and
the server already lets concurrent commits share one flush of its WAL (``commit_delay``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress

log = logging.getLogger(__name__)

GROUP_MOST = 64  # transactions in one COMMIT at most
GROUP_SECONDS = 0.010  # a group is committed once this old, even if more wait to join it

Statement = Callable[[str], Awaitable[object]]
AfterCommit = Callable[[], None]


class CommitGroup:
    """The transactions that one COMMIT makes durable together."""

    def __init__(self) -> None:
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.opened = time.monotonic()
        self.members = 0  # transactions released into the group (not those rolled back)
        self.after: list[AfterCommit] = []
        self.held = False  # a commit is due at GROUP_SECONDS (GroupCommitter._hold)
        self.broken: Exception | None = None  # what made SQLite roll it all back: fails at once

    @property
    def old(self) -> bool:
        return time.monotonic() - self.opened >= GROUP_SECONDS


class GroupCommitter:
    """The database's write lock, and when the open group begins and commits. ``join`` and
    ``settle`` are called under the lock; ``waiting`` counts the transactions waiting for it."""

    def __init__(self, statement: Statement, wrap: Callable[[Exception], Exception]) -> None:
        self._statement = statement
        self._wrap = wrap  # the driver's error as the caller should see it
        self.lock = asyncio.Lock()
        self.group: CommitGroup | None = None
        self.waiting = 0
        self._busy = False  # the last group had more than one member
        self._held: set[asyncio.Task[None]] = set()

    async def join(self) -> CommitGroup:
        """The group the next transaction joins (BEGIN IMMEDIATE opens a new one)."""
        if self.group is not None and self.group.old:
            await self.settle(force=True)
        if self.group is None:
            await self._statement("BEGIN IMMEDIATE")
            self.group = CommitGroup()
        return self.group

    async def settle(self, *, force: bool = False) -> None:
        """After a member's transaction: commit the group unless more wait to join it."""
        group = self.group
        if group is None:
            return
        if not force and group.members < GROUP_MOST and not group.old:
            if self.waiting:
                return
            if self._busy and group.members:
                self._hold(group)
                return
        self._busy = group.members > 1
        self.group = None  # the COMMIT is queued before any later statement of the connection
        await asyncio.shield(self._finish(group))  # a cancelled caller does not stop the others

    def _hold(self, group: CommitGroup) -> None:
        """Commit ``group`` when it is GROUP_SECONDS old, unless that has happened before."""
        if group.held:
            return
        group.held = True
        delay = max(0.0, GROUP_SECONDS - (time.monotonic() - group.opened))

        def due() -> None:
            task = asyncio.ensure_future(self._commit_held(group))
            self._held.add(task)
            task.add_done_callback(self._held.discard)

        asyncio.get_running_loop().call_later(delay, due)

    async def _commit_held(self, group: CommitGroup) -> None:
        async with self.lock:
            if self.group is group:
                await self.settle(force=True)

    async def _finish(self, group: CommitGroup) -> None:
        try:
            if group.broken is not None:
                raise group.broken
            await self._statement("COMMIT" if group.members else "ROLLBACK")
        except Exception as exc:
            with suppress(Exception):  # SQLite may have rolled back already
                await self._statement("ROLLBACK")
            if group.members:
                group.done.set_exception(self._wrap(exc))
                group.done.exception()  # retrieved: a member that was cancelled leaves no warning
            else:
                group.done.set_result(None)
            return
        group.done.set_result(None)
        run_after(group.after)


def run_after(callbacks: list[Callable[[], None]]) -> None:
    """The after-commit callbacks of a transaction that has committed (a failing one is
    logged: the data is on disk already, and the next callback still runs)."""
    for fn in callbacks:
        try:
            fn()
        except Exception:
            log.exception("an after-commit callback failed")
