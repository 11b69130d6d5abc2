"""/notices and the notices' buttons (A7.4, A7.5). Telegram glue only: the rules are
in kcbx/bot/services/notices.py.

Buttons (callback data, forgeable: every press re-checks the person's scope):

* ``ntc:i:{id}`` "Issued": the printed notice was signed and stamped (``notice_issued``);
* ``ntc:d:{id}`` "Record delivery": a short conversation (date → who received it → photo of
  the signed receipt → confirm); nothing is written before "Save";
* ``ntc:f:{id}`` the PDF and the .docx again; ``ntc:v:{id}`` the receipt photo;
* ``ntc:r:{id}`` re-issue under a new number (asks first: ``ntc:ry:{id}``);
* ``ntc:p:{page}`` a page of /notices.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from html import escape
from typing import TypeVar

from telegram import InputFile, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from kcbx.bot.domain.dates import format_date
from kcbx.bot.domain.i18n import N_, Translate
from kcbx.bot.domain.model import Person
from kcbx.bot.engine.notice_tasks import (
    DELIVER_LABEL,
    FILES_LABEL,
    ISSUED_LABEL,
    RECEIPT_LABEL,
    REISSUE_LABEL,
    deliver_data,
    files_data,
    issue_data,
    notice_buttons,
    receipt_data,
    reissue_data,
)
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.notices import (
    KIND_NAMES,
    NOTICE,
    DeliveryStart,
    NoticeDenied,
    NoticeError,
    NoticeView,
    check_reissue,
    checked_delivery_date,
    clean_receiver,
    deadline_from,
    documents_for,
    issue,
    overview,
    read_delivery_date,
    receipt_of,
    record_delivery,
    reissue,
    start_delivery,
)
from kcbx.bot.services.visits import VisitProblem
from kcbx.handlers.common import deny, inline, is_private, note_read, reply, require_person
from kcbx.handlers.context import KcbxContext
from kcbx.handlers.conversations import flow
from kcbx.handlers.conversations.evidence import receive_evidence
from kcbx.handlers.conversations.flow import Drafts
from kcbx.storage.visits import EvidenceFile

DATE, WHO, PHOTO, CONFIRM = range(4)
TIMEOUT = timedelta(minutes=30)
DRAFT = "kcbx.notice.delivery"
PER_PAGE = 6
_OVER = N_(
    "This delivery record is no longer open; nothing was saved from it. Press “Record "
    "delivery” again to start over."
)

Rows = list[list[tuple[str, str]]]
T = TypeVar("T")


@dataclass
class DeliveryDraft:
    """What the person has answered so far (kept in user_data; nothing is written)."""

    notice_id: int
    guardians: list[str] = field(default_factory=list)
    delivered_on: date | None = None
    delivered_to: str | None = None
    receipt: EvidenceFile | None = None


# --- helpers ---------------------------------------------------------------------------------


_drafts = Drafts(DRAFT, DeliveryDraft)
_draft = _drafts.get
_keep = _drafts.keep
_forget = _drafts.forget


def _id(update: Update, pattern: str) -> int | None:
    query = update.callback_query
    match = re.match(pattern, (query.data or "") if query else "")
    return int(match.group(1)) if match else None


def _title(view: NoticeView, t: Translate) -> str:
    """``限期入学通知书 <b>沙教控辍〔2024〕第001号</b>（<b>张三</b>）``."""
    return t("{title} {number} ({student})").format(
        title=t(KIND_NAMES[view.notice.kind]),
        number=f"<b>{escape(view.notice.number)}</b>",
        student=f"<b>{escape(view.student.name)}</b>",
    )


async def _problem(update: Update, context: KcbxContext, problem: NoticeError) -> None:
    """Tell the person what to correct: an alert on a press, a reply to a message."""
    if isinstance(problem, NoticeDenied):
        await deny(update, context)
        return
    text = problem.render(context.gettext, context.lang)
    query = update.callback_query
    if query is not None:
        await query.answer()
    await reply(update, text)


async def _pressed(
    update: Update,
    context: KcbxContext,
    pattern: str,
    act: Callable[[Services, Person, int], Awaitable[T]],
) -> T | None:
    """A notice's button: its id from ``pattern``, a private chat, then ``act`` on the notice;
    a problem is answered here, else the press is. None: nothing more to do."""
    person = require_person(context)
    notice_id = _id(update, pattern)
    if notice_id is None or not await _private_only(update, context):
        return None
    try:
        result = await act(context.services, person, notice_id)
    except NoticeError as problem:
        await _problem(update, context, problem)
        return None
    query = update.callback_query
    assert query is not None
    await query.answer()
    return result


async def _private_only(update: Update, context: KcbxContext) -> bool:
    """Groups get counts, never a child's name: notices are handled in a private chat."""
    if is_private(update):
        return True
    text = context.gettext("Please handle notices in a private chat with me.")
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    else:
        await reply(update, text)
    return False


