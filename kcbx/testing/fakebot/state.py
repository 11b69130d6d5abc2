"""The fake Bot API server's state: chats, messages, files, updates, flood buckets."""

# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from aiohttp import web

from kcbx.testing.fakebot.html import (
    _format,
    utf16_len,
)
from kcbx.testing.fakebot.limits import (
    _DEFAULT_UPDATE_TYPES,
    ApiError,
    JSONDict,
    _bad,
    _flood,
    _forbidden,
)
from kcbx.testing.fakebot.params import (
    _check_markup,
    _inline_only,
    _Params,
)
from kcbx.testing.fakebot.people import (
    FakeGroup,
    FakeUser,
    _Conversation,
    _PendingCallback,
    _TokenBucket,
)
from kcbx.testing.fakebot.records import (
    FakeStats,
    FileStore,
    RecordedRequest,
    SentMessage,
    Upload,
)


class FakeState:
    """The fake server's state and the helpers its methods share."""

    def __init__(
        self,
        token: str = "123:ABC",
        bot_username: str = "kcbx_test_bot",
        *,
        bot_first_name: str = "KCBX Test Bot",
        host: str = "127.0.0.1",
        port: int = 0,
        privacy_mode: bool = True,
        flood_control: bool = True,
        overall_per_second: float = 30,
        private_per_second: float = 1.0,
        private_burst: int = 5,
        group_per_minute: float = 20,
        now: Callable[[], float] = time.time,
        flood_clock: Callable[[], float] = time.monotonic,
        human_pace: float = 1.0,
    ) -> None:
        if not re.fullmatch(r"\d+:[\w-]+", token):
            raise ValueError(f"not a bot token: {token!r}")
        self.token = token
        self.bot_id = int(token.split(":")[0])
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.host = host
        self.port = port
        self.privacy_mode = privacy_mode
        self.flood_control = flood_control
        self.private_per_second = private_per_second
        self.private_burst = private_burst
        self.group_per_minute = group_per_minute
        self.now = now
        # The seconds flood control counts (a test harness adds the time it moves its clock).
        self.flood_clock = flood_clock
        # A person taps or types at most about once a second: each update a fake person makes
        # moves flood control's time by this much, so a test's quick fingers are not a burst.
        self.human_pace = human_pace
        self._acted = 0.0
        self.requests: list[RecordedRequest] = []
        self.stats = FakeStats()
        self._overall = _TokenBucket(overall_per_second, overall_per_second)
        self._users: dict[int, FakeUser] = {}
        self._groups: dict[int, FakeGroup] = {}
        self._updates: list[JSONDict] = []
        self._last_update_id = 100_000
        self._allowed_updates: frozenset[str] = _DEFAULT_UPDATE_TYPES
        self._callbacks: dict[str, _PendingCallback] = {}
        self.stored = FileStore()
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._menu_buttons: dict[int | None, JSONDict] = {}
        self._failures: dict[str, deque[ApiError]] = {}
        self._offline = False
        self._stopping = False
        self._poll_generation = 0
        self._polls_waiting = 0
        self._changed = asyncio.Condition()
        self._background: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        # webhook mode (kcbx.testing.fakebot.webhook)
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self.webhook_refused = 0  # deliveries the bot did not answer with 200
        # the reverse proxy in front of the bot: public URL -> the bot's local listener
        self.route: dict[str, str] = {}
        self._webhook_task: asyncio.Task[None] | None = None

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _wait(
        self, predicate: Callable[[], bool], timeout: float, what: Callable[[], str]
    ) -> None:
        async with self._changed:
            try:
                async with asyncio.timeout(timeout):
                    await self._changed.wait_for(predicate)
            except TimeoutError:
                failed = [
                    f"{r.method} → {r.status} {r.description}"
                    for r in self.requests
                    if r.status >= 400
                ][-5:]
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what()}; "
                    f"latest failed Bot API calls: {failed or 'none'}"
                ) from None

    def _conversation_of(self, message: SentMessage) -> _Conversation:
        return self._users.get(message.chat_id) or self._groups[message.chat_id]

    def _bot_json(self) -> JSONDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    async def _enqueue(self, kind: str, payload: JSONDict) -> None:
        if kind not in self._allowed_updates:
            return
        self._last_update_id += 1
        self._acted += self.human_pace
        self._updates.append({"update_id": self._last_update_id, kind: payload})
        await self._notify()

    async def _deliver_message(self, conversation: _Conversation, message: JSONDict) -> None:
        if isinstance(conversation, FakeGroup) and self.privacy_mode:
            text = message.get("text", "")
            command = text.split(maxsplit=1)[0] if text.startswith("/") else ""
            addressed = bool(command) and (
                "@" not in command or command.endswith(f"@{self.bot_username}")
            )
            reply = message.get("reply_to_message") or {}
            if not addressed and reply.get("from", {}).get("id") != self.bot_id:
                return
        await self._enqueue("message", message)

    async def _deliver_callback(
        self, user: FakeUser, conversation: _Conversation, message: SentMessage, data: str
    ) -> str:
        query_id = f"{self.bot_id}{len(self._callbacks) + 1:010d}"
        self._callbacks[query_id] = _PendingCallback(user, data)
        query = {
            "id": query_id,
            "from": user.json,
            "message": self._message_json(conversation, message),
            "chat_instance": f"{abs(conversation.chat_id)}{self.bot_id}",
            "data": data,
        }
        await self._enqueue("callback_query", query)
        return query_id

    def _message_json(
        self, conversation: _Conversation, sent: SentMessage, *, nested: bool = True
    ) -> JSONDict:
        message: JSONDict = {
            "message_id": sent.message_id,
            "from": self._bot_json(),
            "chat": conversation.chat_json,
            "date": sent.date,
        }
        if sent.edit_date is not None:
            message["edit_date"] = sent.edit_date
        if sent.kind == "text":
            message["text"] = sent.plain
            if sent.entities:
                message["entities"] = sent.entities
        else:
            stored = self.stored.files[sent.file_id or ""]
            if sent.kind == "photo":
                message["photo"] = self.stored.photo_sets[stored.file_id]
            else:
                message["document"] = self.stored.document_json(stored)
            if sent.media_group_id:
                message["media_group_id"] = sent.media_group_id
            if sent.plain:
                message["caption"] = sent.plain
                if sent.entities:
                    message["caption_entities"] = sent.entities
        if inline := _inline_only(sent.reply_markup):
            message["reply_markup"] = inline
        if nested and sent.reply_to_message_id is not None:
            message["reply_to_message"] = self._message_json_by_id(
                conversation, sent.reply_to_message_id
            )
        return message

    def _message_json_by_id(self, conversation: _Conversation, message_id: int) -> JSONDict:
        if message_id in conversation._incoming:
            return conversation._incoming[message_id]
        if message_id in conversation._by_id:
            return self._message_json(conversation, conversation._by_id[message_id], nested=False)
        raise AssertionError(f"no message {message_id} in {conversation._describe()}")

    async def _read_params(self, request: web.Request) -> JSONDict:
        values: JSONDict = dict(request.query)
        if request.method != "POST" or not request.body_exists:
            return values
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise _bad("can't parse JSON object") from None
            if not isinstance(body, dict):
                raise _bad("can't parse JSON object")
            values.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    values[key] = Upload(value.filename, value.content_type, value.file.read())
                else:
                    values[key] = value
        return values

    def _reply(
        self,
        method: str,
        values: JSONDict,
        started: float,
        error: ApiError | None,
        result: Any = None,
    ) -> web.Response:
        status = error.status if error else 200
        self.requests.append(
            RecordedRequest(method, values, started, status, error.description if error else None)
        )
        self.stats.calls[method] += 1
        if error:
            self.stats.errors[status] += 1
        body = error.payload() if error else {"ok": True, "result": result}
        return web.json_response(
            body, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False)
        )

    def _conversation(self, chat_ref: int | str, *, sending: bool = True) -> _Conversation:
        if isinstance(chat_ref, str):
            group = next((g for g in self._groups.values() if f"@{g.username}" == chat_ref), None)
            if group is None:
                raise _bad("chat not found")
            chat_ref = group.chat_id
        if chat_ref in self._groups:
            group = self._groups[chat_ref]
            if group.bot_removed and sending:
                raise _forbidden(f"bot was kicked from the {group.type} chat")
            return group
        if chat_ref in self._users:
            user = self._users[chat_ref]
            if sending and user.blocked:
                raise _forbidden("bot was blocked by the user")
            if sending and not user.started:
                raise _forbidden("bot can't initiate conversation with a user")
            return user
        raise _bad("chat not found")

    def _text(
        self, p: _Params, name: str, entities_name: str, limit: int, *, required: bool
    ) -> tuple[str | None, str, list[JSONDict], str | None]:
        source = p.string(name)
        if source is None and not required:
            return None, "", [], None
        plain, entities, parse_mode = _format(
            source or "",
            p.string("parse_mode"),
            p.json(entities_name, "can't parse entities JSON object"),
        )
        if required and not plain:
            raise _bad("message text is empty")
        if utf16_len(plain) > limit:
            raise _bad("message is too long" if name == "text" else "message caption is too long")
        return source, plain, entities, parse_mode

    def _markup(self, p: _Params, *, inline_only: bool = False) -> JSONDict | None:
        markup = p.json("reply_markup", "can't parse reply keyboard markup JSON object")
        return _check_markup(markup, inline_only=inline_only)

    def _reply_to(self, conversation: _Conversation, p: _Params) -> int | None:
        parameters = p.json("reply_parameters", "can't parse ReplyParameters JSON object")
        allow_missing = p.flag("allow_sending_without_reply")
        if isinstance(parameters, dict):
            message_id = parameters.get("message_id")
            allow_missing = allow_missing or bool(parameters.get("allow_sending_without_reply"))
        else:
            message_id = p.integer("reply_to_message_id", "message to be replied not found")
        if message_id is None:
            return None
        exists = message_id in conversation._incoming or (
            message_id in conversation._by_id and not conversation._by_id[message_id].deleted
        )
        if exists:
            return int(message_id)
        if allow_missing:
            return None
        raise _bad("message to be replied not found")

    def _check_flood(self, conversation: _Conversation) -> None:
        if not self.flood_control:
            return
        now = self.flood_clock() + self._acted
        wait = max(self._overall.wait(now), conversation._bucket.wait(now))
        if wait > 0:
            raise _flood(max(1, math.ceil(wait)))

    def _consume_flood(self, conversation: _Conversation) -> None:
        now = self.flood_clock() + self._acted
        self._overall.take(now)
        conversation._bucket.take(now)

    def _add_sent(self, conversation: _Conversation, sent: SentMessage) -> JSONDict:
        self._consume_flood(conversation)
        conversation.messages.append(sent)
        conversation._by_id[sent.message_id] = sent
        conversation._event("new", sent)
        if isinstance(conversation, FakeUser) and sent.reply_markup:
            if "keyboard" in sent.reply_markup:
                conversation.keyboard = [
                    [b if isinstance(b, str) else b["text"] for b in row]
                    for row in sent.reply_markup["keyboard"]
                ]
            elif sent.reply_markup.get("remove_keyboard"):
                conversation.keyboard = None
        return self._message_json(conversation, sent)

    def _editable(self, p: _Params) -> tuple[_Conversation, SentMessage]:
        if p.string("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")
        conversation = self._conversation(p.chat_id())
        message_id = p.integer("message_id", "message identifier is not specified")
        if message_id is None:
            raise _bad("message identifier is not specified")
        sent = conversation._by_id.get(message_id)
        if message_id in conversation._incoming:
            raise _bad("message can't be edited")
        if sent is None or sent.deleted:
            raise _bad("message to edit not found")
        return conversation, sent

    def _apply_edit(self, conversation: _Conversation, sent: SentMessage) -> JSONDict:
        sent.edits += 1
        sent.edit_date = int(self.now())
        conversation._event("edit", sent)
        return self._message_json(conversation, sent)
