"""/start <code>: the only way in (who gets in)."""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.ext import Application, CommandHandler

from kcbx.bot.domain.i18n import normalize_language
from kcbx.bot.domain.roles import ROLE_LABELS
from kcbx.bot.services.access import accept_invitation
from kcbx.handlers.common import is_private, main_keyboard, reply
from kcbx.handlers.context import KcbxContext
from kcbx.handlers.menu import publish_person_menu


async def start(update: Update, context: KcbxContext) -> None:
    t = context.gettext
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or not is_private(update):
        return
    if context.person is not None:
        known = context.person
        await reply(
            update,
            t("Welcome back, <b>{name}</b>. Send /help to see what you can do.").format(
                name=escape(known.name)
            ),
            main_keyboard(known.role, context),
        )
        return
    code = context.args[0] if context.args else ""
    lang = normalize_language(user.language_code, context.lang)
    bound = await accept_invitation(
        context.services,
        code,
        telegram_id=user.id,
        chat_id=chat.id,
        lang=lang,
        name=user.full_name,
    )
    if bound is None:
        await reply(
            update,
            t("This invitation link is not valid. Please ask your administrator for a new one."),
        )
        return
    person = context.person = bound
    context.use_language(person.lang)
    t = context.gettext
    await publish_person_menu(context.bot, chat.id, person.role, context.lang)
    unit = await context.services.units.path_name(person.unit_id)
    if not unit and person.unit_id is not None:  # the district, left out of paths: its name
        own = await context.services.units.get(person.unit_id)
        unit = own.name if own is not None else ""
    await reply(
        update,
        t("Welcome, <b>{name}</b>. You are registered as {role} of {unit}.").format(
            name=escape(person.name), role=t(ROLE_LABELS[person.role]), unit=escape(unit)
        )
        + "\n"
        + t("Send /help to see what you can do."),
        main_keyboard(person.role, context),
    )


def register(app: Application) -> None:
    app.add_handler(CommandHandler("start", start))
