"""The Bot API methods of the fake server: getUpdates, sendMessage, editMessageText, ..."""

from __future__ import annotations

import asyncio
import json
import mimetypes
from typing import Any

from kcbx.testing.fakebot.limits import (
    _CHAT_ACTIONS,
    _COMMAND,
    _DEFAULT_UPDATE_TYPES,
    _LANGUAGE,
    _NOT_MODIFIED,
    _QUERY_TOO_OLD,
    _SCOPE_TYPES,
    MAX_BUTTONS,
    MAX_CALLBACK_ANSWER,
    MAX_CAPTION,
    MAX_DOWNLOAD,
    MAX_PHOTO_UPLOAD,
    MAX_TEXT,
    MAX_UPLOAD,
    ApiError,
    JSONDict,
    _bad,
)
from kcbx.testing.fakebot.params import (
    _inline_only,
    _Params,
)
from kcbx.testing.fakebot.people import (
    FakeGroup,
    FakeUser,
    _Conversation,
)
from kcbx.testing.fakebot.records import (
    CallbackAnswer,
    SentMessage,
    Upload,
    _image_size,
    _StoredFile,
)
from kcbx.testing.fakebot.webhook import WebhookMethods


class BotApiMethods(WebhookMethods):
    """The Bot API methods the bot calls, each as strict as Telegram."""

    async def _ok(self, p: _Params) -> bool:
        return True

    async def _get_me(self, p: _Params) -> JSONDict:
        return {
            **self._bot_json(),
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, p: _Params) -> list[JSONDict]:
        self._refuse_polling_with_webhook()
        offset = p.integer("offset", "invalid offset specified") or 0
        limit = min(max(p.integer("limit", "invalid limit specified") or 100, 1), 100)
        timeout = max(p.number("timeout") or 0.0, 0.0)
        allowed = p.json("allowed_updates", "can't parse allowed_updates JSON object")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else _DEFAULT_UPDATE_TYPES
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        self._poll_generation += 1
        generation = self._poll_generation
        self._polls_waiting += 1
        try:
            async with self._changed:
                self._changed.notify_all()
                try:
                    async with asyncio.timeout(timeout):
                        await self._changed.wait_for(
                            lambda: (
                                bool(self._updates)
                                or self._stopping
                                or self._offline
                                or generation != self._poll_generation
                            )
                        )
                except TimeoutError:
                    pass
        finally:
            self._polls_waiting -= 1
        if generation != self._poll_generation:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            )
        if self._offline:
            raise ApiError(502, "Bad Gateway")
        self._updates = [
            u for u in self._updates if set(u) - {"update_id"} <= self._allowed_updates
        ]
        return self._updates[:limit]

    def _scope_key(self, p: _Params) -> tuple[str, str]:
        scope = p.json("scope", "can't parse BotCommandScope JSON object") or {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in _SCOPE_TYPES:
            raise _bad("wrong bot command scope type specified")
        if "chat_id" in scope:
            self._conversation(_Params(dict(scope)).chat_id(), sending=False)
        elif scope["type"] in ("chat", "chat_administrators", "chat_member"):
            raise _bad("chat_id is empty")
        language = p.string("language_code") or ""
        if language and not _LANGUAGE.fullmatch(language):
            raise _bad("invalid language code specified")
        return json.dumps(scope, sort_keys=True), language

    async def _set_my_commands(self, p: _Params) -> bool:
        commands = p.json("commands", "can't parse commands JSON object")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > MAX_BUTTONS:
            raise _bad("BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not isinstance(command, dict):
                raise _bad("can't parse BotCommand JSON object")
            name, description = command.get("command"), command.get("description")
            if not isinstance(name, str) or not _COMMAND.fullmatch(name):
                raise _bad("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._scope_key(p)
        stored = [{"command": c["command"], "description": c["description"]} for c in commands]
        if stored:
            self._commands[key] = stored
        else:
            self._commands.pop(key, None)
        return True

    async def _get_my_commands(self, p: _Params) -> list[JSONDict]:
        return list(self._commands.get(self._scope_key(p), []))

    async def _delete_my_commands(self, p: _Params) -> bool:
        self._commands.pop(self._scope_key(p), None)
        return True

    async def _set_chat_menu_button(self, p: _Params) -> bool:
        chat_id: int | None = None
        if p.values.get("chat_id") not in (None, ""):
            conversation = self._conversation(p.chat_id(), sending=False)
            if not isinstance(conversation, FakeUser):
                raise _bad("chat not found")
            chat_id = conversation.chat_id
        button = p.json("menu_button", "can't parse MenuButton JSON object") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in (
            "commands",
            "web_app",
            "default",
        ):
            raise _bad("can't parse MenuButton JSON object")
        if button["type"] == "web_app":
            url = (button.get("web_app") or {}).get("url", "")
            if not button.get("text") or not str(url).startswith("https://"):
                raise _bad("BUTTON_URL_INVALID")
        self._menu_buttons[chat_id] = button
        return True

    async def _get_chat_menu_button(self, p: _Params) -> JSONDict:
        chat_id = p.chat_id() if p.values.get("chat_id") not in (None, "") else None
        key = chat_id if isinstance(chat_id, int) else None
        return self._menu_buttons.get(key, {"type": "commands"})

    async def _send_message(self, p: _Params) -> JSONDict:
        conversation = self._conversation(p.chat_id())
        source, plain, entities, parse_mode = self._text(
            p, "text", "entities", MAX_TEXT, required=True
        )
        sent = self._message(
            p,
            conversation,
            "text",
            text=source,
            plain=plain,
            entities=entities,
            parse_mode=parse_mode,
        )
        return self._send_new(conversation, sent)

    def _message(
        self, p: _Params, conversation: _Conversation, kind: str, **fields: Any
    ) -> SentMessage:
        """A message of ``kind`` (``fields`` as SentMessage takes them) with the request's
        buttons and reply; it gets its id when it is sent (:meth:`_send_new`)."""
        markup = self._markup(p)
        reply_to = self._reply_to(conversation, p)
        return SentMessage(
            chat_id=conversation.chat_id,
            message_id=0,
            date=int(self.now()),
            kind=kind,
            reply_markup=markup,
            reply_to_message_id=reply_to,
            **fields,
        )

    def _send_new(self, conversation: _Conversation, sent: SentMessage) -> JSONDict:
        """Send ``sent`` unless flood control refuses it."""
        self._check_flood(conversation)
        sent.message_id = conversation._new_message_id()
        return self._add_sent(conversation, sent)

    def _input_file(self, p: _Params, name: str) -> Upload | _StoredFile:
        value = p.values.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            value = p.values.get(value.removeprefix("attach://"))
            if not isinstance(value, Upload):
                raise _bad(f'can\'t find attached file "{name}"')
        if value is None or value == "":
            raise _bad(f"there is no {name} in the request")
        if isinstance(value, Upload):
            if not value.data:
                raise _bad("file must be non-empty")
            limit = MAX_PHOTO_UPLOAD if name == "photo" else MAX_UPLOAD
            if len(value.data) > limit:
                raise ApiError(413, "Request Entity Too Large")
            return value
        if isinstance(value, str) and value in self.stored.files:
            return self.stored.files[value]
        if isinstance(value, str) and value.lower().startswith(("http://", "https://")):
            raise _bad("failed to get HTTP URL content")
        raise _bad("wrong file identifier/HTTP URL specified")

    def _media_message(
        self, p: _Params, kind: str, conversation: _Conversation
    ) -> tuple[SentMessage, Upload | _StoredFile]:
        source, plain, entities, parse_mode = self._text(
            p, "caption", "caption_entities", MAX_CAPTION, required=False
        )
        sent = self._message(
            p,
            conversation,
            kind,
            caption=source,
            plain=plain,
            entities=entities,
            parse_mode=parse_mode,
        )
        return sent, self._input_file(p, kind)

    async def _send_document(self, p: _Params) -> JSONDict:
        conversation = self._conversation(p.chat_id())
        sent, file = self._media_message(p, "document", conversation)
        self._check_flood(conversation)
        if isinstance(file, Upload):
            mime = file.content_type
            if not mime or mime == "application/octet-stream":
                mime = mimetypes.guess_type(file.filename)[0] or "application/octet-stream"
            file = self.stored.store("documents", file.data, None, file.filename, mime)
        sent.message_id = conversation._new_message_id()
        sent.document, sent.filename, sent.mime_type = file.data, file.filename, file.mime_type
        sent.file_id = file.file_id
        return self._add_sent(conversation, sent)

    async def _send_photo(self, p: _Params) -> JSONDict:
        conversation = self._conversation(p.chat_id())
        sent, file = self._checked_photo(p, conversation)
        self._check_flood(conversation)
        return self._photo_sent(conversation, sent, file)

    def _checked_photo(
        self, p: _Params, conversation: _Conversation
    ) -> tuple[SentMessage, Upload | _StoredFile]:
        sent, file = self._media_message(p, "photo", conversation)
        if isinstance(file, Upload):
            size = _image_size(file.data)
            if size is None or min(size) <= 0:
                raise _bad("IMAGE_PROCESS_FAILED")
            width, height = size
            if width + height > 10_000 or max(width, height) / min(width, height) > 20:
                raise _bad("PHOTO_INVALID_DIMENSIONS")
        return sent, file

    def _photo_sent(
        self, conversation: _Conversation, sent: SentMessage, file: Upload | _StoredFile
    ) -> JSONDict:
        if isinstance(file, Upload):
            sizes = self.stored.photo_sizes(file.data, None)
            largest = self.stored.files[sizes[-1]["file_id"]]
            filename: str | None = file.filename
        else:
            largest, filename = file, None
            sizes = self.stored.photo_sets.get(file.file_id) or [
                {
                    "file_id": file.file_id,
                    "file_unique_id": file.file_unique_id,
                    "width": 1280,
                    "height": 960,
                    "file_size": file.file_size,
                }
            ]
        self.stored.photo_sets[largest.file_id] = sizes
        sent.message_id = conversation._new_message_id()
        sent.photo, sent.filename, sent.file_id = largest.data, filename, largest.file_id
        return self._add_sent(conversation, sent)

    async def _send_media_group(self, p: _Params) -> list[JSONDict]:
        """An album: 2-10 photos, checked all before any is sent (Telegram sends all or none)."""
        conversation = self._conversation(p.chat_id())
        media = p.json("media", "can't parse media JSON object")
        if not isinstance(media, list):
            raise _bad("media must be an array")
        if not 2 <= len(media) <= 10:
            raise _bad("wrong number of media in the album")
        uploads = {k: v for k, v in p.values.items() if isinstance(v, Upload)}
        checked = []
        for item in media:
            if not isinstance(item, dict) or item.get("type") != "photo":
                raise _bad("unsupported media type in the album")
            values = {**uploads, "photo": item.get("media")}
            for key in ("caption", "parse_mode", "caption_entities"):
                if key in item:
                    values[key] = item[key]
            checked.append(self._checked_photo(_Params(values), conversation))
        self._check_flood(conversation)
        group_id = f"{conversation.chat_id}:{conversation._last_message_id + 1}"
        results = []
        for sent, file in checked:
            sent.media_group_id = group_id
            results.append(self._photo_sent(conversation, sent, file))
        return results

    async def _send_location(self, p: _Params) -> JSONDict:
        """A map pin: latitude and longitude required, on the globe; a live location's
        period and the accuracy within Telegram's bounds."""
        conversation = self._conversation(p.chat_id())
        latitude, longitude = p.number("latitude"), p.number("longitude")
        if latitude is None or longitude is None:
            raise _bad("latitude and longitude must be specified")
        if not -90 <= latitude <= 90 or not -180 <= longitude <= 180:
            raise _bad("wrong location specified")
        accuracy = p.number("horizontal_accuracy")
        if accuracy is not None and not 0 <= accuracy <= 1500:
            raise _bad("wrong horizontal accuracy specified")
        period = p.integer("live_period", "wrong live period specified")
        if period is not None and not (60 <= period <= 86400 or period == 0x7FFFFFFF):
            raise _bad("wrong live period specified")
        sent = self._message(p, conversation, "location", location=(latitude, longitude))
        return self._send_new(conversation, sent)

    async def _edit_message_text(self, p: _Params) -> JSONDict:
        return self._edit_words(p, "text", "entities", MAX_TEXT)

    async def _edit_message_caption(self, p: _Params) -> JSONDict:
        return self._edit_words(p, "caption", "caption_entities", MAX_CAPTION)

    def _edit_words(self, p: _Params, field: str, entities_key: str, limit: int) -> JSONDict:
        """editMessageText (``field`` "text") or editMessageCaption ("caption"), and buttons."""
        conversation, sent = self._editable(p)
        is_text = field == "text"
        source, plain, entities, parse_mode = self._text(
            p, field, entities_key, limit, required=is_text
        )
        markup = self._markup(p, inline_only=True)
        if (sent.kind == "text") != is_text:
            raise _bad(f"there is no {field} in the message to edit")
        if (plain, entities, markup) == (
            sent.plain,
            sent.entities,
            _inline_only(sent.reply_markup),
        ):
            raise _bad(_NOT_MODIFIED)
        sent.history.append(getattr(sent, field))
        setattr(sent, field, source)
        sent.plain, sent.entities, sent.parse_mode = plain, entities, parse_mode
        sent.reply_markup = markup
        return self._apply_edit(conversation, sent)

    async def _edit_message_reply_markup(self, p: _Params) -> JSONDict:
        conversation, sent = self._editable(p)
        markup = self._markup(p, inline_only=True)
        if markup == _inline_only(sent.reply_markup):
            raise _bad(_NOT_MODIFIED)
        sent.reply_markup = markup
        return self._apply_edit(conversation, sent)

    async def _delete_message(self, p: _Params) -> bool:
        conversation = self._conversation(p.chat_id(), sending=False)
        message_id = p.integer("message_id", "message identifier is not specified")
        if message_id is None:
            raise _bad("message identifier is not specified")
        if message_id in conversation._incoming:
            if isinstance(conversation, FakeGroup):
                raise _bad("message can't be deleted")
            del conversation._incoming[message_id]
            return True
        sent = conversation._by_id.get(message_id)
        if sent is None or sent.deleted:
            raise _bad("message to delete not found")
        sent.deleted = True
        conversation._event("delete", sent)
        return True

    async def _answer_callback_query(self, p: _Params) -> bool:
        query_id = p.string("callback_query_id") or ""
        pending = self._callbacks.get(query_id)
        if pending is None or pending.answered:
            raise _bad(_QUERY_TOO_OLD)
        text = p.string("text")
        if text is not None and len(text) > MAX_CALLBACK_ANSWER:
            raise _bad("MESSAGE_TOO_LONG")
        pending.answered = True
        pending.user.callback_answers.append(
            CallbackAnswer(query_id, pending.data, text, p.flag("show_alert"), p.string("url"))
        )
        return True

    async def _send_chat_action(self, p: _Params) -> bool:
        conversation = self._conversation(p.chat_id())
        action = p.string("action")
        if action not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        conversation.chat_actions.append(action)
        return True

    async def _get_file(self, p: _Params) -> JSONDict:
        stored = self.stored.files.get(p.string("file_id") or "")
        if stored is None:
            raise _bad("wrong file_id or the file is temporarily unavailable")
        if stored.file_size > MAX_DOWNLOAD:
            raise _bad("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
            "file_path": stored.file_path,
        }
