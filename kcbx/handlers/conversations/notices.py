"""/notices and the notices' buttons (A7.4, A7.5). Telegram glue only: the rules are in
kcbx/bot/services/notices.py, the words and buttons in kcbx/bot/texts/notices.py.

Buttons (callback data, forgeable: every press re-checks the person's scope):

* ``ntc:i:{id}`` "Issued": the printed notice was signed and stamped (``notice_issued``);
* ``ntc:d:{id}`` "Record delivery": the delivery conversation
  (kcbx/handlers/conversations/delivery.py);
* ``ntc:f:{id}`` the PDF and the .docx again; ``ntc:v:{id}`` the receipt photo;
* ``ntc:r:{id}`` re-issue under a new number (asks first: ``ntc:ry:{id}``);
* ``ntc:p:{page}`` a page of /notices.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress

from telegram import InputFile, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from kcbx.bot.services.notices import (
    DocumentFile,
    NoticeDenied,
    NoticeError,
    check_reissue,
    documents_for,
    issue,
    overview,
    receipt_of,
    reissue,
)
from kcbx.bot.texts.notices import (
    issue_data,
    issued_text,
    notice_buttons,
    notice_title,
    notices_in_groups,
    notices_page,
    reissue_question,
    reissued_text,
)
from kcbx.handlers.common import (
    Rows,
    deny,
    inline,
    is_private,
    note_read,
    pressed,
    reply,
    require_person,
    show,
)
from kcbx.handlers.context import KcbxContext
from kcbx.handlers.conversations import delivery, flow
from kcbx.handlers.conversations.delivery import (
    notice_problem,
    pressed_id,
    pressed_notice,
    private_only,
)


async def _send_files(update: Update, files: Sequence[DocumentFile], caption: str) -> None:
    message = update.effective_message
    assert message is not None
    for file in files:
        await message.reply_document(
            InputFile(file.data, filename=file.filename), caption=caption, parse_mode=ParseMode.HTML
        )


# --- "Issued" --------------------------------------------------------------------------------


async def issued_button(update: Update, context: KcbxContext) -> None:
    """ntc:i:{id}: the printed notice was signed and stamped."""
    t = context.gettext
    result = await pressed_notice(update, context, r"^ntc:i:(\d{1,12})$", issue)
    if result is None:
        return
    query = pressed(update)
    notice_id = result.view.notice.id
    if isinstance(query.message, Message):  # the button goes; a second press does nothing
        with suppress(BadRequest):
            await query.message.edit_reply_markup(
                reply_markup=inline(
                    [
                        kept
                        for row in _rows_of(query.message)
                        if (kept := [b for b in row if b[1] != issue_data(notice_id)])
                    ]
                )
            )
    text = issued_text(result, t, context.lang)
    await reply(update, text, inline([list(notice_buttons(result.view.notice, t))]))


def _rows_of(message: Message) -> Rows:
    markup = message.reply_markup
    if markup is None:
        return []
    rows = []
    for row in markup.inline_keyboard:
        kept = [(b.text, str(b.callback_data)) for b in row if b.callback_data is not None]
        if kept:
            rows.append(kept)
    return rows


# --- the documents, the receipt, re-issuing ---------------------------------------------------


async def files_button(update: Update, context: KcbxContext) -> None:
    """ntc:f:{id}: the PDF and the .docx again."""
    found = await pressed_notice(update, context, r"^ntc:f:(\d{1,12})$", documents_for)
    if found is None:
        return
    view, files = found
    await note_read(
        update, context, "documents", "notice", view.notice.id, student_id=view.student.id
    )
    await _send_files(update, files, notice_title(view, context.gettext))


async def receipt_button(update: Update, context: KcbxContext) -> None:
    """ntc:v:{id}: the photo of the signed receipt."""
    t = context.gettext
    found = await pressed_notice(update, context, r"^ntc:v:(\d{1,12})$", receipt_of)
    if found is None:
        return
    view, file = found
    title = notice_title(view, t)
    if file is None:
        await reply(update, t("No receipt photo is kept for {title}.").format(title=title))
        return
    await note_read(update, context, "photos", "notice", view.notice.id, student_id=view.student.id)
    await _send_files(update, [file], t("Signed receipt of {title}").format(title=title))


async def reissue_button(update: Update, context: KcbxContext) -> None:
    """ntc:r:{id} asks; ntc:ry:{id} re-issues under a new number."""
    person = require_person(context)
    t = context.gettext
    query = pressed(update)
    if not await private_only(update, context):
        return
    asked = pressed_id(update, r"^ntc:r:(\d{1,12})$")
    if asked is not None:
        try:
            view = await check_reissue(context.services, person, asked)
        except NoticeError as problem:
            await notice_problem(update, context, problem)
            return
        await query.answer()
        text, buttons = reissue_question(view, t)
        await reply(update, text, inline(buttons))
        return
    notice_id = pressed_id(update, r"^ntc:ry:(\d{1,12})$")
    if notice_id is None:
        await flow.settle(query, t("Cancel"))
        return
    try:
        done = await reissue(context.services, person, notice_id)
    except NoticeError as problem:
        await notice_problem(update, context, problem)
        return
    view = done.view
    await flow.settle(query, t("Re-issue"))
    await reply(update, reissued_text(done, t), inline([list(notice_buttons(view.notice, t))]))
    _, files = await documents_for(context.services, person, view.notice.id)
    await _send_files(update, files, notice_title(view, t))


# --- /notices --------------------------------------------------------------------------------


async def list_notices(update: Update, context: KcbxContext) -> None:
    """/notices: the documents awaiting issue or delivery, then those whose deadline runs."""
    await _notices_page(update, context, None)


async def page_button(update: Update, context: KcbxContext) -> None:
    page = pressed_id(update, r"^ntc:p:(\d{1,6})$")
    if page is None or not await private_only(update, context):
        return
    await _notices_page(update, context, page)


async def _notices_page(update: Update, context: KcbxContext, page: int | None) -> None:
    """A page of /notices (``page`` None: /notices itself, which a group gets as counts)."""
    person = require_person(context)
    try:
        found = await overview(context.services, person)
    except NoticeDenied:
        await deny(update, context)
        return
    if page is None and not is_private(update):
        await reply(update, notices_in_groups(found, context.gettext))
        return
    text, rows = notices_page(found, page or 0, context.gettext, context.lang)
    await show(update, text, rows)


def register(app: Application) -> None:
    """The delivery conversation, /notices and the notices' buttons."""
    delivery.register(app)
    app.add_handler(CommandHandler("notices", list_notices))
    app.add_handler(CallbackQueryHandler(issued_button, pattern=r"^ntc:i:"))
    app.add_handler(CallbackQueryHandler(files_button, pattern=r"^ntc:f:"))
    app.add_handler(CallbackQueryHandler(receipt_button, pattern=r"^ntc:v:"))
    app.add_handler(CallbackQueryHandler(reissue_button, pattern=r"^ntc:r[yn]?:?"))
    app.add_handler(CallbackQueryHandler(page_button, pattern=r"^ntc:p:"))


__all__ = ["register"]
