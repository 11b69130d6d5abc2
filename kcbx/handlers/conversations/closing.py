"""/exempt and /transfer: close a case other than by a return. Telegram glue only:
the rules are in kcbx/bot/services/closures.py.

Exempt (A3, the school's principal or lead, or bureau staff): case → evidence (a document or
photo; at least one) → the condition (a category) → a note (the review) → summary → save.
Transferred (the school or the bureau): case → the new school → evidence → a note → summary →
save. Nothing is written before "Save". From A7.2 (and for a school's exemption always)
"Save" proposes the closing; the reviewers get ``clr:ok:{review}`` / ``clr:no:{review}``
buttons (bureau staff, or the receiving school's lead), handled here too.
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
from kcbx.bot.engine.closure_reviews import queue_decision, queue_review_requests
from kcbx.bot.services.closures import (
    EXEMPT,
    EXEMPT_CONDITIONS,
    MAX_FILES,
    TRANSFERRED,
    ClosureDraft,
    close_case,
    closure_target,
    decide_review,
    may_close,
    read_school,
)
from kcbx.bot.services.visits import NOTE_MAX, VisitProblem, read_text
from kcbx.bot.texts.closures import condition_buttons, decision_text, proposed_text
from kcbx.handlers.common import callback_data, deny, inline, is_private, reply, require_person
from kcbx.handlers.context import KcbxContext
from kcbx.handlers.conversations import flow
from kcbx.handlers.conversations.evidence import receive_evidence
from kcbx.handlers.conversations.flow import Drafts
from kcbx.handlers.jobs import deliver_now

CASE, SCHOOL, EVIDENCE, NOTE, CONFIRM, CONDITION = range(6)
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
    if draft.how == EXEMPT:
        await reply(
            update,
            t("Which condition makes learning impossible (A3)?"),
            inline([*condition_buttons(t), flow.cancel_row(t, "cl:x")]),
        )
        return CONDITION
    return await _ask_note(update, context, draft)


async def _ask_note(update: Update, context: KcbxContext, draft: ClosureDraft) -> int:
    t = context.gettext
    await reply(
        update,
        t("Add a note (e.g. who reviewed it and when), or press Skip.")
        if draft.how == EXEMPT
        else t("Add a note, or press Skip."),
        inline([[(t("Skip"), "cl:n")], flow.cancel_row(t, "cl:x")]),
    )
    return NOTE


async def condition(update: Update, context: KcbxContext) -> int:
    """clc:{code}: the exemption's condition (A3)."""
    draft = await _current(update, context)
    if draft is None:
        return ConversationHandler.END
    code = callback_data(update).split(":")[1]
    if code not in EXEMPT_CONDITIONS:
        return CONDITION
    draft.condition = code
    assert update.callback_query is not None
    await flow.settle(update.callback_query, escape(context.gettext(EXEMPT_CONDITIONS[code])))
    return await _ask_note(update, context, draft)


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
    if draft.condition:
        lines.append(
            t("Condition: {condition}").format(condition=t(EXEMPT_CONDITIONS[draft.condition]))
        )
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
        outcome = await close_case(context.services, person, draft)
    except VisitProblem as exc:
        _forget(context)
        await _problem(update, context, exc)
        return ConversationHandler.END
    _forget(context)
    case = await context.services.cases.get(draft.case_id)
    assert update.callback_query is not None and case is not None
    await flow.settle(update.callback_query, escape(t("Saved")))
    if outcome.review is not None:
        await reply(update, proposed_text(outcome.review, case.number, t))
        if await queue_review_requests(context.services, outcome):
            await deliver_now(context.application)
        return ConversationHandler.END
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


# --- the second person ------------------------------------------------------------------------


async def review_button(update: Update, context: KcbxContext) -> None:
    """clr:{ok|no}:{review}: a reviewer confirms or rejects a proposed closing."""
    query = update.callback_query
    assert query is not None
    person = require_person(context)
    t = context.gettext
    _, verb, number = callback_data(update).split(":")
    try:
        decision = await decide_review(context.services, person, int(number), confirm=verb == "ok")
    except VisitProblem as exc:
        await query.answer(exc.render(t)[:190], show_alert=True)
        return
    await flow.settle(
        query, escape(t("Confirm the closing") if decision.confirmed else t("Do not confirm"))
    )
    await reply(update, decision_text(decision, person.name, t))
    if await queue_decision(context.services, decision, person.name):
        await deliver_now(context.application)


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
                CONDITION: [CallbackQueryHandler(condition, pattern=r"^clc:[a-z]{1,20}$")],
                ConversationHandler.TIMEOUT: [TypeHandler(Update, timed_out)],
            },
            fallbacks=[
                CommandHandler("cancel", cancel),
                CallbackQueryHandler(cancel, pattern=r"^cl:x$"),
                CallbackQueryHandler(old_button, pattern=r"^(cl|clsp|clc):"),
                MessageHandler(filters.COMMAND | keyboard, leave),
                MessageHandler(other, hint),
            ],
            allow_reentry=True,
            conversation_timeout=TIMEOUT,
            persistent=True,
            name="closing",
        )
    app.add_handler(conversation)
    app.add_handler(CallbackQueryHandler(review_button, pattern=r"^clr:(ok|no):\d{1,12}$"))
    app.add_handler(CallbackQueryHandler(closing_over, pattern=r"^(cl|clsp|clc):"))


__all__ = ["register"]
