"""A confirmed report is on disk when the teacher is told it is saved: SQLite synchronous=FULL
by default, NORMAL only when the county asks for it (the durability setting)."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest.mock import patch

import pytest

from kcbx.bot.domain.clock import FakeClock
from kcbx.bot.runtime.config import Config, ConfigError, load_config
from kcbx.bot.runtime.services import Services
from kcbx.handlers.persistence import DatabasePersistence
from kcbx.storage.connection.group_commit import CommitGroup, GroupCommitter
from kcbx.storage.db import Database, SqliteDatabase

T0 = datetime(2024, 3, 4, 1, 0, tzinfo=UTC)
FULL, NORMAL = 2, 1  # PRAGMA synchronous's answers


# SQLite's own durability and write refusal (PRAGMA synchronous, query_only, file modes)
pytestmark = pytest.mark.single_backend


async def test_the_database_syncs_every_commit_by_default(tmp_path: Path) -> None:
    services = await Services.open(Config(db_path=str(tmp_path / "k.db")), FakeClock(T0))
    try:
        assert (await services.db.fetchone("PRAGMA synchronous"))[0] == FULL
        assert (await services.db.fetchone("PRAGMA journal_mode"))[0] == "wal"
    finally:
        await services.close()


async def test_normal_durability_is_a_choice(tmp_path: Path) -> None:
    config = Config(db_path=str(tmp_path / "k.db"), durability="normal")
    services = await Services.open(config, FakeClock(T0))
    try:
        assert (await services.db.fetchone("PRAGMA synchronous"))[0] == NORMAL
    finally:
        await services.close()
    db = await Database.open(tmp_path / "k.db")
    try:
        assert (await db.fetchone("PRAGMA synchronous"))[0] == FULL
    finally:
        await db.close()


async def test_conversation_steps_are_as_durable_as_the_rest(tmp_path: Path) -> None:
    persistence = DatabasePersistence(
        Config(db_path=str(tmp_path / "k.db")), FakeClock(T0), max_age=timedelta(hours=1)
    )
    repo = await persistence._repo()
    try:
        assert (await repo.db.fetchone("PRAGMA synchronous"))[0] == FULL
    finally:
        await persistence.flush()


def test_durability_is_read_from_the_environment_and_checked(tmp_path: Path) -> None:
    missing = tmp_path / "none.toml"
    missing.write_text("", encoding="utf-8")
    assert load_config(missing, env={}).durability == "full"
    assert load_config(missing, env={"KCBX_DURABILITY": "normal"}).durability == "normal"
    with pytest.raises(ConfigError, match="durability must be full or normal"):
        load_config(missing, env={"KCBX_DURABILITY": "off"})


# -- group commit: concurrent confirmations share one COMMIT, each told only once it is done

_CONFIRM_THEN_CRASH = """
import asyncio, json, os, signal, sys
from datetime import timedelta
from kcbx.bot.domain.clock import FakeClock
from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.reporting import ReportDraft, report_absence
from kcbx.storage.connection import group_commit
from kcbx.testing.seed import T0, small_district

groups = []
finish = group_commit.GroupCommitter._finish
async def counted(self, group):
    groups.append(group.members)
    await finish(self, group)
group_commit.GroupCommitter._finish = counted

