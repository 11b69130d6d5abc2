"""The Bot API behind the channel-neutral :class:`~kcbx.bot.engine.transport.Transport`.

The one place that turns Telegram's errors into delivery's outcomes:

- 429 ``RetryAfter`` (beyond what PTB's AIORateLimiter retried itself) -> ``RetryLater``;
- 403 ``Forbidden`` (blocked, deactivated, never started) and 400 "chat not found"
  -> ``Unreachable``;
- any other 400 ``BadRequest`` -> ``BadMessage``;
- timeouts, lost connections, 5xx and other Telegram errors -> ``Transient``.

It also keeps retried trouble quiet in the log (:func:`quiet_retries`): a 429 that is
retried is one WARNING line, without the traceback the rate limiter would print.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import cache
from typing import Any

import httpx
from telegram import Bot, InlineKeyboardMarkup, InputFile, InputMediaPhoto, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import AIORateLimiter, ExtBot
from telegram.request import HTTPXRequest

from kcbx.bot.engine.transport import (
    MAX_ALBUM,
    BadMessage,
    ButtonRows,
    Dispatching,
    FileKind,
    RetryLater,
    Sent,
    Transient,
    Unreachable,
)
from kcbx.bot.runtime.config import Config
from kcbx.handlers.common import inline

RATE_LIMITER_LOGGER = "telegram.ext.AIORateLimiter"
_Answer = bool | dict[str, Any] | list[dict[str, Any]]  # what the Bot API returns, as JSON


def _markup(buttons: ButtonRows) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    try:
        return inline(buttons)
    except ValueError as exc:  # callback data over 64 bytes
        raise BadMessage(str(exc)) from exc


def _seconds(wait: float | timedelta) -> float:
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


async def _call(send: Callable[[], Awaitable[Message]]) -> Sent:
    return (await _call_album(lambda: _one(send)))[0]


async def _one(send: Callable[[], Awaitable[Message]]) -> tuple[Message, ...]:
    return (await send(),)


async def _call_album(send: Callable[[], Awaitable[tuple[Message, ...]]]) -> tuple[Sent, ...]:
    try:
        messages = await send()
    except RetryAfter as exc:
        raise RetryLater(_seconds(exc.retry_after), f"429: {exc}") from exc
    except Forbidden as exc:
        raise Unreachable(f"403: {exc}") from exc
    except BadRequest as exc:  # before NetworkError: PTB derives BadRequest from it
        if "chat not found" in str(exc).lower():
            raise Unreachable(f"400: {exc}") from exc
        raise BadMessage(f"400: {exc}") from exc
    except TelegramError as exc:  # NetworkError, TimedOut, 5xx, Conflict ...
        raise Transient(f"{type(exc).__name__}: {exc}") from exc
    return tuple(Sent(message.message_id) for message in messages)


class _Dispatch:
    """Rides in ``rate_limit_args`` to :class:`DeliveryRateLimiter`: the hook to await once
    the limiter lets the request go."""

    def __init__(self, hook: Dispatching) -> None:
        self.hook = hook


class DeliveryRateLimiter(AIORateLimiter):
    """PTB's AIORateLimiter that, for delivery's sends, awaits the ``dispatching`` hook
    after the wait for a slot, right before the request leaves."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, _Answer]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Any,
    ) -> _Answer:
        if not isinstance(rate_limit_args, _Dispatch):
            return await super().process_request(
                callback, args, kwargs, endpoint, data, rate_limit_args
            )
        hook = rate_limit_args.hook

        async def dispatching(*a: Any, **k: Any) -> _Answer:
            await hook()
            return await callback(*a, **k)

        return await super().process_request(dispatching, args, kwargs, endpoint, data, None)


