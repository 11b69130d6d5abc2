"""Small helpers shared by the handlers: replying in HTML, keyboards, the person check."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode

from kcbx.bot.domain.capabilities import keyboard_rows
from kcbx.bot.domain.model import Person
from kcbx.bot.domain.roles import Role
from kcbx.handlers.context import KcbxContext


async def reply(update: Update, text: str, markup: object = None) -> None:
    """Answer in the chat the update came from (HTML; callers escape user text)."""
    message = update.effective_message
    if message is None:
        return
    await message.reply_text(
        text,
        parse_mode=ParseMode.HTML,
        reply_markup=markup,  # type: ignore[arg-type]
        disable_web_page_preview=True,
    )


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
            if len(data.encode("utf-8")) > 64:
                raise ValueError(f"callback_data over 64 bytes: {data!r}")
            buttons.append(InlineKeyboardButton(label, callback_data=data))
        keyboard.append(buttons)
    return InlineKeyboardMarkup(keyboard)


def pairs(buttons: Sequence[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Buttons two a row (the last row may hold one)."""
    return [list(buttons[i : i + 2]) for i in range(0, len(buttons), 2)]


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


async def deny(update: Update, context: KcbxContext) -> None:
    """The same short refusal for anything out of a person's scope: it reveals nothing."""
    t = context.gettext
    text = t("This is not available to you.")
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    else:
        await reply(update, text)
