"""Delivering the outbox: retried until delivered, at most the in-flight message twice.

Workers (``Config.delivery_concurrency``, one unless configured) drain the due rows, at most
one message in flight per chat, so a chat's messages keep their order. Each worker sends one
row through the channel's :class:`~kcbx.bot.engine.transport.Transport`, claims the row (an
UPDATE checked by its row count) at the moment the request leaves, after any wait for the
rate limit, and records the answer in its own transaction as soon as it comes: what can be
out but not recorded when the process dies is at most one message per worker.

A row still 'sending' when a drain starts was in flight when its sender died: it may or
may not have gone out. It is sent again once (before the rest, the newest claim last); a row
that a second crash interrupts in flight again is closed as 'failed' rather than risk a third
copy, so nobody gets the same message more than twice.

Rate limits are the transport's job (PTB's AIORateLimiter for Telegram). What the channel
still refuses comes back here and is scheduled again:
- flood control (429 beyond the limiter's retries): again after its ``retry_after``;
- network errors and 5xx: again after an exponential back-off (30 s doubling, at most 1 h);
- unreachable (403: the person blocked the bot, or never started it): the person is marked
  unreachable, the row is closed as 'unreachable' and ``on_unreachable`` hands the task to
  the supervisor;
- any other refusal: the message itself is wrong; it is logged and closed as 'failed'.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kcbx.bot.engine.transport import (
    BadMessage,
    Dispatching,
    FileKind,
    RetryLater,
    Sent,
    Transient,
    Transport,
    Unreachable,
)
from kcbx.bot.runtime.services import Services
from kcbx.storage.outbox import OutboxItem

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 30
BACKOFF_START = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
# Messages in flight at once, overall: enough to keep up with Telegram's 30 a second at
# ~130 ms a call, few enough that a crash repeats at most this many.
CONCURRENCY = 2
ROUND = 300  # due rows read at a time

UnreachableHook = Callable[[OutboxItem], Awaitable[None]]
# Until when a due row must wait instead of going now (None: send it). The sweep holds its
# reminders in the quiet hours, even when a retry or a restart makes them due at night.
HoldHook = Callable[[OutboxItem, datetime], datetime | None]


class Withdrawn(Exception):
    """The row was no longer pending when its turn came: nothing was sent."""


class LeaseLost(Exception):
    """Another instance has taken the database's lease over: this one sends nothing more."""


