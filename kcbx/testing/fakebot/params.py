"""Reading a Bot API call's parameters and checking its keyboards, as strictly as Telegram."""

from __future__ import annotations

import json
import re
from typing import Any

from kcbx.testing.fakebot.limits import (
    _BUTTON_URL,
    _INLINE_BUTTON_KINDS,
    MAX_BUTTONS,
    MAX_CALLBACK_DATA,
    JSONDict,
    _bad,
)
from kcbx.testing.fakebot.records import (
    Upload,
)


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