# --- "Issued" --------------------------------------------------------------------------------


async def issued_button(update: Update, context: KcbxContext) -> None:
    """ntc:i:{id}: the printed notice was signed and stamped."""
    t = context.gettext
    result = await _pressed(update, context, r"^ntc:i:(\d{1,12})$", issue)
    if result is None:
        return
    query = update.callback_query
    assert query is not None
    view = result.view
    notice_id = view.notice.id
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
    if result.already:
        text = t("{title} was already recorded as issued.").format(title=_title(view, t))
    else:
        text = t(
            "Recorded: {title} issued. Please have it delivered to the guardians by {date}, "
            "then press “Record delivery” and send a photo of the signed receipt."
        ).format(
            title=_title(view, t),
            date=format_date(result.deliver_by, t, context.lang) if result.deliver_by else "—",
        )
    await reply(update, text, inline([list(notice_buttons(view.notice, t))]))


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


# --- the delivery conversation ---------------------------------------------------------------


async def begin_delivery(update: Update, context: KcbxContext) -> int:
    """ntc:d:{id}: step 1, the date of delivery."""
    person = require_person(context)
    notice_id = _id(update, r"^ntc:d:(\d{1,12})$")
    if notice_id is None:
        return await _lost(update, context)
    if not await _private_only(update, context):
        return ConversationHandler.END
    _forget(context)
    try:
        start = await start_delivery(context.services, person, notice_id)
    except NoticeError as problem:
        await _problem(update, context, problem)
        return ConversationHandler.END
    query = update.callback_query
    if query is not None:
        await query.answer()
    _keep(context, DeliveryDraft(notice_id, guardians=start.guardians))
    return await _ask_date(update, context, start)


async def _ask_date(update: Update, context: KcbxContext, start: DeliveryStart) -> int:
    t = context.gettext
    today, issued = start.today, start.view.notice.issue_date
    choices = [(0, t("Today")), (1, t("Yesterday"))]
    buttons = [
        (f"{label} {format_date(today - timedelta(days=back), t, context.lang)}", f"ntc:dt:{back}")
        for back, label in choices
        if today - timedelta(days=back) >= issued
    ]
    rows: Rows = [[b] for b in buttons]
    rows.append(flow.cancel_row(t, "ntc:x"))
    await reply(
        update,
        t("Record the delivery of {title}.").format(title=_title(start.view, t))
        + "\n"
        + t(
            "Step 1 of 3: on which day did the guardians receive it? Press a button or write "
            "the date (for example 3月5日)."
        ),
        inline(rows),
    )
    return DATE


async def _current(
    update: Update, context: KcbxContext
) -> tuple[DeliveryDraft, DeliveryStart] | None:
    """The draft, with its notice checked again (scope, case open, not yet delivered)."""
    person = require_person(context)
    draft = _draft(context)
    if draft is None:
        await _lost(update, context)
        return None
    try:
        start = await start_delivery(context.services, person, draft.notice_id)
    except NoticeError as problem:
        _forget(context)
        await _problem(update, context, problem)
        return None
    return draft, start


async def date_button(update: Update, context: KcbxContext) -> int:
    current = await _current(update, context)
    if current is None:
        return ConversationHandler.END
    draft, start = current
    back = _id(update, r"^ntc:dt:([01])$") or 0
    try:
        day = checked_delivery_date(
            start.today - timedelta(days=back), start.view.notice, start.today
        )
    except NoticeError as problem:
        await _problem(update, context, problem)
        return DATE
    query = update.callback_query
    assert query is not None
    await flow.settle(query, format_date(day, context.gettext, context.lang))
    return await _ask_who(update, context, replace(draft, delivered_on=day))


