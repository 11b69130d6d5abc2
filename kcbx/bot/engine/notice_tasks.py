"""How the notices plug into the sweep and the case card (A7.4, A7.5).

* ``A7.4-notice`` (day 15; the bureau, cc the township): the reminder comes with the notice,
  numbered, as a PDF (for phones) and a .docx (for the office), and the buttons "Issued" and
  "Record delivery".
* ``A7.4-deliver`` (after issue; the township cadre, cc the bureau): an undelivered notice is
  a task of its own; the reminder carries "Record delivery" (and the PDF for the cadre).
* ``A7.5`` and ``A7.5-again`` (the deadline passed, the child still away): the order to
  correct, in its own number series, with the same buttons.

The reminder's own text and buttons (:mod:`kcbx.bot.texts.reminders`) stay; the notice adds a
paragraph, its buttons and the files. Someone the task reaches who may not issue notices (a
district leader the task was escalated to) gets the generic reminder: the renderer returns
nothing for them. Files go with the first message a person gets about the task; later
rounds offer "Send the documents again" instead of sending them every time.
"""

from __future__ import annotations

from html import escape

from kcbx.bot.domain.dates import format_date
from kcbx.bot.domain.due import DueTask
from kcbx.bot.domain.i18n import N_, Translate
from kcbx.bot.domain.ladder import TaskCode
from kcbx.bot.domain.model import Case, Notice
from kcbx.bot.runtime.services import Services, TaskHooks
from kcbx.bot.services.notices import (
    CORRECTION,
    KIND_NAMES,
    NOTICE,
    deadline_days,
    may_handle_notices,
    prepare_document,
    record_export,
    render_documents,
)
from kcbx.bot.texts.reminders import language_of, reminder_message
from kcbx.storage.outbox import OutgoingMessage

ISSUED_LABEL = N_("Issued (signed and stamped)")
DELIVER_LABEL = N_("Record delivery")
FILES_LABEL = N_("Send the documents again")
RECEIPT_LABEL = N_("Receipt photo")
REISSUE_LABEL = N_("Re-issue with a new number")

MAX_CAPTION = 1024  # Telegram's limit for a caption


def issue_data(notice_id: int) -> str:
    return f"ntc:i:{notice_id}"


def deliver_data(notice_id: int) -> str:
    return f"ntc:d:{notice_id}"


def files_data(notice_id: int) -> str:
    return f"ntc:f:{notice_id}"


def receipt_data(notice_id: int) -> str:
    return f"ntc:v:{notice_id}"


def reissue_data(notice_id: int) -> str:
    return f"ntc:r:{notice_id}"


def notice_buttons(
    notice: Notice, t: Translate, *, files: bool = False
) -> tuple[tuple[str, str], ...]:
    """The buttons of a pending document: "Issued" (a draft notice), "Record delivery"."""
    row: list[tuple[str, str]] = []
    if notice.kind == NOTICE and notice.status == "drafted":
        row.append((t(ISSUED_LABEL), issue_data(notice.id)))
    row.append((t(DELIVER_LABEL), deliver_data(notice.id)))
    if files:
        row.append((t(FILES_LABEL), files_data(notice.id)))
    return tuple(row)


