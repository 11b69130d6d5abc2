"""Telegram's limits and error answers, as the fake Bot API server enforces them."""

from __future__ import annotations

import logging
import re
from typing import Any

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
