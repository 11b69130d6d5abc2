"""The gate: every update passes here first. Strangers and revoked people go no further."""

from __future__ import annotations

from telegram import ChatMemberUpdated, Update
from telegram.ext import Application, ApplicationHandlerStop, ChatMemberHandler, TypeHandler

from kcbx.handlers.common import is_private, tell
from kcbx.handlers.context import KcbxContext


def _is_start(update: Update) -> bool:
    message = update.message
    return bool(message and message.text and message.text.split()[0].split("@")[0] == "/start")


async def gate(update: Update, context: KcbxContext) -> None:
    """Load the person behind the update; refuse politely anyone not invited."""
    user = update.effective_user
    if user is None or update.my_chat_member is not None:
        return
    context.use_language(user.language_code)
    person = await context.services.persons.by_telegram(user.id)
    if person is not None and person.active:
        context.person = person
        if person.lang:
            context.use_language(person.lang)
        return
    if _is_start(update) and is_private(update):
        return  # /start with a code is the way in
    if is_private(update):
        t = context.gettext
        text = t(
            "This bot is for invited staff only. Please ask your administrator for an "
            "invitation link."
        )
        await tell(update, text)
    raise ApplicationHandlerStop


async def chat_member(update: Update, context: KcbxContext) -> None:
    """A person who blocks the bot is unreachable until they come back (403)."""
    change: ChatMemberUpdated | None = update.my_chat_member
    if change is None or change.chat.type != "private":
        return
    person = await context.services.people.by_telegram(change.from_user.id)
    if person is None:
        return
    if change.new_chat_member.status == "kicked":
        await context.services.people.mark_unreachable(person.id, context.services.clock.now())
    elif change.new_chat_member.status == "member":
        await context.services.people.mark_reachable(person.id)


def register(app: Application) -> None:
    app.add_handler(TypeHandler(Update, gate), group=-10)
    app.add_handler(ChatMemberHandler(chat_member, ChatMemberHandler.MY_CHAT_MEMBER), group=-9)