@dataclass
class DrainReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    unreachable: int = 0
    held: int = 0
    resent: int = 0  # interrupted in flight by a crash, sent again (once)
    errors: list[str] = field(default_factory=list)

    @property
    def settled(self) -> int:
        return self.sent + self.failed + self.unreachable


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... at most an hour."""
    return min(BACKOFF_START * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


class Delivery:
    """Drains due outbox rows through a transport; one drain at a time.

    Only the holder of the database's lease drains (one instance per database), so a row
    left 'sending' at the start of a drain belongs to a sender that died. With a ``fence``
    (whether the lease is still ours), each claim is fenced by the lease in the database: an
    instance whose lease another has taken over claims nothing more and stops draining."""

    def __init__(
        self,
        services: Services,
        transport: Transport,
        *,
        on_unreachable: UnreachableHook | None = None,
        hold: HoldHook | None = None,
        holder: str = "local",
        concurrency: int = CONCURRENCY,
        fence: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self.services = services
        self.transport = transport
        self.on_unreachable = on_unreachable
        self.hold = hold
        self.holder = holder
        self.concurrency = max(1, concurrency)
        self.fence = fence
        self._lock = asyncio.Lock()
        # sent, but the database refused the record: recorded before anything is resent
        self._unrecorded: dict[int, tuple[int, datetime]] = {}

    async def drain(self, *, max_rounds: int = 1000) -> DrainReport:
        """Send everything due now; per chat in order, a few chats side by side."""
        report = DrainReport()
        async with self._lock:
            try:
                await self._drain(report, max_rounds)
            except LeaseLost:
                log.error(
                    "another instance has taken this database's lease over: this one "
                    "stopped delivering"
                )
                report.errors.append("lease lost")
        return report

    async def _drain(self, report: DrainReport, max_rounds: int) -> None:
        if self.fence is not None and not await self.fence():
            raise LeaseLost
        await self._record_unrecorded()
        await self._recover(report)
        troubled: set[int] = set()  # chats whose next message must wait for a later drain
        for _ in range(max_rounds):
            now = self.services.clock.now()
            due = await self.services.outbox.due(now, limit=ROUND)
            due = [item for item in due if item.chat_id not in troubled]
            if not due:
                break
            before = report.settled
            await self._round(due, report, troubled)
            if report.settled == before:
                break  # everything due was rescheduled: stop until it is due again

    async def _round(self, due: list[OutboxItem], report: DrainReport, troubled: set[int]) -> None:
        queues: dict[int, deque[OutboxItem]] = {}
        for item in due:
            queues.setdefault(item.chat_id, deque()).append(item)
        ready = deque(queues)  # chats in the order of their oldest due row
        failure: list[BaseException] = []

        async def worker() -> None:
            while ready and not failure:
                chat = ready.popleft()  # while this worker has it, no other takes the chat
                item = queues[chat].popleft()
                try:
                    outcome = await self._send_one(item, report)
                except BaseException as exc:
                    failure.append(exc)
                    raise
                if outcome not in ("sent", "skipped"):
                    troubled.add(chat)  # keep this chat's order: the rest waits
                elif queues[chat]:
                    ready.append(chat)

        workers = min(self.concurrency, len(ready))
        results = await asyncio.gather(*(worker() for _ in range(workers)), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _send_one(self, item: OutboxItem, report: DrainReport) -> str:
        outbox, now = self.services.outbox, self.services.clock.now
        until = self.hold(item, now()) if self.hold is not None else None
        if until is not None:
            await outbox.retry_later(item.id, when=until, error="held (quiet hours)")
            report.held += 1
            return "held"

        async def claim() -> None:
            fenced = self.fence is not None
            if not await outbox.claim(item.id, holder=self.holder, now=now(), fenced=fenced):
                if self.fence is not None and not await self.fence():
                    raise LeaseLost(item.dedup_key)
                raise Withdrawn(item.dedup_key)

        try:
            sent = await self._send(item, claim)
        except Withdrawn:
            return "skipped"  # withdrawn meanwhile (a closed case), or taken by another
        except RetryLater as exc:
            log.warning("outbox %s: flood control, again in %g s", item.dedup_key, exc.seconds)
            when = now() + timedelta(seconds=exc.seconds)
            await outbox.retry_later(item.id, when=when, error=str(exc))
            report.retried += 1
            return "retry"
        except Unreachable as exc:
            await self._unreachable(item, str(exc), report)
            return "unreachable"
        except BadMessage as exc:
            log.error("the channel refused outbox message %s", item.dedup_key, exc_info=exc)
            await outbox.mark_final(item.id, status="failed", error=str(exc))
            report.failed += 1
            report.errors.append(f"{item.dedup_key}: {exc}")
            return "failed"
        except Transient as exc:
            return await self._transient(item, exc, report)
        await self._record(item, sent)
        report.sent += 1
        if item.interrupted:
            report.resent += 1
        return "sent"

    async def _transient(self, item: OutboxItem, exc: Transient, report: DrainReport) -> str:
        outbox = self.services.outbox
        if item.attempts + 1 >= MAX_ATTEMPTS:
            log.error(
                "outbox %s: gave up after %d attempts", item.dedup_key, MAX_ATTEMPTS, exc_info=exc
            )
            await outbox.mark_final(item.id, status="failed", error=f"gave up: {exc}")
            report.failed += 1
            report.errors.append(f"{item.dedup_key}: {exc}")
            return "failed"
        wait = backoff(item.attempts + 1)
        log.warning("outbox %s: %s; again in %d s", item.dedup_key, exc, wait.total_seconds())
        when = self.services.clock.now() + wait
        await outbox.retry_later(item.id, when=when, error=f"network: {exc}")
        report.retried += 1
        return "retry"

    async def _record(self, item: OutboxItem, sent: Sent) -> None:
        """Record a delivery at once; if the database refuses, remember it so that the next
        drain records it before it could send the message again."""
        now = self.services.clock.now()
        try:
            await self.services.outbox.mark_sent(item.id, message_id=sent.message_id, now=now)
        except Exception:
            self._unrecorded[item.id] = (sent.message_id, now)
            raise

    async def _record_unrecorded(self) -> None:
        for item_id, (message_id, when) in list(self._unrecorded.items()):
            await self.services.outbox.mark_sent(item_id, message_id=message_id, now=when)
            del self._unrecorded[item_id]

    async def _recover(self, report: DrainReport) -> None:
        """Rows a dead sender left in flight: again once, never a third time."""
        outbox = self.services.outbox
        for item in await outbox.in_flight():
            if item.interrupted:
                log.error(
                    "outbox %s was in flight at two crashes: not sent a third time",
                    item.dedup_key,
                )
                await outbox.recover(
                    item.id, resend=False, error="in flight at two crashes: not sent again"
                )
                report.failed += 1
                report.errors.append(f"{item.dedup_key}: in flight at two crashes")
                continue
            log.warning(
                "outbox %s was in flight when its sender stopped: sending it again", item.dedup_key
            )
            await outbox.recover(item.id, resend=True, error="in flight at a crash: sent again")

    async def _unreachable(self, item: OutboxItem, error: str, report: DrainReport) -> None:
        await self.services.outbox.mark_final(item.id, status="unreachable", error=error)
        report.unreachable += 1
        if item.person_id is not None:
            await self.services.people.mark_unreachable(item.person_id, self.services.clock.now())
        if self.on_unreachable is not None:
            await self.on_unreachable(item)

    async def _send(self, item: OutboxItem, claim: Dispatching) -> Sent:
        message, transport = item.message, self.transport
        if message.kind == "text":
            return await transport.send_text(
                item.chat_id, message.text, message.buttons, dispatching=claim
            )
        if message.blob_id is None:
            raise BadMessage("outbox row has no file")
        blob = await self.services.outbox.blob(message.blob_id)
        if blob is None:
            raise BadMessage("outbox file is missing")
        data, filename, _mime = blob
        kind: FileKind = "photo" if message.kind == "photo" else "document"
        return await transport.send_file(
            item.chat_id, kind, data, filename, message.text, message.buttons, dispatching=claim
        )


__all__ = [
    "CONCURRENCY",
    "Delivery",
    "DrainReport",
    "HoldHook",
    "LeaseLost",
    "UnreachableHook",
    "backoff",
]