async def date_text(update: Update, context: KcbxContext) -> int:
    current = await _current(update, context)
    if current is None:
        return ConversationHandler.END
    draft, start = current
    message = update.effective_message
    try:
        typed = (message.text or "") if message else ""
        day = read_delivery_date(typed, start.view.notice, start.today)
    except NoticeError as problem:
        await _problem(update, context, problem)
        return DATE
    return await _ask_who(update, context, replace(draft, delivered_on=day))


async def _ask_who(update: Update, context: KcbxContext, draft: DeliveryDraft) -> int:
    t = context.gettext
    _keep(context, draft)
    rows: Rows = [[(name, f"ntc:to:{i}")] for i, name in enumerate(draft.guardians)]
    rows.append(flow.cancel_row(t, "ntc:x"))
    await reply(
        update,
        t(
            "Step 2 of 3: who received it? Press a guardian's name, or write the name and the "
            "relation to the child (for example 王芳 母亲)."
        ),
        inline(rows),
    )
    return WHO


async def who_button(update: Update, context: KcbxContext) -> int:
    current = await _current(update, context)
    if current is None:
        return ConversationHandler.END
    draft, _start = current
    index = _id(update, r"^ntc:to:(\d)$")
    if index is None or index >= len(draft.guardians):
        return await _lost(update, context)
    name = draft.guardians[index]
    query = update.callback_query
    assert query is not None
    await flow.settle(query, escape(name))
    return await _ask_photo(update, context, replace(draft, delivered_to=name))


async def who_text(update: Update, context: KcbxContext) -> int:
    current = await _current(update, context)
    if current is None:
        return ConversationHandler.END
    draft, _start = current
    message = update.effective_message
    name = clean_receiver((message.text or "") if message else "")
    if name is None:
        await reply(
            update,
            context.gettext(
                "Please write who received it in one line, at most 40 characters "
                "(for example 王芳 母亲)."
            ),
        )
        return WHO
    return await _ask_photo(update, context, replace(draft, delivered_to=name))


async def _ask_photo(update: Update, context: KcbxContext, draft: DeliveryDraft) -> int:
    t = context.gettext
    _keep(context, draft)
    await reply(
        update,
        t(
            "Step 3 of 3: please send a photo of the receipt (回执) with the guardian's "
            "signature. If the guardians refused to sign, photograph the receipt on which the "
            "deliverer and a witness noted the refusal."
        ),
        inline([flow.cancel_row(t, "ntc:x")]),
    )
    return PHOTO


async def photo(update: Update, context: KcbxContext) -> int:
    current = await _current(update, context)
    if current is None:
        return ConversationHandler.END
    draft, start = current
    message = update.effective_message
    assert message is not None
    try:
        receipt = await receive_evidence(message, context, documents=True)
    except VisitProblem as problem:
        await reply(update, escape(problem.render(context.gettext)))
        return PHOTO
    draft = replace(draft, receipt=receipt)
    _keep(context, draft)
    return await _summary(update, context, draft, start)


async def _summary(
    update: Update, context: KcbxContext, draft: DeliveryDraft, start: DeliveryStart
) -> int:
    t = context.gettext
    assert draft.delivered_on is not None and draft.delivered_to is not None
    services = context.services
    deadline = deadline_from(
        draft.delivered_on, start.view.notice.kind, services.policy, services.calendar
    )
    text = "\n".join(
        (
            t("Please check, then save:"),
            _title(start.view, t),
            t("Delivered on: {date}").format(date=format_date(draft.delivered_on, t, context.lang)),
            t("Received by: {name}").format(name=f"<b>{escape(draft.delivered_to)}</b>"),
            t("Receipt photo: received"),
            t("The deadline will be {date}.").format(
                date=f"<b>{format_date(deadline, t, context.lang)}</b>"
            ),
        )
    )
    await reply(update, text, inline([[(t("Save"), "ntc:ok"), (t("Cancel"), "ntc:x")]]))
    return CONFIRM


