"""The notices' documents off the sweep (A7.4): the sweep numbers the notice and records the
files owed; the worker renders each document once and queues the files after the reminder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kcbx.bot.domain.clock import FakeClock
from kcbx.bot.engine.notice_files import NoticeFileWorker
from kcbx.bot.engine.sweep import Sweeper
from kcbx.bot.engine.wiring import register_features
from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.services import Services
from kcbx.testing.seed import T0, small_district

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2024, 3, 25, 9, 0, tzinfo=SH)  # day 21 of an absence from 4 March


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    services = await Services.open(Config(db_path=str(tmp_path / "k.db")), FakeClock(NOW))
    register_features(services)
    d = await small_district(services, T0)
    for user, phone in ((3, "13900000003"), (10, "13900000010"), (22, "13900000022")):
        person = await services.people.by_phone(phone)
        assert person is not None
        await services.people.bind_telegram(
            person.id, telegram_id=user, chat_id=user, lang="zh_CN", name="", now=T0
        )
    for name in ("张三", "李四"):
        await services.cases.open_case(
            student_id=d.students[name],
            reported_by=None,
            absent_since=date(2024, 3, 4),
            cause="unknown",
            guardian_contact=None,
            note=None,
            now=T0,
            year=2024,
            actor="cli:test",
        )
    yield services
    await services.close()


async def outbox(services: Services) -> list[tuple[str, str, int]]:
    rows = await services.db.fetchall("SELECT dedup_key, kind, chat_id FROM outbox ORDER BY id")
    return [(r[0], r[1], r[2]) for r in rows]


async def test_the_sweep_records_the_files_and_the_worker_sends_them(services: Services) -> None:
    await Sweeper(services).run(NOW)
    notices = [n for c in (1, 2) for n in await services.notices.of_case(c)]
    assert [n.number for n in notices] and not any(n.has_documents for n in notices)
    queued = await outbox(services)
    assert all(kind == "text" for _, kind, _ in queued)  # no file inside the sweep
    owed = await services.notice_files.pending(100)
    # the bureau and the township (cc) get each notice's PDF and .docx with the reminder
    assert sorted((f.notice_id, f.format, f.chat_id) for f in owed) == [
        (n.id, fmt, chat)
        for n in sorted(notices, key=lambda n: n.id)
        for fmt in ("docx", "pdf")
        for chat in (3, 10)
    ]
    reminder_keys = {key for key, _, _ in queued}
    assert all(f.outbox_key.rsplit(":", 1)[0] in reminder_keys for f in owed)

    assert await NoticeFileWorker(services).drain() == len(owed)
    files = [(key, chat) for key, kind, chat in await outbox(services) if kind == "document"]
    assert sorted(files) == sorted((f.outbox_key, f.chat_id) for f in owed)
    rendered = [await services.notices.get(n.id) for n in notices]
    assert all(n is not None and n.has_documents for n in rendered)
    assert await services.notice_files.pending(100) == []
    # a later sweep or a restart owes nothing new and renders nothing again
    assert await NoticeFileWorker(services).drain() == 0


async def test_the_worker_is_a_background_task_with_a_bounded_batch(services: Services) -> None:
    await Sweeper(services).run(NOW)
    told: list[int] = []
    worker = NoticeFileWorker(services, on_queued=lambda: told.append(1))
    worker.start()
    try:
        while await services.notice_files.pending(100):
            await worker.drain()  # joins the background run (one at a time)
    finally:
        await worker.stop()
    assert told and await services.notice_files.pending(100) == []
