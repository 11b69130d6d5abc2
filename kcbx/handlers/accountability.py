"""/accountability: the A8 flags of the school year so far, frozen month by month, for
district leaders and the bureau. Telegram glue only: kcbx/bot/services/accountability.py.

Callback data ``acc:{page}`` pages the list; every press re-checks the role.
"""

from __future__ import annotations

import re
from contextlib import suppress

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from kcbx.bot.services.accountability import accountability_view
from kcbx.handlers.common import deny, inline, reply, require_person
from kcbx.handlers.context import KcbxContext

CALLBACK = re.compile(r"^acc:(\d{1,4})$")


async def accountability(update: Update, context: KcbxContext) -> None:
    person = require_person(context)
    view = await accountability_view(
        context.services, person, 0, gettext=context.gettext, lang=context.lang
    )
    if view is None:
        await deny(update, context)
        return
    await reply(update, view.text, inline(view.buttons) if view.buttons else None)


async def accountability_page(update: Update, context: KcbxContext) -> None:
    query = update.callback_query
    assert query is not None
    person = require_person(context)
    match = CALLBACK.match(query.data or "")
    if match is None:
        await query.answer(context.gettext("This button is no longer valid."), show_alert=True)
        return
    view = await accountability_view(
        context.services, person, int(match.group(1)), gettext=context.gettext, lang=context.lang
    )
    if view is None:
        await deny(update, context)
        return
    await query.answer()
    with suppress(BadRequest):  # the same page pressed twice
        await query.edit_message_text(
            view.text,
            parse_mode=ParseMode.HTML,
            reply_markup=inline(view.buttons) if view.buttons else None,
        )


def register(app: Application) -> None:
    app.add_handler(CommandHandler("accountability", accountability))
    app.add_handler(CallbackQueryHandler(accountability_page, pattern=r"^acc:"))
