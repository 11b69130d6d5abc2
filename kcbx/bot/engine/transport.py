"""The way out, whatever the channel: what delivery needs of a messenger.

Delivery (:mod:`kcbx.bot.engine.delivery`) sends through a :class:`Transport` and reads only
the neutral outcomes below, so a second channel (WeCom 企业微信, DingTalk 钉钉) is one more
implementation of this port and touches neither the outbox nor the services. The Bot API
implementation is :class:`kcbx.handlers.transport.TelegramTransport`, the one place that
knows Telegram's errors and keyboards.

Texts arrive as the texts layer writes them (Telegram's small HTML subset: bold, italic,
links, code); a channel without it converts or strips the tags. Buttons are rows of
(label, callback data), callback data at most 64 bytes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol

# rows of (label, callback data)
ButtonRows = tuple[tuple[tuple[str, str], ...], ...]
FileKind = Literal["document", "photo"]
MAX_ALBUM = 10  # photos in one album (Telegram's sendMediaGroup takes 2-10)
# Awaited right before the message leaves, after any wait for the rate limit (again before
# each retry): delivery claims its outbox row here, so that a crash can only leave a row
# 'sending' whose request may really have gone out. If it raises, nothing is sent and the
# exception propagates.
Dispatching = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Sent:
    """The channel accepted the message; its id there (to edit it later)."""

    message_id: int


class TransportError(Exception):
    """The channel did not take the message; the subclass says what to do about it."""


class RetryLater(TransportError):
    """Flood control: try this message again after ``seconds`` (Telegram's 429)."""

    def __init__(self, seconds: float, detail: str = "") -> None:
        super().__init__(detail or f"retry after {seconds:g} s")
        self.seconds = seconds


class Unreachable(TransportError):
    """The recipient cannot be written to: blocked the bot, deactivated, never started it,
    or the chat no longer exists. Retrying will not help; someone else must act (A7)."""


class Transient(TransportError):
    """The channel or the network failed (timeouts, 5xx, a lost connection): try again
    after a back-off; the message itself is fine."""


class BadMessage(TransportError):
    """The channel refused this message for what it is (malformed text or buttons, a file
    it will not take). Sending it again gives the same answer."""


class Transport(Protocol):
    """Send and edit messages in one channel: a text with button rows, a file, a map pin. Each call
    either returns or raises one of the :class:`TransportError` subclasses above; nothing
    channel-specific escapes."""

    async def send_text(
        self,
        chat_id: int,
        text: str,
        buttons: ButtonRows = (),
        *,
        dispatching: Dispatching | None = None,
    ) -> Sent: ...

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
        """A document (any file, e.g. the A7.4 notice's PDF), or a photo (a chart)."""
        ...

    async def send_album(
        self, chat_id: int, photo_ids: tuple[str, ...], caption: str = ""
    ) -> tuple[Sent, ...]:
        """Photos the channel already holds (their ids there, e.g. a visit's evidence),
        as albums of at most :data:`MAX_ALBUM`; ``caption`` on the first photo only.
        A single photo goes alone (an album needs two)."""
        ...

    async def send_location(self, chat_id: int, latitude: float, longitude: float) -> Sent:
        """A map pin (a visit's location, sent again from the case card)."""
        ...

    async def edit_text(
        self, chat_id: int, message_id: int, text: str, buttons: ButtonRows = ()
    ) -> None: ...


__all__ = [
    "MAX_ALBUM",
    "BadMessage",
    "ButtonRows",
    "Dispatching",
    "FileKind",
    "RetryLater",
    "Sent",
    "Transient",
    "Transport",
    "TransportError",
    "Unreachable",
]
