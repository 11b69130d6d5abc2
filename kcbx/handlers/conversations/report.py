"""/report: a class teacher (their classes) or the school (its students) reports an absence
(A7.1). Telegram glue only: the rules are in kcbx/bot/services/reporting.py.

Student (class buttons, paged, or a typed name / pinyin initials) → since when → reason (A6
causes) → what the guardians said when phoned → optional note → summary → confirm. Nothing
is written before "Confirm": /cancel, a timeout or a restart leave nothing half-written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from html import escape

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from kcbx.bot.domain.capabilities import button_labels
from kcbx.bot.domain.caseactions import CONTACTS, case_data, may_report
from kcbx.bot.domain.dates import format_date
from kcbx.bot.domain.grades import class_words
from kcbx.bot.domain.i18n import N_, Translate
from kcbx.bot.domain.model import Person, Student
from kcbx.bot.domain.policy.tree import CAUSES
from kcbx.bot.services.cases import today
from kcbx.bot.services.reporting import (
    ReportClass,
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
)
from kcbx.bot.texts.cases import (
    class_label,
    open_case_instead,
    report_done,
    report_problem,
    report_summary,
    student_label,
)
from kcbx.bot.texts.paging import MAX_BUTTONS
from kcbx.handlers.common import (
    Rows,
    callback_data,
    inline,
    pairs,
    pressed,
    pressed_number,
    reply,
    require_person,
    show,
)
from kcbx.handlers.context import KcbxContext
from kcbx.handlers.conversations import flow
from kcbx.handlers.conversations.flow import END, NOTE, Conversation, Drafts

STUDENT, SINCE, CAUSE, CONTACT = range(4)
CLASS_MAX = 500  # a class's students, paged in the picker (six buttons a message)
SHOWN = MAX_BUTTONS - 1  # students listed for a typed name, beside Cancel
INITIALS_EXAMPLE = {"initials": "zs", "name": "张三"}  # pinyin initials find a student

_OVER = N_("This report is no longer open; nothing was saved from it. Send /report to start again.")
_drafts = Drafts("kcbx.report.draft", ReportDraft)
REPORT = Conversation("report", "rep", _drafts, _OVER, in_place=True)


async def _problem(update: Update, context: KcbxContext, problem: ReportProblem) -> int:
    """The report cannot go on: say why, end."""
    await _say_problem(update, context, problem)
    _drafts.forget(context)
    return END


async def _say_problem(update: Update, context: KcbxContext, problem: ReportProblem) -> None:
    await show(update, report_problem(problem, context.gettext, context.lang))


def _student_buttons(students: list[Student], t: Translate, with_class: bool) -> Rows:
    return pairs(_student_choices(students, t, with_class))


def _student_choices(
    students: list[Student], t: Translate, with_class: bool
) -> list[tuple[str, str]]:
    buttons = []
    for s in students:
        label = s.name
        if with_class and class_label(s, t):
            label = t("{name} ({detail})").format(name=s.name, detail=class_label(s, t))
        buttons.append((label, f"rep:s:{s.id}"))
    return buttons


# --- step 1: the student ------------------------------------------------------------------


async def start(update: Update, context: KcbxContext) -> int:
    person = require_person(context)
    t = context.gettext
    if not await REPORT.opens(
        update,
        context,
        private=N_("Please report absences in a private chat with me."),
        allowed=may_report(person.role),
        refused=N_(
            "Only class teachers, principals and school dropout-control leads report absences."
        ),
    ):
        return END
    classes = await report_classes(context.services, person)
    if not classes:
        await reply(update, t("You have no students to report."))
        return END
    if len(classes) == 1:
        await _students_page(update, context, classes[0].id, 0, back=False)
    else:
        await _classes_page(update, context, classes, 0)
    return STUDENT


async def _classes_page(
    update: Update, context: KcbxContext, classes: list[ReportClass], page: int
) -> None:
    t = context.gettext
    buttons = [(class_words(c.grade, c.name, t), f"rep:c:{c.id}:0:b") for c in classes]
    rows, alert = REPORT.picker(t, buttons, page, "rep:cl:{}")
    text = t(
        "Which student is absent without reason? Pick a class, or type part of the name or "
        "its pinyin initials (e.g. {initials} for {name})."
    ).format(**INITIALS_EXAMPLE)
    await show(update, text, rows, alert=alert)


async def _students_page(
    update: Update, context: KcbxContext, class_id: int, page: int, *, back: bool
) -> None:
    person = require_person(context)
    t = context.gettext
    students, _ = await class_students(
        context.services, person, class_id, offset=0, limit=CLASS_MAX
    )
    buttons = [(name, f"rep:s:{sid}") for sid, name in students]
    data = f"rep:c:{class_id}:{{}}" + (":b" if back else "")
    up = (t("« Classes"), "rep:cl:0") if back else None
    rows, alert = REPORT.picker(t, buttons, page, data, back=up)
    text = t(
        "Which student is absent without reason? Pick from the list, or type part of the name "
        "or its pinyin initials (e.g. {initials} for {name})."
    ).format(**INITIALS_EXAMPLE)
    await show(update, text, rows, alert=alert)


async def browse(update: Update, context: KcbxContext) -> int:
    """rep:cl:{page} (classes) and rep:c:{class}:{page}[:b] (a class's students; ``b``: with
    the way back to the classes, for a reporter who has several)."""
    person = require_person(context)
    parts = callback_data(update).split(":")
    if parts[1] == "cl":
        classes = await report_classes(context.services, person)
        await _classes_page(update, context, classes, int(parts[2]))
    else:
        back = len(parts) > 4  # forgeable, and harmless: the list of classes is in scope
        await _students_page(update, context, int(parts[2]), int(parts[3]), back=back)
    return STUDENT


async def search(update: Update, context: KcbxContext) -> int:
    """A typed name fragment or pinyin initials: one match is picked, several are listed."""
    person = require_person(context)
    t = context.gettext
    query = flow.typed_text(update).strip()
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
    if len(found) > SHOWN:
        text = t(
            "{count} students match; here are the first {shown}. Type more of the name to "
            "narrow it down."
        ).format(count=len(found), shown=SHOWN)
    rows = _student_buttons(found[:SHOWN], t, with_class=True)
    rows.append(REPORT.cancel_row(t))
    await reply(update, text, inline(rows))
    return STUDENT


async def pick(update: Update, context: KcbxContext) -> int:
    """rep:s:{student_id}"""
    return await _picked(update, context, pressed_number(update))


async def _picked(update: Update, context: KcbxContext, student_id: int) -> int:
    person = require_person(context)
    t = context.gettext
    try:
        choice = await choose_student(context.services, person, student_id)
    except ReportProblem as exc:
        return await _problem(update, context, exc)
    student = choice.student
    if choice.open_case is not None and choice.state is not None:
        await show(
            update,
            open_case_instead(choice.open_case, student, choice.state, t, context.lang),
            [[(t("Open the case"), case_data(choice.open_case.id))]],
        )
        _drafts.forget(context)
        return END
    _drafts.keep(context, ReportDraft(student_id=student.id))
    await show(
        update,
        t(
            "Since when has {student} been absent without reason? Choose, or type a date such "
            "as 3.5 or 2024-03-05."
        ).format(student=student_label(student, t)),
        [[(t("Today"), "rep:d:0"), (t("Yesterday"), "rep:d:1")], REPORT.cancel_row(t)],
    )
    return SINCE


# --- step 2: since when -------------------------------------------------------------------


async def since_button(update: Update, context: KcbxContext) -> int:
    query = pressed(update)
    day = today(context.services) - timedelta(days=int((query.data or "0")[-1]))
    try:
        check_absence_date(context.services, day)
    except ReportProblem as exc:
        await query.answer()
        await reply(update, report_problem(exc, context.gettext, context.lang))
        return SINCE
    return await _since(update, context, day)


async def since_text(update: Update, context: KcbxContext) -> int:
    try:
        day = read_absence_date(context.services, flow.typed_text(update))
    except ReportProblem as exc:
        await reply(update, report_problem(exc, context.gettext, context.lang))
        return SINCE
    return await _since(update, context, day)


async def _since(update: Update, context: KcbxContext, day: date) -> int:
    draft = _drafts.get(context)
    if draft is None:
        return await REPORT.lost(update, context)
    draft.absent_since = day
    return await _causes(update, context, draft, 0)


async def _causes(update: Update, context: KcbxContext, draft: ReportDraft, page: int) -> int:
    """The reason, a page of the causes at a time (six buttons a message)."""
    t = context.gettext
    # "not known yet" first: on the day of the report it is the usual answer (A7.1)
    order = sorted(CAUSES.items(), key=lambda item: item[0] != "unknown")
    buttons = [(t(name), f"rep:r:{code}") for code, name in order]
    rows, alert = REPORT.picker(t, buttons, page, "rep:rp:{}")
    assert draft.absent_since is not None
    await show(
        update,
        t(
            "Absent since {date}. What is the reason? If you do not know it yet, press "
            "“cause not yet known”."
        ).format(date=format_date(draft.absent_since, t, context.lang)),
        rows,
        alert=alert,
    )
    return CAUSE


async def causes_page(update: Update, context: KcbxContext) -> int:
    """rep:rp:{page}"""
    draft = _drafts.get(context)
    if draft is None or draft.absent_since is None:
        return await REPORT.lost(update, context)
    return await _causes(update, context, draft, pressed_number(update))


# --- steps 3-5: reason, guardians, note ----------------------------------------------------


def _choice(
    names: Mapping[str, str],
) -> Callable[[flow.DraftStep[ReportDraft, str]], flow.StepHandler]:
    """A decorator for a step that takes one of ``names``: it gets the draft and the code
    pressed. A draft that is gone, or a code that is not one of ``names``, ends it as lost."""

    def wrap(step: flow.DraftStep[ReportDraft, str]) -> flow.StepHandler:
        async def handler(update: Update, context: KcbxContext) -> int:
            draft, code = _drafts.get(context), flow.pressed_code(update)
            if draft is None or code not in names:
                return await REPORT.lost(update, context)
            return await step(update, context, draft, code)

        return handler

    return wrap


@_choice(CAUSES)
async def cause_button(update: Update, context: KcbxContext, draft: ReportDraft, code: str) -> int:
    draft.cause = code
    t = context.gettext
    rows = [[(t(label), f"rep:g:{code}")] for code, label in CONTACTS.items()]
    rows.append(REPORT.cancel_row(t))
    await show(
        update,
        t("Reason: {cause}").format(cause=t(CAUSES[code]))
        + "\n"
        + t("Have the guardians been phoned? What did they say?"),
        rows,
    )
    return CONTACT


@_choice(CONTACTS)
async def contact_button(
    update: Update, context: KcbxContext, draft: ReportDraft, code: str
) -> int:
    draft.contact = code
    t = context.gettext
    await show(
        update,
        t(CONTACTS[code])
        + "\n"
        + t("Add a short note if you like (what you know, where the child may be), or press Skip."),
        REPORT.note_rows(t),
    )
    return NOTE


async def _unchecked(context: KcbxContext, draft: ReportDraft) -> None:
    """A report is checked again as a whole at its summary and when it is confirmed."""


async def _tell(update: Update, context: KcbxContext, problem: ReportProblem) -> None:
    await reply(update, report_problem(problem, context.gettext, context.lang))


# --- step 6: confirm ----------------------------------------------------------------------


async def _summary(
    update: Update, context: KcbxContext, draft: ReportDraft, _: None, note: str | None
) -> int:
    """After the note (None: skipped): the report to confirm."""
    draft.note = note
    person = require_person(context)
    t = context.gettext
    try:
        student, previous = await preview_report(context.services, person, draft)
    except ReportProblem as exc:
        return await _problem(update, context, exc)
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
    return await REPORT.summary(update, context, text, N_("Confirm"))


async def confirm(update: Update, context: KcbxContext, person: Person, draft: ReportDraft) -> int:
    t = context.gettext
    result = await report_absence(context.services, person, draft)
    _drafts.forget(context)
    button = [[(t("Open the case"), case_data(result.case.id))]]
    if not result.created and result.state is not None:
        text = open_case_instead(result.case, result.student, result.state, t, context.lang)
    else:
        text = report_done(
            result.case, result.student, result.steps, today(context.services), t, context.lang
        )
    await show(update, text, button)
    return END


def register(app: Application) -> None:
    """The report conversation, then an answer for its buttons once it is over."""
    text = REPORT.inputs.text
    entry = filters.Text(button_labels("report")) & filters.ChatType.PRIVATE
    conversation = REPORT.handler(
        [CommandHandler("report", start), MessageHandler(entry, start)],
        {
            STUDENT: [
                CallbackQueryHandler(browse, pattern=r"^rep:(cl:\d+|c:\d+:\d+(:b)?)$"),
                CallbackQueryHandler(pick, pattern=r"^rep:s:\d+$"),
                MessageHandler(text, search),
            ],
            SINCE: [
                CallbackQueryHandler(since_button, pattern=r"^rep:d:[01]$"),
                MessageHandler(text, since_text),
            ],
            CAUSE: [
                CallbackQueryHandler(cause_button, pattern=r"^rep:r:[a-z_]+$"),
                CallbackQueryHandler(causes_page, pattern=r"^rep:rp:\d{1,3}$"),
            ],
            CONTACT: [CallbackQueryHandler(contact_button, pattern=r"^rep:g:[a-z]+$")],
            **REPORT.note_step(
                REPORT.rechecked(_unchecked, ReportProblem, _tell),
                read_note,
                ReportProblem,
                _tell,
                _summary,
            ),
            **REPORT.confirm_step(confirm, ReportProblem, _say_problem),
        },
    )
    REPORT.register(app, conversation)


__all__ = ["register"]
