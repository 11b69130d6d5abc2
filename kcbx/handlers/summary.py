"""/summary, its drill-down buttons and its chart. Telegram glue only: the
computation is kcbx/bot/services/summary.py, the SQL kcbx/storage/reports_repo.py.

Callback data (forgeable: every press re-checks the unit against the presser's scope):

* ``sum:u:{unit_id}:{page}``: a unit's summary, a page of its townships or schools;
* ``sum:t:{unit_id}`` / ``sum:s:{unit_id}``: a township's / a school's summary;
* ``sum:c:{school_id}:{page}``: a school's open cases, names included (private chats only),
  each with the ``case:{id}`` button of the /cases feature's case card;
* ``sum:g:{unit_id}``: the chart, sent as a photo.

In a group the summary shows counts only: no child's name, no list of cases.
"""

from __future__ import annotations

import re
from contextlib import suppress

from telegram import InputFile, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from kcbx.bot.domain.capabilities import button_labels
from kcbx.bot.services.summary import (
    SUMMARY_ROLES,
    Reply,
    school_cases_view,
    summary_chart,
    summary_view,
)
from kcbx.handlers.common import deny, inline, is_private, reply, require_person
from kcbx.handlers.context import KcbxContext

CALLBACK = re.compile(r"^sum:(u|t|s|c|g):(\d{1,12})(?::(\d{1,4}))?$")


async def summary(update: Update, context: KcbxContext) -> None:
    """/summary (and the "Summary" button): the asker's scope at a glance."""
    person = require_person(context)
    if person.role not in SUMMARY_ROLES:
        await deny(update, context)
        return
    view = await summary_view(
        context.services,
        person,
        None,
        in_group=not is_private(update),
        gettext=context.gettext,
        lang=context.lang,
    )
    if view is None:
        await deny(update, context)
        return
    await reply(update, view.text, inline(view.buttons) if view.buttons else None)


async def summary_button(update: Update, context: KcbxContext) -> None:
    query = update.callback_query
    assert query is not None
    person = require_person(context)
    t = context.gettext
    match = CALLBACK.match(query.data or "")
    if match is None:
        await query.answer(t("This button is no longer valid."), show_alert=True)
        return
    verb, number, page_text = match.group(1), int(match.group(2)), match.group(3)
    page = int(page_text) if page_text else 0
    in_group = not is_private(update)
    services, lang = context.services, context.lang
    view: Reply | None
    if verb == "g":
        await _send_chart(update, context, number)
        return
    if verb == "c":
        if in_group:  # a list of cases names children: never in a group
            await query.answer(t("Ask for the list of cases in a private chat with me."))
            return
        view = await school_cases_view(services, person, number, page, gettext=t, lang=lang)
    else:
        view = await summary_view(
            services, person, number, page=page, in_group=in_group, gettext=t, lang=lang
        )
    if view is None:
        await deny(update, context)
        return
    await query.answer()
    with suppress(BadRequest):  # "message is not modified": the same view pressed twice
        await query.edit_message_text(
            view.text,
            parse_mode=ParseMode.HTML,
            reply_markup=inline(view.buttons) if view.buttons else None,
            disable_web_page_preview=True,
        )


async def _send_chart(update: Update, context: KcbxContext, unit_id: int) -> None:
    query = update.callback_query
    chat = update.effective_chat
    assert query is not None and chat is not None
    person = require_person(context)
    t = context.gettext
    await context.bot.send_chat_action(chat.id, ChatAction.UPLOAD_PHOTO)
    drawn = await summary_chart(context.services, person, unit_id, gettext=t, lang=context.lang)
    if drawn is None:
        await deny(update, context)
        return
    await query.answer()
    png, caption = drawn
    await context.bot.send_photo(
        chat.id, InputFile(png, filename="summary.png"), caption=caption, parse_mode=ParseMode.HTML
    )


def register(app: Application) -> None:
    app.add_handler(CommandHandler("summary", summary))
    labels = button_labels("summary")
    if labels:
        pattern = "^(" + "|".join(re.escape(label) for label in labels) + ")$"
        app.add_handler(MessageHandler(filters.TEXT & filters.Regex(pattern), summary))
    app.add_handler(CallbackQueryHandler(summary_button, pattern=r"^sum:"))
