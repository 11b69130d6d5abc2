"""/report: a class teacher (their classes) or the school (its students) reports an absence
(A7.1). Telegram glue only: the rules are in kcbx/bot/services/cases.py.

Student (class buttons, paged, or a typed name / pinyin initials) → since when → reason (A6
causes) → what the guardians said when phoned → optional note → summary → confirm. Nothing
is written before "Confirm": /cancel, a timeout or a restart leave nothing half-written.
"""

from __future__ import annotations

import warnings
from datetime import date, timedelta
from html import escape

from telegram import Message, Update
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

from kcbx.bot.domain.capabilities import button_labels
from kcbx.bot.domain.caseactions import CONTACTS, case_data, may_report
from kcbx.bot.domain.dates import format_date
from kcbx.bot.domain.i18n import N_, Translate
from kcbx.bot.domain.model import Student
from kcbx.bot.domain.policy import CAUSES
from kcbx.bot.services.cases import (
    SEARCH_MAX,
    ClassRef,
    ReportDraft,
    ReportProblem,
    check_absence_date,
    choose_student,
    class_students,
    find_students,
    preview_report,
    read_absence_date,
    read_note,
    report_absence,
    report_classes,
    today,
)
from kcbx.bot.texts.cases import (
    class_label,
    open_case_instead,
    report_done,
    report_summary,
    student_label,
)
from kcbx.handlers.common import inline, is_private, pairs, reply, require_person
from kcbx.handlers.context import KcbxContext
from kcbx.handlers.conversations import flow
from kcbx.handlers.conversations.flow import Drafts

STUDENT, SINCE, CAUSE, CONTACT, NOTE, CONFIRM = range(6)
TIMEOUT = timedelta(minutes=30)
DRAFT = "kcbx.report.draft"
PER_PAGE = 10  # students or classes a page (two a row)
_OVER = N_("This report is no longer open; nothing was saved from it. Send /report to start again.")

Rows = list[list[tuple[str, str]]]


# --- helpers ---------------------------------------------------------------------------------


_drafts = Drafts(DRAFT, ReportDraft)
_draft = _drafts.get
_forget = _drafts.forget


def _nav(t: Translate, page: int, more: bool, data: str) -> list[tuple[str, str]]:
    """‹ Previous / Next › for page ``page``; ``data`` is formatted with the page number."""
    row = []
    if page > 0:
        row.append((t("‹ Previous"), data.format(page - 1)))
    if more:
        row.append((t("Next ›"), data.format(page + 1)))
    return row


async def _ask(update: Update, text: str, rows: Rows | None = None) -> None:
    """The next question (or the last word). After a button press the message with the
    button becomes the next question, so the chat keeps one live question and no stale
    buttons, at one edit instead of two sends (Telegram allows about one message a second
    in a chat); after typed text it is sent as a new message."""
    markup = inline(rows) if rows else None
    query = update.callback_query
    if query is not None and isinstance(query.message, Message) and query.message.text:
        await query.answer()
        try:
            await query.message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
            return
        except BadRequest as exc:
            if "not modified" in str(exc).lower():  # the same page pressed twice
                return
    await reply(update, text, markup)


def _student_buttons(students: list[Student], t: Translate, with_class: bool) -> Rows:
    buttons = []
    for s in students:
        label = s.name
        if with_class and class_label(s, t):
            label = t("{name} ({detail})").format(name=s.name, detail=class_label(s, t))
        buttons.append((label, f"rep:s:{s.id}"))
    return pairs(buttons)


# --- step 1: the student ------------------------------------------------------------------


async def start(update: Update, context: KcbxContext) -> int:
    person = require_person(context)
    t = context.gettext
    if not is_private(update):
        await reply(update, t("Please report absences in a private chat with me."))
        return ConversationHandler.END
    if not may_report(person.role):
        await reply(
            update,
            t("Only class teachers, principals and school dropout-control leads report absences."),
        )
        return ConversationHandler.END
    _forget(context)
    classes = await report_classes(context.services, person)
    if not classes:
        await reply(update, t("You have no students to report."))
        return ConversationHandler.END
    if len(classes) == 1:
        await _students_page(update, context, classes[0].id, 0, back=False)
    else:
        await _classes_page(update, context, classes, 0)
    return STUDENT


