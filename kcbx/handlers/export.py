"""/export: the ledger (台账) of the asker's scope as an encrypted Excel document, and its
one-time password in a second message that the bot deletes after a while. Telegram glue only:
the workbook is kcbx/bot/documents/ledger.py (which writes the audit entry), the protection
kcbx/bot/services/exports.py."""

from __future__ import annotations

from datetime import timedelta

from telegram import InputFile, Update
from telegram.constants import ChatAction, ParseMode
from telegram.ext import Application, CommandHandler

from kcbx.bot.services.exports import protected_export_for_person
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
    services = context.services
    protected = await protected_export_for_person(services, person, gettext=t, lang=context.lang)
    if protected is None:
        await deny(update, context)
        return
    ledger = protected.ledger
    await message.reply_document(
        InputFile(protected.data, filename=ledger.filename),
        caption=t(
            "Ledger: {dropouts} dropouts, {suspected} suspected dropouts, {actions} actions "
            "recorded. The file is encrypted: its password follows in the next message. This "
            "export is recorded in the audit log."
        ).format(dropouts=ledger.dropouts, suspected=ledger.suspected, actions=ledger.actions),
        parse_mode=ParseMode.HTML,
    )
    seconds = services.config.export_password_seconds
    sent = await message.reply_text(
        t(
            "Password of the ledger: <code>{password}</code>\nThis message is deleted in "
            "{minutes} minutes: note the password now, and do not forward it with the file."
        ).format(password=protected.password, minutes=max(1, seconds // 60)),
        parse_mode=ParseMode.HTML,
    )
    await services.ephemeral.add(
        chat.id, sent.message_id, services.clock.now() + timedelta(seconds=seconds)
    )


def register(app: Application) -> None:
    app.add_handler(CommandHandler("export", export))
