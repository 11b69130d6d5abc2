"""A strict fake Telegram Bot API server for end-to-end tests and `kcbx demo`.

The real bot (a PTB `Application`) talks real HTTP to this server on loopback. The server
rejects what Telegram rejects (HTML it cannot parse, texts that are too long, bad buttons,
chats the bot may not write to, flood), with Telegram's status codes and error texts, so a
test fails where Telegram would. The test side plays the people: `fake.user(...)` returns a
`FakeUser` that sends messages, presses buttons and reads what the bot sent.

Where Telegram is lenient and the lenience hides a bug of ours, the fake is stricter on
purpose: a bare `&` in HTML text (usually unescaped user input) is rejected.
"""

# The `timeout` parameters of the awaitable test API are failsafes the brief names, not
# network timeouts: keep them as parameters rather than asking callers for asyncio.timeout.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import mimetypes
import re
import struct
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self

from aiohttp import web

__all__ = [
    "ApiError",
    "CallbackAnswer",
    "FakeBotApi",
    "FakeGroup",
    "FakeStats",
    "FakeUser",
    "RecordedRequest",
    "SentMessage",
    "Upload",
    "parse_html",
    "utf16_len",
]

JSONDict = dict[str, Any]
_LOGGER = logging.getLogger(__name__)

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_CALLBACK_ANSWER = 200
MAX_BUTTONS = 100
MAX_DOWNLOAD = 20 * 1024 * 1024
MAX_UPLOAD = 50 * 1024 * 1024
MAX_PHOTO_UPLOAD = 10 * 1024 * 1024

_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
_QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_SCOPE_TYPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
_INLINE_BUTTON_KINDS = (
    "callback_data",
    "url",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
    "web_app",
)
_DEFAULT_UPDATE_TYPES = frozenset({"message", "edited_message", "callback_query"})
_BUTTON_URL = re.compile(r"(?:https?://[^\s/?#]+[^\s]*|tg://\S+)", re.IGNORECASE)
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_LANGUAGE = re.compile(r"[a-z]{2}")


class ApiError(Exception):
    """A Bot API error response: HTTP status, Telegram's description, optional retry_after."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> JSONDict:
        """The JSON body Telegram sends for this error."""
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def _forbidden(description: str) -> ApiError:
    return ApiError(403, f"Forbidden: {description}")


def _flood(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)


# --- text: HTML parse mode, UTF-16 lengths -------------------------------------------------

_TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,8}));")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def utf16_len(text: str) -> int:
    """Length of `text` in UTF-16 code units, as Telegram counts it."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _decode_entity(match: re.Match[str] | None) -> str | None:
    if match is None:
        return None
    named, decimal, hexadecimal = match.groups()
    if named:
        return _NAMED_ENTITIES[named]
    code = int(decimal) if decimal else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


def _unescape_lenient(text: str) -> str:
    return _HTML_ENTITY.sub(lambda m: _decode_entity(m) or m.group(0), text)


@dataclass
class _OpenTag:
    name: str
    attrs: dict[str, str]
    start: int
    language: str | None = None


