"""Two `kcbx run` against one PostgreSQL: one leads, the other stands by and takes over.

Real processes against the strict fake Bot API server (which answers a second concurrent
getUpdates with 409 Conflict, as Telegram does). The leader is killed with SIGKILL in the
middle of delivering 500 reminders, while a class teacher is half-way through /report.
Shown: the standby takes over within 30 s (the lease shortened to 5 s here; the default 15 s
still takes over within 30 s); nothing is lost; the duplicates are at most the messages the
leader had in flight at the kill (its rows left 'sending'); the teacher's report goes on with
the new leader. Every wait polls with a deadline; no sleep decides anything.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kcbx.bot.domain.clock import FakeClock
from kcbx.bot.engine.delivery import Delivery
from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.instance import LEASE_SECONDS, InstanceLease
from kcbx.bot.runtime.services import Services
from kcbx.storage.db import Database
from kcbx.storage.outbox import OutboxRepo, OutgoingMessage, Queued
from kcbx.testing.fakebot import FakeBotApi
from kcbx.testing.seed import T0, small_district

pytestmark = pytest.mark.single_backend

REMINDERS = 500
FIRST_CHAT = 900_000
TEACHER, TEACHER_PHONE = 22, "13900000022"  # 李老师, class 3-1 of 滨河小学
LEASE = 5
SHANGHAI = ZoneInfo("Asia/Shanghai")


async def until(what: str, check: Callable[[], Awaitable[Any]], seconds: float) -> Any:
    """Poll ``check`` until it returns something true; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:g} s waiting for {what}")
        await asyncio.sleep(0.05)


def _settings(folder: Path) -> None:
    """kcbx.toml: a short lease, sweeps and deliveries every few seconds, four messages in
    flight; a policy whose quiet hours are hours away from now, so that reminders go out."""
    local = datetime.now(SHANGHAI)
    quiet = [(local + timedelta(hours=h)).strftime("%H:%M") for h in (6, 7)]
    (folder / "policy.toml").write_text(
        f'[reminders]\nquiet_start = "{quiet[0]}"\nquiet_end = "{quiet[1]}"\n', encoding="utf-8"
    )
    (folder / "kcbx.toml").write_text(
        f"lease_seconds = {LEASE}\nsweep_seconds = 2\ndelivery_concurrency = 4\n"
        f'overall_max_rate = 150.0\npolicy_path = "{folder / "policy.toml"}"\n',
        encoding="utf-8",
    )


async def _seed(url: str) -> None:
    services = await Services.open(Config(db_path=url), FakeClock(T0))
    try:
        await small_district(services, T0)
        person = await services.people.by_phone(TEACHER_PHONE)
        assert person is not None
        await services.people.bind_telegram(
            person.id, telegram_id=TEACHER, chat_id=TEACHER, lang="zh_CN", name="", now=T0
        )
    finally:
        await services.close()


async def _queue_reminders(db: Database) -> None:
    now = datetime.now(UTC)
    items = [
        Queued(
            key=f"r:failover:{n}",
            chat_id=FIRST_CHAT + n,
            message=OutgoingMessage(text=f"⏰ 提醒 {n}：请今天完成家访"),
        )
        for n in range(REMINDERS)
    ]
    assert await OutboxRepo(db).enqueue_many(items, now=now) == REMINDERS


class Bot:
    """One `kcbx run` process, its log in a file."""

    def __init__(self, folder: Path, name: str, env: dict[str, str]) -> None:
        self.name, self.folder, self.env = name, folder, {**env, "KCBX_INSTANCE": name}
        self.log = folder / f"{name}.log"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "kcbx.bot.cli.main",
                "run",
                cwd=self.folder,
                env=self.env,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )

    def said(self, words: str) -> bool:
        return words in self.log.read_text(encoding="utf-8", errors="replace")

    async def stop(self) -> int | None:
        if self.process is None or self.process.returncode is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGINT)
        return await asyncio.wait_for(self.process.wait(), timeout=60)


