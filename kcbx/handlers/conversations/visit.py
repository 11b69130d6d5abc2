"""/visit: record what was done on a case (A7.1, A7.2, A5.1, A6). Telegram glue
only: the rules are in kcbx/bot/services/visits.py.

Case (or a ``vis:{case_id}`` button on a reminder or a case card) → kind (phone call, home
visit, persuasion meeting, department action; or "correct my last record") → when → who was
met → outcome (agreed to return on a date; moved away / working away: where) → the cause
found → for a visit: a location pin, then photos → a note → summary → save. Nothing is
written before "Save"; every press re-checks that the case is still the person's to record.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from datetime import date, timedelta
from html import escape

from telegram import InlineKeyboardMarkup, Message, Update
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
from kcbx.bot.domain.caseactions import case_data
from kcbx.bot.domain.dates import DateError, format_date, parse_user_date
from kcbx.bot.domain.i18n import N_, Translate
from kcbx.bot.domain.policy import CAUSES, DEPARTMENTS
from kcbx.bot.services.visits import (
    KINDS,
    MAX_PHOTOS,
    MET,
    NEEDS_PLACE,
    NOTE_MAX,
    ON_SITE,
    OUTCOMES,
    PLACE_MAX,
    VisitDraft,
    VisitProblem,
    VisitResult,
    VisitTarget,
    kinds_for,
    note_not_back,
    progress_line,
    read_return_date,
    read_text,
    record_visit,
    return_date_problem,
    summary_lines,
    today_of,
    visit_cases,
    visit_date_problem,
    visit_target,
)
from kcbx.handlers.common import (
    callback_data,
    deny,
    inline,
    is_private,
    pairs,
    reply,
    require_person,
)
from kcbx.handlers.context import KcbxContext
from kcbx.handlers.conversations import flow
from kcbx.handlers.conversations.evidence import receive_evidence
from kcbx.handlers.conversations.flow import Drafts
from kcbx.handlers.jobs import kick_delivery

CASE, KIND, WHEN, MET_, OUTCOME, RETURN_ON, PLACE, CAUSE, LOCATION, PHOTOS, NOTE, CONFIRM = range(
    12
)
TIMEOUT = timedelta(minutes=30)
DRAFT = "kcbx.visit.draft"
PER_PAGE = 6
_OVER = N_("This record is no longer open; nothing was saved from it. Send /visit to start again.")

Rows = list[list[tuple[str, str]]]


# --- helpers ---------------------------------------------------------------------------------


_drafts = Drafts(DRAFT, VisitDraft)
_draft = _drafts.get
_forget = _drafts.forget


async def _ask(update: Update, text: str, rows: Rows | InlineKeyboardMarkup | None) -> None:
    """The next question: in place of the one whose button was pressed (one message that
    moves on, light on a poor network), else as a new message."""
    markup = rows if isinstance(rows, InlineKeyboardMarkup) or rows is None else inline(rows)
    query = update.callback_query
    if query is not None and isinstance(query.message, Message) and query.message.text:
        await query.answer()
        try:
            await query.message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
            return
        except BadRequest:  # unchanged (pressed twice) or gone: ask anew below
            pass
    await reply(update, text, markup)


async def _step(
    update: Update, context: KcbxContext, draft: VisitDraft, question: str, rows: Rows
) -> None:
    """Ask the next question under the answers so far."""
    done = progress_line(draft, context.gettext, context.lang)
    await _ask(update, f"<i>{done}</i>\n{question}" if done else question, rows)


async def _current(update: Update, context: KcbxContext) -> tuple[VisitDraft, VisitTarget] | None:
    """The draft, with its case checked again (scope, chain, still open); None: it is over."""
    person = require_person(context)
    draft = _draft(context)
    if draft is None:
        await _lost(update, context)
        return None
    try:
        target = await visit_target(context.services, person, draft.case_id)
    except VisitProblem as exc:
        _forget(context)
        await _problem(update, context, exc)
        return None
    return draft, target


async def _problem(update: Update, context: KcbxContext, problem: VisitProblem) -> None:
    """A pressed button gets an alert; a typed answer gets a reply."""
    text = problem.render(context.gettext)
    if update.callback_query is not None:
        await update.callback_query.answer(text[:190], show_alert=True)
    else:
        await reply(update, escape(text))


# --- step 1: the case -----------------------------------------------------------------------


async def start(update: Update, context: KcbxContext) -> int:
    """/visit [KC-2024-0001], or the keyboard button."""
    person = require_person(context)
    t = context.gettext
    if not is_private(update):
        await reply(update, t("Please record visits in a private chat with me."))
        return ConversationHandler.END
    if not kinds_for(person.role):
        await deny(update, context)
        return ConversationHandler.END
    _forget(context)
    if context.args:
        case = await context.services.cases.by_number(context.args[0].strip().upper())
        return await _begin(update, context, case.id if case is not None else 0)
    return await _cases_page(update, context, 0)


async def _cases_page(update: Update, context: KcbxContext, offset: int) -> int:
    person = require_person(context)
    t = context.gettext
    cases, total = await visit_cases(context.services, person, offset, PER_PAGE)
    if not cases:
        await reply(update, t("You have no open cases to record on."))
        return ConversationHandler.END
    rows: Rows = [
        [(t("{number} {name}").format(number=c.number, name=s.name), f"vis:{c.id}")]
        for c, s in cases
    ]
    nav = []
    if offset > 0:
        nav.append((t("‹ Previous"), f"visp:{max(0, offset - PER_PAGE)}"))
    if offset + PER_PAGE < total:
        nav.append((t("Next ›"), f"visp:{offset + PER_PAGE}"))
    if nav:
        rows.append(nav)
    rows.append(flow.cancel_row(t, "vv:x"))
    text = t("Which case did you act on? ({total} open cases)").format(total=total)
    await _ask(update, text, rows)
    return CASE


async def page(update: Update, context: KcbxContext) -> int:
    """visp:{offset}"""
    require_person(context)
    return await _cases_page(update, context, int(callback_data(update).split(":")[1]))


async def pick(update: Update, context: KcbxContext) -> int:
    """vis:{case_id}: from the case list, a reminder or a case card."""
    require_person(context)
    if not is_private(update):
        await deny(update, context)
        return ConversationHandler.END
    _forget(context)
    return await _begin(update, context, int(callback_data(update).split(":")[1]))


async def _begin(update: Update, context: KcbxContext, case_id: int) -> int:
    person = require_person(context)
    try:
        target = await visit_target(context.services, person, case_id)
    except VisitProblem as exc:
        await _problem(update, context, exc)
        return ConversationHandler.END
    assert context.user_data is not None
    draft = context.user_data[DRAFT] = VisitDraft(case_id=target.case.id)
    # A reminder's own buttons stay: the questions start in a new message.
    if update.callback_query is not None:
        await update.callback_query.answer()
    await reply(update, *_kind_question(context, draft, target, offer_fix=True))
    return KIND


def _kind_question(
    context: KcbxContext, draft: VisitDraft, target: VisitTarget, *, offer_fix: bool
) -> tuple[str, InlineKeyboardMarkup]:
    t = context.gettext
    rows = pairs([(t(KINDS[k]), f"vv:k:{k}") for k in target.kinds])
    last = target.last_own
    if offer_fix and last is not None:
        when = format_date(
            last.at.astimezone(context.services.policy.time.tz).date(), t, context.lang
        )
        label = t("Correct my last record ({date}, {kind})").format(
            date=when, kind=t(KINDS[last.kind])
        )
        rows.append([(label, "vv:fix")])
    rows.append(flow.cancel_row(t, "vv:x"))
    text = t("Case <b>{number}</b>: <b>{name}</b>. What did you do?").format(
        number=escape(target.case.number), name=escape(target.student.name)
    )
    if draft.corrects_id is not None:
        text += "\n" + t(
            "Enter the record again as it should be. It will replace your last one in the "
            "ladder; both stay in the history."
        )
    return text, inline(rows)


# --- step 2: the kind, or a correction ------------------------------------------------------


async def kind_button(update: Update, context: KcbxContext) -> int:
    current = await _current(update, context)
    if current is None:
        return ConversationHandler.END
    draft, target = current
    t = context.gettext
    kind = callback_data(update).split(":", 2)[2]
    if kind not in target.kinds:
        await _problem(
            update, context, VisitProblem(N_("Your role does not record this kind of action."))
        )
        return KIND
    draft.kind = kind
    await _step(
        update,
        context,
        draft,
        t("When? Choose, or type a date such as 3月5日, 3.5 or 2024-03-05."),
        [[(t("Today"), "vv:d:0"), (t("Yesterday"), "vv:d:1")], flow.cancel_row(t, "vv:x")],
    )
    return WHEN


async def fix_button(update: Update, context: KcbxContext) -> int:
    """Correct my last record: a new record that points at it (nothing is overwritten)."""
    current = await _current(update, context)
    if current is None:
        return ConversationHandler.END
    draft, target = current
    if target.last_own is None:
        await _problem(
            update, context, VisitProblem(N_("You have no record on this case to correct."))
        )
        return KIND
    draft.corrects_id = target.last_own.id
    text, markup = _kind_question(context, draft, target, offer_fix=False)
    await _ask(update, text, markup)
    return KIND


# --- step 3: when ----------------------------------------------------------------------------


async def when_button(update: Update, context: KcbxContext) -> int:
    current = await _current(update, context)
    if current is None:
        return ConversationHandler.END
    back = int(callback_data(update)[-1])
    day = today_of(context.services) - timedelta(days=back)
    return await _when(update, context, *current, day)


async def when_text(update: Update, context: KcbxContext) -> int:
    current = await _current(update, context)
    if current is None:
        return ConversationHandler.END
    message = update.effective_message
    try:
        day = parse_user_date((message.text or "") if message else "", today_of(context.services))
    except DateError as exc:
        await reply(update, context.gettext(exc.message))
        return WHEN
    return await _when(update, context, *current, day)


async def _when(
    update: Update, context: KcbxContext, draft: VisitDraft, target: VisitTarget, day: date
) -> int:
    t = context.gettext
    problem = visit_date_problem(day, today_of(context.services), target.case.absent_since)
    if problem is not None:
        await _problem(update, context, problem)
        return WHEN
    draft.on = day
    rows = _choices(t, "vv:m", MET)
    await _step(update, context, draft, t("Whom did you meet or speak to?"), rows)
    return MET_


# --- step 4: who was met; step 5: the outcome -----------------------------------------------


def _choices(t: Translate, prefix: str, names: Mapping[str, str]) -> Rows:
    """A button a choice (``{prefix}:{code}``), two a row, then Cancel."""
    rows = pairs([(t(text), f"{prefix}:{code}") for code, text in names.items()])
    rows.append(flow.cancel_row(t, "vv:x"))
    return rows


async def _chosen(
    update: Update, context: KcbxContext, names: Mapping[str, str], state: int
) -> tuple[VisitDraft, str] | int:
    """The draft and the code of the choice pressed; else the state to stay in (``state``
    for an unknown code, END when the record is over)."""
    current = await _current(update, context)
    if current is None:
        return ConversationHandler.END
    code = callback_data(update).split(":", 2)[2]
    if code not in names:
        return state
    return current[0], code


async def met_button(update: Update, context: KcbxContext) -> int:
    chosen = await _chosen(update, context, MET, MET_)
    if isinstance(chosen, int):
        return chosen
    draft, code = chosen
    t = context.gettext
    draft.met = code
    await _step(update, context, draft, t("What came of it?"), _choices(t, "vv:o", OUTCOMES))
    return OUTCOME


async def outcome_button(update: Update, context: KcbxContext) -> int:
    chosen = await _chosen(update, context, OUTCOMES, OUTCOME)
    if isinstance(chosen, int):
        return chosen
    draft, code = chosen
    t = context.gettext
    draft.outcome = code
    draft.return_on = draft.place = None
    if code == "agreed":
        await _step(
            update,
            context,
            draft,
            t(
                "On which day will the child return? Choose, or type a date such as 3月8日. "
                "The class teacher will be asked that morning whether the child is back."
            ),
            [[(t("Tomorrow"), "vv:r:1"), (t("In 2 days"), "vv:r:2")], flow.cancel_row(t, "vv:x")],
        )
        return RETURN_ON
    if code in NEEDS_PLACE:
        question = (
            t("Where did the family move to? Please type the place.")
            if code == "moved"
            else t("Where is the child working? Please type the place.")
        )
        await _step(update, context, draft, question, [flow.cancel_row(t, "vv:x")])
        return PLACE
    return await _ask_cause(update, context, draft)


async def return_button(update: Update, context: KcbxContext) -> int:
    current = await _current(update, context)
    if current is None:
        return ConversationHandler.END
    day = today_of(context.services) + timedelta(days=int(callback_data(update)[-1]))
    return await _return_on(update, context, current[0], day)


async def return_text(update: Update, context: KcbxContext) -> int:
    current = await _current(update, context)
    if current is None:
        return ConversationHandler.END
    message = update.effective_message
    try:
        day = read_return_date((message.text or "") if message else "", today_of(context.services))
    except DateError as exc:
        await reply(update, context.gettext(exc.message))
        return RETURN_ON
    return await _return_on(update, context, current[0], day)


async def _return_on(update: Update, context: KcbxContext, draft: VisitDraft, day: date) -> int:
    problem = return_date_problem(day, today_of(context.services))
    if problem is not None:
        await _problem(update, context, problem)
        return RETURN_ON
    draft.return_on = day
    return await _ask_cause(update, context, draft)


async def place_text(update: Update, context: KcbxContext) -> int:
    current = await _current(update, context)
    if current is None:
        return ConversationHandler.END
    message = update.effective_message
    try:
        current[0].place = read_text((message.text or "") if message else "", PLACE_MAX)
    except VisitProblem as exc:
        await _problem(update, context, exc)
        return PLACE
    return await _ask_cause(update, context, current[0])


# --- step 6: the cause found ----------------------------------------------------------------


async def _ask_cause(update: Update, context: KcbxContext, draft: VisitDraft) -> int:
    t = context.gettext
    case = await context.services.cases.get(draft.case_id)
    known = case.cause if case is not None else "unknown"
    rows = [[(t("Unchanged: {cause}").format(cause=t(CAUSES[known])), "vv:c:=")]]
    rows += pairs([(t(text), f"vv:c:{code}") for code, text in CAUSES.items() if code != known])
    rows.append(flow.cancel_row(t, "vv:x"))
    await _step(
        update,
        context,
        draft,
        t("What is the cause of the absence, as far as you found out?"),
        rows,
    )
    return CAUSE


async def cause_button(update: Update, context: KcbxContext) -> int:
    current = await _current(update, context)
    if current is None:
        return ConversationHandler.END
    draft, target = current
    t = context.gettext
    code = callback_data(update).split(":", 2)[2]
    if code == "=":
        code = target.case.cause
    if code not in CAUSES:
        return CAUSE
    draft.cause = code
    if draft.kind in ON_SITE:
        await _step(
            update,
            context,
            draft,
            t(
                "Please share the location of the visit (📎 → Location), or press Skip. "
                "Photos come next."
            ),
            [[(t("Skip"), "vv:s")], flow.cancel_row(t, "vv:x")],
        )
        return LOCATION
    return await _ask_note(update, context, draft)


# --- step 7: a location pin; step 8: photos -------------------------------------------------


async def location(update: Update, context: KcbxContext) -> int:
    current = await _current(update, context)
    if current is None:
        return ConversationHandler.END
    message = update.effective_message
    assert message is not None and message.location is not None
    current[0].location = (message.location.latitude, message.location.longitude)
    return await _ask_photos(update, context, current[0])


async def skip_location(update: Update, context: KcbxContext) -> int:
    current = await _current(update, context)
    if current is None:
        return ConversationHandler.END
    return await _ask_photos(update, context, current[0])


async def photo_at_location(update: Update, context: KcbxContext) -> int:
    """A photo sent instead of the location: the location is skipped, the photo is taken."""
    return await photo(update, context)


async def _ask_photos(update: Update, context: KcbxContext, draft: VisitDraft) -> int:
    t = context.gettext
    text = t("Send photos as evidence (at most {count}), then press Done.").format(count=MAX_PHOTOS)
    await _step(update, context, draft, text, [[(t("Done"), "vv:p")], flow.cancel_row(t, "vv:x")])
    return PHOTOS


async def photo(update: Update, context: KcbxContext) -> int:
    current = await _current(update, context)
    if current is None:
        return ConversationHandler.END
    draft = current[0]
    t = context.gettext
    message = update.effective_message
    assert message is not None
    done = inline([[(t("Done"), "vv:p")], flow.cancel_row(t, "vv:x")])
    if len(draft.photos) >= MAX_PHOTOS:
        await reply(
            update,
            t("That makes more than {count} photos; this one was not added. Press Done.").format(
                count=MAX_PHOTOS
            ),
            done,
        )
        return PHOTOS
    try:
        evidence = await receive_evidence(message, context, documents=True)
    except VisitProblem as exc:
        await reply(update, escape(exc.render(t)), done)
        return PHOTOS
    draft.photos.append(evidence)
    await reply(
        update,
        t("Photo {number} received. Send more, or press Done.").format(number=len(draft.photos)),
        done,
    )
    return PHOTOS


async def location_at_photos(update: Update, context: KcbxContext) -> int:
    """A location where a photo was asked: said so, nothing taken."""
    t = context.gettext
    await reply(
        update,
        t(
            "That is a location, but this step takes photos. The location was not added. "
            "Please send photos, or press Done."
        ),
        inline([[(t("Done"), "vv:p")], flow.cancel_row(t, "vv:x")]),
    )
    return PHOTOS


async def photos_done(update: Update, context: KcbxContext) -> int:
    current = await _current(update, context)
    if current is None:
        return ConversationHandler.END
    return await _ask_note(update, context, current[0])


# --- step 9: a note; step 10: confirm -------------------------------------------------------


async def _ask_note(update: Update, context: KcbxContext, draft: VisitDraft) -> int:
    t = context.gettext
    await _step(
        update,
        context,
        draft,
        t("Add a note (what was said, what was agreed), or press Skip."),
        [[(t("Skip"), "vv:n")], flow.cancel_row(t, "vv:x")],
    )
    return NOTE


async def note_text(update: Update, context: KcbxContext) -> int:
    current = await _current(update, context)
    if current is None:
        return ConversationHandler.END
    message = update.effective_message
    try:
        current[0].note = read_text((message.text or "") if message else "", NOTE_MAX)
    except VisitProblem as exc:
        await _problem(update, context, exc)
        return NOTE
    return await _summary(update, context, *current)


async def skip_note(update: Update, context: KcbxContext) -> int:
    current = await _current(update, context)
    if current is None:
        return ConversationHandler.END
    return await _summary(update, context, *current)


async def _summary(
    update: Update, context: KcbxContext, draft: VisitDraft, target: VisitTarget
) -> int:
    t = context.gettext
    lines = summary_lines(draft, target.case, target.student.name, t, context.lang)
    await _ask(
        update,
        t("Please check and save:") + "\n" + "\n".join(lines),
        [[(t("Save"), "vv:ok")], flow.cancel_row(t, "vv:x")],
    )
    return CONFIRM


async def save(update: Update, context: KcbxContext) -> int:
    person = require_person(context)
    draft = _draft(context)
    t = context.gettext
    if draft is None:
        return await _lost(update, context)
    query = update.callback_query
    assert query is not None
    try:
        result = await record_visit(context.services, person, draft)
    except VisitProblem as exc:
        _forget(context)
        await query.answer()
        await reply(update, escape(exc.render(t)))
        return ConversationHandler.END
    _forget(context)
    record = summary_lines(draft, result.case, result.student.name, t, context.lang)[1:]
    await _ask(
        update,
        "\n".join([saved_text(result, t, context.lang), "", *record]),
        [[(t("Open the case"), case_data(result.case.id))]],
    )
    kick_delivery(context.application)
    return ConversationHandler.END


def saved_text(result: VisitResult, t: Translate, lang: str) -> str:
    """What the person is told after saving."""
    lines = [
        t("Saved: {kind} on case <b>{number}</b> (<b>{name}</b>).").format(
            kind=t(KINDS[result.action.kind]),
            number=escape(result.case.number),
            name=escape(result.student.name),
        )
    ]
    if result.cause_changed:
        lines.append(
            t("The cause is now: {cause}. The referrals follow it.").format(
                cause=t(CAUSES[result.case.cause])
            )
        )
        if result.rerouted.withdrawn:
            lines.append(
                t("Withdrawn from: {departments}").format(
                    departments=t(", ").join(t(DEPARTMENTS[d]) for d in result.rerouted.withdrawn)
                )
            )
    if result.check_on is not None and result.check_to:
        lines.append(
            t("On {date} I will ask {name} whether the child is back.").format(
                date=format_date(result.check_on, t, lang), name=escape(result.check_to)
            )
        )
    return "\n".join(lines)


# --- "Not back" on a return check -----------------------------------------------------------


async def not_back(update: Update, context: KcbxContext) -> None:
    """rck:{case_id}: the child did not come back on the agreed day (a note; the ladder goes on)."""
    person = require_person(context)
    t = context.gettext
    query = update.callback_query
    assert query is not None
    try:
        result = await note_not_back(
            context.services, person, int(callback_data(update).split(":")[1])
        )
    except VisitProblem as exc:
        await query.answer(escape(exc.render(t))[:190], show_alert=True)
        return
    await query.answer()
    await reply(
        update,
        t(
            "Noted: <b>{name}</b> is not back (case <b>{number}</b>). Please call or visit again."
        ).format(name=escape(result.student.name), number=escape(result.case.number)),
        inline([[(t("Record a visit"), f"vis:{result.case.id}")]]),
    )


# --- leaving -------------------------------------------------------------------------------


async def cancel(update: Update, context: KcbxContext) -> int:
    _forget(context)
    t = context.gettext
    await _ask(update, t("Cancelled. Nothing was saved."), None)
    return ConversationHandler.END


_lost = flow.lost(_drafts, _OVER)


async def hint_location(update: Update, context: KcbxContext) -> None:
    await reply(
        update,
        context.gettext("Please share a location (📎 → Location), or press Skip."),
    )


async def hint_photo(update: Update, context: KcbxContext) -> None:
    await reply(update, context.gettext("Please send a photo, or press Done."))


leave = flow.leave(
    _drafts, N_("The visit record was stopped; nothing was saved. Please send your command again.")
)
timed_out = flow.timed_out(_drafts, "visit")
hint = flow.hint_buttons
old_button = flow.old_button
visit_over = flow.over(_OVER)


def register(app: Application) -> None:
    """The visit conversation, the return check's "Not back", and its stale buttons."""
    inputs = flow.inputs()
    keyboard, text, other = inputs.keyboard, inputs.text, inputs.other
    entry = filters.Text(button_labels("visit")) & filters.ChatType.PRIVATE
    with warnings.catch_warnings():
        # per_message=False is what we want (a record spans several messages); PTB warns
        # that CallbackQueryHandlers are then tracked per chat and user, which is the point.
        warnings.simplefilter("ignore", PTBUserWarning)
        conversation = ConversationHandler(
            entry_points=[
                CommandHandler("visit", start),
                MessageHandler(entry, start),
                CallbackQueryHandler(pick, pattern=r"^vis:\d{1,12}$"),
            ],
            states={
                CASE: [CallbackQueryHandler(page, pattern=r"^visp:\d{1,6}$")],
                KIND: [
                    CallbackQueryHandler(kind_button, pattern=r"^vv:k:[a-z_]+$"),
                    CallbackQueryHandler(fix_button, pattern=r"^vv:fix$"),
                ],
                WHEN: [
                    CallbackQueryHandler(when_button, pattern=r"^vv:d:[01]$"),
                    MessageHandler(text, when_text),
                ],
                MET_: [CallbackQueryHandler(met_button, pattern=r"^vv:m:[a-z_]+$")],
                OUTCOME: [CallbackQueryHandler(outcome_button, pattern=r"^vv:o:[a-z_]+$")],
                RETURN_ON: [
                    CallbackQueryHandler(return_button, pattern=r"^vv:r:[12]$"),
                    MessageHandler(text, return_text),
                ],
                PLACE: [MessageHandler(text, place_text)],
                CAUSE: [CallbackQueryHandler(cause_button, pattern=r"^vv:c:([a-z_]+|=)$")],
                LOCATION: [
                    MessageHandler(filters.LOCATION, location),
                    MessageHandler(filters.PHOTO | filters.Document.ALL, photo_at_location),
                    CallbackQueryHandler(skip_location, pattern=r"^vv:s$"),
                    MessageHandler(other, hint_location),
                ],
                PHOTOS: [
                    MessageHandler(filters.PHOTO | filters.Document.ALL, photo),
                    MessageHandler(filters.LOCATION, location_at_photos),
                    CallbackQueryHandler(photos_done, pattern=r"^vv:p$"),
                    MessageHandler(other, hint_photo),
                ],
                NOTE: [
                    CallbackQueryHandler(skip_note, pattern=r"^vv:n$"),
                    MessageHandler(text, note_text),
                ],
                CONFIRM: [CallbackQueryHandler(save, pattern=r"^vv:ok$")],
                ConversationHandler.TIMEOUT: [TypeHandler(Update, timed_out)],
            },
            fallbacks=[
                CommandHandler("cancel", cancel),
                CallbackQueryHandler(cancel, pattern=r"^vv:x$"),
                CallbackQueryHandler(old_button, pattern=r"^(vv|visp):"),
                MessageHandler(filters.COMMAND | keyboard, leave),
                MessageHandler(other, hint),
            ],
            allow_reentry=True,
            conversation_timeout=TIMEOUT,
            persistent=True,
            name="visit",
        )
    app.add_handler(conversation)
    app.add_handler(CallbackQueryHandler(visit_over, pattern=r"^(vv|visp):"))
    app.add_handler(CallbackQueryHandler(not_back, pattern=r"^rck:\d{1,12}$"))


__all__ = ["register"]