async def _classes_page(
    update: Update, context: KcbxContext, classes: list[ClassRef], page: int
) -> None:
    t = context.gettext
    chunk = classes[page * PER_PAGE : (page + 1) * PER_PAGE]
    buttons = [
        (t("grade {grade} {name}").format(grade=c.grade, name=c.name), f"rep:c:{c.id}:0")
        for c in chunk
    ]
    rows = pairs(buttons)
    nav = _nav(t, page, len(classes) > (page + 1) * PER_PAGE, "rep:cl:{}")
    rows += [nav] if nav else []
    rows.append(flow.cancel_row(t, "rep:x"))
    text = t(
        "Which student is absent without reason? Pick a class, or type part of the name or "
        "its pinyin initials (e.g. zs for 张三)."
    )
    await _ask(update, text, rows)


async def _students_page(
    update: Update, context: KcbxContext, class_id: int, page: int, *, back: bool
) -> None:
    person = require_person(context)
    t = context.gettext
    students, more = await class_students(
        context.services, person, class_id, offset=page * PER_PAGE, limit=PER_PAGE
    )
    rows = _student_buttons(students, t, with_class=False)
    nav = _nav(t, page, more, f"rep:c:{class_id}:{{}}")
    rows += [nav] if nav else []
    last = flow.cancel_row(t, "rep:x")
    if back:
        last.insert(0, (t("« Classes"), "rep:cl:0"))
    rows.append(last)
    text = t(
        "Which student is absent without reason? Pick from the list, or type part of the name "
        "or its pinyin initials (e.g. zs for 张三)."
    )
    await _ask(update, text, rows)


async def browse(update: Update, context: KcbxContext) -> int:
    """rep:cl:{page} (classes) and rep:c:{class}:{page} (a class's students)."""
    person = require_person(context)
    query = update.callback_query
    parts = ((query.data if query else None) or "").split(":")
    if parts[1] == "cl":
        classes = await report_classes(context.services, person)
        await _classes_page(update, context, classes, int(parts[2]))
    else:
        classes = await report_classes(context.services, person)
        await _students_page(update, context, int(parts[2]), int(parts[3]), back=len(classes) > 1)
    return STUDENT


async def search(update: Update, context: KcbxContext) -> int:
    """A typed name fragment or pinyin initials: one match is picked, several are listed."""
    person = require_person(context)
    t = context.gettext
    message = update.effective_message
    query = (message.text or "").strip() if message else ""
    found = await find_students(context.services, person, query)
    if not found:
        await reply(
            update,
            t(
                "No student matching “{query}” among yours. Please try again, or pick from "
                "the list."
            ).format(query=escape(query[:40])),
        )
        return STUDENT
    if len(found) == 1:
        return await _picked(update, context, found[0].id)
    text = t("Several students match. Please pick one:")
    if len(found) > SEARCH_MAX:
        text = t(
            "{count} students match; here are the first {shown}. Type more of the name to "
            "narrow it down."
        ).format(count=len(found), shown=SEARCH_MAX)
    rows = _student_buttons(found[:SEARCH_MAX], t, with_class=True)
    rows.append(flow.cancel_row(t, "rep:x"))
    await reply(update, text, inline(rows))
    return STUDENT


async def pick(update: Update, context: KcbxContext) -> int:
    query = update.callback_query
    assert query is not None
    return await _picked(update, context, int((query.data or "").rsplit(":", 1)[1]))


async def _picked(update: Update, context: KcbxContext, student_id: int) -> int:
    person = require_person(context)
    t = context.gettext
    try:
        choice = await choose_student(context.services, person, student_id)
    except ReportProblem as exc:
        await _ask(update, exc.render(t, context.lang))
        _forget(context)
        return ConversationHandler.END
    student = choice.student
    if choice.open_case is not None and choice.state is not None:
        await _ask(
            update,
            open_case_instead(choice.open_case, student, choice.state, t, context.lang),
            [[(t("Open the case"), case_data(choice.open_case.id))]],
        )
        _forget(context)
        return ConversationHandler.END
    assert context.user_data is not None
    context.user_data[DRAFT] = ReportDraft(student_id=student.id)
    await _ask(
        update,
        t(
            "Since when has {student} been absent without reason? Choose, or type a date such "
            "as 3月5日, 3.5 or 2024-03-05."
        ).format(student=student_label(student, t)),
        [[(t("Today"), "rep:d:0"), (t("Yesterday"), "rep:d:1")], flow.cancel_row(t, "rep:x")],
    )
    return SINCE