async def _reminders(db: Database, status: str) -> int:
    count = await db.fetchval(
        "SELECT COUNT(*) FROM outbox WHERE status = ? AND dedup_key LIKE 'r:failover:%'",
        (status,),
    )
    return int(count)


def _reminder_chat(params: dict[str, Any]) -> int | None:
    chat = int(params.get("chat_id", 0))
    return chat if FIRST_CHAT <= chat < FIRST_CHAT + REMINDERS else None


async def test_the_standby_takes_over_a_killed_leader(tmp_path: Path, pg_url: str) -> None:
    # the production default takes over well within 30 s: the lease plus one check
    assert LEASE_SECONDS + LEASE_SECONDS / 5 < 25
    _settings(tmp_path)
    await _seed(pg_url)
    fake = FakeBotApi(
        token="123456:FAILOVER-token", bot_username="kcbx_ha_bot", overall_per_second=200
    )
    async with fake:
        for n in range(REMINDERS):
            fake.user(FIRST_CHAT + n, started=True)
        teacher = fake.user(TEACHER, first_name="李老师", started=True)
        env = {
            **os.environ,
            "KCBX_TELEGRAM_TOKEN": fake.token,
            "KCBX_TELEGRAM_API_URL": fake.base_url,
            "KCBX_TELEGRAM_FILE_URL": fake.base_file_url,
            "KCBX_DB": pg_url,
        }
        leader, standby = Bot(tmp_path, "a", env), Bot(tmp_path, "b", env)
        db = await Database.open(pg_url, migrate=False)
        try:
            await leader.start()
            await fake.wait_polling(timeout=60)
            await standby.start()
            await until("the standby's line", async_(lambda: standby.said("standing by")), 60)
            await _figures(fake, db, leader, standby, teacher)
        finally:
            await db.close()
            for bot in (leader, standby):
                if bot.process is not None and bot.process.returncode is None:
                    bot.process.kill()
                    await bot.process.wait()


def async_(check: Callable[[], Any]) -> Callable[[], Awaitable[Any]]:
    async def run() -> Any:
        return check()

    return run


