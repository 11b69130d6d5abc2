"""/exempt and /transfer: close a case other than by a return. Telegram glue only:
the rules are in kcbx/bot/services/closures.py.

Exempt (A3, bureau staff): case → evidence (a document or photo; at least one) → a note (the
condition, the review) → summary → save. Transferred (the school or the bureau): case → the
new school → evidence → a note → summary → save. Nothing is written before "Save".
"""

from __future__ import annotations

import warnings
from contextlib import suppress
from datetime import timedelta
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

from kcbx.bot.domain.i18n import N_, Translate
from kcbx.bot.domain.model import Person
from kcbx.bot.services.closures import (
    EXEMPT,
    MAX_FILES,
    TRANSFERRED,
    ClosureDraft,
    close_case,
    closure_target,
    may_close,
    read_school,
)
from kcbx.bot.services.visits import NOTE_MAX, VisitProblem, read_text
from kcbx.handlers.common import callback_data, deny, inline, is_private, reply, require_person
from kcbx.handlers.context import KcbxContext
from kcbx.handlers.conversations import flow
from kcbx.handlers.conversations.evidence import receive_evidence
from kcbx.handlers.conversations.flow import Drafts

CASE, SCHOOL, EVIDENCE, NOTE, CONFIRM = range(5)
TIMEOUT = timedelta(minutes=30)
DRAFT = "kcbx.closing.draft"
PER_PAGE = 6
HOW = {"e": EXEMPT, "t": TRANSFERRED}
LETTER = {EXEMPT: "e", TRANSFERRED: "t"}
_OVER = N_("This closing is no longer open; nothing was saved from it. Please start again.")

Rows = list[list[tuple[str, str]]]


_drafts = Drafts(DRAFT, ClosureDraft)
_draft = _drafts.get
_forget = _drafts.forget


async def _problem(update: Update, context: KcbxContext, problem: VisitProblem) -> None:
    text = escape(problem.render(context.gettext))
    if update.callback_query is not None:
        await update.callback_query.answer(text[:190], show_alert=True)
    await reply(update, text)


async def _current(update: Update, context: KcbxContext) -> ClosureDraft | None:
    """The draft, its case checked again (scope, role, still open); None: it is over."""
    person = require_person(context)
    draft = _draft(context)
    if draft is None:
        await _lost(update, context)
        return None
    try:
        await closure_target(context.services, person, draft.case_id, draft.how)
    except VisitProblem as exc:
        _forget(context)
        await _problem(update, context, exc)
        return None
    return draft


# --- the case -------------------------------------------------------------------------------


async def start_exempt(update: Update, context: KcbxContext) -> int:
    return await _start(update, context, EXEMPT)


async def start_transfer(update: Update, context: KcbxContext) -> int:
    return await _start(update, context, TRANSFERRED)


async def _start(update: Update, context: KcbxContext, how: str) -> int:
    person = require_person(context)
    t = context.gettext
    if not is_private(update):
        await reply(update, t("Please do this in a private chat with me."))
        return ConversationHandler.END
    if not may_close(person.role, how):
        await deny(update, context)
        return ConversationHandler.END
    _forget(context)
    if context.args:
        case = await context.services.cases.by_number(context.args[0].strip().upper())
        return await _begin(update, context, how, case.id if case is not None else 0)
    return await _cases_page(update, context, person, how, 0)


async def _cases_page(
    update: Update, context: KcbxContext, person: Person, how: str, offset: int
) -> int:
    t = context.gettext
    services = context.services
    total = await services.cases.count_visible(person)
    cases = await services.cases.visible(person, limit=PER_PAGE, offset=offset)
    if not cases:
        await reply(update, t("You have no open cases."))
        return ConversationHandler.END
    rows: Rows = []
    for case in cases:
        student = await services.students.get(case.student_id)
        name = student.name if student is not None else ""
        rows.append(
            [
                (
                    t("{number} {name}").format(number=case.number, name=name),
                    f"cls:{LETTER[how]}:{case.id}",
                )
            ]
        )
    nav = []
    if offset > 0:
        nav.append((t("‹ Previous"), f"clsp:{LETTER[how]}:{max(0, offset - PER_PAGE)}"))
    if offset + PER_PAGE < total:
        nav.append((t("Next ›"), f"clsp:{LETTER[how]}:{offset + PER_PAGE}"))
    if nav:
        rows.append(nav)
    rows.append(flow.cancel_row(t, "cl:x"))
    text = (
        t("Which child is exempt (A3)?")
        if how == EXEMPT
        else t("Which child is enrolled at another school?")
    )
    query = update.callback_query
    if query is not None and isinstance(query.message, Message):
        await query.answer()
        with suppress(BadRequest):
            await query.message.edit_text(
                text, parse_mode=ParseMode.HTML, reply_markup=inline(rows)
            )
        return CASE
    await reply(update, text, inline(rows))
    return CASE


