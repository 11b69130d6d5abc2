"""The notices' documents, off the sweep (A7.4, A7.5).

Rendering a notice's PDF and .docx (reportlab, python-docx) takes a good part of a second;
a catch-up with thousands of notices due must not wait for them before it sends anything.
So the sweep only numbers the notice and records which files are owed to whom
(:class:`FileToRender`, kept in ``notice_files`` in the sweep's own transaction, under the
outbox key the file will go with). This worker then renders each document once, in a
thread off the event loop, keeps the files with the notice (its number's documents: the
cache every later request reads), and queues the file messages into the outbox, where
delivery sends them after the reminder they follow.

The worker holds at most ``BATCH`` files in memory at a time; the rest wait, durably, in the
database (a restart picks them up). One worker per process; :meth:`NoticeFileWorker.kick`
wakes it after a sweep, :meth:`NoticeFileWorker.drain` queues everything owed now (the CLI,
tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from kcbx.bot.domain.ladder.reminders import quiet_hours_next_send
from kcbx.bot.domain.model import Notice
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.notices import record_export, render_documents
from kcbx.storage.notices import NoticeFile
from kcbx.storage.outbox import OutgoingMessage, Queued

log = logging.getLogger(__name__)

BATCH = 16  # files in memory at once; the rest wait in the database


@dataclass(frozen=True)
class FileToRender(OutgoingMessage):
    """A notice's file owed with a reminder: recorded by the sweep, sent once rendered."""

    notice_id: int = 0
    file_format: str = "pdf"  # pdf | docx


def file_of(notice: Notice, file_format: str) -> int | None:
    return notice.pdf_blob_id if file_format == "pdf" else notice.docx_blob_id


async def queue_files(services: Services, limit: int = BATCH) -> int:
    """Render the documents of up to ``limit`` owed files and queue them; returns how many
    were done with (0: nothing is owed, or nothing could be rendered now)."""
    owed = await services.notice_files.pending(limit)
    by_notice: dict[int, list[NoticeFile]] = {}
    for f in owed:
        by_notice.setdefault(f.notice_id, []).append(f)
    done = 0
    for notice_id, files in by_notice.items():
        notice = await services.notices.get(notice_id)
        if notice is not None and not notice.replaced:
            try:
                notice = await render_documents(services, notice)  # once per notice
            except Exception:  # logged with its traceback; the files are tried again later
                log.exception("rendering notice %s failed", notice.number)
                continue
        await _queue(services, notice, files)
        done += len(files)
    return done


async def _queue(services: Services, notice: Notice | None, files: list[NoticeFile]) -> None:
    now = services.clock.now()
    queued = []
    if notice is not None and not notice.replaced:  # a replaced number's files are not sent
        for f in files:
            blob_id = file_of(notice, f.format)
            if blob_id is None:
                continue
            message = OutgoingMessage(text=f.caption, blob_id=blob_id, kind="document")
            not_before = quiet_hours_next_send(now, services.policy)
            queued.append(
                Queued(f.outbox_key, f.chat_id, message, f.person_id, f.case_id, not_before)
            )
    async with services.db.transaction():
        await services.outbox.enqueue_many(queued, now=now)
        await services.notice_files.mark_queued([f.outbox_key for f in files], now=now)
        if notice is not None:
            for person_id in sorted({q.person_id for q in queued if q.person_id is not None}):
                person = await services.people.get(person_id)
                if person is not None:
                    await record_export(services, notice, person, "sweep")


class NoticeFileWorker:
    """Queues the notices' files in the background, one batch at a time."""

    def __init__(self, services: Services, *, on_queued: Callable[[], None] | None = None):
        self.services = services
        self.on_queued = on_queued
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="kcbx-notice-files")
            self.kick()  # files owed before a restart

    def kick(self) -> None:
        """Files may be owed (a sweep recorded some): look soon."""
        self._wake.set()

    async def drain(self) -> int:
        """Queue every file owed now; returns how many."""
        total = 0
        async with self._lock:
            while count := await queue_files(self.services):
                total += count
        if total and self.on_queued is not None:
            self.on_queued()
        return total

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.drain()
            except Exception:  # the files stay owed in the database; the next kick retries
                log.exception("queueing the notices' files failed")
