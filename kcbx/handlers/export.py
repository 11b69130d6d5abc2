"""/export: the ledger (台账) of the asker's scope as an Excel document. Telegram
glue only: the workbook is kcbx/bot/services/ledger.py, which also writes the audit entry."""

from __future__ import annotations

from telegram import InputFile, Update
from telegram.constants import ChatAction, ParseMode
from telegram.ext import Application, CommandHandler

from kcbx.bot.services.ledger import export_for_person
from kcbx.bot.services.summary import SUMMARY_ROLES
from kcbx.handlers.common import deny, is_private, reply, require_person
from kcbx.handlers.context import KcbxContext


async def export(update: Update, context: KcbxContext) -> None:
    person = require_person(context)
    t = context.gettext
    if person.role not in SUMMARY_ROLES:
        await deny(update, context)
        return
    if not is_private(update):  # the ledger names children: never in a group
        await reply(update, t("The ledger names children: send /export in a private chat with me."))
        return
    chat = update.effective_chat
    message = update.effective_message
    assert chat is not None and message is not None
    await context.bot.send_chat_action(chat.id, ChatAction.UPLOAD_DOCUMENT)
    ledger = await export_for_person(context.services, person, gettext=t)
    if ledger is None:
        await deny(update, context)
        return
    await message.reply_document(
        InputFile(ledger.data, filename=ledger.filename),
        caption=t(
            "Ledger: {dropouts} dropouts, {suspected} suspected dropouts, {actions} actions "
            "recorded. This export is recorded in the audit log."
        ).format(dropouts=ledger.dropouts, suspected=ledger.suspected, actions=ledger.actions),
        parse_mode=ParseMode.HTML,
    )


def register(app: Application) -> None:
    app.add_handler(CommandHandler("export", export))
