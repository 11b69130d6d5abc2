"""/find 张三 | zs | KC-2024-0003 | 学籍号: a student or case within one's scope. Telegram glue
only: kcbx/bot/services/find.py finds, kcbx/bot/texts/find.py writes the answer."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler

from kcbx.bot.services.find import find
from kcbx.bot.texts.find import find_reply
from kcbx.handlers.common import inline, is_private, note_read, reply, require_person
from kcbx.handlers.context import KcbxContext


async def find_command(update: Update, context: KcbxContext) -> None:
    person = require_person(context)
    t = context.gettext
    if not is_private(update):  # the answer names children: never in a group
        await reply(update, t("Send /find in a private chat with me: the answer names children."))
        return
    query = " ".join(context.args or [])
    if not query.strip():
        await reply(
            update, t("Send /find and a name, its pinyin initials or a case number, e.g. /find zs")
        )
        return
    result = await find(context.services, person, query)
    for item in result.found:
        case_id = item.case.id if item.case is not None else None
        await note_read(update, context, "list", "case", case_id, student_id=item.student.id)
    text, rows = find_reply(result, t)
    await reply(update, text, inline(rows) if rows else None)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("find", find_command))
