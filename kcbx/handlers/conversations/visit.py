"""/visit: record what was done on a case (A7.1, A7.2, A5.1, A6). Telegram glue
only: the rules are in kcbx/bot/services/visits.py.

Case (or a ``vis:{case_id}`` button on a reminder or a case card) → kind (phone call, home
visit, persuasion meeting, department action; or "correct my last record") → when → who was
met → outcome (agreed to return on a date; moved away / working away: where) → the cause
found → for a visit: a location pin, then photos → a note → summary → save. Nothing is
written before "Save"; every press re-checks that the case is still the person's to record.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import date, timedelta
from html import escape
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from kcbx.bot.domain.capabilities import button_labels
from kcbx.bot.domain.caseactions import visit_data
from kcbx.bot.domain.dates import DateError, format_date, parse_user_date
from kcbx.bot.domain.i18n import N_, Translate
from kcbx.bot.services.visits import (
    KINDS,
    MET,
    NEEDS_PLACE,
    PLACE_MAX,
    VisitDraft,
    VisitProblem,
    VisitTarget,
    kinds_for,
    note_not_back,
    outcomes_for,
    read_return_date,
    read_text,
    return_date_problem,
    today_of,
    visit_cases,
    visit_date_problem,
    visit_target,
)
from kcbx.bot.texts.cases import case_choices
from kcbx.bot.texts.paging import MAX_BUTTONS, more_button
from kcbx.bot.texts.visits import kind_question, not_back_noted
from kcbx.handlers.common import (
    Rows,
    callback_data,
    deny,
    inline,
    is_private,
    pairs,
    pressed,
    pressed_number,
    reply,
    require_person,
    show,
)
from kcbx.handlers.context import KcbxContext
from kcbx.handlers.conversations import flow
from kcbx.handlers.conversations.flow import END
from kcbx.handlers.conversations.visit_evidence import (
    VISIT,
    ask_cause,
    later_states,
    rechecked,
    step,
    visit_problem,
)

CASE, KIND, WHEN, MET_, OUTCOME, RETURN_ON, PLACE = range(7)
PER_PAGE = MAX_BUTTONS - 2  # cases a page, beside [更多] and Cancel

# --- step 1: the case -----------------------------------------------------------------------


async def start(update: Update, context: KcbxContext) -> int:
    """/visit [KC-2024-0001], or the keyboard button."""
    person = require_person(context)
    private = N_("Please record visits in a private chat with me.")
    if not await VISIT.opens(
        update, context, private=private, allowed=bool(kinds_for(person.role))
    ):
        return END
    if context.args:
        case = await context.services.cases.by_number(context.args[0].strip().upper())
        return await _begin(update, context, case.id if case is not None else 0)
    return await _cases_page(update, context, 0)


async def _cases_page(update: Update, context: KcbxContext, offset: int) -> int:
    person = require_person(context)
    t = context.gettext
    cases, total = await visit_cases(context.services, person, offset, PER_PAGE)
    alert = None
    if not cases and offset and total:  # a page gone (forged, or the list shrank): the first
        alert = t("This page of the list is no longer there. Please choose again.")
        offset = 0
        cases, total = await visit_cases(context.services, person, offset, PER_PAGE)
    if not cases:
        await reply(update, t("You have no open cases to record on."))
        return END
    rows = case_choices(cases, lambda case: visit_data(case.id), t)
    more = more_button(t, "visp:{}", offset, offset + PER_PAGE < total, PER_PAGE)
    rows.append(([more] if more else []) + VISIT.cancel_row(t))
    text = t("Which case did you act on? ({total} open cases)").format(total=total)
    await show(update, text, rows, alert=alert)
    return CASE


async def page(update: Update, context: KcbxContext) -> int:
    """visp:{offset}"""
    require_person(context)
    return await _cases_page(update, context, pressed_number(update))


async def pick(update: Update, context: KcbxContext) -> int:
    """vis:{case_id}: from the case list, a reminder or a case card."""
    require_person(context)
    if not is_private(update):
        await deny(update, context)
        return END
    VISIT.drafts.forget(context)
    return await _begin(update, context, pressed_number(update))


async def _begin(update: Update, context: KcbxContext, case_id: int) -> int:
    person = require_person(context)
    try:
        target = await visit_target(context.services, person, case_id)
    except VisitProblem as exc:
        await visit_problem(update, context, exc)
        return END
    draft = VisitDraft(case_id=target.case.id)
    VISIT.drafts.keep(context, draft)
    # A reminder's own buttons stay: the questions start in a new message.
    if update.callback_query is not None:
        await update.callback_query.answer()
    text, rows = _kind_question(context, draft, target, offer_fix=True)
    await reply(update, text, inline(rows))
    return KIND


def _kind_question(
    context: KcbxContext, draft: VisitDraft, target: VisitTarget, *, offer_fix: bool
) -> tuple[str, Rows]:
    t = context.gettext
    rows = pairs([(t(KINDS[k]), f"vv:k:{k}") for k in target.kinds])
    last, fix = target.last_own, None
    if offer_fix and last is not None:  # a button of a few words; the record in the text
        when = format_date(
            last.at.astimezone(context.services.policy.time.tz).date(), t, context.lang
        )
        fix = t("To correct your last record ({kind}, {date}), press “Correct my last record”.")
        fix = fix.format(date=when, kind=t(KINDS[last.kind]))
        rows.append([(t("Correct my last record"), "vv:fix")])
    rows.append(VISIT.cancel_row(t))
    text = kind_question(target.case, target.student, draft.corrects_id is not None, t)
    if fix is not None:
        text += "\n" + fix
    return text, rows


# --- step 2: the kind, or a correction ------------------------------------------------------


@rechecked
async def kind_button(
    update: Update, context: KcbxContext, draft: VisitDraft, target: VisitTarget
) -> int:
    kind = flow.pressed_code(update)
    if kind not in target.kinds:
        await visit_problem(
            update, context, VisitProblem(N_("Your role does not record this kind of action."))
        )
        return KIND
    t = context.gettext
    draft.kind = kind
    await step(
        update,
        context,
        draft,
        t("When? Choose, or type a date such as 3.5 or 2024-03-05."),
        [[(t("Today"), "vv:d:0"), (t("Yesterday"), "vv:d:1")], VISIT.cancel_row(t)],
    )
    return WHEN


@rechecked
async def fix_button(
    update: Update, context: KcbxContext, draft: VisitDraft, target: VisitTarget
) -> int:
    """Correct my last record: a new record that points at it (nothing is overwritten)."""
    if target.last_own is None:
        await visit_problem(
            update, context, VisitProblem(N_("You have no record on this case to correct."))
        )
        return KIND
    draft.corrects_id = target.last_own.id
    text, rows = _kind_question(context, draft, target, offer_fix=False)
    await show(update, text, rows)
    return KIND


# --- step 3: when ----------------------------------------------------------------------------


def _day_step(
    state: int,
    pattern: str,
    sign: int,
    read: Callable[[str, date], date],
    then: Callable[[Update, KcbxContext, VisitDraft, VisitTarget, date], Awaitable[int]],
) -> list[BaseHandler[Update, KcbxContext, Any]]:
    """A step that asks for a day: a button (``…:{n}``: ``n`` days from today, back with
    ``sign`` -1, ahead with +1), or a date typed, which ``read`` takes against today (the
    person is told why one cannot be taken, and asked again). ``then`` gets the day."""

    @rechecked
    async def button(
        update: Update, context: KcbxContext, draft: VisitDraft, target: VisitTarget
    ) -> int:
        days = sign * int(callback_data(update)[-1])
        return await then(
            update, context, draft, target, today_of(context.services) + timedelta(days)
        )

    @rechecked
    async def typed(
        update: Update, context: KcbxContext, draft: VisitDraft, target: VisitTarget
    ) -> int:
        try:
            day = read(flow.typed_text(update), today_of(context.services))
        except DateError as exc:
            await reply(update, context.gettext(exc.message))
            return state
        return await then(update, context, draft, target, day)

    return [
        CallbackQueryHandler(button, pattern=pattern),
        MessageHandler(VISIT.inputs.text, typed),
    ]


async def _when(
    update: Update, context: KcbxContext, draft: VisitDraft, target: VisitTarget, day: date
) -> int:
    t = context.gettext
    problem = visit_date_problem(day, today_of(context.services), target.case.absent_since)
    if problem is not None:
        await visit_problem(update, context, problem)
        return WHEN
    draft.on = day
    rows, _ = _choices(t, "vv:m", MET)  # five: one page
    await step(update, context, draft, t("Whom did you meet or speak to?"), rows)
    return MET_


# --- step 4: who was met; step 5: the outcome -----------------------------------------------


def _choices(
    t: Translate, prefix: str, names: Mapping[str, str], page: int = 0
) -> tuple[Rows, str | None]:
    """A button a choice (``{prefix}:{code}``), two a row, then Cancel; a page at a time
    behind [更多] (``{prefix}p:{page}``) when they are more than six buttons; and the alert
    for a page that does not exist."""
    choices = [(t(text), f"{prefix}:{code}") for code, text in names.items()]
    return VISIT.picker(t, choices, page, prefix + "p:{}")


@rechecked
async def met_button(
    update: Update, context: KcbxContext, draft: VisitDraft, target: VisitTarget
) -> int:
    code = flow.pressed_code(update)
    if code not in MET:
        return MET_
    t = context.gettext
    draft.met = code
    # who was met and what came of it agree
    rows, _ = _choices(t, "vv:o", outcomes_for(code))
    await step(update, context, draft, t("What came of it?"), rows)
    return OUTCOME


@rechecked
async def outcome_page(
    update: Update, context: KcbxContext, draft: VisitDraft, target: VisitTarget
) -> int:
    """vv:op:{page}"""
    t = context.gettext
    page = int(flow.pressed_code(update) or 0)
    rows, alert = _choices(t, "vv:o", outcomes_for(draft.met), page)
    await step(update, context, draft, t("What came of it?"), rows, alert=alert)
    return OUTCOME


@rechecked
async def outcome_button(
    update: Update, context: KcbxContext, draft: VisitDraft, target: VisitTarget
) -> int:
    code = flow.pressed_code(update)
    if code not in outcomes_for(draft.met):
        return OUTCOME
    t = context.gettext
    draft.outcome = code
    draft.return_on = draft.place = None
    if code == "agreed":
        await step(
            update,
            context,
            draft,
            t(
                "On which day will the child return? Choose, or type a date such as 3.8. "
                "The class teacher will be asked that morning whether the child is back."
            ),
            [[(t("Tomorrow"), "vv:r:1"), (t("In 2 days"), "vv:r:2")], VISIT.cancel_row(t)],
        )
        return RETURN_ON
    if code in NEEDS_PLACE:
        question = (
            t("Where did the family move to? Please type the place.")
            if code == "moved"
            else t("Where is the child working? Please type the place.")
        )
        await step(update, context, draft, question, [VISIT.cancel_row(t)])
        return PLACE
    return await ask_cause(update, context, draft)


async def _return_on(
    update: Update, context: KcbxContext, draft: VisitDraft, target: VisitTarget, day: date
) -> int:
    problem = return_date_problem(day, today_of(context.services))
    if problem is not None:
        await visit_problem(update, context, problem)
        return RETURN_ON
    draft.return_on = day
    return await ask_cause(update, context, draft)


@rechecked
async def place_text(
    update: Update, context: KcbxContext, draft: VisitDraft, target: VisitTarget
) -> int:
    try:
        draft.place = read_text(flow.typed_text(update), PLACE_MAX)
    except VisitProblem as exc:
        await visit_problem(update, context, exc)
        return PLACE
    return await ask_cause(update, context, draft)


# --- "Not back" on a return check -----------------------------------------------------------


async def not_back(update: Update, context: KcbxContext) -> None:
    """rck:{case_id}: the child did not come back on the agreed day (a note; the ladder goes on)."""
    person = require_person(context)
    t = context.gettext
    query = pressed(update)
    try:
        result = await note_not_back(context.services, person, pressed_number(update))
    except VisitProblem as exc:
        await query.answer(escape(exc.render(t))[:190], show_alert=True)
        return
    await query.answer()
    await reply(
        update,
        not_back_noted(result.case, result.student, t),
        inline([[(t("Record a visit"), visit_data(result.case.id))]]),
    )


def register(app: Application) -> None:
    """The visit conversation, the return check's "Not back", and its stale buttons."""
    text = VISIT.inputs.text
    entry = filters.Text(button_labels("visit")) & filters.ChatType.PRIVATE
    conversation = VISIT.handler(
        [
            CommandHandler("visit", start),
            MessageHandler(entry, start),
            CallbackQueryHandler(pick, pattern=r"^vis:\d{1,12}$"),
        ],
        {
            CASE: [CallbackQueryHandler(page, pattern=r"^visp:\d{1,6}$")],
            KIND: [
                CallbackQueryHandler(kind_button, pattern=r"^vv:k:[a-z_]+$"),
                CallbackQueryHandler(fix_button, pattern=r"^vv:fix$"),
            ],
            WHEN: _day_step(WHEN, r"^vv:d:[01]$", -1, parse_user_date, _when),
            MET_: [CallbackQueryHandler(met_button, pattern=r"^vv:m:[a-z_]+$")],
            OUTCOME: [
                CallbackQueryHandler(outcome_button, pattern=r"^vv:o:[a-z_]+$"),
                CallbackQueryHandler(outcome_page, pattern=r"^vv:op:\d{1,3}$"),
            ],
            RETURN_ON: _day_step(RETURN_ON, r"^vv:r:[12]$", 1, read_return_date, _return_on),
            PLACE: [MessageHandler(text, place_text)],
            **later_states(),
        },
    )
    VISIT.register(app, conversation)
    app.add_handler(CallbackQueryHandler(not_back, pattern=r"^rck:\d{1,12}$"))


__all__ = ["register"]