async def page(update: Update, context: KcbxContext) -> int:
    """clsp:{e|t}:{offset}"""
    person = require_person(context)
    _, letter, offset = callback_data(update).split(":")
    return await _cases_page(update, context, person, HOW[letter], int(offset))


async def pick(update: Update, context: KcbxContext) -> int:
    """cls:{e|t}:{case_id} (from the list, or a button elsewhere)."""
    person = require_person(context)
    _, letter, case_id = callback_data(update).split(":")
    if not is_private(update) or not may_close(person.role, HOW[letter]):
        await deny(update, context)
        return ConversationHandler.END
    _forget(context)
    return await _begin(update, context, HOW[letter], int(case_id))


async def _begin(update: Update, context: KcbxContext, how: str, case_id: int) -> int:
    person = require_person(context)
    t = context.gettext
    try:
        target = await closure_target(context.services, person, case_id, how)
    except VisitProblem as exc:
        await _problem(update, context, exc)
        return ConversationHandler.END
    if update.callback_query is not None:
        await update.callback_query.answer()
    assert context.user_data is not None
    context.user_data[DRAFT] = ClosureDraft(case_id=target.case.id, how=how)
    head = t("Case <b>{number}</b>: <b>{name}</b>.").format(
        number=escape(target.case.number), name=escape(target.student.name)
    )
    if how == TRANSFERRED:
        await reply(
            update,
            head + "\n" + t("Which school is the child enrolled at now? Please type its name."),
            inline([flow.cancel_row(t, "cl:x")]),
        )
        return SCHOOL
    await reply(update, head + "\n" + _evidence_question(t, how))
    return EVIDENCE


def _evidence_question(t: Translate, how: str) -> str:
    if how == EXEMPT:
        return t(
            "Please send the evidence of the exemption (A3): the medical or review document, "
            "as a file or a photo."
        )
    return t(
        "Please send the evidence of the enrolment: the receiving school's letter or a "
        "screenshot of the student registry, as a file or a photo."
    )


async def school_text(update: Update, context: KcbxContext) -> int:
    draft = await _current(update, context)
    if draft is None:
        return ConversationHandler.END
    message = update.effective_message
    try:
        draft.new_school = read_school((message.text or "") if message else "")
    except VisitProblem as exc:
        await _problem(update, context, exc)
        return SCHOOL
    await reply(update, _evidence_question(context.gettext, draft.how))
    return EVIDENCE


# --- evidence, note, confirm ----------------------------------------------------------------


async def evidence(update: Update, context: KcbxContext) -> int:
    draft = await _current(update, context)
    if draft is None:
        return ConversationHandler.END
    t = context.gettext
    message = update.effective_message
    assert message is not None
    if len(draft.files) >= MAX_FILES:
        await reply(
            update,
            t("That makes more than {count} files; this one was not added. Press Done.").format(
                count=MAX_FILES
            ),
            inline([[(t("Done"), "cl:s")]]),
        )
        return EVIDENCE
    try:
        item = await receive_evidence(message, context, documents=True)
    except VisitProblem as exc:
        await reply(update, escape(exc.render(t)))
        return EVIDENCE
    draft.evidence = [*draft.files, item]
    await reply(
        update,
        t("Evidence {number} received. Send more, or press Done.").format(number=len(draft.files)),
        inline([[(t("Done"), "cl:s")], flow.cancel_row(t, "cl:x")]),
    )
    return EVIDENCE


async def evidence_done(update: Update, context: KcbxContext) -> int:
    draft = await _current(update, context)
    if draft is None:
        return ConversationHandler.END
    t = context.gettext
    assert update.callback_query is not None
    if not draft.files:
        await update.callback_query.answer(
            t("Please send a document or a photo as evidence."), show_alert=True
        )
        return EVIDENCE
    await flow.settle(update.callback_query, escape(t("Done")))
    await reply(
        update,
        t("Add a note (e.g. the condition and who reviewed it), or press Skip.")
        if draft.how == EXEMPT
        else t("Add a note, or press Skip."),
        inline([[(t("Skip"), "cl:n")], flow.cancel_row(t, "cl:x")]),
    )
    return NOTE


async def evidence_hint(update: Update, context: KcbxContext) -> None:
    await reply(
        update, context.gettext("Please send a document or a photo as evidence, or press Done.")
    )


async def note_text(update: Update, context: KcbxContext) -> int:
    draft = await _current(update, context)
    if draft is None:
        return ConversationHandler.END
    message = update.effective_message
    try:
        draft.note = read_text((message.text or "") if message else "", NOTE_MAX)
    except VisitProblem as exc:
        await _problem(update, context, exc)
        return NOTE
    return await _summary(update, context, draft)


