"""Writes that race on PostgreSQL (READ COMMITTED transactions run side by side), and
`kcbx restore` beside a running instance.

The race is made, not hoped for: the first writer's transaction stays open with its row
inserted, the second writer's statement is seen waiting on it in pg_stat_activity, then the
first commits. A read-then-insert would have raised IntegrityError in the second; an
INSERT ... ON CONFLICT finds the first one's row.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kcbx.bot.cli.main import main
from kcbx.bot.runtime.instance import InstanceLease
from kcbx.storage.db import Database
from kcbx.storage.outbox import OutboxRepo, OutgoingMessage
from kcbx.storage.records.backup import backup_copy
from kcbx.storage.units import UnitRepo

pytestmark = pytest.mark.single_backend


async def _blocked(db: Database, seconds: float = 30) -> None:
    """Until some session of this database waits for a lock (the second writer)."""
    deadline = time.monotonic() + seconds
    while True:
        waiting = await db.fetchval(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock'"
        )
        if waiting:
            return
        assert time.monotonic() < deadline, "the second writer never waited"
        await asyncio.sleep(0.02)


async def _race(url: str, first: Any, second: Any) -> tuple[Any, Any]:
    """``first(db)`` in a transaction left open until ``second(db)`` (another pool) waits."""
    one = await Database.open(url, migrate=False)
    two = await Database.open(url, migrate=False)
    try:
        async with one.transaction():
            a = await first(one)
            task: asyncio.Task[Any] = asyncio.create_task(_awaited(second(two)))
            await _blocked(one)
        return a, await asyncio.wait_for(task, timeout=30)
    finally:
        await one.close()
        await two.close()


async def _awaited(work: Awaitable[Any]) -> Any:
    return await work


async def test_two_importers_adding_the_same_units_at_once(pg_url: str) -> None:
    district = await _race(
        pg_url,
        lambda db: UnitRepo(db).add("district", "沙坡头区"),
        lambda db: UnitRepo(db).add("district", "沙坡头区"),
    )
    assert district[0] == district[1]  # a root unit: no parent, the index of 0024
    parent = district[0]
    town = await _race(
        pg_url,
        lambda db: UnitRepo(db).add("township", "滨河镇", parent),
        lambda db: UnitRepo(db).add("township", "滨河镇", parent),
    )
    assert town[0] == town[1]
    db = await Database.open(pg_url, migrate=False)
    try:
        assert await db.fetchval("SELECT COUNT(*) FROM units") == 2
    finally:
        await db.close()


async def test_the_same_message_queued_twice_at_once(pg_url: str) -> None:
    now = datetime.now(UTC)

    def queue(db: Database) -> Awaitable[bool]:
        message = OutgoingMessage(text="提醒")
        return OutboxRepo(db).enqueue(key="r:race:1", chat_id=5, message=message, now=now)

    assert await _race(pg_url, queue, queue) == (True, False)
    db = await Database.open(pg_url, migrate=False)
    try:
        assert await db.fetchval("SELECT COUNT(*) FROM outbox") == 1
    finally:
        await db.close()


async def test_restore_refuses_while_an_instance_holds_the_lease(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = tmp_path / "kcbx.db"
    db = await Database.open(live)
    try:
        copy = backup_copy(live, tmp_path / "b", now=datetime.now(UTC)).path
        running = InstanceLease.of_this_process(db, host="county-server")
        await running.acquire()  # a bot on another machine (its death cannot be seen here)

        def restore() -> int:
            return main(["--db", str(live), "restore", str(copy), "--force"])

        assert await asyncio.to_thread(restore) == 2
        out = capsys.readouterr().out.strip().splitlines()
        assert len(out) == 1 and "county-server" in out[0] and "stop it" in out[0]
        await running.release()
    finally:
        await db.close()
    assert await asyncio.to_thread(restore) == 0  # stopped: restored
