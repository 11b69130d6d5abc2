"""What every multi-step conversation (report, visit, closing, delivery) shares: the draft
kept in user_data until "Save", and the ways out — /cancel, another command, a timeout, a
button of an earlier step or of a conversation that is over, text where a button was asked.
Nothing is written before "Save", so every way out leaves nothing half-written."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from telegram import CallbackQuery, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ConversationHandler, filters

from kcbx.bot.domain.capabilities import COMMANDS, button_labels
from kcbx.bot.domain.i18n import Translate
from kcbx.bot.services.unfinished import tell_left_unfinished
from kcbx.handlers.common import reply
from kcbx.handlers.context import KcbxContext
from kcbx.handlers.jobs import kick_delivery

T = TypeVar("T")
Handler = Callable[[Update, KcbxContext], Coroutine[Any, Any, None]]
StepHandler = Callable[[Update, KcbxContext], Coroutine[Any, Any, int]]


@dataclass(frozen=True)
class Inputs:
    """The filters a conversation's states use: the main keyboard's buttons (which leave the
    conversation), free text, and anything else (which gets a hint)."""

    keyboard: filters.BaseFilter
    text: filters.BaseFilter
    other: filters.BaseFilter


def inputs() -> Inputs:
    keyboard = filters.Text(
        [label for c in COMMANDS if c.button for label in button_labels(c.name)]
    )
    return Inputs(
        keyboard=keyboard,
        text=filters.TEXT & ~filters.COMMAND & ~keyboard,
        other=~filters.COMMAND & ~keyboard & ~filters.StatusUpdate.ALL,
    )


class Drafts(Generic[T]):
    """The person's draft of one conversation, in user_data under `key`."""

    def __init__(self, key: str, kind: type[T]) -> None:
        self.key = key
        self.kind = kind

    def get(self, context: KcbxContext) -> T | None:
        draft = (context.user_data or {}).get(self.key)
        return draft if isinstance(draft, self.kind) else None

    def keep(self, context: KcbxContext, draft: T) -> None:
        if context.user_data is not None:
            context.user_data[self.key] = draft

    def forget(self, context: KcbxContext) -> None:
        if context.user_data is not None:
            context.user_data.pop(self.key, None)


def cancel_row(t: Translate, data: str) -> list[tuple[str, str]]:
    """The "Cancel" button of a conversation, on a row of its own."""
    return [(t("Cancel"), data)]


async def settle(query: CallbackQuery, answer: str) -> None:
    """Close a question once answered: its buttons go, the answer (HTML, escaped by the
    caller) is shown under it."""
    await query.answer()
    message = query.message
    if not isinstance(message, Message) or message.text is None:
        return
    try:
        await message.edit_text(
            f"{message.text_html}\n→ {answer}", parse_mode=ParseMode.HTML, reply_markup=None
        )
    except BadRequest:
        with suppress(BadRequest):
            await message.edit_reply_markup(reply_markup=None)


def leave(drafts: Drafts[T], stopped: str) -> StepHandler:
    """Another command (or another feature's button) in the middle: stop, say so."""

    async def handler(update: Update, context: KcbxContext) -> int:
        drafts.forget(context)
        await reply(update, context.gettext(stopped))
        return ConversationHandler.END

    return handler


def lost(drafts: Drafts[T], over: str) -> StepHandler:
    """The draft is gone (a restart, a timeout) while its conversation goes on: say that
    nothing was saved, end."""

    async def handler(update: Update, context: KcbxContext) -> int:
        drafts.forget(context)
        if update.callback_query is not None:
            await update.callback_query.answer()
        await reply(update, context.gettext(over))
        return ConversationHandler.END

    return handler


def timed_out(drafts: Drafts[T], what: str) -> Handler:
    """conversation_timeout: drop the draft and tell the person through the outbox."""

    async def handler(update: Update, context: KcbxContext) -> None:
        drafts.forget(context)
        if update.effective_user is None:
            return
        if await tell_left_unfinished(context.services, update.effective_user.id, what):
            kick_delivery(context.application)

    return handler


def over(message: str) -> Handler:
    """A button of this conversation pressed when none is under way (after /cancel, a
    timeout or a restart): an alert, nothing else."""

    async def handler(update: Update, context: KcbxContext) -> None:
        query = update.callback_query
        if query is not None:
            await query.answer(context.gettext(message), show_alert=True)

    return handler


async def hint_buttons(update: Update, context: KcbxContext) -> None:
    """Text (or a photo, a sticker...) where a button was expected."""
    await reply(update, context.gettext("Please use the buttons above, or send /cancel to stop."))


async def old_button(update: Update, context: KcbxContext) -> None:
    """A button of an earlier step of the conversation under way."""
    query = update.callback_query
    if query is not None:
        await query.answer(context.gettext("Please answer the latest question."))
