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

from html import escape

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from kcbx.bot.domain.i18n import N_
from kcbx.bot.domain.model import Person
from kcbx.bot.engine.closure_reviews import queue_decision, queue_review_requests
from kcbx.bot.services.cases import open_cases_with_students
from kcbx.bot.services.closures import (
    EXEMPT,
    EXEMPT_CONDITIONS,
    MAX_FILES,
    TRANSFERRED,
    ClosureDraft,
    ClosureTarget,
    close_case,
    closure_target,
    decide_review,
    may_close,
    read_school,
)
from kcbx.bot.services.visits import VisitProblem, read_note
from kcbx.bot.texts.cases import case_choices
from kcbx.bot.texts.closures import (
    closing_saved,
    closing_summary,
    condition_buttons,
    decision_text,
    evidence_question,
    first_question,
    note_question,
    proposed_text,
    which_case,
)
from kcbx.bot.texts.paging import MAX_BUTTONS, more_button
from kcbx.handlers.common import (
    callback_data,
    deny,
    inline,
    is_private,
    pressed,
    reply,
    require_person,
    show,
)
from kcbx.handlers.context import KcbxContext
from kcbx.handlers.conversations import flow
from kcbx.handlers.conversations.evidence import add_evidence
from kcbx.handlers.conversations.flow import END, NOTE, Conversation, Drafts
from kcbx.handlers.jobs import deliver_now

CASE, SCHOOL, EVIDENCE, CONDITION = range(4)
PER_PAGE = MAX_BUTTONS - 2  # cases a page, beside [更多] and Cancel
HOW = {"e": EXEMPT, "t": TRANSFERRED}
LETTER = {EXEMPT: "e", TRANSFERRED: "t"}

_OVER = N_("This closing is no longer open; nothing was saved from it. Please start again.")
_STOPPED = N_("Closing the case was stopped; nothing was saved. Please send your command again.")
_drafts = Drafts("kcbx.closing.draft", ClosureDraft)
CLOSING = Conversation("closing", "cl", _drafts, _OVER, _STOPPED, buttons=r"^(cl|clsp|clc):")


async def _problem(update: Update, context: KcbxContext, problem: VisitProblem) -> None:
    text = escape(problem.render(context.gettext))
    if update.callback_query is not None:
        await update.callback_query.answer(text[:190], show_alert=True)
    await reply(update, text)


async def _target(context: KcbxContext, draft: ClosureDraft) -> ClosureTarget:
    """The draft's case, checked again (scope, role, still open)."""
    person = require_person(context)
    return await closure_target(context.services, person, draft.case_id, draft.how)


rechecked = CLOSING.rechecked(_target, VisitProblem, _problem)


# --- the case -------------------------------------------------------------------------------


async def start_exempt(update: Update, context: KcbxContext) -> int:
    return await _start(update, context, EXEMPT)


async def start_transfer(update: Update, context: KcbxContext) -> int:
    return await _start(update, context, TRANSFERRED)


async def _start(update: Update, context: KcbxContext, how: str) -> int:
    person = require_person(context)
    private = N_("Please do this in a private chat with me.")
    if not await CLOSING.opens(
        update, context, private=private, allowed=may_close(person.role, how)
    ):
        return END
    if context.args:
        case = await context.services.cases.by_number(context.args[0].strip().upper())
        return await _begin(update, context, how, case.id if case is not None else 0)
    return await _cases_page(update, context, person, how, 0)


async def _cases_page(
    update: Update, context: KcbxContext, person: Person, how: str, offset: int
) -> int:
    t, letter = context.gettext, LETTER[how]
    cases, total = await open_cases_with_students(context.services, person, offset, PER_PAGE)
    if not cases:
        await reply(update, t("You have no open cases."))
        return END
    rows = case_choices(cases, lambda case: f"cls:{letter}:{case.id}", t)
    more = more_button(t, f"clsp:{letter}:{{}}", offset, offset + PER_PAGE < total, PER_PAGE)
    rows.append(([more] if more else []) + CLOSING.cancel_row(t))
    await show(update, which_case(how, t), rows)
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
        return END
    _drafts.forget(context)
    return await _begin(update, context, HOW[letter], int(case_id))


async def _begin(update: Update, context: KcbxContext, how: str, case_id: int) -> int:
    person = require_person(context)
    t = context.gettext
    try:
        target = await closure_target(context.services, person, case_id, how)
    except VisitProblem as exc:
        await _problem(update, context, exc)
        return END
    if update.callback_query is not None:
        await update.callback_query.answer()
    _drafts.keep(context, ClosureDraft(case_id=target.case.id, how=how))
    text = first_question(target.case, target.student, how, t)
    if how == TRANSFERRED:
        await reply(update, text, inline([CLOSING.cancel_row(t)]))
        return SCHOOL
    await reply(update, text)
    return EVIDENCE