async def _figures(fake: FakeBotApi, db: Database, leader: Bot, standby: Bot, teacher: Any) -> None:
    holder = await db.fetchval("SELECT holder FROM leases WHERE name = 'bot'")
    assert "@a:" in holder  # a leads; b waits and has not polled Telegram
    # the teacher is half-way through a report: the student picked, the date asked for
    await teacher.send("/report")
    await teacher.wait_for(lambda m: "哪位学生" in m.plain, timeout=30)
    await teacher.press("张三")
    await teacher.wait_for(lambda m: "从哪天开始" in m.plain, timeout=30)

    async def persisted() -> bool:
        kinds = await db.fetchall("SELECT kind FROM conversation_state")
        return {"conversation:report", "user_data"} <= {r[0] for r in kinds}

    await until("the conversation in the database", persisted, 30)

    await _queue_reminders(db)

    def delivered() -> list[int]:
        chats = (_reminder_chat(r.params) for r in fake.calls("sendMessage") if r.status == 200)
        return [c for c in chats if c is not None]

    await until("the leader half-way", async_(lambda: len(delivered()) >= REMINDERS // 3), 60)
    assert leader.process is not None
    leader.process.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    await asyncio.wait_for(leader.process.wait(), timeout=30)
    # what the dead leader had in flight: its claims never recorded (the standby waits for
    # the lease, so nothing moves until it takes over); of them, what the fake server's log
    # shows delivered (asked for before the kill, not recorded as sent)
    in_flight = await _reminders(db, "sending")
    recorded = await _reminders(db, "sent")

    # the new leader's first request is its getMe (answered at once; a getUpdates is recorded
    # only when its long poll ends)
    def started_again() -> bool:
        return any(r.time > killed for r in fake.calls("getMe"))

    await until("the standby starting", async_(started_again), 40)
    holder = await db.fetchval("SELECT holder FROM leases WHERE name = 'bot'")
    assert "@b:" in holder
    # the leader's requests: all before the new leader's first (its getMe); a request the
    # leader sent just before the kill may be handled here just after it
    started = min(r.time for r in fake.calls("getMe") if r.time > killed)
    by_leader = sum(
        1
        for r in fake.calls("sendMessage")
        if r.status == 200 and r.time < started and _reminder_chat(r.params) is not None
    )
    unrecorded = by_leader - recorded

    await until("all reminders", async_(lambda: len(set(delivered())) == REMINDERS), 60)
    got = Counter(delivered())
    lost = REMINDERS - len(got)
    duplicates = sum(n - 1 for n in got.values())

    # the report goes on where it was: the date step answers, then asks for the cause
    today = datetime.now(SHANGHAI).date().isoformat()
    await teacher.send(today)
    await teacher.wait_for(lambda m: "缺课原因" in m.plain, timeout=30)
    # the new leader's first poll, which the teacher's answer ended
    took_over = min(r.time for r in fake.calls("getUpdates") if r.time > killed) - killed

    # 409 Conflict: answered to the older of two getUpdates. The dead leader's last long
    # poll, still open at the server, gets one when the new leader first polls; any other
    # would mean two pollers at once
    conflicts = [r for r in fake.calls("getUpdates") if r.status == 409]
    orphaned = [r for r in conflicts if r.time < killed]
    print(
        f"\ntakeover {took_over:.1f} s after SIGKILL (lease {LEASE} s); {REMINDERS} reminders:"
        f" {by_leader} by the leader, {lost} lost, {duplicates} duplicates, {in_flight} in"
        f" flight at the kill ({unrecorded} of them delivered by the fake server, unrecorded);"
        f" 409 conflicts {len(conflicts)} ({len(orphaned)} the dead leader's last poll)"
    )
    assert took_over < 30
    assert lost == 0
    assert duplicates == unrecorded <= in_flight
    assert len(orphaned) <= 1 and len(conflicts) == len(orphaned)  # never two pollers
    interrupted = await db.fetchval(
        "SELECT COUNT(*) FROM outbox WHERE interrupted > 0 AND dedup_key LIKE 'r:failover:%'"
    )
    assert interrupted == in_flight  # each sent again once by the new leader
    assert await standby.stop() == 0


async def test_a_standby_never_claims_while_another_holds_the_lease(pg_url: str) -> None:
    """The fence: a claim by a holder whose lease was taken over changes nothing."""
    db = await Database.open(pg_url, migrate=False)
    try:
        outbox, now = OutboxRepo(db), datetime.now(UTC)
        await outbox.enqueue(key="t:1", chat_id=1, message=OutgoingMessage(text="x"), now=now)
        (item,) = await outbox.due(now + timedelta(seconds=1))
        old = InstanceLease.of_this_process(db, host="old")
        await old.acquire()
        assert await old.holds()
        new = InstanceLease.of_this_process(db, host="new")
        assert await new.repo.take_over(
            "bot", holder=new.holder, host="new", pid=1, stale=old.holder, now=now, until=now
        )
        assert not await old.holds()
        assert not await outbox.claim(item.id, holder=old.holder, now=now, fenced=True)
        assert await outbox.claim(item.id, holder=new.holder, now=now, fenced=True)
    finally:
        await db.close()


async def test_a_leader_that_lost_its_lease_stops_draining(pg_url: str) -> None:
    services = await Services.open(Config(db_path=pg_url), FakeClock(T0))
    try:
        await services.outbox.enqueue(
            key="t:2", chat_id=2, message=OutgoingMessage(text="y"), now=T0
        )

        async def taken_over() -> bool:
            return False

        delivery = Delivery(services, NoTransport(), holder="old", fence=taken_over)
        report = await delivery.drain()
        assert report.errors == ["lease lost"] and report.sent == 0
        assert (await services.outbox.counts()) == {"pending": 1}
    finally:
        await services.close()


class NoTransport:
    """Any call fails the test: a fenced-off leader sends nothing."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the transport was used: {name}")