class _HtmlParser:
    """Telegram's HTML parse mode (after tdlib's parse_html), with its error texts."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.out: list[str] = []
        self.pos16 = 0
        self.stack: list[_OpenTag] = []
        self.entities: list[JSONDict] = []

    def fail(self, message: str) -> ApiError:
        return _bad(f"can't parse entities: {message}")

    def byte_offset(self, index: int) -> int:
        return len(self.source[:index].encode())

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.pos16 += utf16_len(text)

    def run(self) -> tuple[str, list[JSONDict]]:
        source, i = self.source, 0
        while i < len(source):
            ch = source[i]
            if ch == "&":
                match = _HTML_ENTITY.match(source, i)
                decoded = _decode_entity(match)
                if match is None or decoded is None:
                    raise self.fail(
                        f'Unescaped "&" at byte offset {self.byte_offset(i)}; write "&amp;" '
                        "(stricter than Telegram: this is nearly always unescaped user text)"
                    )
                self.emit(decoded)
                i = match.end()
            elif ch != "<":
                self.emit(ch)
                i += 1
            elif source.startswith("</", i):
                i = self.end_tag(i)
            else:
                i = self.start_tag(i)
        if self.stack:
            raise self.fail(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"'
            )
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def skip_spaces(self, j: int) -> int:
        while j < len(self.source) and self.source[j].isspace():
            j += 1
        return j

    def end_tag(self, i: int) -> int:
        source, j = self.source, i + 2
        while j < len(source) and not source[j].isspace() and source[j] != ">":
            j += 1
        name = source[i + 2 : j].lower()
        j = self.skip_spaces(j)
        if j >= len(source) or source[j] != ">":
            raise self.fail(f"Unclosed end tag at byte offset {self.byte_offset(i)}")
        if not self.stack:
            raise self.fail(f"Unexpected end tag at byte offset {self.byte_offset(i)}")
        top = self.stack.pop()
        if name and name != top.name:
            raise self.fail(
                f"Unmatched end tag at byte offset {self.byte_offset(i)}, "
                f'expected "</{top.name}>", found "</{name}>"'
            )
        self.close(top)
        return j + 1

    def start_tag(self, i: int) -> int:
        source, j = self.source, i + 1
        while j < len(source) and not source[j].isspace() and source[j] != ">":
            j += 1
        if j >= len(source):
            raise self.fail(f"Unclosed start tag at byte offset {self.byte_offset(i)}")
        name = source[i + 1 : j].lower()
        if name not in _TAG_ENTITY:
            raise self.fail(f'Unsupported start tag "{name}" at byte offset {self.byte_offset(i)}')
        attrs, j = self.attributes(j, name, i)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise self.fail(
                f'Tag "span" must have class "tg-spoiler" at byte offset {self.byte_offset(i)}'
            )
        if name == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
            raise self.fail("Invalid custom emoji identifier specified")
        self.stack.append(_OpenTag(name, attrs, self.pos16))
        return j

    def attributes(self, j: int, tag: str, tag_start: int) -> tuple[dict[str, str], int]:
        source, attrs = self.source, dict[str, str]()
        unclosed = f"Unclosed start tag at byte offset {self.byte_offset(tag_start)}"
        while True:
            j = self.skip_spaces(j)
            if j >= len(source):
                raise self.fail(unclosed)
            if source[j] == ">":
                return attrs, j + 1
            k = j
            while k < len(source) and not source[k].isspace() and source[k] not in "=>/\"'":
                k += 1
            name = source[j:k].lower()
            if not name:
                raise self.fail(
                    f'Empty attribute name in the tag "{tag}" at byte offset '
                    f"{self.byte_offset(tag_start)}"
                )
            j = self.skip_spaces(k)
            if j >= len(source):
                raise self.fail(unclosed)
            if source[j] != "=":
                attrs[name] = ""
                continue
            j = self.skip_spaces(j + 1)
            if j >= len(source):
                raise self.fail(unclosed)
            quote = source[j]
            if quote in "\"'":
                end = source.find(quote, j + 1)
                if end < 0:
                    raise self.fail(unclosed)
                attrs[name] = _unescape_lenient(source[j + 1 : end])
                j = end + 1
                continue
            k = j
            while k < len(source) and (
                (source[k].isascii() and source[k].isalnum()) or source[k] in ".-"
            ):
                k += 1
            if k >= len(source):
                raise self.fail(unclosed)
            if not source[k].isspace() and source[k] != ">":
                raise self.fail(
                    f"Unexpected end of name token at byte offset {self.byte_offset(k)}"
                )
            attrs[name] = source[j:k].lower()
            j = k

    def close(self, tag: _OpenTag) -> None:
        parent = self.stack[-1] if self.stack else None
        if tag.name == "code" and parent and parent.name == "pre" and parent.start == tag.start:
            language = tag.attrs.get("class", "")
            if language.startswith("language-"):
                parent.language = language.removeprefix("language-")
            return
        length = self.pos16 - tag.start
        if length == 0:
            return
        entity: JSONDict = {"type": _TAG_ENTITY[tag.name], "offset": tag.start, "length": length}
        if tag.name == "a":
            href = tag.attrs.get("href", "")
            if not _BUTTON_URL.fullmatch(href) and not href.startswith("mailto:"):
                return
            entity["url"] = href
        elif tag.name == "pre" and tag.language:
            entity["language"] = tag.language
        elif tag.name == "blockquote" and "expandable" in tag.attrs:
            entity["type"] = "expandable_blockquote"
        elif tag.name == "tg-emoji":
            entity["custom_emoji_id"] = tag.attrs["emoji-id"]
        self.entities.append(entity)


def parse_html(source: str) -> tuple[str, list[JSONDict]]:
    """Parse Telegram HTML into plain text and entities; raise `ApiError` where Telegram would."""
    return _HtmlParser(source).run()


def _trim(text: str, entities: list[JSONDict]) -> tuple[str, list[JSONDict]]:
    """Strip surrounding whitespace as Telegram does, moving the entities along."""
    left = text.lstrip()
    lead = utf16_len(text) - utf16_len(left)
    stripped = left.rstrip()
    total = utf16_len(stripped)
    kept = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, total)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


def _format(
    source: str, parse_mode: str | None, entities: Any
) -> tuple[str, list[JSONDict], str | None]:
    """Plain text, entities and normalised parse mode of a text or caption parameter."""
    if parse_mode:
        if parse_mode.lower() != "html":
            raise _bad("unsupported parse_mode")
        text, parsed = parse_html(source)
        return (*_trim(text, parsed), "HTML")
    if entities is not None and not isinstance(entities, list):
        raise _bad("can't parse entities JSON object")
    return (*_trim(source, list(entities or [])), None)


# --- images ---------------------------------------------------------------------------------


def _image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, GIF, JPEG, BMP or WebP image; None if it is no image."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data[:2] == b"BM" and len(data) >= 26:
        width, height = struct.unpack("<ii", data[18:26])
        return int(width), abs(int(height))
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return 512, 512
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xD8, 0x01, 0xFF) or 0xD0 <= marker <= 0xD7:
                i += 1 if marker == 0xFF else 2
                continue
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(width), int(height)
            i += 2 + struct.unpack(">H", data[i + 2 : i + 4])[0]
    return None


def _photo_dimensions(width: int, height: int) -> list[tuple[int, int]]:
    """The sizes Telegram keeps of a photo: thumbnails first, the largest last."""
    longest = max(width, height)
    sizes = []
    for limit in (90, 320, 800, 1280):
        scale = min(limit, longest) / longest
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        if size not in sizes:
            sizes.append(size)
        if limit >= longest:
            break
    return sizes


# --- records -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    filename: str
    content_type: str
    data: bytes

    def __repr__(self) -> str:
        return f"Upload({self.filename!r}, {self.content_type!r}, {len(self.data)} bytes)"


@dataclass(frozen=True)
class RecordedRequest:
    """One Bot API call as the server saw it."""

    method: str
    params: JSONDict
    time: float
    status: int
    description: str | None = None


@dataclass
class FakeStats:
    """Counts of calls per method and of error responses per HTTP status."""

    calls: Counter[str] = field(default_factory=Counter)
    errors: Counter[int] = field(default_factory=Counter)

    @property
    def too_many_requests(self) -> int:
        """How many 429 responses the server served."""
        return self.errors[429]


@dataclass(frozen=True)
class CallbackAnswer:
    """What the bot answered to one button press (answerCallbackQuery)."""

    query_id: str
    data: str | None
    text: str | None
    show_alert: bool
    url: str | None = None


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes
    file_size: int
    file_path: str
    filename: str | None = None
    mime_type: str | None = None


@dataclass(eq=False)
class SentMessage:
    """A message the bot sent to a chat, as the person sees it now (after edits)."""

    chat_id: int
    message_id: int
    date: int
    kind: str
    text: str | None = None
    caption: str | None = None
    plain: str = ""
    entities: list[JSONDict] = field(default_factory=list)
    parse_mode: str | None = None
    reply_markup: JSONDict | None = None
    document: bytes | None = None
    filename: str | None = None
    mime_type: str | None = None
    photo: bytes | None = None
    file_id: str | None = None
    reply_to_message_id: int | None = None
    edits: int = 0
    edit_date: int | None = None
    deleted: bool = False
    history: list[str | None] = field(default_factory=list)

    @property
    def inline_keyboard(self) -> list[list[JSONDict]]:
        """Rows of inline buttons (Telegram's dicts); empty without an inline keyboard."""
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            rows: list[list[JSONDict]] = self.reply_markup["inline_keyboard"]
            return rows
        return []

    @property
    def buttons(self) -> list[str]:
        """Texts of the inline buttons, row by row."""
        return [button["text"] for row in self.inline_keyboard for button in row]

    @property
    def button_data(self) -> dict[str, str]:
        """Inline button text → callback_data, for callback buttons."""
        return {
            b["text"]: b["callback_data"]
            for row in self.inline_keyboard
            for b in row
            if "callback_data" in b
        }

    @property
    def button_urls(self) -> dict[str, str]:
        """Inline button text → url, for URL buttons."""
        return {b["text"]: b["url"] for row in self.inline_keyboard for b in row if "url" in b}

    @property
    def reply_keyboard(self) -> list[str]:
        """Texts of the reply keyboard this message brought up; empty if none."""
        if not self.reply_markup or "keyboard" not in self.reply_markup:
            return []
        return [
            button if isinstance(button, str) else button["text"]
            for row in self.reply_markup["keyboard"]
            for button in row
        ]

    def __repr__(self) -> str:
        flags = f", edits={self.edits}" if self.edits else ""
        flags += ", deleted" if self.deleted else ""
        shown = self.plain if len(self.plain) <= 80 else self.plain[:77] + "..."
        extra = f", buttons={self.buttons}" if self.buttons else ""
        extra += f", file={self.filename!r}" if self.filename else ""
        return f"SentMessage(#{self.message_id} {self.kind} {shown!r}{extra}{flags})"


# --- parameters -----------------------------------------------------------------------------


class _Params:
    """Request parameters, whatever the encoding; getters convert and remember the result."""

    def __init__(self, values: JSONDict) -> None:
        self.values = values

    def string(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None or isinstance(value, Upload):
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            return value
        if isinstance(value, int | float):
            return str(value)
        return json.dumps(value, ensure_ascii=False)

    def integer(self, name: str, error: str) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise _bad(error)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
            self.values[name] = int(value)
            return int(value)
        raise _bad(error)

    def number(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        try:
            result = float(value)
        except (TypeError, ValueError):
            raise _bad(f"invalid {name} specified") from None
        self.values[name] = result
        return result

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            result = value.strip().lower() in ("true", "1")
            self.values[name] = result
            return result
        return bool(value)

    def json(self, name: str, error: str) -> Any:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise _bad(error) from None
            self.values[name] = value
        return value

    def chat_id(self, name: str = "chat_id") -> int | str:
        value = self.values.get(name)
        if value is None or value == "":
            raise _bad(f"{name} is empty")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            text = value.strip()
            if re.fullmatch(r"-?\d+", text):
                self.values[name] = int(text)
                return int(text)
            if text.startswith("@"):
                return text
        raise _bad("chat not found")


# --- buttons --------------------------------------------------------------------------------


def _check_inline_keyboard(rows: Any) -> JSONDict:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    if sum(len(row) for row in rows) > MAX_BUTTONS:
        raise _bad("reply markup is too long")
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise _bad(
                    'can\'t parse inline keyboard button: Field "text" must be of type String'
                )
            if not button["text"].strip():
                raise _bad("can't parse inline keyboard button: Text must be non-empty")
            kinds = [kind for kind in _INLINE_BUTTON_KINDS if kind in button]
            if not kinds:
                raise _bad(
                    "can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                )
            if len(kinds) > 1:
                raise _bad(
                    "can't parse inline keyboard button: exactly one of the optional fields "
                    f"must be used, found {kinds}"
                )
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                    raise _bad("BUTTON_DATA_INVALID")
            if "url" in button:
                url = button["url"]
                if not isinstance(url, str) or not _BUTTON_URL.fullmatch(url):
                    raise _bad(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
    return {"inline_keyboard": rows}


def _check_reply_keyboard(markup: JSONDict) -> JSONDict:
    rows = markup["keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
    for row in rows:
        for button in row:
            text = button if isinstance(button, str) else None
            if isinstance(button, dict) and isinstance(button.get("text"), str):
                text = button["text"]
            if text is None:
                raise _bad('can\'t parse keyboard button: Field "text" must be of type String')
            if not text.strip():
                raise _bad("can't parse keyboard button: Text must be non-empty")
    return markup


def _check_markup(markup: Any, *, inline_only: bool = False) -> JSONDict | None:
    """Validate reply_markup as Telegram does; return it normalised, or None."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        return _check_inline_keyboard(markup["inline_keyboard"])
    if inline_only:
        raise _bad("inline keyboard expected")
    if "keyboard" in markup:
        return _check_reply_keyboard(markup)
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return markup
    raise _bad("can't parse reply keyboard markup JSON object")


def _inline_only(markup: JSONDict | None) -> JSONDict | None:
    return markup if markup and "inline_keyboard" in markup else None


class _TokenBucket:
    """`capacity` messages at once, refilled at `rate` per second."""

    def __init__(self, capacity: float, rate: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.updated = time.monotonic()

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def wait(self, now: float) -> float:
        self._refill(now)
        return 0.0 if self.tokens >= 1 - 1e-9 else (1 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1


# --- the people -----------------------------------------------------------------------------


class _Conversation:
    """A chat as one side sees it: what the bot sent there, consumed in order by the test."""

    def __init__(self, fake: FakeBotApi, chat_id: int, bucket: _TokenBucket) -> None:
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

    @property
    def chat_json(self) -> JSONDict:
        """The Telegram Chat object."""
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
        self, fake: FakeBotApi, chat_id: int, title: str, chat_type: str, username: str | None
    ) -> None:
        super().__init__(
            fake, chat_id, _TokenBucket(fake.group_per_minute, fake.group_per_minute / 60)
        )
        self.title = title
        self.type = chat_type
        self.username = username
        self.bot_removed = False

    @property
    def chat_json(self) -> JSONDict:
        """The Telegram Chat object."""
        chat: JSONDict = {"id": self.chat_id, "type": self.type, "title": self.title}
        if self.username:
            chat["username"] = self.username
        return chat

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
        fake: FakeBotApi,
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

    @property
    def chat_json(self) -> JSONDict:
        """The private Chat object of this user."""
        chat: JSONDict = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            chat["last_name"] = self.last_name
        if self.username:
            chat["username"] = self.username
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
        content: JSONDict = {"photo": self._fake._photo_sizes(data, file_size)}
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
        stored = self._fake._store_file("documents", data, file_size, filename, mime)
        content: JSONDict = {"document": self._fake._document_json(stored)}
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


# --- the server -----------------------------------------------------------------------------


class FakeBotApi:
    """The fake Bot API server and the people around it."""

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
        self.requests: list[RecordedRequest] = []
        self.stats = FakeStats()
        self._overall = _TokenBucket(overall_per_second, overall_per_second)
        self._users: dict[int, FakeUser] = {}
        self._groups: dict[int, FakeGroup] = {}
        self._updates: list[JSONDict] = []
        self._last_update_id = 100_000
        self._allowed_updates: frozenset[str] = _DEFAULT_UPDATE_TYPES
        self._callbacks: dict[str, _PendingCallback] = {}
        self._files: dict[str, _StoredFile] = {}
        self._paths: dict[str, _StoredFile] = {}
        self._photo_sets: dict[str, list[JSONDict]] = {}
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
        self._methods: dict[str, tuple[str, Callable[[_Params], Any]]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "logOut": self._ok,
                "close": self._ok,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "getUpdates": self._get_updates,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "setChatMenuButton": self._set_chat_menu_button,
                "getChatMenuButton": self._get_chat_menu_button,
                "sendMessage": self._send_message,
                "sendDocument": self._send_document,
                "sendPhoto": self._send_photo,
                "editMessageText": self._edit_message_text,
                "editMessageCaption": self._edit_message_caption,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "answerCallbackQuery": self._answer_callback_query,
                "sendChatAction": self._send_chat_action,
                "getFile": self._get_file,
            }.items()
        }

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """What PTB's `base_url` expects: PTB appends the token, then `/method`."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """What PTB's `base_file_url` expects: PTB appends the token, then `/file_path`."""
        return f"http://{self.host}:{self.port}/file/bot"

    async def start(self) -> None:
        """Listen on host:port (port 0 picks a free one, then `port` is the real one)."""
        app = web.Application(client_max_size=MAX_UPLOAD + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown)
        self._stopping = False
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Answer pending long polls with no updates, then close the server."""
        self._stopping = True
        await self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- the test's controls -----------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str = "测试用户",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
        started: bool = False,
    ) -> FakeUser:
        """The person with this id (created on first call); `started` = has pressed Start."""
        if user_id <= 0:
            raise ValueError("user ids are positive")
        if user_id not in self._users:
            self._users[user_id] = FakeUser(
                self, user_id, first_name, last_name, username, language_code, started
            )
        return self._users[user_id]

    def group(
        self,
        chat_id: int,
        title: str,
        *,
        chat_type: str | None = None,
        username: str | None = None,
    ) -> FakeGroup:
        """The group with this (negative) id that the bot is a member of."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        if chat_id not in self._groups:
            kind = chat_type or ("supergroup" if chat_id <= -1_000_000_000_000 else "group")
            self._groups[chat_id] = FakeGroup(self, chat_id, title, kind, username)
        return self._groups[chat_id]

    def fail_next(
        self,
        method: str,
        code: int = 429,
        retry_after: int = 1,
        *,
        description: str | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` fail with `code` (429 carries retry_after)."""
        if code == 429:
            error = _flood(retry_after)
        else:
            error = ApiError(code, description or HTTPStatus(code).phrase)
        queue = self._failures.setdefault(method.lower(), deque())
        queue.extend([error] * times)

    def set_offline(self, offline: bool = True) -> None:
        """Simulate an outage: every call gets 502 Bad Gateway (PTB raises NetworkError)."""
        self._offline = offline
        if offline:
            task = asyncio.get_running_loop().create_task(self._notify())
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates queued and not yet confirmed by the bot."""
        return list(self._updates)

    def calls(self, method: str) -> list[RecordedRequest]:
        """Recorded calls of one method (case-insensitive)."""
        return [r for r in self.requests if r.method.lower() == method.lower()]

    def commands(self, scope: JSONDict | None = None, language_code: str = "") -> list[JSONDict]:
        """The commands set for this scope and language."""
        key = json.dumps(scope or {"type": "default"}, sort_keys=True)
        return list(self._commands.get((key, language_code), []))

    def menu_button(self, chat_id: int | None = None) -> JSONDict:
        """The menu button set for a private chat, or the default one."""
        return self._menu_buttons.get(chat_id, {"type": "commands"})

    async def wait_requests(
        self, n: int, method: str | None = None, timeout: float = 10.0
    ) -> list[RecordedRequest]:
        """Wait until at least `n` calls (of `method`, if given) have been answered."""

        def matching() -> list[RecordedRequest]:
            return self.calls(method) if method else list(self.requests)

        await self._wait(lambda: len(matching()) >= n, timeout, lambda: f"{n} {method} calls")
        return matching()

    async def wait_polling(self, timeout: float = 10.0) -> None:
        """Wait until the bot has a getUpdates long poll waiting (it is ready for updates)."""
        await self._wait(lambda: self._polls_waiting > 0, timeout, lambda: "a getUpdates poll")

    # -- plumbing ----------------------------------------------------------------------------

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

    def _store_file(
        self,
        folder: str,
        data: bytes,
        file_size: int | None,
        filename: str | None,
        mime_type: str | None,
    ) -> _StoredFile:
        number = len(self._files) + 1
        digest = hashlib.sha1(data).hexdigest()[:16]
        prefix = "AgACAgUAAxkBAAI" if folder == "photos" else "BQACAgUAAxkBAAI"
        suffix = (filename and "." in filename and "." + filename.rsplit(".", 1)[1]) or (
            ".jpg" if folder == "photos" else ""
        )
        stored = _StoredFile(
            file_id=f"{prefix}{number:06d}{digest}",
            file_unique_id=f"AQAD{number:06d}",
            data=data,
            file_size=len(data) if file_size is None else file_size,
            file_path=f"{folder}/file_{number}{suffix}",
            filename=filename,
            mime_type=mime_type,
        )
        self._files[stored.file_id] = stored
        self._paths[stored.file_path] = stored
        return stored

    def _photo_sizes(self, data: bytes, file_size: int | None) -> list[JSONDict]:
        width, height = _image_size(data) or (1280, 960)
        dimensions = _photo_dimensions(max(width, 1), max(height, 1))
        full = len(data) if file_size is None else file_size
        largest = dimensions[-1][0] * dimensions[-1][1]
        sizes: list[JSONDict] = []
        for w, h in dimensions:
            size = full if (w, h) == dimensions[-1] else max(1, full * w * h // largest)
            stored = self._store_file("photos", data, size, None, "image/jpeg")
            sizes.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "width": w,
                    "height": h,
                    "file_size": size,
                }
            )
        for size_json in sizes:
            self._photo_sets[size_json["file_id"]] = sizes
        return sizes

    @staticmethod
    def _document_json(stored: _StoredFile) -> JSONDict:
        document: JSONDict = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
        }
        if stored.filename:
            document["file_name"] = stored.filename
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        return document

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
            stored = self._files[sent.file_id or ""]
            if sent.kind == "photo":
                message["photo"] = self._photo_sets[stored.file_id]
            else:
                message["document"] = self._document_json(stored)
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

    # -- HTTP --------------------------------------------------------------------------------

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

    async def _handle_api(self, request: web.Request) -> web.Response:
        started = time.monotonic()
        name = request.match_info["method"]
        canonical, handler = self._methods.get(name.lower(), (name, None))
        values: JSONDict = {}
        try:
            if self._offline:
                raise ApiError(502, "Bad Gateway")
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            values = await self._read_params(request)
            if handler is None:
                raise ApiError(404, "Not Found")
            failures = self._failures.get(canonical.lower())
            if failures:
                raise failures.popleft()
            result = await handler(_Params(values))
        except ApiError as error:
            response = self._reply(canonical, values, started, error)
        except Exception as exc:
            _LOGGER.exception("fake Bot API failed on %s", canonical)
            bug = ApiError(500, f"Internal Server Error: fake server bug: {exc!r}")
            response = self._reply(canonical, values, started, bug)
        else:
            response = self._reply(canonical, values, started, None, result)
        await self._notify()
        return response

    async def _handle_file(self, request: web.Request) -> web.Response:
        started = time.monotonic()
        path = request.match_info["path"]
        values: JSONDict = {"file_path": path}
        if self._offline:
            error = ApiError(502, "Bad Gateway")
        elif request.match_info["token"] != self.token:
            error = ApiError(401, "Unauthorized")
        elif path not in self._paths or self._paths[path].file_size > MAX_DOWNLOAD:
            error = ApiError(404, "Not Found")
        else:
            self.requests.append(RecordedRequest("download", values, started, 200))
            self.stats.calls["download"] += 1
            await self._notify()
            return web.Response(body=self._paths[path].data)
        response = self._reply("download", values, started, error)
        await self._notify()
        return response

    async def _handle_unknown(self, request: web.Request) -> web.Response:
        return web.json_response(ApiError(404, "Not Found").payload(), status=404)

    # -- chats, text, flood ------------------------------------------------------------------

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
        now = time.monotonic()
        wait = max(self._overall.wait(now), conversation._bucket.wait(now))
        if wait > 0:
            raise _flood(max(1, math.ceil(wait)))

    def _consume_flood(self, conversation: _Conversation) -> None:
        now = time.monotonic()
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

    # -- methods -----------------------------------------------------------------------------

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

    async def _delete_webhook(self, p: _Params) -> bool:
        if p.flag("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, p: _Params) -> JSONDict:
        return {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    async def _get_updates(self, p: _Params) -> list[JSONDict]:
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
        return self.menu_button(chat_id if isinstance(chat_id, int) else None)

    async def _send_message(self, p: _Params) -> JSONDict:
        conversation = self._conversation(p.chat_id())
        source, plain, entities, parse_mode = self._text(
            p, "text", "entities", MAX_TEXT, required=True
        )
        markup = self._markup(p)
        reply_to = self._reply_to(conversation, p)
        self._check_flood(conversation)
        sent = SentMessage(
            chat_id=conversation.chat_id,
            message_id=conversation._new_message_id(),
            date=int(self.now()),
            kind="text",
            text=source,
            plain=plain,
            entities=entities,
            parse_mode=parse_mode,
            reply_markup=markup,
            reply_to_message_id=reply_to,
        )
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
        if isinstance(value, str) and value in self._files:
            return self._files[value]
        if isinstance(value, str) and value.lower().startswith(("http://", "https://")):
            raise _bad("failed to get HTTP URL content")
        raise _bad("wrong file identifier/HTTP URL specified")

    def _media_message(
        self, p: _Params, kind: str, conversation: _Conversation
    ) -> tuple[SentMessage, Upload | _StoredFile]:
        source, plain, entities, parse_mode = self._text(
            p, "caption", "caption_entities", MAX_CAPTION, required=False
        )
        markup = self._markup(p)
        reply_to = self._reply_to(conversation, p)
        file = self._input_file(p, kind)
        sent = SentMessage(
            chat_id=conversation.chat_id,
            message_id=0,
            date=int(self.now()),
            kind=kind,
            caption=source,
            plain=plain,
            entities=entities,
            parse_mode=parse_mode,
            reply_markup=markup,
            reply_to_message_id=reply_to,
        )
        return sent, file

    async def _send_document(self, p: _Params) -> JSONDict:
        conversation = self._conversation(p.chat_id())
        sent, file = self._media_message(p, "document", conversation)
        self._check_flood(conversation)
        if isinstance(file, Upload):
            mime = file.content_type
            if not mime or mime == "application/octet-stream":
                mime = mimetypes.guess_type(file.filename)[0] or "application/octet-stream"
            file = self._store_file("documents", file.data, None, file.filename, mime)
        sent.message_id = conversation._new_message_id()
        sent.document, sent.filename, sent.mime_type = file.data, file.filename, file.mime_type
        sent.file_id = file.file_id
        return self._add_sent(conversation, sent)

    async def _send_photo(self, p: _Params) -> JSONDict:
        conversation = self._conversation(p.chat_id())
        sent, file = self._media_message(p, "photo", conversation)
        if isinstance(file, Upload):
            size = _image_size(file.data)
            if size is None or min(size) <= 0:
                raise _bad("IMAGE_PROCESS_FAILED")
            width, height = size
            if width + height > 10_000 or max(width, height) / min(width, height) > 20:
                raise _bad("PHOTO_INVALID_DIMENSIONS")
        self._check_flood(conversation)
        if isinstance(file, Upload):
            sizes = self._photo_sizes(file.data, None)
            largest = self._files[sizes[-1]["file_id"]]
            filename: str | None = file.filename
        else:
            largest, filename = file, None
            sizes = self._photo_sets.get(file.file_id) or [
                {
                    "file_id": file.file_id,
                    "file_unique_id": file.file_unique_id,
                    "width": 1280,
                    "height": 960,
                    "file_size": file.file_size,
                }
            ]
        self._photo_sets[largest.file_id] = sizes
        sent.message_id = conversation._new_message_id()
        sent.photo, sent.filename, sent.file_id = largest.data, filename, largest.file_id
        return self._add_sent(conversation, sent)

    async def _edit_message_text(self, p: _Params) -> JSONDict:
        conversation, sent = self._editable(p)
        source, plain, entities, parse_mode = self._text(
            p, "text", "entities", MAX_TEXT, required=True
        )
        markup = self._markup(p, inline_only=True)
        if sent.kind != "text":
            raise _bad("there is no text in the message to edit")
        if (plain, entities, markup) == (
            sent.plain,
            sent.entities,
            _inline_only(sent.reply_markup),
        ):
            raise _bad(_NOT_MODIFIED)
        sent.history.append(sent.text)
        sent.text, sent.plain, sent.entities, sent.parse_mode = source, plain, entities, parse_mode
        sent.reply_markup = markup
        return self._apply_edit(conversation, sent)

    async def _edit_message_caption(self, p: _Params) -> JSONDict:
        conversation, sent = self._editable(p)
        source, plain, entities, parse_mode = self._text(
            p, "caption", "caption_entities", MAX_CAPTION, required=False
        )
        markup = self._markup(p, inline_only=True)
        if sent.kind == "text":
            raise _bad("there is no caption in the message to edit")
        if (plain, entities, markup) == (
            sent.plain,
            sent.entities,
            _inline_only(sent.reply_markup),
        ):
            raise _bad(_NOT_MODIFIED)
        sent.history.append(sent.caption)
        sent.caption, sent.plain, sent.entities, sent.parse_mode = (
            source,
            plain,
            entities,
            parse_mode,
        )
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
        stored = self._files.get(p.string("file_id") or "")
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
