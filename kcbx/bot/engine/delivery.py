"""Delivering the outbox: retried until delivered, never doubled, polite to Telegram.

Rate limits are PTB's AIORateLimiter's job (30 a second overall, 20 a minute a group, and
`retry_after` on a 429). What the limiter gives up on comes back here and is scheduled again:
- 429 beyond the limiter's retries: again after `retry_after`;
- network errors and 5xx: again after an exponential back-off (30 s doubling, at most 1 h);
- 403 (the person blocked the bot, or never started it): the person is marked unreachable,
  the row is closed as 'unreachable' and `on_unreachable` hands the task to the supervisor;
- any other 400: the message itself is wrong; it is logged and closed as 'failed'.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from kcbx.bot.runtime.services import Services
from kcbx.storage.outbox import OutboxItem

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 30
BACKOFF_START = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)

UnreachableHook = Callable[[OutboxItem], Awaitable[None]]
# Until when a due row must wait instead of going now (None: send it). The sweep holds its
# reminders in the quiet hours, even when a retry or a restart makes them due at night.
HoldHook = Callable[[OutboxItem, datetime], datetime | None]


@dataclass
class DrainReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    unreachable: int = 0
    held: int = 0
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... at most an hour."""
    return min(BACKOFF_START * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def _markup(item: OutboxItem) -> InlineKeyboardMarkup | None:
    if not item.message.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=data) for label, data in row]
            for row in item.message.buttons
        ]
    )


class Delivery:
    """Drains due outbox rows; one drain at a time."""

    def __init__(
        self,
        services: Services,
        on_unreachable: UnreachableHook | None = None,
        hold: HoldHook | None = None,
    ) -> None:
        self.services = services
        self.on_unreachable = on_unreachable
        self.hold = hold
        self._lock = asyncio.Lock()

    async def drain(self, bot: Bot, *, max_rounds: int = 1000) -> DrainReport:
        """Send everything due now; per chat in order, chats side by side."""
        report = DrainReport()
        async with self._lock:
            for _ in range(max_rounds):
                due = await self.services.outbox.due(self.services.clock.now(), limit=300)
                if not due:
                    break
                by_chat: dict[int, list[OutboxItem]] = defaultdict(list)
                for item in due:
                    by_chat[item.chat_id].append(item)
                before = report.sent + report.failed + report.unreachable
                await asyncio.gather(
                    *(self._send_chat(bot, items, report) for items in by_chat.values())
                )
                if report.sent + report.failed + report.unreachable == before:
                    break  # everything due was rescheduled: stop until it is due again
        return report

    async def _send_chat(self, bot: Bot, items: list[OutboxItem], report: DrainReport) -> None:
        for item in items:
            outcome = await self._send_one(bot, item, report)
            if outcome != "sent":
                # keep this chat's order: the rest waits for the next drain
                break

    async def _send_one(self, bot: Bot, item: OutboxItem, report: DrainReport) -> str:
        outbox, now = self.services.outbox, self.services.clock.now
        until = self.hold(item, now()) if self.hold is not None else None
        if until is not None:
            await outbox.retry_later(item.id, when=until, error="held (quiet hours)")
            report.held += 1
            return "held"
        await outbox.mark_sending(item.id)
        try:
            message_id = await self._call(bot, item)
        except RetryAfter as exc:
            wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            await outbox.retry_later(
                item.id, when=now() + timedelta(seconds=seconds), error=f"429: {exc}"
            )
            report.retried += 1
            return "retry"
        except Forbidden as exc:
            await self._unreachable(item, f"403: {exc}", report)
            return "unreachable"
        except BadRequest as exc:
            if "chat not found" in str(exc).lower():
                await self._unreachable(item, f"400: {exc}", report)
                return "unreachable"
            log.error("Telegram refused outbox message %s: %s", item.dedup_key, exc)
            await outbox.mark_final(item.id, status="failed", error=f"400: {exc}")
            report.failed += 1
            report.errors.append(f"{item.dedup_key}: {exc}")
            return "failed"
        except (NetworkError, TelegramError) as exc:
            if item.attempts + 1 >= MAX_ATTEMPTS:
                await outbox.mark_final(item.id, status="failed", error=f"gave up: {exc}")
                report.failed += 1
                return "failed"
            await outbox.retry_later(
                item.id, when=now() + backoff(item.attempts + 1), error=f"network: {exc}"
            )
            report.retried += 1
            return "retry"
        await outbox.mark_sent(item.id, message_id=message_id, now=now())
        report.sent += 1
        return "sent"

    async def _unreachable(self, item: OutboxItem, error: str, report: DrainReport) -> None:
        await self.services.outbox.mark_final(item.id, status="unreachable", error=error)
        report.unreachable += 1
        if item.person_id is not None:
            await self.services.people.mark_unreachable(item.person_id, self.services.clock.now())
        if self.on_unreachable is not None:
            await self.on_unreachable(item)

    async def _call(self, bot: Bot, item: OutboxItem) -> int:
        message = item.message
        if message.kind == "text":
            sent = await bot.send_message(
                item.chat_id,
                message.text,
                parse_mode=ParseMode.HTML,
                reply_markup=_markup(item),
                disable_web_page_preview=True,
            )
            return sent.message_id
        if message.blob_id is None:
            raise BadRequest("outbox row has no file")
        blob = await self.services.outbox.blob(message.blob_id)
        if blob is None:
            raise BadRequest("outbox file is missing")
        data, filename, _mime = blob
        if message.kind == "photo":
            sent = await bot.send_photo(
                item.chat_id,
                InputFile(data, filename=filename),
                caption=message.text or None,
                parse_mode=ParseMode.HTML,
                reply_markup=_markup(item),
            )
        else:
            sent = await bot.send_document(
                item.chat_id,
                InputFile(data, filename=filename),
                caption=message.text or None,
                parse_mode=ParseMode.HTML,
                reply_markup=_markup(item),
            )
        return sent.message_id
