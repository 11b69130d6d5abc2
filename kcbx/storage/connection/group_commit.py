"""Group commit on SQLite: the transactions of concurrent callers share one COMMIT.

With ``synchronous=FULL`` every COMMIT syncs the WAL to the disk, and a person is told that a
report is saved only after that. When a hundred teachers confirm at once, their transactions
still run one after another on the one connection (each in a SAVEPOINT of its own, so that
one that fails rolls back alone), but the COMMIT, and its sync, is shared: the group stays
open while more transactions wait to join it, up to :data:`GROUP_MOST` of them or
:data:`GROUP_SECONDS`, and is then committed once. Each caller's ``transaction()`` returns
only when the group's COMMIT has returned, so no one is told "saved" before the data is on
the disk; if the COMMIT fails, every member of the group gets the error and nothing of the
group is written.

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

    @property
    def old(self) -> bool:
        return time.monotonic() - self.opened >= GROUP_SECONDS


class GroupCommitter:
    """When the open group begins and commits. Every method is called under the database's
    write lock; ``waiting`` counts the transactions waiting for that lock."""

    def __init__(self, statement: Statement, wrap: Callable[[Exception], Exception]) -> None:
        self._statement = statement
        self._wrap = wrap  # the driver's error as the caller should see it
        self.group: CommitGroup | None = None
        self.waiting = 0

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
        if not force and self.waiting and group.members < GROUP_MOST and not group.old:
            return
        self.group = None  # the COMMIT is queued before any later statement of the connection
        await asyncio.shield(self._finish(group))  # a cancelled caller does not stop the others

    async def _finish(self, group: CommitGroup) -> None:
        try:
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
        for fn in group.after:
            try:
                fn()
            except Exception:
                log.exception("an after-commit callback failed")
