"""The texts and buttons of the notices to enrol (A7.4) and the orders to correct (A7.5): a
document's title, its buttons and their callback data, what the sweep's reminder adds, the
delivery record's questions and answers, /notices, and the case card's section.

Pure: each takes the person's ``gettext`` (and language); user text is escaped here, case
and document numbers are bold.

Callback data (forgeable: every press re-checks the person's scope): ``ntc:i:{id}`` "Issued",
``ntc:d:{id}`` "Record delivery", ``ntc:f:{id}`` the documents again, ``ntc:v:{id}`` the
receipt photo, ``ntc:r:{id}`` re-issue (``ntc:ry:{id}`` confirms), ``ntc:p:{page}`` /notices.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, tzinfo
from html import escape

from kcbx.bot.domain.caseactions import Buttons
from kcbx.bot.domain.dates import format_date
from kcbx.bot.domain.i18n import N_, Translate
from kcbx.bot.domain.ladder.state import TaskCode
from kcbx.bot.domain.model import Notice
from kcbx.bot.services.notices import (
    KIND_NAMES,
    NOTICE,
    Delivered,
    Issued,
    NoticeError,
    NoticeView,
    Overview,
    Reissued,
)
from kcbx.bot.texts.paging import MAX_BUTTONS, page_buttons

ISSUED_LABEL = N_("Issued (signed and stamped)")
DELIVER_LABEL = N_("Record delivery")
FILES_LABEL = N_("Send the documents again")
RECEIPT_LABEL = N_("Receipt photo")
REISSUE_LABEL = N_("Re-issue with a new number")

Row = list[tuple[str, str]]


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
    notice: Notice, t: Translate, *, files: bool = False, step: str | None = None
) -> tuple[tuple[str, str], ...]:
    """The buttons of a pending document: "Issued" (a draft notice), "Record delivery".
    One owner per step (A7.4): the bureau's ``A7.4-notice`` has "Issued" only, the township
    cadre's ``A7.4-deliver`` "Record delivery" only."""
    row: list[tuple[str, str]] = []
    if notice.kind == NOTICE and notice.status == "drafted" and step != TaskCode.DELIVER:
        row.append((t(ISSUED_LABEL), issue_data(notice.id)))
    if step != TaskCode.NOTICE:
        row.append((t(DELIVER_LABEL), deliver_data(notice.id)))
    if files:
        row.append((t(FILES_LABEL), files_data(notice.id)))
    return tuple(row)


def problem_text(problem: NoticeError, t: Translate, lang: str) -> str:
    """What the person must correct: dates written as people read them, fields escaped."""
    fields = {
        k: format_date(v, t, lang) if isinstance(v, date) else escape(str(v))
        for k, v in problem.params.items()
    }
    return t(problem.message).format(**fields)


def notice_title(view: NoticeView, t: Translate) -> str:
    """``限期入学通知书 <b>沙教控辍〔2024〕1号</b>（<b>张三</b>）``."""
    return t("{title} {number} ({student})").format(
        title=t(KIND_NAMES[view.notice.kind]),
        number=f"<b>{escape(view.notice.number)}</b>",
        student=f"<b>{escape(view.student.name)}</b>",
    )


# --- what the sweep's reminder adds ----------------------------------------------------------


def task_paragraph(
    code: str, notice: Notice, days: int, t: Translate, *, township: str, cited: str | None
) -> str:
    """The paragraph under the reminder of ``A7.4-notice``, ``A7.4-deliver`` or ``A7.5``."""
    number = f"<b>{escape(notice.number)}</b>"
    if code == TaskCode.NOTICE:
        return t(
            "📄 The notice to enrol by a deadline is ready: {number}. Please print it, sign "
            "it and stamp it with the seals of the education bureau and of the {township} "
            "government, then press “Issued”: the township cadre then delivers it to the "
            "guardians, and the {days}-day deadline runs from the day of delivery."
        ).format(number=number, township=escape(township), days=days)
    if code == TaskCode.DELIVER:
        return t(
            "📄 Notice {number} has been issued. Please hand it to the guardians, have them "
            "sign the receipt, then press “Record delivery” and send a photo of the receipt: "
            "the {days}-day deadline runs from the day of delivery."
        ).format(number=number, days=days)
    return t(
        "📄 The deadline of notice {cited} has passed and the child is not back. The order "
        "to correct is ready: {number}. Please reprimand the guardians, hand them the "
        "order, then press “Record delivery” and send a photo of the signed receipt: the "
        "new {days}-day deadline runs from the day of delivery."
    ).format(cited=f"<b>{escape(cited)}</b>" if cited else "—", number=number, days=days)


