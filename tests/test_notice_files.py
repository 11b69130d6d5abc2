"""The notices' documents off the sweep (A7.4): the sweep numbers the notice and records the
files owed; the worker renders each document once and queues the files after the reminder."""

from __future__ import annotations

from test_e2e_notices import at, day_15_case

from kcbx.bot.engine.notice_files import NoticeFileWorker
from kcbx.handlers.jobs import sweep_now
from kcbx.testing.harness import BotHarness


async def outbox(harness: BotHarness) -> list[tuple[str, str, int]]:
    rows = await harness.s.db.fetchall("SELECT dedup_key, kind, chat_id FROM outbox ORDER BY id")
    return [(r[0], r[1], r[2]) for r in rows]


async def test_the_sweep_records_the_files_and_the_worker_sends_them(harness: BotHarness) -> None:
    _d, case = await day_15_case(harness)
    await harness.set_time(at(3, 18, 12))
    harness.clock.set(at(3, 19, 8))
    await sweep_now(harness.app)  # the sweep alone: no worker has run
    notices = await harness.s.notices.of_case(case.id)
    assert [n.number for n in notices] and not any(n.has_documents for n in notices)
    queued = await outbox(harness)
    assert queued and all(kind == "text" for _, kind, _ in queued)  # no file in the sweep
    owed = await harness.s.notice_files.pending(100)
    assert {f.format for f in owed} == {"pdf", "docx"}
    assert {f.notice_id for f in owed} == {n.id for n in notices}
    reminder_keys = {key for key, _, _ in queued}
    assert all(f.outbox_key.rsplit(":", 1)[0] in reminder_keys for f in owed)

    assert await NoticeFileWorker(harness.s).drain() == len(owed)
    files = [(key, chat) for key, kind, chat in await outbox(harness) if kind == "document"]
    assert sorted(files) == sorted((f.outbox_key, f.chat_id) for f in owed)
    rendered = [await harness.s.notices.get(n.id) for n in notices]
    assert all(n is not None and n.has_documents for n in rendered)
    assert await harness.s.notice_files.pending(100) == []
    assert await NoticeFileWorker(harness.s).drain() == 0  # rendered once, queued once


async def test_the_worker_runs_in_the_background(harness: BotHarness) -> None:
    await day_15_case(harness)
    await harness.set_time(at(3, 18, 12))
    harness.clock.set(at(3, 19, 8))
    await sweep_now(harness.app)
    told: list[int] = []
    worker = NoticeFileWorker(harness.s, on_queued=lambda: told.append(1))
    worker.start()
    try:
        while await harness.s.notice_files.pending(100):
            await worker.drain()  # joins the background run (one at a time)
    finally:
        await worker.stop()
    assert told and await harness.s.notice_files.pending(100) == []
