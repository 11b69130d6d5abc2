"""How the notices plug into the sweep and the case card (A7.4, A7.5).

* ``A7.4-notice`` (day 15; the bureau issues, 签发): the reminder comes with the notice,
  numbered, as a PDF (for phones) and a .docx (for the office), and the button "Issued".
* ``A7.4-deliver`` (once issued; the township cadre delivers, 送达): a task of its own; the
  reminder carries "Record delivery" (and the PDF for the cadre). One owner per step.
* ``A7.5`` and ``A7.5-again`` (the deadline passed, the child still away): the order to
  correct, in its own number series, with the same buttons.

The reminder's own text and buttons (:mod:`kcbx.bot.texts.reminders`) stay; the notice adds a
paragraph, its buttons and the files. Someone the task reaches who may not issue notices (a
district leader the task was escalated to) gets the generic reminder: the renderer returns
nothing for them. Files go with the first message a person gets about the task; later
rounds offer "Send the documents again" instead of sending them every time.
"""

from __future__ import annotations

from kcbx.bot.domain.i18n import Translate
from kcbx.bot.domain.ladder.due import DueTask
from kcbx.bot.domain.ladder.state import TaskCode
from kcbx.bot.domain.model import Case, Notice
from kcbx.bot.engine.notice_files import FileToRender
from kcbx.bot.runtime.services import Services, TaskHooks
from kcbx.bot.services.notices import (
    CORRECTION,
    NOTICE,
    deadline_days,
    may_handle_notices,
    number_document,
)
from kcbx.bot.texts.notices import card_section as card_notices
from kcbx.bot.texts.notices import document_caption, notice_buttons, task_paragraph
from kcbx.bot.texts.reminders import language_of, reminder_message
from kcbx.storage.outbox import OutgoingMessage

MAX_CAPTION = 1024  # Telegram's limit for a caption


def document_files(notice: Notice, student_name: str, t: Translate) -> list[OutgoingMessage]:
    """The PDF and the .docx owed, with short captions: rendered and sent off the sweep
    (:mod:`kcbx.bot.engine.notice_files`)."""
    out: list[OutgoingMessage] = []
    for file_format, what in (
        ("pdf", t("PDF, to read on the phone and print")),
        ("docx", t("Word, for the office to edit and print")),
    ):
        caption = document_caption(notice, student_name, what, t)
        out.append(
            FileToRender(
                text=caption[:MAX_CAPTION],
                kind="document",
                notice_id=notice.id,
                file_format=file_format,
            )
        )
    return out


def _first_for_person(due: DueTask) -> bool:
    """Whether this is the first message this person gets about the task."""
    return due.round <= 1 or bool(due.reason)


async def _township_name(services: Services, due: DueTask) -> str:
    unit = due.student.household_unit_id
    township = await services.units.nearest(unit, "township") if unit is not None else None
    return township.name if township else ""


async def render_notice_task(
    services: Services, due: DueTask, gettext: Translate
) -> list[OutgoingMessage]:
    """Renderer of A7.4-notice, A7.4-deliver, A7.5 and A7.5-again (see the module docstring)."""
    t = gettext
    place = await services.students.place(due.student.id)
    if place is None or not may_handle_notices(due.recipient, place):
        return []  # the generic reminder
    code = due.task.code
    if code == TaskCode.DELIVER:
        current = await services.notices.current(due.case.id, NOTICE)
        if current is None or current.delivered:
            return []
        notice = current
    else:
        kind = NOTICE if code == TaskCode.NOTICE else CORRECTION
        prepared = await number_document(services, due.case, kind, task=code)
        if prepared is None:
            return []
        notice = prepared
    lang = language_of(due.recipient, services.config.default_language)
    school = await services.units.get(due.student.school_id)
    reminder = reminder_message(
        due, school.name if school else "", services.policy, t, lang, cc=False
    )
    days = deadline_days(notice.kind, services.policy)
    township = await _township_name(services, due) if code == TaskCode.NOTICE else ""
    cited = None
    if code not in (TaskCode.NOTICE, TaskCode.DELIVER) and notice.cites_id:
        cited_notice = await services.notices.get(notice.cites_id)
        cited = cited_notice.number if cited_notice else None
    paragraph = task_paragraph(code, notice, days, t, township=township, cited=cited)
    with_files = _first_for_person(due) and (
        code != TaskCode.DELIVER or due.recipient.role == due.task.role
    )
    files_button = not with_files
    buttons = (notice_buttons(notice, t, files=files_button, step=code), *reminder.buttons)
    messages = [OutgoingMessage(text=reminder.text + "\n\n" + paragraph, buttons=buttons)]
    if with_files:  # rendered and queued off the sweep (kcbx.bot.engine.notice_files)
        files = document_files(notice, due.student.name, t)
        messages += files[:1] if code == TaskCode.DELIVER else files
    return messages


# --- the case card ---------------------------------------------------------------------------


async def card_section(services: Services, case: Case, gettext: Translate, lang: str) -> str | None:
    """Card section: every notice and order of the case with its dates and delivery proof."""
    t = gettext
    notices = await services.notices.of_case(case.id)
    if not notices:
        return None
    issuers = {}
    for notice in notices:
        if notice.issued_at is not None:
            issuer = await services.people.get(notice.issued_by) if notice.issued_by else None
            issuers[notice.id] = issuer.name if issuer else ""
    return card_notices(notices, issuers, t, lang, services.policy.time.tz)


def register(hooks: TaskHooks) -> None:
    """The notices' renderers (A7.4, A7.5) and card section."""
    hooks.renderer(TaskCode.NOTICE.value, render_notice_task)
    hooks.renderer(TaskCode.DELIVER.value, render_notice_task)
    hooks.renderer(TaskCode.CORRECTION.value, render_notice_task)  # and A7.5-again
    hooks.card_section(card_section)
