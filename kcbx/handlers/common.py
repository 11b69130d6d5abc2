"""Small helpers shared by the handlers: replying in HTML (or in place of the pressed
message), keyboards, the pressed button's data, the person check, refusals."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest

from kcbx.bot.domain.capabilities import keyboard_rows, may
from kcbx.bot.domain.model import Person
from kcbx.bot.domain.roles import Role
from kcbx.handlers.context import KcbxContext

log = logging.getLogger(__name__)

MAX_TEXT = 4096  # Telegram's limit for a message
MAX_CAPTION = 1024  # and for a caption

Rows = list[list[tuple[str, str]]]  # an inline keyboard as rows of (label, callback_data)
Keyboard = dict[str, list[list[dict[str, str]]]]  # an inline keyboard as the Bot API's JSON


async def reply(update: Update, text: str, markup: object = None, *, quote: bool = False) -> None:
    """Answer in the chat the update came from (HTML; callers escape user text); ``quote``
    quotes the message answered (a pressed one: its buttons may be edited later)."""
    message = update.effective_message
    if message is None:
        return
    await message.reply_text(
        text,
        parse_mode=ParseMode.HTML,
        reply_markup=markup,  # type: ignore[arg-type]
        disable_web_page_preview=True,
        do_quote=quote or None,
    )


async def edit_in_place(message: Message, text: str, markup: Keyboard | None) -> None:
    """Edit one of our messages (HTML) without reading Telegram's copy of it back: PTB's
    ``edit_text`` builds the whole returned message with its keyboard, which nobody reads."""
    data: dict[str, object] = {
        "chat_id": message.chat_id,
        "message_id": message.message_id,
        "text": text,
        "parse_mode": ParseMode.HTML,
    }
    if markup is not None:
        data["reply_markup"] = markup
    await message.get_bot()._post("editMessageText", data)


async def answer_press(query: CallbackQuery, alert: str | None = None) -> None:
    """Answer a press (``alert``: as an alert) as the Bot API is asked it, in one request
    without PTB's defaults and argument objects (every button step makes one)."""
    data: dict[str, object] = {"callback_query_id": query.id}
    if alert is not None:
        data.update(text=alert, show_alert=True)
    await query.get_bot()._post("answerCallbackQuery", data)


def main_keyboard(role: Role, context: KcbxContext) -> ReplyKeyboardMarkup | None:
    rows = keyboard_rows(role, context.gettext)
    if not rows:
        return None
    return ReplyKeyboardMarkup(rows, resize_keyboard=True, is_persistent=True)