def document_caption(notice: Notice, student_name: str, what: str, t: Translate) -> str:
    """The caption of a document sent by the sweep (``what``: which file it is)."""
    return t("{title} <b>{number}</b>, {student}: {what}").format(
        title=t(KIND_NAMES[notice.kind]),
        number=escape(notice.number),
        student=escape(student_name),
        what=what,
    )


# --- "Issued", the delivery record, re-issuing -----------------------------------------------


def issued_text(result: Issued, t: Translate, lang: str) -> str:
    title = notice_title(result.view, t)
    if result.already:
        return t("{title} was already recorded as issued.").format(title=title)
    return t(
        "Recorded: {title} issued. Please have it delivered to the guardians by {date}, "
        "then press “Record delivery” and send a photo of the signed receipt."
    ).format(
        title=title,
        date=format_date(result.deliver_by, t, lang) if result.deliver_by else "—",
    )


def delivery_summary(
    view: NoticeView, delivered_on: date, delivered_to: str, deadline: date, t: Translate, lang: str
) -> str:
    """The delivery record to confirm."""
    return "\n".join(
        (
            t("Please check, then save:"),
            notice_title(view, t),
            t("Delivered on: {date}").format(date=format_date(delivered_on, t, lang)),
            t("Received by: {name}").format(name=f"<b>{escape(delivered_to)}</b>"),
            t("Receipt photo: received"),
            t("The deadline will be {date}.").format(
                date=f"<b>{format_date(deadline, t, lang)}</b>"
            ),
        )
    )


def delivery_saved(result: Delivered, delivered_on: date, t: Translate, lang: str) -> str:
    if result.view.notice.kind == NOTICE:
        text = t(
            "Saved: {title} was delivered on {date}. The guardians must send the child back by "
            "{deadline}; if the child is not back when it passes, the order to correct follows "
            "(Article 7)."
        )
    else:
        text = t(
            "Saved: {title} was delivered on {date}. The guardians must correct by {deadline}; "
            "if the child is not back when it passes, you will be reminded to act again "
            "(Article 7)."
        )
    return text.format(
        title=notice_title(result.view, t),
        date=format_date(delivered_on, t, lang),
        deadline=f"<b>{format_date(result.deadline, t, lang)}</b>",
    )


def reissue_question(view: NoticeView, t: Translate) -> tuple[str, Buttons]:
    text = t(
        "Re-issue {title} under a new number? Use this to correct a mistake in it. The "
        "old number stays in the register, marked void; the new notice must be issued "
        "and delivered again, and the deadline runs from its delivery."
    ).format(title=notice_title(view, t))
    return text, (((t("Re-issue"), f"ntc:ry:{view.notice.id}"), (t("Cancel"), "ntc:rn")),)


def reissued_text(done: Reissued, t: Translate) -> str:
    return t("Re-issued: {title} replaces {old}, which is now void. The documents follow.").format(
        title=notice_title(done.view, t), old=f"<b>{escape(done.replaced)}</b>"
    )


# --- /notices --------------------------------------------------------------------------------


def _state(notice: Notice, t: Translate, lang: str) -> str:
    if notice.delivered and notice.deadline is not None:
        return t("delivered {date}, deadline {deadline}").format(
            date=format_date(notice.delivered_on or notice.deadline, t, lang),
            deadline=format_date(notice.deadline, t, lang),
        )
    if notice.status == "issued":
        return t("issued, to be delivered")
    return t("ready, to be issued and delivered")


