"""/cases, the case card, and the buttons of reminders: "Received", the task's
action, "Back at school" (A7.6), "Open the case". Telegram glue only: the rules are in
kcbx/bot/services/cases.py and kcbx/bot/domain/caseactions.py.

Every press re-checks the person's scope and that the case is open (the data can be forged);
a press that records something edits the message it was on to say who recorded what, and
takes the pressed button away, so a second press does nothing twice.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import TypeVar

from telegram import CallbackQuery, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from kcbx.bot.domain.capabilities import button_labels
from kcbx.bot.domain.caseactions import (
    CALL_QUESTION,
    CALLBACK_PATTERN,
    RETURN_LABEL,
    CaseCallback,
    ack_data,
    action_button,
    call_buttons,
    case_data,
    department_of,
    do_data,
    follow_up_buttons,
    parse_callback,
    return_data,
)
from kcbx.bot.domain.dates import format_date_time
from kcbx.bot.domain.i18n import Translate
from kcbx.bot.domain.ladder.follow_up import FOLLOW_UP_QUESTION, is_follow_up
from kcbx.bot.domain.ladder.state import ActionKind, TaskCode
from kcbx.bot.domain.model import Person
from kcbx.bot.engine.transport import TransportError
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.cases import (
    ButtonResult,
    Outcome,
    acknowledge,
    case_card,
    confirm_return,
    count_open_cases,
    open_cases_page,
    record_task,
    record_visit,
    snooze,
)
from kcbx.bot.services.visits import VisitLocation, VisitPhotos, visit_locations, visit_photos
from kcbx.bot.texts.cases import (
    card_brief_lines,
    card_lines,
    case_label,
    case_line,
    student_label,
    visit_photos_caption,
    visit_photos_label,
)
from kcbx.bot.texts.paging import pages
from kcbx.bot.texts.taps import closed_line, done_already, done_line, item_of, stale_line
from kcbx.bot.texts.visits import locations_section, map_label
from kcbx.handlers.common import (
    Rows,
    deny,
    edit_message,
    inline,
    is_private,
    note_read,
    pairs,
    pressed,
    reply,
    require_person,
)
from kcbx.handlers.context import KcbxContext
from kcbx.handlers.jobs import kick_delivery
from kcbx.handlers.transport import TelegramTransport

log = logging.getLogger(__name__)
T = TypeVar("T")

PER_PAGE = 4  # cases a page, beside ‹ Previous and Next ›: six buttons at most
MAX_TEXT = 4096
MAX_CAPTION = 1024


# --- /cases ----------------------------------------------------------------------------------


async def list_cases(update: Update, context: KcbxContext) -> None:
    """/cases and the "My cases" button: the person's open cases, paged. Groups get a count."""
    person = require_person(context)
    t = context.gettext
    if not is_private(update):
        count = await count_open_cases(context.services, person)
        await reply(
            update,
            t(
                "Open cases in your scope: {count}. Send /cases in a private chat with me to "
                "see them."
            ).format(count=count),
        )
        return
    await _cases_page(update, context, 0)


async def cases_page_button(update: Update, context: KcbxContext) -> None:
    query = pressed(update)
    if not is_private(update):
        await query.answer(context.gettext("Please open cases in a private chat with me."))
        return
    match = re.match(r"^cases:(\d{1,6})$", query.data or "")
    if match is None:
        await query.answer(context.gettext("This button is no longer valid."))
        return
    await _cases_page(update, context, int(match.group(1)))