def inline(rows: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """An inline keyboard from rows of (label, callback_data); data must fit 64 bytes."""
    keyboard = []
    for row in rows:
        buttons = []
        for label, data in row:
            _fits(data)
            buttons.append(InlineKeyboardButton(label, callback_data=data))
        keyboard.append(buttons)
    return InlineKeyboardMarkup(keyboard)


def keyboard(rows: Sequence[Sequence[tuple[str, str]]]) -> Keyboard:
    """The same keyboard as the Bot API's JSON, for a request sent as is (an edit in place):
    no PTB objects built only to be turned back into this."""
    return {
        "inline_keyboard": [
            [{"text": label, "callback_data": _fits(data)} for label, data in row] for row in rows
        ]
    }


def _fits(data: str) -> str:
    if len(data.encode("utf-8")) > 64:
        raise ValueError(f"callback_data over 64 bytes: {data!r}")
    return data


def pairs(buttons: Sequence[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Buttons two a row (the last row may hold one)."""
    return [list(buttons[i : i + 2]) for i in range(0, len(buttons), 2)]


def pressed(update: Update) -> CallbackQuery:
    """The press of a button (for handlers that only buttons reach)."""
    query = update.callback_query
    if query is None:
        raise TypeError("a button's handler got an update without a callback query")
    return query


def pressed_number(update: Update) -> int:
    """The number that ends the pressed button's data (forgeable: check what it names)."""
    return int(callback_data(update).rsplit(":", 1)[1])


def callback_data(update: Update) -> str:
    """The pressed button's callback_data ("" for anything else); forgeable: check it."""
    query = update.callback_query
    return (query.data or "") if query is not None else ""


def is_private(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type == "private"


def require_person(context: KcbxContext) -> Person:
    """The gate has let only active people through to feature handlers."""
    person = context.person
    if person is None or not person.active:
        raise PermissionError("a feature handler ran without an active person")
    return person


async def note_read(
    update: Update,
    context: KcbxContext,
    what: str,
    entity: str,
    entity_id: object = None,
    *,
    student_id: int | None = None,
) -> None:
    """Note in the audit log that the person saw a child's data (PIPL art. 28-31: who saw
    what). Batched: written with the next flush, not on this button press."""
    person = require_person(context)
    services = context.services
    chat = update.effective_chat
    services.audit.viewed(
        at=services.clock.now(),
        actor=f"person:{person.id}",
        what=what,
        entity=entity,
        entity_id=entity_id,
        student_id=student_id,
        chat_id=chat.id if chat is not None else None,
    )
    if services.audit.should_flush:
        await services.audit.flush()


async def tell(update: Update, text: str) -> None:
    """An alert on a pressed button (its message stays as it was), else a reply."""
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    else:
        await reply(update, text)


async def permitted(
    update: Update, context: KcbxContext, command: str, *, private: bool = True
) -> Person | None:
    """The person, if the capability table lets them use ``command`` (and, if ``private``,
    this is a private chat); else the refusal that reveals nothing, and None."""
    person = require_person(context)
    if may(person.role, command) and (is_private(update) or not private):
        return person
    await deny(update, context)
    return None


async def deny(update: Update, context: KcbxContext) -> None:
    """The same short refusal for anything out of a person's scope: it reveals nothing."""
    await tell(update, context.gettext("This is not available to you."))


async def show(
    update: Update, text: str, rows: Rows | None = None, *, alert: str | None = None
) -> None:
    """The next question (or the last word). After a button press the message with the
    button becomes the next question (or page), so the chat keeps one live question and no stale
    buttons, at one edit instead of two sends (Telegram allows about one message a second
    in a chat); after typed text it is sent as a new message. ``alert``: the press's answer
    (a stale page of a list), shown as an alert."""
    query = update.callback_query
    if query is not None and isinstance(query.message, Message) and query.message.text:
        await answer_press(query, alert)
        try:
            await edit_in_place(query.message, text, keyboard(rows) if rows else None)
            return
        except BadRequest as exc:
            if "not modified" in str(exc).lower():  # the same page pressed twice
                return
    await reply(update, text, inline(rows) if rows else None)


async def edit_message(
    message: Message, line: str | None, drop: Callable[[str], bool], *, replace: bool = False
) -> None:
    """Add ``line`` under the message (or replace its text) and drop buttons. Best effort:
    the record is already written; a message that cannot be edited stays as it was."""
    rows: Rows = []
    before = 0
    if message.reply_markup is not None:
        for row in message.reply_markup.inline_keyboard:
            before += len(row)
            kept = [
                (b.text, str(b.callback_data))
                for b in row
                if b.callback_data is not None and not drop(str(b.callback_data))
            ]
            if kept:
                rows.append(kept)
    markup = inline(rows) if rows else None
    body = message.text_html if message.text is not None else message.caption_html
    shown = message.text or message.caption or ""
    unchanged = before == sum(len(row) for row in rows)
    try:
        if line is None or (not replace and line in shown):
            if not unchanged:
                await message.edit_reply_markup(reply_markup=markup)
        elif message.text is not None:
            text = line if replace else f"{body}\n{line}"
            if len(text) > MAX_TEXT:
                await message.edit_reply_markup(reply_markup=markup)
            else:
                await message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
        else:
            caption = line if replace else f"{body or ''}\n{line}"
            if len(caption) > MAX_CAPTION:
                await message.edit_reply_markup(reply_markup=markup)
            else:
                await message.edit_caption(caption, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as exc:  # "message is not modified", or too old to edit
        log.info("could not edit message %s: %s", message.message_id, exc)