async def save(update: Update, context: KcbxContext) -> int:
    person = require_person(context)
    draft = _draft(context)
    query = update.callback_query
    assert query is not None
    if draft is None or draft.receipt is None or draft.delivered_on is None:
        return await _lost(update, context)
    t = context.gettext
    try:
        result = await record_delivery(
            context.services,
            person,
            draft.notice_id,
            delivered_on=draft.delivered_on,
            delivered_to=draft.delivered_to or "",
            receipt=draft.receipt.data,
            receipt_name=draft.receipt.filename,
            receipt_mime=draft.receipt.mime,
        )
    except NoticeError as problem:
        _forget(context)
        await _problem(update, context, problem)
        return ConversationHandler.END
    _forget(context)
    await flow.settle(query, t("Save"))
    deadline = format_date(result.deadline, t, context.lang)
    if result.view.notice.kind == NOTICE:
        text = t(
            "Saved: {title} was delivered on {date}. The guardians must send the child back by "
            "{deadline}; if the child is not back when it passes, the order to correct follows "
            "(A7.5)."
        )
    else:
        text = t(
            "Saved: {title} was delivered on {date}. The guardians must correct by {deadline}; "
            "if the child is not back when it passes, you will be reminded to act again (A7.5)."
        )
    await reply(
        update,
        text.format(
            title=_title(result.view, t),
            date=format_date(draft.delivered_on, t, context.lang),
            deadline=f"<b>{deadline}</b>",
        ),
    )
    return ConversationHandler.END


async def cancel(update: Update, context: KcbxContext) -> int:
    _forget(context)
    t = context.gettext
    if update.callback_query is not None:
        await flow.settle(update.callback_query, t("Cancel"))
    await reply(update, t("Cancelled. Nothing was saved."))
    return ConversationHandler.END


async def _lost(update: Update, context: KcbxContext) -> int:
    _forget(context)
    query = update.callback_query
    if query is not None:
        await query.answer(context.gettext(_OVER), show_alert=True)
    else:
        await reply(update, context.gettext(_OVER))
    return ConversationHandler.END


async def hint_date(update: Update, context: KcbxContext) -> None:
    await reply(
        update, context.gettext("Please press a button or write the date, or send /cancel.")
    )


async def hint_who(update: Update, context: KcbxContext) -> None:
    await reply(
        update, context.gettext("Please press a name or write who received it, or send /cancel.")
    )


async def hint_photo(update: Update, context: KcbxContext) -> None:
    await reply(
        update, context.gettext("Please send a photo of the signed receipt, or send /cancel.")
    )


leave = flow.leave(
    _drafts,
    N_("The delivery record was stopped; nothing was saved. Please send your command again."),
)
timed_out = flow.timed_out(_drafts, "delivery")
hint_buttons = flow.hint_buttons
old_button = flow.old_button
delivery_over = flow.over(_OVER)


# --- the documents, the receipt, re-issuing ---------------------------------------------------


async def files_button(update: Update, context: KcbxContext) -> None:
    """ntc:f:{id}: the PDF and the .docx again."""
    found = await _pressed(update, context, r"^ntc:f:(\d{1,12})$", documents_for)
    if found is None:
        return
    view, files = found
    message = update.effective_message
    assert message is not None
    await note_read(
        update, context, "documents", "notice", view.notice.id, student_id=view.student.id
    )
    caption = _title(view, context.gettext)
    for file in files:
        await message.reply_document(
            InputFile(file.data, filename=file.filename), caption=caption, parse_mode=ParseMode.HTML
        )


async def receipt_button(update: Update, context: KcbxContext) -> None:
    """ntc:v:{id}: the photo of the signed receipt."""
    t = context.gettext
    found = await _pressed(update, context, r"^ntc:v:(\d{1,12})$", receipt_of)
    if found is None:
        return
    view, file = found
    message = update.effective_message
    assert message is not None
    if file is None:
        await reply(
            update, t("No receipt photo is kept for {title}.").format(title=_title(view, t))
        )
        return
    await note_read(update, context, "photos", "notice", view.notice.id, student_id=view.student.id)
    await message.reply_document(
        InputFile(file.data, filename=file.filename),
        caption=t("Signed receipt of {title}").format(title=_title(view, t)),
        parse_mode=ParseMode.HTML,
    )