class TelegramTransport:
    """Sends through a PTB ``Bot`` (rate limited by its AIORateLimiter), in HTML."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def _limited(self, dispatching: Dispatching | None) -> dict[str, Any]:
        """The keyword that hands ``dispatching`` to the rate limiter (or awaits it now,
        when the bot has no limiter that could)."""
        if dispatching is None:
            return {}
        if isinstance(getattr(self.bot, "rate_limiter", None), DeliveryRateLimiter):
            return {"rate_limit_args": _Dispatch(dispatching)}
        await dispatching()
        return {}

    async def send_text(
        self,
        chat_id: int,
        text: str,
        buttons: ButtonRows = (),
        *,
        dispatching: Dispatching | None = None,
    ) -> Sent:
        markup = _markup(buttons)
        extra = await self._limited(dispatching)
        return await _call(
            lambda: self.bot.send_message(
                chat_id,
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                disable_web_page_preview=True,
                **extra,
            )
        )

    async def send_file(
        self,
        chat_id: int,
        kind: FileKind,
        data: bytes,
        filename: str,
        caption: str = "",
        buttons: ButtonRows = (),
        *,
        dispatching: Dispatching | None = None,
    ) -> Sent:
        markup = _markup(buttons)
        extra = await self._limited(dispatching)
        send = self.bot.send_photo if kind == "photo" else self.bot.send_document
        return await _call(
            lambda: send(
                chat_id,
                InputFile(data, filename=filename),
                caption=caption or None,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                **extra,
            )
        )

    async def send_album(
        self, chat_id: int, photo_ids: tuple[str, ...], caption: str = ""
    ) -> tuple[Sent, ...]:
        sent: list[Sent] = []
        for start in range(0, len(photo_ids), MAX_ALBUM):
            chunk = photo_ids[start : start + MAX_ALBUM]
            sent.extend(await self._album(chat_id, chunk, caption if start == 0 else ""))
        return tuple(sent)

    async def _album(self, chat_id: int, chunk: tuple[str, ...], caption: str) -> tuple[Sent, ...]:
        mode = ParseMode.HTML if caption else None
        if len(chunk) == 1:  # an album needs two photos
            return (
                await _call(
                    lambda: self.bot.send_photo(
                        chat_id, chunk[0], caption=caption or None, parse_mode=mode
                    )
                ),
            )
        media = [
            InputMediaPhoto(
                file_id,
                caption=(caption or None) if i == 0 else None,
                parse_mode=mode if i == 0 else None,
            )
            for i, file_id in enumerate(chunk)
        ]
        return await _call_album(lambda: self.bot.send_media_group(chat_id, media))

    async def notify(self, chat_id: int, text: str) -> None:
        """A plain text straight to a chat, outside the outbox (the database is down)."""
        await self.send_text(chat_id, text)

    async def edit_text(
        self, chat_id: int, message_id: int, text: str, buttons: ButtonRows = ()
    ) -> None:
        markup = _markup(buttons)

        async def edit() -> Message:
            edited = await self.bot.edit_message_text(
                text,
                chat_id=chat_id,
                message_id=message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                disable_web_page_preview=True,
            )
            if isinstance(edited, Message):
                return edited
            raise BadMessage("edited an inline message: no chat message to return")

        await _call(edit)


@cache
def _tls() -> ssl.SSLContext:
    """The CA bundle, loaded once a process: each httpx client loads it again otherwise
    (about 25 ms of CPU, twice an application: its requests and its long poll)."""
    return httpx.create_ssl_context()


def http_request(*, long_poll: bool = False) -> HTTPXRequest:
    """PTB's default request object (256 connections; one for the long poll) on the
    process's one TLS context."""
    return HTTPXRequest(
        connection_pool_size=1 if long_poll else 256, httpx_kwargs={"verify": _tls()}
    )


def rate_limiter(config: Config) -> DeliveryRateLimiter:
    """Telegram's limits: about 30 messages a second overall, 20 a minute a group."""
    return DeliveryRateLimiter(
        overall_max_rate=config.overall_max_rate,
        group_max_rate=config.group_max_rate,
        max_retries=config.max_retries,
    )


@asynccontextmanager
async def telegram_transport(config: Config) -> AsyncIterator[TelegramTransport]:
    """A transport of its own, outside a running application (`kcbx sweep`)."""
    quiet_retries()
    bot: ExtBot[int] = ExtBot(
        token=config.require_token(),
        base_url=config.telegram_api_url,
        base_file_url=config.file_url,
        request=http_request(),
        rate_limiter=rate_limiter(config),
    )
    async with bot:
        yield TelegramTransport(bot)


class _RetriedRateLimit(logging.Filter):
    """The rate limiter's own retry (INFO) becomes one WARNING line; its give-up (ERROR with
    a traceback) is dropped, since delivery schedules the message again and says so."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith("Rate limit hit after maximum"):
            return False
        if message.startswith("Rate limit hit."):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def quiet_retries() -> None:
    """Install the log filter of the rate limiter once (``kcbx run``, ``kcbx sweep``)."""
    logger = logging.getLogger(RATE_LIMITER_LOGGER)
    if not any(isinstance(f, _RetriedRateLimit) for f in logger.filters):
        logger.addFilter(_RetriedRateLimit())


def is_transient(error: BaseException | None) -> bool:
    """A network trouble or flood wait that PTB or delivery retries by itself."""
    return isinstance(error, (RetryAfter, NetworkError)) and not isinstance(error, BadRequest)


__all__ = [
    "DeliveryRateLimiter",
    "TelegramTransport",
    "is_transient",
    "quiet_retries",
    "rate_limiter",
    "telegram_transport",
]