def _item_rows(index: int, notice: Notice, t: Translate) -> list[Row]:
    """The buttons of one listed document, numbered like its line (two a row at most)."""
    row = []
    if notice.delivered:
        row.append((f"{index}. {t(RECEIPT_LABEL)}", receipt_data(notice.id)))
    else:
        if notice.kind == NOTICE and notice.status == "drafted":
            row.append((f"{index}. {t(ISSUED_LABEL)}", issue_data(notice.id)))
        row.append((f"{index}. {t(DELIVER_LABEL)}", deliver_data(notice.id)))
    row.append((f"{index}. {t(FILES_LABEL)}", files_data(notice.id)))
    extra = row[2:]
    if notice.kind == NOTICE and not notice.replaced:
        extra.append((f"{index}. {t(REISSUE_LABEL)}", reissue_data(notice.id)))
    return [row[:2], extra] if extra else [row[:2]]


def _pages(items: list[NoticeView], t: Translate) -> list[list[int]]:
    """The items of each page of /notices: as many as their buttons fit in a message beside
    the page buttons (six buttons a message, docs/texts.md)."""
    sizes = [sum(len(row) for row in _item_rows(0, view.notice, t)) for view in items]
    room = MAX_BUTTONS if sum(sizes) <= MAX_BUTTONS else MAX_BUTTONS - 2
    pages: list[list[int]] = [[]]
    used = 0
    for index, size in enumerate(sizes):
        if pages[-1] and used + size > room:
            pages.append([])
            used = 0
        pages[-1].append(index)
        used += size
    return pages


def notices_page(found: Overview, page: int, t: Translate, lang: str) -> tuple[str, list[Row]]:
    """A page of /notices: a numbered line and its buttons per document, then the pages."""
    items = [*found.pending, *found.running]
    if not items:
        return t("No notice or order to correct is waiting for you."), []
    pages = _pages(items, t)
    page = max(0, min(page, len(pages) - 1))
    lines = [
        t(
            "Notices and orders to correct: {pending} to issue or deliver, {running} with a "
            "deadline running."
        ).format(pending=len(found.pending), running=len(found.running)),
        "",
    ]
    rows: list[Row] = []
    for index in pages[page]:
        view = items[index]
        state = _state(view.notice, t, lang)
        lines.append(
            t("{n}. {title}, case {number}: {state}").format(
                n=index + 1,
                title=notice_title(view, t),
                number=escape(view.case.number),
                state=state,
            )
        )
        rows += _item_rows(index + 1, view.notice, t)
    if len(pages) > 1:
        lines += ["", t("Page {page} of {pages}").format(page=page + 1, pages=len(pages))]
        rows.append(page_buttons(t, "ntc:p:{}", page, page + 1 < len(pages)))
    return "\n".join(lines), rows


def notices_in_groups(found: Overview, t: Translate) -> str:
    """/notices in a group: counts only (a group never gets a child's name)."""
    return t(
        "Notices and orders to correct: {pending} awaiting issue or delivery, {running} "
        "with a deadline running. Send /notices in a private chat with me to see them."
    ).format(pending=len(found.pending), running=len(found.running))


# --- the case card ---------------------------------------------------------------------------


def _card_line(
    notice: Notice, numbers: Mapping[int, str], issuer: str, t: Translate, lang: str, tz: tzinfo
) -> str:
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
        parts.append(
            t("issued {date} by {name}").format(
                date=format_date(notice.issued_at.astimezone(tz).date(), t, lang),
                name=escape(issuer or "—"),
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
    return "• " + t("; ").join(parts)


def card_section(
    notices: list[Notice], issuers: Mapping[int, str], t: Translate, lang: str, tz: tzinfo
) -> str:
    """Every notice and order of a case with its dates and delivery proof (``issuers``: the
    name of who issued each, by notice id)."""
    numbers = {n.id: n.number for n in notices}
    lines = [t("<b>Notices (Article 7) and orders to correct (Article 7):</b>")]
    lines += [_card_line(n, numbers, issuers.get(n.id, ""), t, lang, tz) for n in notices]
    return "\n".join(lines)
