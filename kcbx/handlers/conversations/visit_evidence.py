"""/visit, from the cause found on: the cause, for a visit a location pin and photos (the
evidence), a note, the summary and saving. The conversation's spec (:data:`VISIT`) and the
check every step makes are here too; the first steps are in
kcbx/handlers/conversations/visit.py.
"""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from kcbx.bot.domain.caseactions import case_data
from kcbx.bot.domain.i18n import N_, Translate
from kcbx.bot.domain.model import Person
from kcbx.bot.domain.policy.tree import CAUSES
from kcbx.bot.services.visits import (
    MAX_PHOTOS,
    ON_SITE,
    VisitDraft,
    VisitProblem,
    VisitTarget,
    place_of,
    read_note,
    record_visit,
    visit_target,
)
from kcbx.bot.texts.visits import saved_text, summary_lines, with_progress
from kcbx.handlers.common import Rows, inline, pressed, reply, require_person, show
from kcbx.handlers.context import KcbxContext
from kcbx.handlers.conversations import flow
from kcbx.handlers.conversations.evidence import add_evidence
from kcbx.handlers.conversations.flow import END, NOTE, Conversation, Drafts, States
from kcbx.handlers.jobs import kick_delivery

CAUSE, LOCATION, PHOTOS = 20, 21, 22  # the first steps are 0, 1, ...

_OVER = N_("This record is no longer open; nothing was saved from it. Send /visit to start again.")
_STOPPED = N_("The visit record was stopped; nothing was saved. Please send your command again.")
_drafts = Drafts("kcbx.visit.draft", VisitDraft)
VISIT = Conversation("visit", "vv", _drafts, _OVER, _STOPPED, in_place=True, buttons=r"^(vv|visp):")


async def step(
    update: Update,
    context: KcbxContext,
    draft: VisitDraft,
    question: str,
    rows: Rows,
    *,
    alert: str | None = None,
) -> None:
    """Ask the next question under the answers so far (``alert``: the press's answer)."""
    text = with_progress(draft, question, context.gettext, context.lang)
    await show(update, text, rows, alert=alert)


async def visit_problem(update: Update, context: KcbxContext, found: VisitProblem) -> None:
    """A pressed button gets an alert; a typed answer gets a reply."""
    text = found.render(context.gettext)
    if update.callback_query is not None:
        await update.callback_query.answer(text[:190], show_alert=True)
    else:
        await reply(update, escape(text))


async def _target(context: KcbxContext, draft: VisitDraft) -> VisitTarget:
    """The draft's case, checked again (scope, chain, still open)."""
    return await visit_target(context.services, require_person(context), draft.case_id)


rechecked = VISIT.rechecked(_target, VisitProblem, visit_problem)


# --- step 6: the cause found ----------------------------------------------------------------


async def ask_cause(update: Update, context: KcbxContext, draft: VisitDraft, page: int = 0) -> int:
    """The cause found, a page of the causes at a time ([更多]; six buttons a message)."""
    t = context.gettext
    case = await context.services.cases.get(draft.case_id)
    known = case.cause if case is not None else "unknown"
    choices = [(t("Cause unchanged"), "vv:c:=")]  # a label a phone shows whole
    choices += [(t(text), f"vv:c:{code}") for code, text in CAUSES.items() if code != known]
    rows, alert = VISIT.picker(t, choices, page, "vv:cp:{}")
    await step(
        update,
        context,
        draft,
        t(
            "What is the cause of the absence, as far as you found out? Recorded so far: {cause}."
        ).format(cause=t(CAUSES[known])),
        rows,
        alert=alert,
    )
    return CAUSE


@rechecked
async def cause_page(
    update: Update, context: KcbxContext, draft: VisitDraft, target: VisitTarget
) -> int:
    """vv:cp:{page}"""
    return await ask_cause(update, context, draft, int(flow.pressed_code(update) or 0))


@rechecked
async def cause_button(
    update: Update, context: KcbxContext, draft: VisitDraft, target: VisitTarget
) -> int:
    t = context.gettext
    code = flow.pressed_code(update)
    if code == "=":
        code = target.case.cause
    if code not in CAUSES:
        return CAUSE
    draft.cause = code
    if draft.kind in ON_SITE:
        await step(
            update,
            context,
            draft,
            t(
                "Please share the location of the visit (📎 → Location), or press Skip. "
                "Photos come next."
            ),
            [[(t("Skip"), "vv:s")], VISIT.cancel_row(t)],
        )
        return LOCATION
    return await ask_note(update, context, draft)


