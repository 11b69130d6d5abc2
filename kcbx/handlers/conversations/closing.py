"""/exempt and /transfer: close a case other than by a return. Telegram glue only:
the rules are in kcbx/bot/services/closures.py.

Exempt (A3, bureau staff): case → evidence (a document or photo; at least one) → a note (the
condition, the review) → summary → save. Transferred (the school or the bureau): case → the
new school → evidence → a note → summary → save. Nothing is written before "Save".
"""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from kcbx.bot.domain.i18n import N_
from kcbx.bot.domain.model import Person
from kcbx.bot.services.cases import open_cases_with_students
from kcbx.bot.services.closures import (
    EXEMPT,
    MAX_FILES,
    TRANSFERRED,
    ClosureDraft,
    ClosureTarget,
    close_case,
    closure_target,
    may_close,
    read_school,
)
from kcbx.bot.services.visits import VisitProblem, read_note
from kcbx.bot.texts.cases import case_choices
from kcbx.bot.texts.closures import (
    closing_saved,
    closing_summary,
    evidence_question,
    first_question,
    note_question,
    which_case,
)
from kcbx.bot.texts.paging import page_buttons
from kcbx.handlers.common import (
    callback_data,
    deny,
    inline,
    is_private,
    reply,
    require_person,
    show,
)
from kcbx.handlers.context import KcbxContext
from kcbx.handlers.conversations import flow
from kcbx.handlers.conversations.evidence import add_evidence
from kcbx.handlers.conversations.flow import CONFIRM, END, NOTE, Conversation, Drafts

CASE, SCHOOL, EVIDENCE = range(3)
PER_PAGE = 6
HOW = {"e": EXEMPT, "t": TRANSFERRED}
LETTER = {EXEMPT: "e", TRANSFERRED: "t"}

_OVER = N_("This closing is no longer open; nothing was saved from it. Please start again.")
_STOPPED = N_("Closing the case was stopped; nothing was saved. Please send your command again.")
_drafts = Drafts("kcbx.closing.draft", ClosureDraft)
CLOSING = Conversation("closing", "cl", _drafts, _OVER, _STOPPED, buttons=r"^(cl|clsp):")


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
    more = offset + PER_PAGE < total
    nav = page_buttons(t, f"clsp:{letter}:{{}}", offset, more, PER_PAGE)
    rows += [nav] if nav else []
    rows.append(CLOSING.cancel_row(t))
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
    await reply(
        update,
        note_question(draft.how, t),
        inline(CLOSING.note_rows(t)),
    )
    return NOTE


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
    await reply(update, text, inline(CLOSING.confirm_rows(t, N_("Save"))))
    return CONFIRM


async def save(update: Update, context: KcbxContext) -> int:
    person = require_person(context)
    draft = _drafts.get(context)
    t = context.gettext
    if draft is None:
        return await CLOSING.lost(update, context)
    try:
        await close_case(context.services, person, draft)
    except VisitProblem as exc:
        _drafts.forget(context)
        await _problem(update, context, exc)
        return END
    _drafts.forget(context)
    case = await context.services.cases.get(draft.case_id)
    assert update.callback_query is not None and case is not None
    await flow.settle(update.callback_query, escape(t("Saved")))
    await reply(update, closing_saved(draft, case, t))
    return END


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
            **CLOSING.note_step(rechecked, read_note, VisitProblem, _problem, _summary),
            **CLOSING.confirm_step(save),
        },
    )
    CLOSING.register(app, conversation)


__all__ = ["register"]