async def _cases_page(update: Update, context: KcbxContext, page: int) -> None:
    person = require_person(context)
    t = context.gettext
    result = await open_cases_page(context.services, person, page, PER_PAGE)
    policy = context.services.policy
    if not result.total:
        text = t("You have no open cases.")
        rows: Rows = []
    else:
        lines = [t("Your open cases ({total}):").format(total=result.total), ""]
        rows = []
        for line in result.lines:
            lines.append(
                case_line(
                    line.case, line.student, line.state, line.next_task, t, context.lang, policy
                )
            )
            rows.append(
                [(case_label(line.case.number, line.student.name, t), case_data(line.case.id))]
            )
            await note_read(
                update, context, "list", "case", line.case.id, student_id=line.student.id
            )
        if result.pages > 1:
            lines += ["", t("Page {page} of {pages}").format(page=page + 1, pages=result.pages)]
            nav = []
            if result.page > 0:
                nav.append((t("‹ Previous"), f"cases:{result.page - 1}"))
            if result.page + 1 < result.pages:
                nav.append((t("Next ›"), f"cases:{result.page + 1}"))
            rows.append(nav)
        text = pages(lines, MAX_TEXT - 100)[0]
    query = update.callback_query
    if query is not None and isinstance(query.message, Message):
        await query.answer()
        with suppress(BadRequest):  # unchanged: the same page again
            await query.message.edit_text(
                text, parse_mode=ParseMode.HTML, reply_markup=inline(rows) if rows else None
            )
        return
    await reply(update, text, inline(rows) if rows else None)


# --- the case card ---------------------------------------------------------------------------


MAX_BUTTONS = 6  # a message's buttons, as a phone shows them


async def _show_card(
    update: Update, context: KcbxContext, case_id: int, *, details: bool = False
) -> None:
    """The brief card (at most 11 lines) with [Details]; ``details``: the whole record."""
    person = require_person(context)
    t = context.gettext
    query = update.callback_query
    services = context.services
    card = await case_card(services, person, case_id, t, context.lang)
    if card is None:
        await deny(update, context)
        return
    await note_read(update, context, "card", "case", card.case.id, student_id=card.student.id)
    if query is not None:
        await query.answer()
    rows: Rows = []
    buttons = []
    for code in card.recordable:
        button = action_button(card.case.id, code, t)
        if button is not None and button not in buttons:
            buttons.append(button)
    fixed = [(t("« My cases"), "cases:0")]
    if not details:
        fixed.insert(0, (t("Details"), f"cdet:{card.case.id}"))
    else:
        if pins := len(await visit_locations(services, person, case_id) or []):
            fixed.insert(0, (map_label(pins, t), f"cvloc:{card.case.id}"))
        found = await visit_photos(services, person, case_id) or []
        if count := sum(len(v.file_ids) for v in found):
            fixed.insert(0, (visit_photos_label(count, t), f"cvph:{card.case.id}"))
    if card.can_return:
        buttons.append((t(RETURN_LABEL), return_data(card.case.id)))
    rows += pairs(buttons[: MAX_BUTTONS - len(fixed)])
    rows.append(fixed)
    policy = context.services.policy
    render = card_lines if details else card_brief_lines
    chunks = pages(render(card, t, context.lang, policy))
    for index, chunk in enumerate(chunks):
        last = index == len(chunks) - 1
        await reply(update, chunk, inline(rows) if last else None)


# --- buttons on reminders ----------------------------------------------------------------------


async def details_button(update: Update, context: KcbxContext) -> None:
    """cdet:<case>: the whole card (every task, the history, referrals, notices)."""
    query = pressed(update)
    if not is_private(update):
        await query.answer(
            context.gettext("Please open cases in a private chat with me."), show_alert=True
        )
        return
    await _show_card(update, context, int((query.data or "").split(":")[1]), details=True)


async def _evidence(
    update: Update,
    context: KcbxContext,
    what: str,
    fetch: Callable[[Services, Person, int], Awaitable[list[T] | None]],
    send: Callable[[TelegramTransport, int, T], Awaitable[None]],
    failed: str,
) -> None:
    """A press for a case's evidence again (cvph:, cvloc:): in a private chat only, the scope
    checked again, the reading noted in the audit log with the child (PIPL art. 28-31), as
    opening the card is; then each item found is sent, one not sent is logged (``failed``)."""
    query = pressed(update)
    t = context.gettext
    if not is_private(update):  # groups get counts, never a child's photos or whereabouts
        await query.answer(t("Please open cases in a private chat with me."), show_alert=True)
        return
    person = require_person(context)
    case_id = int((query.data or "").split(":")[1])
    found = await fetch(context.services, person, case_id)
    if found is None:
        await deny(update, context)
        return
    await query.answer()
    case = await context.services.cases.get(case_id)
    student_id = case.student_id if case is not None else None
    await note_read(update, context, what, "case", case_id, student_id=student_id)
    assert update.effective_chat is not None  # a private chat (checked above)
    chat_id = update.effective_chat.id
    transport = TelegramTransport(context.bot)
    for item in found:
        try:
            await send(transport, chat_id, item)
        except TransportError as exc:
            log.info(failed, case_id, exc)


