"""/help lists a person's commands; /lang switches the language (language)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from kcbx.bot.domain.capabilities import commands_for
from kcbx.bot.domain.roles import ROLE_LABELS
from kcbx.handlers.common import inline, is_private, main_keyboard, pressed, reply, require_person
from kcbx.handlers.context import KcbxContext
from kcbx.handlers.menu import publish_person_menu

LANG_NAMES = {"zh_CN": "中文", "en": "English"}


async def show_help(update: Update, context: KcbxContext) -> None:
    person = require_person(context)
    t = context.gettext
    lines = [
        t("<b>kcbx</b>: dropout control. Your role: {role}.").format(
            role=t(ROLE_LABELS[person.role])
        ),
        "",
    ]
    for command in commands_for(person.role):
        lines.append(f"/{command.name} — {t(command.description)}")
    markup = main_keyboard(person.role, context) if is_private(update) else None
    await reply(update, "\n".join(lines), markup)


async def choose_language(update: Update, context: KcbxContext) -> None:
    person = require_person(context)
    wanted = (context.args or [""])[0].lower()
    if wanted in ("zh", "zh_cn", "zh-cn", "cn", "中文"):
        await _switch(update, context, "zh_CN")
    elif wanted in ("en", "english"):
        await _switch(update, context, "en")
    else:
        del person
        await reply(
            update,
            context.gettext("Choose your language:"),
            inline([[(name, f"lang:{code}") for code, name in LANG_NAMES.items()]]),
        )


async def language_button(update: Update, context: KcbxContext) -> None:
    query = pressed(update)
    code = (query.data or "").split(":", 1)[-1]
    if code not in LANG_NAMES:
        await query.answer(context.gettext("This button is no longer valid."))
        return
    await query.answer()
    await _switch(update, context, code)


async def _switch(update: Update, context: KcbxContext, lang: str) -> None:
    person = require_person(context)
    await context.services.people.set_language(person.id, lang, context.services.clock.now())
    context.use_language(lang)
    t = context.gettext
    chat = update.effective_chat
    if chat is not None and is_private(update):
        await publish_person_menu(context.bot, chat.id, person.role, lang)
    await reply(
        update,
        t("Language set to {language}.").format(language=LANG_NAMES[lang]),
        main_keyboard(person.role, context) if is_private(update) else None,
    )


def register(app: Application) -> None:
    app.add_handler(CommandHandler("help", show_help))
    app.add_handler(CommandHandler("lang", choose_language))
    app.add_handler(CallbackQueryHandler(language_button, pattern=r"^lang:"))
