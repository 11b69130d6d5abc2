"""The people around the fake server: users and groups that send, press and read."""

# ruff: noqa: ASYNC109

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from kcbx.testing.fakebot.html import (
    utf16_len,
)
from kcbx.testing.fakebot.limits import (
    JSONDict,
)
from kcbx.testing.fakebot.records import (
    CallbackAnswer,
    FileStore,
    SentMessage,
)


class Server(Protocol):
    """What a person's side needs of the fake server."""

    now: Callable[[], float]
    private_per_second: float
    private_burst: int
    group_per_minute: float
    stored: FileStore

    async def _wait(
        self, predicate: Callable[[], bool], timeout: float, what: Callable[[], str]
    ) -> None: ...

    def _conversation_of(self, message: SentMessage) -> _Conversation: ...

    async def _deliver_message(self, conversation: _Conversation, message: JSONDict) -> None: ...

    async def _deliver_callback(
        self, user: FakeUser, conversation: _Conversation, message: SentMessage, data: str
    ) -> str: ...

    def _message_json_by_id(self, conversation: _Conversation, message_id: int) -> JSONDict: ...


class _TokenBucket:
    """`capacity` messages at once, refilled at `rate` per second."""

    def __init__(self, capacity: float, rate: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.updated: float | None = None  # full until first used, on the server's flood clock

    def _refill(self, now: float) -> None:
        elapsed = 0.0 if self.updated is None else max(0.0, now - self.updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.updated = now if self.updated is None else max(now, self.updated)

    def wait(self, now: float) -> float:
        self._refill(now)
        return 0.0 if self.tokens >= 1 - 1e-9 else (1 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1


class _Conversation:
    """A chat as one side sees it: what the bot sent there, consumed in order by the test."""

    def __init__(self, fake: Server, chat_id: int, bucket: _TokenBucket) -> None:
        self._fake = fake
        self.chat_id = chat_id
        self.messages: list[SentMessage] = []
        self.chat_actions: list[str] = []
        self._events: list[tuple[str, SentMessage]] = []
        self._cursor = 0
        self._by_id: dict[int, SentMessage] = {}
        self._incoming: dict[int, JSONDict] = {}
        self._last_message_id = 0
        self._bucket = bucket

    username: str | None

    @property
    def chat_json(self) -> JSONDict:
        """The Telegram Chat object."""
        chat = self._chat_fields()
        if self.username:
            chat["username"] = self.username
        return chat

    def _chat_fields(self) -> JSONDict:
        """The Chat object's fields but the username."""
        raise NotImplementedError

    def _describe(self) -> str:
        return f"chat {self.chat_id}"

    def _new_message_id(self) -> int:
        self._last_message_id += 1
        return self._last_message_id

    def _event(self, kind: str, message: SentMessage) -> None:
        self._events.append((kind, message))

    @property
    def last(self) -> SentMessage | None:
        """The latest message the bot sent here that is not deleted."""
        return next((m for m in reversed(self.messages) if not m.deleted), None)

    def inbox(self) -> list[SentMessage]:
        """Messages sent or edited since last consumed, oldest first; marks them consumed."""
        pending = self._events[self._cursor :]
        self._cursor = len(self._events)
        seen: list[SentMessage] = []
        for kind, message in pending:
            if kind != "delete" and all(message is not s for s in seen):
                seen.append(message)
        return seen

    def _find(self, predicate: Callable[[str, SentMessage], bool]) -> int | None:
        for index in range(self._cursor, len(self._events)):
            if predicate(*self._events[index]):
                return index
        return None

    async def next_message(self, timeout: float = 10.0) -> SentMessage:
        """Wait for the next new or edited message here and consume it."""
        return await self._next(
            lambda kind, _m: kind != "delete", "a new or edited message", timeout
        )

    async def wait_for(
        self, predicate: Callable[[SentMessage], bool], timeout: float = 10.0
    ) -> SentMessage:
        """Wait for a message sent, edited or deleted since the cursor that matches; consume it."""
        return await self._next(lambda _k, m: predicate(m), "a matching message", timeout)

    async def _next(
        self, predicate: Callable[[str, SentMessage], bool], what: str, timeout: float
    ) -> SentMessage:
        await self._fake._wait(
            lambda: self._find(predicate) is not None,
            timeout,
            lambda: f"{what} to {self._describe()}; received so far: {self.messages}",
        )
        index = self._find(predicate)
        assert index is not None
        self._cursor = index + 1
        return self._events[index][1]


class FakeGroup(_Conversation):
    """A group or supergroup the bot is a member of."""

    def __init__(
        self, fake: Server, chat_id: int, title: str, chat_type: str, username: str | None
    ) -> None:
        super().__init__(
            fake, chat_id, _TokenBucket(fake.group_per_minute, fake.group_per_minute / 60)
        )
        self.title = title
        self.type = chat_type
        self.username = username
        self.bot_removed = False

    def _chat_fields(self) -> JSONDict:
        return {"id": self.chat_id, "type": self.type, "title": self.title}

    def _describe(self) -> str:
        return f"group {self.title!r} ({self.chat_id})"

    def remove_bot(self) -> None:
        """Kick the bot out: sending here now fails with 403."""
        self.bot_removed = True

    def add_bot(self) -> None:
        """Add the bot back."""
        self.bot_removed = False


class FakeUser(_Conversation):
    """A person: their private chat with the bot, and what they do in it or in groups."""

    def __init__(
        self,
        fake: Server,
        user_id: int,
        first_name: str,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
        started: bool,
    ) -> None:
        super().__init__(fake, user_id, _TokenBucket(fake.private_burst, fake.private_per_second))
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.started = started
        self.blocked = False
        self.keyboard: list[list[str]] | None = None
        self.callback_answers: list[CallbackAnswer] = []
        self._answers_cursor = 0

    @property
    def json(self) -> JSONDict:
        """The Telegram User object."""
        user: JSONDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key):
                user[key] = getattr(self, key)
        return user

    def _chat_fields(self) -> JSONDict:
        """The private chat of this user."""
        chat: JSONDict = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            chat["last_name"] = self.last_name
        return chat

    def _describe(self) -> str:
        return f"user {self.first_name!r} ({self.id})"

    def block(self) -> None:
        """Block the bot: sending to this user now fails with 403."""
        self.blocked = True

    def unblock(self) -> None:
        """Unblock the bot."""
        self.blocked = False

    def _chat(self, chat: FakeGroup | None) -> _Conversation:
        if chat is None:
            self.started = True
            self.blocked = False
            return self
        return chat

    async def _send(self, chat: FakeGroup | None, content: JSONDict, reply_to: Any) -> JSONDict:
        conversation = self._chat(chat)
        message: JSONDict = {
            "message_id": conversation._new_message_id(),
            "from": self.json,
            "chat": conversation.chat_json,
            "date": int(self._fake.now()),
            **content,
        }
        if reply_to is not None:
            reply_id = reply_to.message_id if isinstance(reply_to, SentMessage) else reply_to
            message["reply_to_message"] = self._fake._message_json_by_id(conversation, reply_id)
        conversation._incoming[message["message_id"]] = message
        await self._fake._deliver_message(conversation, message)
        return message

    async def send(
        self, text: str, *, chat: FakeGroup | None = None, reply_to: SentMessage | int | None = None
    ) -> JSONDict:
        """Send a text (a `/command` gets its bot_command entity); returns the Message.

        Writing in the private chat counts as pressing Start (and unblocks, as Restart does).
        """
        content: JSONDict = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
            ]
        if chat is None and self.keyboard is not None and self._one_time_keyboard():
            self.keyboard = None
        return await self._send(chat, content, reply_to)

    def _one_time_keyboard(self) -> bool:
        markup = next((m.reply_markup for m in reversed(self.messages) if m.reply_keyboard), None)
        return bool(markup and markup.get("one_time_keyboard"))

    async def tap(self, text: str) -> JSONDict:
        """Press a button of the reply keyboard the bot showed last (sends its text)."""
        keys = [key for row in self.keyboard or [] for key in row]
        if text not in keys:
            raise AssertionError(f"{self._describe()} has no reply keyboard key {text!r}: {keys}")
        return await self.send(text)

    async def press(
        self, button: str, message: SentMessage | None = None, *, chat: FakeGroup | None = None
    ) -> str:
        """Press the inline button with this text or callback_data; returns the query id."""
        conversation: _Conversation = chat or self
        if message is not None:
            conversation = self._fake._conversation_of(message)
            candidates = [message]
        else:
            candidates = [m for m in reversed(conversation.messages) if not m.deleted]
        for candidate in candidates:
            if candidate.deleted:
                raise AssertionError(f"cannot press a button of a deleted message: {candidate}")
            for row in candidate.inline_keyboard:
                for b in row:
                    if button in (b["text"], b.get("callback_data")):
                        if "callback_data" not in b:
                            raise AssertionError(f"button {button!r} is no callback button: {b}")
                        return await self._callback(conversation, candidate, b["callback_data"])
        seen = [(m.message_id, m.buttons) for m in candidates if m.buttons]
        raise AssertionError(
            f"no inline button {button!r} for {self._describe()} in "
            f"{conversation._describe()}; buttons seen (message id, texts): {seen}"
        )

    async def press_data(self, data: str, message: SentMessage) -> str:
        """Send a callback query with any data for `message` (a forged press)."""
        return await self._callback(self._fake._conversation_of(message), message, data)

    async def _callback(self, conversation: _Conversation, message: SentMessage, data: str) -> str:
        if conversation is self:
            self.started = True
        return await self._fake._deliver_callback(self, conversation, message, data)

    async def send_location(
        self, latitude: float, longitude: float, *, chat: FakeGroup | None = None
    ) -> JSONDict:
        """Share a location."""
        return await self._send(
            chat, {"location": {"latitude": latitude, "longitude": longitude}}, None
        )

    async def send_contact(
        self, phone_number: str, *, first_name: str | None = None, chat: FakeGroup | None = None
    ) -> JSONDict:
        """Share a contact (by default their own, as a request_contact button does)."""
        contact = {
            "phone_number": phone_number,
            "first_name": first_name or self.first_name,
            "user_id": self.id,
        }
        return await self._send(chat, {"contact": contact}, None)

    async def send_photo(
        self,
        data: bytes,
        caption: str | None = None,
        *,
        file_size: int | None = None,
        chat: FakeGroup | None = None,
    ) -> JSONDict:
        """Send a photo; `file_size` overrides the size Telegram reports (to fake a huge one)."""
        content: JSONDict = {"photo": self._fake.stored.photo_sizes(data, file_size)}
        if caption:
            content["caption"] = caption
        return await self._send(chat, content, None)

    async def send_document(
        self,
        data: bytes,
        filename: str,
        mime_type: str | None = None,
        file_size: int | None = None,
        *,
        caption: str | None = None,
        chat: FakeGroup | None = None,
    ) -> JSONDict:
        """Send a file as a document."""
        mime = mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        stored = self._fake.stored.store("documents", data, file_size, filename, mime)
        content: JSONDict = {"document": self._fake.stored.document_json(stored)}
        if caption:
            content["caption"] = caption
        return await self._send(chat, content, None)

    async def next_callback_answer(self, timeout: float = 10.0) -> CallbackAnswer:
        """Wait for the bot's next answer to one of this user's button presses."""
        await self._fake._wait(
            lambda: self._answers_cursor < len(self.callback_answers),
            timeout,
            lambda: f"an answerCallbackQuery for {self._describe()}",
        )
        self._answers_cursor += 1
        return self.callback_answers[self._answers_cursor - 1]


@dataclass
class _PendingCallback:
    user: FakeUser
    data: str | None
    answered: bool = False
