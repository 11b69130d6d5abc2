"""What nobody else handled: unknown commands, stray text, stale buttons; and errors."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

from kcbx.handlers.common import is_private, reply
from kcbx.handlers.context import KcbxContext

log = logging.getLogger(__name__)


async def unknown_command(update: Update, context: KcbxContext) -> None:
    if is_private(update):
        await reply(update, context.gettext("I do not know that command. Send /help."))


async def stray_message(update: Update, context: KcbxContext) -> None:
    if is_private(update):
        await reply(
            update,
            context.gettext("I did not understand that. Please use the buttons, or send /help."),
        )


async def stale_button(update: Update, context: KcbxContext) -> None:
    query = update.callback_query
    if query is not None:
        await query.answer(
            context.gettext("This button is no longer valid. Send /help to start again."),
            show_alert=True,
        )


async def on_error(update: object, context: KcbxContext) -> None:
    """Log first (with the update), then apologise briefly: never a traceback in chat."""
    if isinstance(context.error, BadRequest) and "not modified" in str(context.error).lower():
        # the same button pressed twice: the message already shows what was asked for
        if isinstance(update, Update) and update.callback_query is not None:
            try:
                await update.callback_query.answer()
            except TelegramError:
                log.debug("could not answer a repeated press", exc_info=True)
        return
    log.error("error while handling %r", update, exc_info=context.error)
    if not isinstance(update, Update):
        return
    try:
        text = context.gettext(
            "Sorry, something went wrong. Nothing was saved from this step; please try again."
        )
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        elif update.effective_message is not None and is_private(update):
            await reply(update, text)
    except Exception:  # the apology itself failed (e.g. network): already logged above
        log.warning("could not send the apology", exc_info=True)


def register(app: Application) -> None:
    """Register last, in group 0: only what no other handler of the group matched lands here."""
    app.add_handler(MessageHandler(filters.COMMAND, unknown_command))
    app.add_handler(
        MessageHandler(filters.ALL & ~filters.COMMAND & ~filters.StatusUpdate.ALL, stray_message)
    )
    app.add_handler(CallbackQueryHandler(stale_button))
    app.add_error_handler(on_error)