async def skip_note(update: Update, context: KcbxContext) -> int:
    draft = await _current(update, context)
    if draft is None:
        return ConversationHandler.END
    assert update.callback_query is not None
    await flow.settle(update.callback_query, escape(context.gettext("Skip")))
    return await _summary(update, context, draft)


async def _summary(update: Update, context: KcbxContext, draft: ClosureDraft) -> int:
    t = context.gettext
    case = await context.services.cases.get(draft.case_id)
    student = await context.services.students.get(case.student_id) if case else None
    if case is None or student is None:
        return await _lost(update, context)
    lines = [
        t("Please check and save:"),
        t("Case <b>{number}</b>: <b>{name}</b>").format(
            number=escape(case.number), name=escape(student.name)
        ),
        t("Closes as: exempt (A3): not a dropout, counted apart")
        if draft.how == EXEMPT
        else t("Closes as: transferred"),
    ]
    if draft.new_school:
        lines.append(t("Now enrolled at: {school}").format(school=escape(draft.new_school)))
    lines.append(t("Evidence: {count} files").format(count=len(draft.files)))
    if draft.note:
        lines.append(t("Note: {note}").format(note=escape(draft.note)))
    await reply(
        update, "\n".join(lines), inline([[(t("Save"), "cl:ok")], flow.cancel_row(t, "cl:x")])
    )
    return CONFIRM


async def save(update: Update, context: KcbxContext) -> int:
    person = require_person(context)
    draft = _draft(context)
    t = context.gettext
    if draft is None:
        return await _lost(update, context)
    try:
        await close_case(context.services, person, draft)
    except VisitProblem as exc:
        _forget(context)
        await _problem(update, context, exc)
        return ConversationHandler.END
    _forget(context)
    case = await context.services.cases.get(draft.case_id)
    assert update.callback_query is not None and case is not None
    await flow.settle(update.callback_query, escape(t("Saved")))
    text = (
        t("Case <b>{number}</b> is closed: the child is exempt (A3). The evidence is kept.")
        if draft.how == EXEMPT
        else t(
            "Case <b>{number}</b> is closed: the child is enrolled at {school}. "
            "The evidence is kept."
        )
    )
    await reply(
        update, text.format(number=escape(case.number), school=escape(draft.new_school or ""))
    )
    return ConversationHandler.END


# --- leaving -------------------------------------------------------------------------------


async def cancel(update: Update, context: KcbxContext) -> int:
    _forget(context)
    t = context.gettext
    if update.callback_query is not None:
        await flow.settle(update.callback_query, escape(t("Cancel")))
    await reply(update, t("Cancelled. Nothing was saved."))
    return ConversationHandler.END


_lost = flow.lost(_drafts, _OVER)


leave = flow.leave(
    _drafts,
    N_("Closing the case was stopped; nothing was saved. Please send your command again."),
)
timed_out = flow.timed_out(_drafts, "closing")
hint = flow.hint_buttons
old_button = flow.old_button
closing_over = flow.over(_OVER)


def register(app: Application) -> None:
    inputs = flow.inputs()
    keyboard, text, other = inputs.keyboard, inputs.text, inputs.other
    with warnings.catch_warnings():
        # per_message=False is what we want (a closing spans several messages).
        warnings.simplefilter("ignore", PTBUserWarning)
        conversation = ConversationHandler(
            entry_points=[
                CommandHandler("exempt", start_exempt),
                CommandHandler("transfer", start_transfer),
                CallbackQueryHandler(pick, pattern=r"^cls:[et]:\d{1,12}$"),
            ],
            states={
                CASE: [CallbackQueryHandler(page, pattern=r"^clsp:[et]:\d{1,6}$")],
                SCHOOL: [MessageHandler(text, school_text)],
                EVIDENCE: [
                    MessageHandler(filters.PHOTO | filters.Document.ALL, evidence),
                    CallbackQueryHandler(evidence_done, pattern=r"^cl:s$"),
                    MessageHandler(other, evidence_hint),
                ],
                NOTE: [
                    CallbackQueryHandler(skip_note, pattern=r"^cl:n$"),
                    MessageHandler(text, note_text),
                ],
                CONFIRM: [CallbackQueryHandler(save, pattern=r"^cl:ok$")],
                ConversationHandler.TIMEOUT: [TypeHandler(Update, timed_out)],
            },
            fallbacks=[
                CommandHandler("cancel", cancel),
                CallbackQueryHandler(cancel, pattern=r"^cl:x$"),
                CallbackQueryHandler(old_button, pattern=r"^(cl|clsp):"),
                MessageHandler(filters.COMMAND | keyboard, leave),
                MessageHandler(other, hint),
            ],
            allow_reentry=True,
            conversation_timeout=TIMEOUT,
            persistent=True,
            name="closing",
        )
    app.add_handler(conversation)
    app.add_handler(CallbackQueryHandler(closing_over, pattern=r"^(cl|clsp):"))


__all__ = ["register"]
