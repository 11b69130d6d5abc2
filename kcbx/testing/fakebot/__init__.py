"""A strict fake Telegram Bot API server for end-to-end tests and `kcbx demo`.

The real bot (a PTB `Application`) talks real HTTP to this server on loopback. The server
rejects what Telegram rejects (HTML it cannot parse, texts that are too long, bad buttons,
chats the bot may not write to, flood), with Telegram's status codes and error texts, so a
test fails where Telegram would. The test side plays the people: `fake.user(...)` returns a
`FakeUser` that sends messages, presses buttons and reads what the bot sent.

Where Telegram is lenient and the lenience hides a bug of ours, the fake is stricter on
purpose: a bare `&` in HTML text (usually unescaped user input) is rejected.
"""

from __future__ import annotations

from kcbx.testing.fakebot.html import parse_html, utf16_len
from kcbx.testing.fakebot.limits import (
    MAX_BUTTONS,
    MAX_CALLBACK_ANSWER,
    MAX_CALLBACK_DATA,
    MAX_CAPTION,
    MAX_TEXT,
    ApiError,
)
from kcbx.testing.fakebot.people import FakeGroup, FakeUser
from kcbx.testing.fakebot.records import (
    CallbackAnswer,
    FakeStats,
    RecordedRequest,
    SentMessage,
    Upload,
)
from kcbx.testing.fakebot.server import FakeBotApi

__all__ = [
    "MAX_BUTTONS",
    "MAX_CALLBACK_ANSWER",
    "MAX_CALLBACK_DATA",
    "MAX_CAPTION",
    "MAX_TEXT",
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