async def photos_button(update: Update, context: KcbxContext) -> None:
    """cvph:<case>: the case's visit photos again, an album per visit."""
    t, lang, policy = context.gettext, context.lang, context.services.policy

    async def send(transport: TelegramTransport, chat_id: int, visit: VisitPhotos) -> None:
        caption = visit_photos_caption(visit.action.at, visit.recorder, t, lang, policy)
        await transport.send_album(chat_id, visit.file_ids, caption)

    failed = "could not send visit photos of case %s: %s"
    await _evidence(update, context, "visit_photos", visit_photos, send, failed)


async def map_button(update: Update, context: KcbxContext) -> None:
    """cvloc:<case>: each visit's map pin again, under the line naming the visit and the
    village it is near."""
    t, lang, policy = context.gettext, context.lang, context.services.policy

    async def send(transport: TelegramTransport, chat_id: int, visit: VisitLocation) -> None:
        point = visit.place.point
        await transport.send_text(chat_id, locations_section([visit], t, lang, policy) or "")
        await transport.send_location(chat_id, point.latitude, point.longitude)

    failed = "could not send the pin of case %s: %s"
    await _evidence(update, context, "visit_locations", visit_locations, send, failed)


async def case_button(update: Update, context: KcbxContext) -> None:
    """ack:/do:/cal:/fu:/snz:/ret:/case: (see kcbx/bot/domain/caseactions.py)."""
    query = pressed(update)
    person = require_person(context)
    t = context.gettext
    press = parse_callback(query.data)
    if press is None:
        await query.answer(t("This button is no longer valid."), show_alert=True)
        return
    if not is_private(update):  # groups get counts, never a child's name
        await query.answer(t("Please open cases in a private chat with me."), show_alert=True)
        return
    services = context.services
    if press.verb == "case":
        await _show_card(update, context, press.case_id)
        return
    if press.verb == "ack":
        assert press.arg is not None
        result = await acknowledge(services, person, press.case_id, press.arg)
    elif press.verb == "snz":
        assert press.arg is not None and press.option is not None
        result = await snooze(services, person, press.case_id, press.arg, press.option)
        await _snoozed(update, context, press, result)
        return
    elif press.verb == "cal":
        result = await record_task(
            services, person, press.case_id, TaskCode.CALL, outcome=press.arg
        )
    elif press.verb == "fu":  # A4.2: what the check-in came to
        assert press.arg is not None
        result = await record_task(services, person, press.case_id, press.arg, outcome=press.option)
    elif press.verb == "do":
        assert press.arg is not None
        result = await record_task(services, person, press.case_id, press.arg)
    elif press.verb == "ret" and press.arg == "n":  # "Not yet": nothing to record
        await query.answer()
        await _edit(query, t("Not confirmed; the case stays open."), lambda _: True, replace=True)
        return
    else:
        result = await confirm_return(services, person, press.case_id, confirmed=press.arg == "y")
    await _answer(update, context, press, result)


async def _snoozed(
    update: Update, context: KcbxContext, press: CaseCallback, result: ButtonResult
) -> None:
    """Answer "remind me later": when the reminder comes back; its buttons go."""
    query = update.callback_query
    assert query is not None
    t = context.gettext
    if result.outcome is not Outcome.RECORDED or result.at is None:
        await _answer(update, context, press, result)
        return
    policy = context.services.policy
    local = result.at.astimezone(policy.time.tz)
    when = format_date_time(local, t, context.lang)
    await query.answer(t("I will remind you again at {when}.").format(when=when))
    await _edit(query, None, lambda data: data.startswith(f"snz:{press.case_id}:"))