@rechecked
async def school_text(
    update: Update, context: KcbxContext, draft: ClosureDraft, target: ClosureTarget
) -> int:
    try:
        draft.new_school = read_school(flow.typed_text(update))
    except VisitProblem as exc:
        await _problem(update, context, exc)
        return SCHOOL
    await reply(update, evidence_question(draft.how, context.gettext))
    return EVIDENCE


# --- evidence, note, confirm ----------------------------------------------------------------


@rechecked
async def evidence(
    update: Update, context: KcbxContext, draft: ClosureDraft, target: ClosureTarget
) -> int:
    t = context.gettext
    if draft.evidence is None:
        draft.evidence = []
    await add_evidence(
        update,
        context,
        draft.evidence,
        MAX_FILES,
        inline([[(t("Done"), "cl:s")], CLOSING.cancel_row(t)]),
        too_many=N_("That makes more than {count} files; this one was not added. Press Done."),
        received=N_("Evidence {number} received. Send more, or press Done."),
    )
    return EVIDENCE


@rechecked
async def evidence_done(
    update: Update, context: KcbxContext, draft: ClosureDraft, target: ClosureTarget
) -> int:
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
            t("Which condition makes learning impossible (Article 3)?"),
            inline([*condition_buttons(t), CLOSING.cancel_row(t)]),
        )
        return CONDITION
    return await _ask_note(update, context, draft)


async def _ask_note(update: Update, context: KcbxContext, draft: ClosureDraft) -> int:
    t = context.gettext
    await reply(update, note_question(draft.how, t), inline(CLOSING.note_rows(t)))
    return NOTE


@rechecked
async def condition(
    update: Update, context: KcbxContext, draft: ClosureDraft, target: ClosureTarget
) -> int:
    """clc:{code}: the exemption's condition (A3)."""
    code = callback_data(update).split(":")[1]
    if code not in EXEMPT_CONDITIONS:
        return CONDITION
    draft.condition = code
    query = pressed(update)
    await flow.settle(query, escape(context.gettext(EXEMPT_CONDITIONS[code])))
    return await _ask_note(update, context, draft)


async def evidence_hint(update: Update, context: KcbxContext) -> None:
    await reply(
        update, context.gettext("Please send a document or a photo as evidence, or press Done.")
    )


async def _summary(
    update: Update,
    context: KcbxContext,
    draft: ClosureDraft,
    target: ClosureTarget,
    note: str | None,
) -> int:
    """After the note (None: skipped): the closing to check and save."""
    draft.note = note
    t = context.gettext
    text = closing_summary(draft, target.case, target.student, t)
    return await CLOSING.summary(update, context, text, N_("Save"))


async def save(update: Update, context: KcbxContext, person: Person, draft: ClosureDraft) -> int:
    t = context.gettext
    outcome = await close_case(context.services, person, draft)
    _drafts.forget(context)
    case = await context.services.cases.get(draft.case_id)
    assert update.callback_query is not None and case is not None
    await flow.settle(update.callback_query, escape(t("Saved")))
    if outcome.review is not None:
        await reply(update, proposed_text(outcome.review, case.number, t))
        if await queue_review_requests(context.services, outcome):
            await deliver_now(context.application)
        return END
    await reply(update, closing_saved(draft, case, t))
    return END


# --- the second person ------------------------------------------------------------------------


async def review_button(update: Update, context: KcbxContext) -> None:
    """clr:{ok|no}:{review}: a reviewer confirms or rejects a proposed closing."""
    query = pressed(update)
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


def register(app: Application) -> None:
    """The closing conversation, then an answer for its buttons once it is over."""
    text, other = CLOSING.inputs.text, CLOSING.inputs.other
    conversation = CLOSING.handler(
        [
            CommandHandler("exempt", start_exempt),
            CommandHandler("transfer", start_transfer),
            CallbackQueryHandler(pick, pattern=r"^cls:[et]:\d{1,12}$"),
        ],
        {
            CASE: [CallbackQueryHandler(page, pattern=r"^clsp:[et]:\d{1,6}$")],
            SCHOOL: [MessageHandler(text, school_text)],
            EVIDENCE: [
                MessageHandler(filters.PHOTO | filters.Document.ALL, evidence),
                CallbackQueryHandler(evidence_done, pattern=r"^cl:s$"),
                MessageHandler(other, evidence_hint),
            ],
            CONDITION: [CallbackQueryHandler(condition, pattern=r"^clc:[a-z]{1,20}$")],
            **CLOSING.note_step(rechecked, read_note, VisitProblem, _problem, _summary),
            **CLOSING.confirm_step(save, VisitProblem, _problem),
        },
    )
    CLOSING.register(app, conversation)
    app.add_handler(CallbackQueryHandler(review_button, pattern=r"^clr:(ok|no):\d{1,12}$"))


__all__ = ["register"]