# --- step 7: a location pin; step 8: photos -------------------------------------------------


@rechecked
async def location(
    update: Update, context: KcbxContext, draft: VisitDraft, target: VisitTarget
) -> int:
    message = update.effective_message
    assert message is not None and message.location is not None
    draft.location = (message.location.latitude, message.location.longitude)
    return await ask_photos(update, context, draft)


@rechecked
async def skip_location(
    update: Update, context: KcbxContext, draft: VisitDraft, target: VisitTarget
) -> int:
    return await ask_photos(update, context, draft)


async def photo_at_location(update: Update, context: KcbxContext) -> int:
    """A photo sent instead of the location: the location is skipped, the photo is taken."""
    return await photo(update, context)


async def ask_photos(update: Update, context: KcbxContext, draft: VisitDraft) -> int:
    t = context.gettext
    text = t("Send photos as evidence (at most {count}), then press Done.").format(count=MAX_PHOTOS)
    await step(update, context, draft, text, _done_rows(t))
    return PHOTOS


def _done_rows(t: Translate) -> Rows:
    return [[(t("Done"), "vv:p")], VISIT.cancel_row(t)]


@rechecked
async def photo(
    update: Update, context: KcbxContext, draft: VisitDraft, target: VisitTarget
) -> int:
    await add_evidence(
        update,
        context,
        draft.photos,
        MAX_PHOTOS,
        inline(_done_rows(context.gettext)),
        too_many=N_("That makes more than {count} photos; this one was not added. Press Done."),
        received=N_("Photo {number} received. Send more, or press Done."),
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
        inline(_done_rows(t)),
    )
    return PHOTOS


@rechecked
async def photos_done(
    update: Update, context: KcbxContext, draft: VisitDraft, target: VisitTarget
) -> int:
    return await ask_note(update, context, draft)


# --- step 9: a note; step 10: confirm -------------------------------------------------------


async def ask_note(update: Update, context: KcbxContext, draft: VisitDraft) -> int:
    t = context.gettext
    await step(
        update,
        context,
        draft,
        t("Add a note (what was said, what was agreed), or press Skip."),
        VISIT.note_rows(t),
    )
    return NOTE


async def _summary(
    update: Update, context: KcbxContext, draft: VisitDraft, target: VisitTarget, note: str | None
) -> int:
    """After the note (None: skipped): the record to check and save."""
    draft.note = note
    t = context.gettext
    place = await place_of(context.services, target.student, draft.location)
    lines = summary_lines(draft, target.case, target.student, t, context.lang, place)
    text = t("Please check and save:") + "\n" + "\n".join(lines)
    return await VISIT.summary(update, context, text, N_("Save"))


async def save(update: Update, context: KcbxContext, person: Person, draft: VisitDraft) -> int:
    t = context.gettext
    result = await record_visit(context.services, person, draft)
    _drafts.forget(context)
    place = await place_of(context.services, result.student, draft.location)
    record = summary_lines(draft, result.case, result.student, t, context.lang, place)[1:]
    await show(
        update,
        "\n".join([saved_text(result, t, context.lang), "", *record]),
        [[(t("Open the case"), case_data(result.case.id))]],
    )
    kick_delivery(context.application)
    return END


async def _not_saved(update: Update, context: KcbxContext, problem: VisitProblem) -> None:
    """Why the record could not be saved (the conversation ends)."""
    await pressed(update).answer()
    await reply(update, escape(problem.render(context.gettext)))


async def hint_location(update: Update, context: KcbxContext) -> None:
    await reply(
        update,
        context.gettext("Please share a location (📎 → Location), or press Skip."),
    )


async def hint_photo(update: Update, context: KcbxContext) -> None:
    await reply(update, context.gettext("Please send a photo, or press Done."))


def later_states() -> States:
    """The states from the cause found on: the evidence, the note, the summary."""
    other = VISIT.inputs.other
    return {
        CAUSE: [
            CallbackQueryHandler(cause_button, pattern=r"^vv:c:([a-z_]+|=)$"),
            CallbackQueryHandler(cause_page, pattern=r"^vv:cp:\d{1,3}$"),
        ],
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
        **VISIT.note_step(rechecked, read_note, VisitProblem, visit_problem, _summary),
        **VISIT.confirm_step(save, VisitProblem, _not_saved),
    }