# --- step 2: since when -------------------------------------------------------------------


async def since_button(update: Update, context: KcbxContext) -> int:
    query = update.callback_query
    assert query is not None
    t = context.gettext
    day = today(context.services) - timedelta(days=int((query.data or "0")[-1]))
    try:
        check_absence_date(context.services, day)
    except ReportProblem as exc:
        await query.answer()
        await reply(update, exc.render(t, context.lang))
        return SINCE
    return await _since(update, context, day)


async def since_text(update: Update, context: KcbxContext) -> int:
    t = context.gettext
    message = update.effective_message
    try:
        day = read_absence_date(context.services, (message.text or "") if message else "")
    except ReportProblem as exc:
        await reply(update, exc.render(t, context.lang))
        return SINCE
    return await _since(update, context, day)


async def _since(update: Update, context: KcbxContext, day: date) -> int:
    t = context.gettext
    draft = _draft(context)
    if draft is None:
        return await _lost(update, context)
    draft.absent_since = day
    buttons = [(t(name), f"rep:r:{code}") for code, name in CAUSES.items()]
    rows = pairs(buttons)
    rows.append(flow.cancel_row(t, "rep:x"))
    await _ask(
        update,
        t("Absent since {date}. Do you know the reason?").format(
            date=format_date(day, t, context.lang)
        ),
        rows,
    )
    return CAUSE


# --- steps 3-5: reason, guardians, note ----------------------------------------------------


async def cause_button(update: Update, context: KcbxContext) -> int:
    query = update.callback_query
    assert query is not None
    t = context.gettext
    draft = _draft(context)
    code = (query.data or "").split(":", 2)[2]
    if draft is None or code not in CAUSES:
        return await _lost(update, context)
    draft.cause = code
    rows = [[(t(label), f"rep:g:{code}")] for code, label in CONTACTS.items()]
    rows.append(flow.cancel_row(t, "rep:x"))
    await _ask(
        update,
        t("Reason: {cause}").format(cause=t(CAUSES[code]))
        + "\n"
        + t("Have the guardians been phoned? What did they say?"),
        rows,
    )
    return CONTACT


async def contact_button(update: Update, context: KcbxContext) -> int:
    query = update.callback_query
    assert query is not None
    t = context.gettext
    draft = _draft(context)
    code = (query.data or "").split(":", 2)[2]
    if draft is None or code not in CONTACTS:
        return await _lost(update, context)
    draft.contact = code
    await _ask(
        update,
        t(CONTACTS[code])
        + "\n"
        + t("Add a short note if you like (what you know, where the child may be), or press Skip."),
        [[(t("Skip"), "rep:n")], flow.cancel_row(t, "rep:x")],
    )
    return NOTE


async def note_text(update: Update, context: KcbxContext) -> int:
    t = context.gettext
    draft = _draft(context)
    message = update.effective_message
    if draft is None:
        return await _lost(update, context)
    try:
        draft.note = read_note((message.text or "") if message else "")
    except ReportProblem as exc:
        await reply(update, exc.render(t, context.lang))
        return NOTE
    return await _summary(update, context, draft)


async def skip_note(update: Update, context: KcbxContext) -> int:
    query = update.callback_query
    assert query is not None
    draft = _draft(context)
    if draft is None:
        return await _lost(update, context)
    draft.note = None
    return await _summary(update, context, draft)


# --- step 6: confirm ----------------------------------------------------------------------