async def reissue_button(update: Update, context: KcbxContext) -> None:
    """ntc:r:{id} asks; ntc:ry:{id} re-issues under a new number."""
    person = require_person(context)
    t = context.gettext
    query = update.callback_query
    assert query is not None
    if not await _private_only(update, context):
        return
    asked = _id(update, r"^ntc:r:(\d{1,12})$")
    if asked is not None:
        try:
            view = await check_reissue(context.services, person, asked)
        except NoticeError as problem:
            await _problem(update, context, problem)
            return
        await query.answer()
        await reply(
            update,
            t(
                "Re-issue {title} under a new number? Use this to correct a mistake in it. The "
                "old number stays in the register, marked void; the new notice must be issued "
                "and delivered again, and the deadline runs from its delivery."
            ).format(title=_title(view, t)),
            inline([[(t("Re-issue"), f"ntc:ry:{asked}"), (t("Cancel"), "ntc:rn")]]),
        )
        return
    notice_id = _id(update, r"^ntc:ry:(\d{1,12})$")
    if notice_id is None:
        await flow.settle(query, t("Cancel"))
        return
    try:
        done = await reissue(context.services, person, notice_id)
    except NoticeError as problem:
        await _problem(update, context, problem)
        return
    view = done.view
    await flow.settle(query, t("Re-issue"))
    await reply(
        update,
        t("Re-issued: {title} replaces {old}, which is now void. The documents follow.").format(
            title=_title(view, t), old=f"<b>{escape(done.replaced)}</b>"
        ),
        inline([list(notice_buttons(view.notice, t))]),
    )
    _, files = await documents_for(context.services, person, view.notice.id)
    message = update.effective_message
    assert message is not None
    for file in files:
        await message.reply_document(
            InputFile(file.data, filename=file.filename),
            caption=_title(view, t),
            parse_mode=ParseMode.HTML,
        )


# --- /notices --------------------------------------------------------------------------------


async def list_notices(update: Update, context: KcbxContext) -> None:
    """/notices: the documents awaiting issue or delivery, then those whose deadline runs."""
    person = require_person(context)
    t = context.gettext
    try:
        found = await overview(context.services, person)
    except NoticeDenied:
        await deny(update, context)
        return
    if not is_private(update):
        await reply(
            update,
            t(
                "Notices and orders to correct: {pending} awaiting issue or delivery, {running} "
                "with a deadline running. Send /notices in a private chat with me to see them."
            ).format(pending=len(found.pending), running=len(found.running)),
        )
        return
    await _notices_page(update, context, 0)


async def page_button(update: Update, context: KcbxContext) -> None:
    page = _id(update, r"^ntc:p:(\d{1,6})$")
    if page is None or not await _private_only(update, context):
        return
    await _notices_page(update, context, page)