async def main():
    services = await Services.open(Config(db_path=sys.argv[1]), FakeClock(T0 + timedelta(days=3)))
    d = await small_district(services, T0)
    rows = await services.db.fetchall(
        "SELECT s.id, c.teacher_id FROM students s JOIN classes c ON c.id = s.class_id"
        " WHERE s.exempt = 0 ORDER BY s.id")
    people = {r["teacher_id"]: await services.people.get(r["teacher_id"]) for r in rows}
    since = T0.date() + timedelta(days=1)
    groups.clear()
    drafts = [(people[r["teacher_id"]], ReportDraft(r["id"], absent_since=since,
               cause="weariness", contact="agreed")) for r in rows]
    results = await asyncio.gather(*(report_absence(services, p, d) for p, d in drafts))
    # every teacher has been told "saved": the power goes now, nothing closed or flushed
    print(json.dumps({"cases": [r.case.id for r in results if r.created], "groups": groups}),
          flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

asyncio.run(main())
"""


async def test_concurrent_confirmations_are_all_on_disk_after_a_crash(tmp_path: Path) -> None:
    """Reports confirmed at once share COMMITs, and each teacher is answered only after the
    COMMIT of their own: a crash right after the answers loses none of them."""
    path = tmp_path / "k.db"
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", _CONFIRM_THEN_CRASH, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    told = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(told["cases"]) >= 8
    assert max(told["groups"]) > 1  # confirmations did share a COMMIT
    assert sum(told["groups"]) < len(told["cases"]) + 10  # ... fewer commits than writes
    db = await Database.open(path)
    try:
        rows = await db.fetchall("SELECT id FROM cases")
        assert sorted(told["cases"]) == sorted(r[0] for r in rows)
        actions = await db.fetchval("SELECT COUNT(*) FROM actions WHERE kind = 'phone_call'")
        assert actions == len(told["cases"])  # each case's A7.1 call is there with it
    finally:
        await db.close()


async def _grouped(db: Database, writes: list[list[str]]) -> list[BaseException | None]:
    """Run one transaction per entry at once (each inserting its values); what each got."""

    async def one(values: list[str]) -> None:
        async with db.transaction():
            for value in values:
                await db.execute("INSERT INTO t (v) VALUES (?)", (value,))

    results = await asyncio.gather(*(one(v) for v in writes), return_exceptions=True)
    return [r if isinstance(r, BaseException) else None for r in results]


async def test_a_failing_statement_fails_only_its_own_transaction(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "k.db")
    try:
        await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)")
        sizes: list[int] = []
        finish = GroupCommitter._finish

        async def counted(self: GroupCommitter, group: CommitGroup) -> None:
            sizes.append(group.members)
            await finish(self, group)

        with patch.object(GroupCommitter, "_finish", counted):
            got = await _grouped(db, [["a"], ["b"], ["c", "a"], ["d"], ["e"]])
        assert [type(g).__name__ if g else None for g in got] == [
            None,
            None,
            "IntegrityError",
            None,
            None,
        ]
        assert max(sizes) > 1  # the failure happened inside a shared group
        rows = await db.fetchall("SELECT v FROM t ORDER BY v")
        assert [r[0] for r in rows] == ["a", "b", "d", "e"]  # nothing of "c": all or nothing
    finally:
        await db.close()
    reopened = await Database.open(tmp_path / "k.db")
    try:
        assert await reopened.fetchval("SELECT COUNT(*) FROM t") == 4
    finally:
        await reopened.close()


async def test_a_failing_commit_fails_every_member_and_writes_nothing(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "k.db")
    assert isinstance(db, SqliteDatabase)
    try:
        await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)")
        statement = db._statement
        failed = []

        async def disk_full(sql: str) -> None:
            if sql == "COMMIT" and not failed:
                failed.append(sql)
                raise sqlite3.OperationalError("database or disk is full")
            await statement(sql)

        with patch.object(db._committer, "_statement", disk_full):
            got = await _grouped(db, [["a"], ["b"], ["c"]])
        assert failed
        assert all(isinstance(g, sqlite3.OperationalError) for g in got)
        assert await db.fetchval("SELECT COUNT(*) FROM t") == 0
        assert await _grouped(db, [["a"], ["b"]]) == [None, None]  # and it goes on working
        assert await db.fetchval("SELECT COUNT(*) FROM t") == 2
    finally:
        await db.close()


async def test_inline_statements_run_on_the_loop_only_when_the_thread_is_idle(
    tmp_path: Path,
) -> None:
    """Database.inline: no round trip while aiosqlite's thread has nothing queued; behind the
    queued statement otherwise, so statements never overlap and keep their order."""
    db = await Database.open(tmp_path / "k.db")
    assert isinstance(db, SqliteDatabase)
    loop_thread = threading.get_ident()
    db.conn._conn.create_function("thread", 0, threading.get_ident)
    slow = (
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 300000)"
        " SELECT COUNT(*), thread() FROM n"
    )
    try:
        assert await db.fetchval("SELECT thread()") != loop_thread  # by default: the thread
        with db.inline():
            assert await db.fetchval("SELECT thread()") == loop_thread
        with db.inline():  # a task started in the block is not inline: to the thread
            queued = asyncio.ensure_future(db.fetchone(slow))
            await asyncio.sleep(0)  # the slow statement is now in aiosqlite's queue
            behind = await db.fetchval("SELECT thread()")
            assert behind != loop_thread
            assert queued.done()  # it waited for the one queued before it
            async with db.transaction():
                await db.execute("CREATE TABLE t (v TEXT)")
                await db.execute("INSERT INTO t (v) VALUES ('x')")
        assert await db.fetchval("SELECT COUNT(*) FROM t") == 1
    finally:
        await db.close()


async def test_a_group_sqlite_rolled_back_whole_fails_every_member(tmp_path: Path) -> None:
    """A full disk makes SQLite roll back the whole transaction, not one SAVEPOINT: the
    members already released are told, with the cause, instead of a COMMIT of nothing."""
    db = await Database.open(tmp_path / "k.db")
    assert isinstance(db, SqliteDatabase)
    try:
        await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)")
        statement = db._statement

        async def as_sqlite_does(sql: str) -> None:
            if sql == "ROLLBACK TO kcbx_tx":  # SQLite has rolled everything back already
                await statement("ROLLBACK")
                raise sqlite3.OperationalError("no such savepoint: kcbx_tx")
            await statement(sql)

        async def write(value: str, *, disk_full: bool) -> None:
            async with db.transaction():
                await db.execute("INSERT INTO t (v) VALUES (?)", (value,))
                if disk_full:
                    raise sqlite3.OperationalError("database or disk is full")

        with patch.object(db, "_statement", as_sqlite_does):
            got = await asyncio.gather(
                write("a", disk_full=False), write("b", disk_full=True), return_exceptions=True
            )
        assert all(isinstance(g, sqlite3.OperationalError) and "full" in str(g) for g in got)
        assert await db.fetchval("SELECT COUNT(*) FROM t") == 0
        assert await _grouped(db, [["a"]]) == [None]
        assert await db.fetchval("SELECT COUNT(*) FROM t") == 1
    finally:
        await db.close()
