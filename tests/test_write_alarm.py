"""Trouble said once and plainly: a database that cannot be written while the bot runs, and
retried Telegram errors that are one WARNING line each, without a traceback."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from kcbx.handlers.jobs import deliver_now, guarded, heartbeat
from kcbx.storage.outbox import OutgoingMessage
from kcbx.testing.harness import BotHarness
from kcbx.testing.seed import small_district

# SQLite's own durability and write refusal (PRAGMA synchronous, query_only, file modes)
pytestmark = pytest.mark.single_backend


async def test_a_database_that_cannot_be_written_stops_the_bot_loudly(
    harness: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    s = harness.s
    await small_district(s, harness.clock.now())
    await harness.bind_quietly(1, phone="13900000001")  # the administrator
    await harness.bind_quietly(22, phone="13900000022")  # a teacher
    admin, teacher = harness.fake.user(1), harness.fake.user(22)
    await s.outbox.enqueue(
        key="t:1", chat_id=22, message=OutgoingMessage(text="提醒"), now=harness.clock.now()
    )

    # the disk is read-only now: SQLite itself refuses every write
    await s.db.conn.execute("PRAGMA query_only = ON")
    caplog.set_level(logging.INFO)
    for _ in range(3):
        assert await heartbeat(harness.app)
        assert not await guarded(harness.app, "delivery", lambda: _drain(harness))
    await teacher.send("/lang en")  # a person confirms something
    refusal = await teacher.next_message()
    assert "未保存" in refusal.plain  # "Nothing was saved from this step"

    said = [r for r in caplog.records if "cannot be written" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.ERROR  # at most once a minute
    [told] = admin.messages  # the administrator, once
    assert "数据库" in told.plain
    assert harness.fake.calls("sendMessage")[0].params["chat_id"] in (1, "1")
    assert [m.plain for m in teacher.messages] == [refusal.plain]  # the reminder waits

    # writable again: the next heartbeat says so; the reminder goes out
    await s.db.conn.execute("PRAGMA query_only = OFF")
    assert await heartbeat(harness.app)
    assert len(admin.messages) == 2 and "恢复" in admin.messages[-1].plain
    report = await deliver_now(harness.app)
    assert report.sent == 1 and teacher.messages[-1].plain == "提醒"


async def _drain(harness: BotHarness) -> None:
    await deliver_now(harness.app)


async def test_retried_429s_and_network_errors_are_one_warning_line_each(
    harness: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    s = harness.s
    user = harness.fake.user(5, started=True)
    await s.outbox.enqueue(
        key="t:5", chat_id=5, message=OutgoingMessage(text="a"), now=harness.clock.now()
    )
    # four 429s: the rate limiter retries three times, then delivery schedules it again
    harness.fake.fail_next("sendMessage", code=429, retry_after=1, times=4)
    caplog.set_level(logging.INFO)
    first = await deliver_now(harness.app)
    assert first.retried == 1 and first.sent == 0
    harness.fake.fail_next("sendMessage", code=502)
    harness.clock.advance(timedelta(seconds=2))
    second = await deliver_now(harness.app)
    assert second.retried == 1
    harness.clock.advance(timedelta(minutes=1))
    third = await deliver_now(harness.app)
    assert third.sent == 1 and [m.plain for m in user.messages] == ["a"]

    trouble = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert all(r.exc_info is None for r in trouble)
    assert [r.levelno for r in trouble] == [logging.WARNING] * 5
    assert harness.fake.stats.errors[429] == 4 and harness.fake.stats.errors[502] == 1