async def _summary(update: Update, context: KcbxContext, draft: ReportDraft) -> int:
    person = require_person(context)
    t = context.gettext
    try:
        student, previous = await preview_report(context.services, person, draft)
    except ReportProblem as exc:
        await _ask(update, exc.render(t, context.lang))
        _forget(context)
        return ConversationHandler.END
    assert draft.absent_since and draft.cause and draft.contact
    text = report_summary(
        student=student,
        absent_since=draft.absent_since,
        cause=draft.cause,
        contact=draft.contact,
        note=draft.note,
        previous=(
            (
                previous.case,
                previous.relapse.returned_on,
                previous.relapse.carried_days,
                previous.relapse.stage,
            )
            if previous
            else None
        ),
        relapse_window=context.services.policy.ladder.relapse_window_days,
        t=t,
        lang=context.lang,
    )
    await _ask(update, text, [[(t("Confirm"), "rep:ok"), (t("Cancel"), "rep:x")]])
    return CONFIRM


async def confirm(update: Update, context: KcbxContext) -> int:
    person = require_person(context)
    t = context.gettext
    query = update.callback_query
    assert query is not None
    draft = _draft(context)
    if draft is None:
        return await _lost(update, context)
    try:
        result = await report_absence(context.services, person, draft)
    except ReportProblem as exc:
        await _ask(update, exc.render(t, context.lang))
        _forget(context)
        return ConversationHandler.END
    _forget(context)
    button = [[(t("Open the case"), case_data(result.case.id))]]
    if not result.created and result.state is not None:
        text = open_case_instead(result.case, result.student, result.state, t, context.lang)
    else:
        text = report_done(
            result.case,
            result.student,
            result.steps,
            today(context.services),
            t,
            context.lang,
        )
    await _ask(update, text, button)
    return ConversationHandler.END


# --- leaving -------------------------------------------------------------------------------


async def cancel(update: Update, context: KcbxContext) -> int:
    _forget(context)
    await _ask(update, context.gettext("Cancelled. Nothing was saved."))
    return ConversationHandler.END


async def _lost(update: Update, context: KcbxContext) -> int:
    """The draft is gone (e.g. after a restart): start again, nothing was saved."""
    _forget(context)
    await _ask(update, context.gettext(_OVER))
    return ConversationHandler.END


timed_out = flow.timed_out(_drafts, "report")
hint = flow.hint_buttons
old_button = flow.old_button
report_over = flow.over(_OVER)


def register(app: Application) -> None:
    """The report conversation, then an answer for its buttons once it is over."""
    inputs = flow.inputs()
    text, other = inputs.text, inputs.other
    entry = filters.Text(button_labels("report")) & filters.ChatType.PRIVATE
    with warnings.catch_warnings():
        # per_message=False is what we want (a report spans several messages); PTB warns
        # that CallbackQueryHandlers are then tracked per chat and user, which is the point.
        warnings.simplefilter("ignore", PTBUserWarning)
        conversation = ConversationHandler(
            entry_points=[CommandHandler("report", start), MessageHandler(entry, start)],
            states={
                STUDENT: [
                    CallbackQueryHandler(browse, pattern=r"^rep:(cl:\d+|c:\d+:\d+)$"),
                    CallbackQueryHandler(pick, pattern=r"^rep:s:\d+$"),
                    MessageHandler(text, search),
                ],
                SINCE: [
                    CallbackQueryHandler(since_button, pattern=r"^rep:d:[01]$"),
                    MessageHandler(text, since_text),
                ],
                CAUSE: [CallbackQueryHandler(cause_button, pattern=r"^rep:r:[a-z_]+$")],
                CONTACT: [CallbackQueryHandler(contact_button, pattern=r"^rep:g:[a-z]+$")],
                NOTE: [
                    CallbackQueryHandler(skip_note, pattern=r"^rep:n$"),
                    MessageHandler(text, note_text),
                ],
                CONFIRM: [CallbackQueryHandler(confirm, pattern=r"^rep:ok$")],
                ConversationHandler.TIMEOUT: [TypeHandler(Update, timed_out)],
            },
            fallbacks=[
                CommandHandler("cancel", cancel),
                CallbackQueryHandler(cancel, pattern=r"^rep:x$"),
                CallbackQueryHandler(old_button, pattern=r"^rep:"),
                MessageHandler(other, hint),
            ],
            allow_reentry=True,
            conversation_timeout=TIMEOUT,
            persistent=True,
            name="report",
        )
    app.add_handler(conversation)
    app.add_handler(CallbackQueryHandler(report_over, pattern=r"^rep:"))


__all__ = ["register"]