async def visit_button(update: Update, context: KcbxContext) -> None:
    """vis: until the visits feature handles it: record a plain home visit (A7.1)."""
    query = pressed(update)
    person = require_person(context)
    press = parse_callback(query.data)
    if press is None or not is_private(update):
        await query.answer(context.gettext("This button is no longer valid."), show_alert=True)
        return
    result = await record_visit(context.services, person, press.case_id)
    await _answer(update, context, press, result)


async def _answer(
    update: Update, context: KcbxContext, press: CaseCallback, result: ButtonResult
) -> None:
    """Answer the press and bring the message it was on up to date: what was done, by whom,
    at the press's time; a press that came too late says what happened instead, and the
    message loses its dead buttons (docs/texts.md, "On a phone")."""
    query = pressed(update)
    t = context.gettext
    outcome, case = result.outcome, result.case
    if outcome is Outcome.DENIED or case is None:
        await deny(update, context)
        return
    if outcome is Outcome.NOT_ALLOWED:
        await query.answer(t("Your role cannot record this step."), show_alert=True)
        return
    if outcome is Outcome.CONFIRM:
        await _confirm(update, query, press, result, t)
        return
    policy, now = context.services.policy, context.services.clock.now()
    code = _task_code(press)
    if outcome is Outcome.STALE:
        await query.answer(
            t("This is no longer to be done: nothing was recorded."), show_alert=True
        )
        if _label_of(_reminder_of(query, press), code, case.id) is not None:
            await _edit(query, stale_line(code, t), _of_task(case.id, code))
        return
    if outcome is Outcome.CLOSED:
        await query.answer(
            t("Case {number} is closed.").format(number=case.number), show_alert=True
        )
        closed = closed_line(case, now, t, context.lang, policy)
        await _edit(query, closed, _of_case(case.id))
        return
    line = None
    if result.kind and result.at is not None:
        item = item_of(_label_of(_reminder_of(query, press), code, case.id))
        by, lang = result.by or "", context.lang
        line = done_line(
            result.kind,
            by,
            result.at,
            now,
            t,
            lang,
            policy,
            item=item,
            task_code=code or None,
            student=result.student,
        )
    if outcome is Outcome.ALREADY:
        answer = done_already(result.kind, result.by or "", result.at, now, t, context.lang, policy)
        await query.answer(answer, show_alert=True)
    else:
        await query.answer(t("Recorded."))
    await _bring_up_to_date(query, press, result, code, line, t)
    if result.queued:
        kick_delivery(context.application)


def _task_code(press: CaseCallback) -> str:
    """The task a press acts on ("" for a visit or a return, which name no task)."""
    if press.verb == "cal":
        return TaskCode.CALL
    return press.arg or "" if press.verb in ("ack", "do", "fu", "snz") else ""


def _of_case(case_id: int) -> Callable[[str], bool]:
    """The buttons that act on a case (dead once it is closed), not its card, nor another
    case's buttons on the same list."""
    acting = re.compile(rf"^(ack|do|cal|fu|snz|ret|vis):{case_id}(:|$)")
    return lambda data: acting.match(data) is not None


def _of_task(case_id: int, code: str) -> Callable[[str], bool]:
    """The buttons that act on one task of a case (dead once it is done or gone)."""
    done = {ack_data(case_id, code), do_data(case_id, code), f"vis:{case_id}"}
    department = department_of(code) is not None

    def dead(data: str) -> bool:
        return (
            data in done
            or data.startswith(f"snz:{case_id}:{code}:")
            or (department and data.startswith("ref:a:"))  # acting accepts the referral (A6)
        )

    return dead


def _reminder_of(query: CallbackQuery, press: CaseCallback) -> Message | None:
    """The message with the task's buttons: the pressed one, or the reminder a call's
    question (cal:, fu:) or a return's confirmation (ret:) answers."""
    message = query.message if isinstance(query.message, Message) else None
    if message is not None and press.verb in ("cal", "fu", "ret"):
        return message.reply_to_message or message
    return message