def document_messages(notice: Notice, student_name: str, t: Translate) -> list[OutgoingMessage]:
    """The PDF and the .docx as document messages, with short captions."""
    title = t(KIND_NAMES[notice.kind])
    out = []
    for blob_id, what in (
        (notice.pdf_blob_id, t("PDF, to read on the phone and print")),
        (notice.docx_blob_id, t("Word, for the office to edit and print")),
    ):
        if blob_id is None:
            continue
        caption = t("{title} <b>{number}</b>, {student}: {what}").format(
            title=title,
            number=escape(notice.number),
            student=escape(student_name),
            what=what,
        )
        out.append(OutgoingMessage(text=caption[:MAX_CAPTION], blob_id=blob_id, kind="document"))
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
        notice = await render_documents(services, current)
    else:
        kind = NOTICE if code == TaskCode.NOTICE else CORRECTION
        prepared = await prepare_document(services, due.case, kind, task=code)
        if prepared is None:
            return []
        notice = prepared
    lang = language_of(due.recipient, services.config.default_language)
    school = await services.units.get(due.student.school_id)
    reminder = reminder_message(
        due, school.name if school else "", services.policy, t, lang, cc=False
    )
    days = deadline_days(notice.kind, services.policy)
    number = f"<b>{escape(notice.number)}</b>"
    if code == TaskCode.NOTICE:
        paragraph = t(
            "📄 The notice to enrol by a deadline is ready: {number}. Please print it, sign "
            "it and stamp it with the seals of the education bureau and of the {township} "
            "government, then press “Issued”. When the guardians have received it, press "
            "“Record delivery” and send a photo of the signed receipt: the {days}-day "
            "deadline runs from the day of delivery."
        ).format(number=number, township=escape(await _township_name(services, due)), days=days)
    elif code == TaskCode.DELIVER:
        paragraph = t(
            "📄 Notice {number} has been issued. Please hand it to the guardians, have them "
            "sign the receipt, then press “Record delivery” and send a photo of the receipt: "
            "the {days}-day deadline runs from the day of delivery."
        ).format(number=number, days=days)
    else:
        cited = await services.notices.get(notice.cites_id) if notice.cites_id else None
        paragraph = t(
            "📄 The deadline of notice {cited} has passed and the child is not back. The order "
            "to correct is ready: {number}. Please reprimand the guardians, hand them the "
            "order, then press “Record delivery” and send a photo of the signed receipt: the "
            "new {days}-day deadline runs from the day of delivery."
        ).format(cited=f"<b>{escape(cited.number)}</b>" if cited else "—", number=number, days=days)
    with_files = _first_for_person(due) and (
        code != TaskCode.DELIVER or due.recipient.role == due.task.role
    )
    buttons = (notice_buttons(notice, t, files=not with_files), *reminder.buttons)
    messages = [OutgoingMessage(text=reminder.text + "\n\n" + paragraph, buttons=buttons)]
    if with_files:
        files = document_messages(notice, due.student.name, t)
        messages += files[:1] if code == TaskCode.DELIVER else files
        await record_export(services, notice, due.recipient, "sweep")
    return messages


# --- the case card ---------------------------------------------------------------------------


async def card_section(services: Services, case: Case, gettext: Translate, lang: str) -> str | None:
    """Card section: every notice and order of the case with its dates and delivery proof."""
    t = gettext
    notices = await services.notices.of_case(case.id)
    if not notices:
        return None
    numbers = {n.id: n.number for n in notices}
    lines = [t("<b>Notices (A7.4) and orders to correct (A7.5):</b>")]
    for notice in notices:
        parts = [
            t("{title} {number}, dated {date}").format(
                title=t(KIND_NAMES[notice.kind]),
                number=f"<b>{escape(notice.number)}</b>",
                date=format_date(notice.issue_date, t, lang),
            )
        ]
        if notice.replaces_id is not None:
            parts.append(
                t("replaces {number}").format(number=escape(numbers.get(notice.replaces_id, "")))
            )
        if notice.issued_at is not None:
            issuer = await services.people.get(notice.issued_by) if notice.issued_by else None
            parts.append(
                t("issued {date} by {name}").format(
                    date=format_date(services.policy.time.local_date(notice.issued_at), t, lang),
                    name=escape(issuer.name if issuer else "—"),
                )
            )
        if notice.delivered_on is not None:
            parts.append(
                t("delivered {date} to {name}").format(
                    date=format_date(notice.delivered_on, t, lang),
                    name=escape(notice.delivered_to or "—"),
                )
            )
            if notice.receipt_blob_id is not None:
                parts.append(t("signed receipt photo kept"))
        if notice.deadline is not None:
            parts.append(t("deadline {date}").format(date=format_date(notice.deadline, t, lang)))
        if notice.replaced:
            parts.append(t("void: replaced by a new number"))
        elif notice.delivered_on is None:
            parts.append(t("not delivered yet"))
        lines.append("• " + t("; ").join(parts))
    return "\n".join(lines)


def register(hooks: TaskHooks) -> None:
    """The notices' renderers (A7.4, A7.5) and card section."""
    hooks.renderer(TaskCode.NOTICE.value, render_notice_task)
    hooks.renderer(TaskCode.DELIVER.value, render_notice_task)
    hooks.renderer(TaskCode.CORRECTION.value, render_notice_task)  # and A7.5-again
    hooks.card_section(card_section)