async def _notices_page(update: Update, context: KcbxContext, page: int) -> None:
    person = require_person(context)
    t, lang = context.gettext, context.lang
    try:
        found = await overview(context.services, person)
    except NoticeDenied:
        await deny(update, context)
        return
    items = [*found.pending, *found.running]
    pages = max(1, -(-len(items) // PER_PAGE))
    page = min(page, pages - 1)
    rows: Rows = []
    if not items:
        text = t("No notice or order to correct is waiting for you.")
    else:
        lines = [
            t(
                "Notices and orders to correct: {pending} to issue or deliver, {running} with a "
                "deadline running."
            ).format(pending=len(found.pending), running=len(found.running)),
            "",
        ]
        for index, view in enumerate(
            items[page * PER_PAGE : (page + 1) * PER_PAGE], start=page * PER_PAGE + 1
        ):
            notice = view.notice
            if notice.delivered and notice.deadline is not None:
                state = t("delivered {date}, deadline {deadline}").format(
                    date=format_date(notice.delivered_on or notice.deadline, t, lang),
                    deadline=format_date(notice.deadline, t, lang),
                )
            elif notice.status == "issued":
                state = t("issued, to be delivered")
            else:
                state = t("ready, to be issued and delivered")
            lines.append(f"{index}. {_title(view, t)} {escape(view.case.number)}: {state}")
            row = []
            if notice.delivered:
                row.append((f"{index}. {t(RECEIPT_LABEL)}", receipt_data(notice.id)))
            else:
                if notice.kind == NOTICE and notice.status == "drafted":
                    row.append((f"{index}. {t(ISSUED_LABEL)}", issue_data(notice.id)))
                row.append((f"{index}. {t(DELIVER_LABEL)}", deliver_data(notice.id)))
            row.append((f"{index}. {t(FILES_LABEL)}", files_data(notice.id)))
            rows.append(row[:2])
            extra = row[2:]
            if notice.kind == NOTICE and not notice.replaced:
                extra.append((f"{index}. {t(REISSUE_LABEL)}", reissue_data(notice.id)))
            if extra:
                rows.append(extra)
        if pages > 1:
            lines += ["", t("Page {page} of {pages}").format(page=page + 1, pages=pages)]
            nav = []
            if page > 0:
                nav.append((t("‹ Previous"), f"ntc:p:{page - 1}"))
            if page + 1 < pages:
                nav.append((t("Next ›"), f"ntc:p:{page + 1}"))
            rows.append(nav)
        text = "\n".join(lines)
    query = update.callback_query
    markup = inline(rows) if rows else None
    if query is not None and isinstance(query.message, Message):
        await query.answer()
        with suppress(BadRequest):  # unchanged: the same page again
            await query.message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
        return
    await reply(update, text, markup)


def register(app: Application) -> None:
    """/notices, the notices' buttons and the delivery conversation."""
    inputs = flow.inputs()
    keyboard, text, other = inputs.keyboard, inputs.text, inputs.other
    with warnings.catch_warnings():
        # per_message=False is what we want (a record spans several messages); PTB warns
        # that CallbackQueryHandlers are then tracked per chat and user, which is the point.
        warnings.simplefilter("ignore", PTBUserWarning)
        conversation = ConversationHandler(
            entry_points=[CallbackQueryHandler(begin_delivery, pattern=r"^ntc:d:\d{1,12}$")],
            states={
                DATE: [
                    CallbackQueryHandler(date_button, pattern=r"^ntc:dt:[01]$"),
                    MessageHandler(text, date_text),
                    MessageHandler(other, hint_date),
                ],
                WHO: [
                    CallbackQueryHandler(who_button, pattern=r"^ntc:to:\d$"),
                    MessageHandler(text, who_text),
                    MessageHandler(other, hint_who),
                ],
                PHOTO: [
                    MessageHandler(filters.PHOTO | filters.Document.ALL, photo),
                    MessageHandler(other, hint_photo),
                ],
                CONFIRM: [
                    CallbackQueryHandler(save, pattern=r"^ntc:ok$"),
                    MessageHandler(other, hint_buttons),
                ],
                ConversationHandler.TIMEOUT: [TypeHandler(Update, timed_out)],
            },
            fallbacks=[
                CommandHandler("cancel", cancel),
                CallbackQueryHandler(cancel, pattern=r"^ntc:x$"),
                CallbackQueryHandler(old_button, pattern=r"^ntc:((dt|to):|ok$)"),
                MessageHandler(filters.COMMAND | keyboard, leave),
            ],
            allow_reentry=True,
            conversation_timeout=TIMEOUT,
            persistent=True,
            name="notice_delivery",
        )
    app.add_handler(conversation)
    app.add_handler(CommandHandler("notices", list_notices))
    app.add_handler(CallbackQueryHandler(issued_button, pattern=r"^ntc:i:"))
    app.add_handler(CallbackQueryHandler(files_button, pattern=r"^ntc:f:"))
    app.add_handler(CallbackQueryHandler(receipt_button, pattern=r"^ntc:v:"))
    app.add_handler(CallbackQueryHandler(reissue_button, pattern=r"^ntc:r[yn]?:?"))
    app.add_handler(CallbackQueryHandler(page_button, pattern=r"^ntc:p:"))
    app.add_handler(CallbackQueryHandler(delivery_over, pattern=r"^ntc:(dt|to|ok|x)"))


__all__ = ["register"]