def _label_of(message: Message | None, code: str, case_id: int) -> str | None:
    """The label of the task's button on ``message`` ("2.收到"), to name the item."""
    if message is None or message.reply_markup is None:
        return None
    wanted = _of_task(case_id, code)
    for row in message.reply_markup.inline_keyboard:
        for button in row:
            if button.callback_data is not None and wanted(str(button.callback_data)):
                return button.text
    return None


async def _bring_up_to_date(
    query: CallbackQuery,
    press: CaseCallback,
    result: ButtonResult,
    code: str,
    line: str | None,
    t: Translate,
) -> None:
    """Edit the pressed message (and the reminder it answers) after a recorded press."""
    case = result.case
    assert case is not None
    original = _reminder_of(query, press)
    if press.verb == "ret":  # the confirmation, and the reminder it answered
        closed = t("Case <b>{number}</b> is closed.").format(number=case.number)
        await _edit(query, f"{line}\n{closed}" if line else closed, lambda _: True, replace=True)
        if original is not None and original is not query.message:
            await edit_message(original, line, lambda data: data != case_data(case.id))
        return
    dead = _of_task(case.id, code)
    if press.verb == "ack" and result.kind == ActionKind.ACKNOWLEDGED:
        only = ack_data(case.id, code)
        dead = only.__eq__
    if press.verb in ("cal", "fu"):  # the question answered, and the reminder it came from
        await _edit(query, line, lambda _: True, replace=True)
        if original is not None and original is not query.message:
            await edit_message(original, line, dead)
        return
    await _edit(query, line, dead)


async def _confirm(
    update: Update, query: CallbackQuery, press: CaseCallback, result: ButtonResult, t: Translate
) -> None:
    """A press that needs one more answer: the call's outcome, or that the child is back."""
    case = result.case
    assert case is not None
    if press.verb == "do" and is_follow_up(press.arg):  # A4.2: how is the child doing?
        await query.answer()
        buttons = follow_up_buttons(case.id, press.arg or "", t)
        await reply(update, t(FOLLOW_UP_QUESTION), inline(buttons), quote=True)
        return
    if press.verb == "do":  # a call: reached? what was said?
        await query.answer()
        await reply(update, t(CALL_QUESTION), inline(call_buttons(case.id, t)), quote=True)
        return
    await query.answer()
    student = result.student
    assert student is not None
    await reply(
        update,
        t(
            "Confirm that {student} is back at school? This closes case <b>{number}</b> "
            "and stops its reminders (Article 7)."
        ).format(student=student_label(student, t), number=case.number),
        inline(
            [
                [
                    (t("Yes, back at school"), return_data(case.id, "y")),
                    (t("Not yet"), return_data(case.id, "n")),
                ]
            ]
        ),
        quote=True,
    )


async def _edit(
    query: CallbackQuery,
    line: str | None,
    drop: Callable[[str], bool],
    *,
    replace: bool = False,
) -> None:
    if isinstance(query.message, Message):
        await edit_message(query.message, line, drop, replace=replace)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("cases", list_cases))
    app.add_handler(MessageHandler(filters.Text(button_labels("cases")), list_cases))
    app.add_handler(CallbackQueryHandler(cases_page_button, pattern=r"^cases:"))
    app.add_handler(CallbackQueryHandler(case_button, pattern=CALLBACK_PATTERN))
    app.add_handler(CallbackQueryHandler(details_button, pattern=r"^cdet:\d+$"))
    app.add_handler(CallbackQueryHandler(photos_button, pattern=r"^cvph:\d+$"))
    app.add_handler(CallbackQueryHandler(map_button, pattern=r"^cvloc:\d+$"))


def register_visit_fallback(app: Application) -> None:
    """``vis:`` for as long as no visits feature answers it (register after the features:
    the first handler that matches in a group wins)."""
    app.add_handler(CallbackQueryHandler(visit_button, pattern=r"^vis:"))


__all__ = ["register", "register_visit_fallback"]
