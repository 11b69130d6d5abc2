"""/inbox: a department liaison's referrals (A6, A9), paged; accept one, see what it needs,
record the department's action. The liaison sees no other case: every press is
checked against the referral's department (kcbx/bot/services/referrals.py)."""

from __future__ import annotations

from contextlib import suppress
from html import escape

from telegram import Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from kcbx.bot.domain.capabilities import button_labels
from kcbx.bot.domain.caseactions import visit_data
from kcbx.bot.domain.policy import CAUSES
from kcbx.bot.domain.roles import Role
from kcbx.bot.services.referrals import (
    CASE_STATUS_NAMES,
    STATUS_NAMES,
    ReferralRefused,
    accept_data,
    accept_referral,
    detail_data,
    inbox_page,
    page_data,
    referral_card,
)
from kcbx.handlers.common import deny, inline, is_private, note_read, reply, require_person
from kcbx.handlers.context import KcbxContext

PER_PAGE = 5


async def show_inbox(update: Update, context: KcbxContext) -> None:
    """/inbox or the keyboard button: the first page."""
    await _page(update, context, 0)


async def page_button(update: Update, context: KcbxContext) -> None:
    """ref:p:{offset}"""
    query = update.callback_query
    assert query is not None
    await _page(update, context, int((query.data or "").rsplit(":", 1)[1]))


async def _page(update: Update, context: KcbxContext, offset: int) -> None:
    person = require_person(context)
    t = context.gettext
    if person.role != Role.DEPARTMENT_LIAISON or not is_private(update):
        await deny(update, context)
        return
    try:
        found = await inbox_page(context.services, person, offset, PER_PAGE)
    except ReferralRefused:
        await deny(update, context)
        return
    if not found.items:
        await reply(update, t("No cases are referred to your department."))
        return
    lines = [
        t("<b>Referrals to your department</b> ({first}-{last} of {total})").format(
            first=found.offset + 1, last=found.offset + len(found.items), total=found.total
        )
    ]
    rows: list[list[tuple[str, str]]] = []
    for number, item in enumerate(found.items, start=1):
        referral = item.referral
        lines.append(
            t("{n}. <b>{number}</b> {name}: {cause}; {status}; case {case_status}").format(
                n=number,
                number=escape(item.case_number),
                name=escape(item.student_name),
                cause=t(CAUSES.get(item.cause, CAUSES["other"])),
                status=t(STATUS_NAMES[referral.status]),
                case_status=t(CASE_STATUS_NAMES.get(item.case_status, item.case_status)),
            )
        )
        row = [(t("{n}. Details").format(n=number), detail_data(referral.id))]
        if referral.status == "open":
            row.append((t("{n}. Accept").format(n=number), accept_data(referral.id)))
        if item.case_status == "open" and referral.status != "closed":
            row.append((t("{n}. Record").format(n=number), visit_data(referral.case_id)))
        rows.append(row)
    nav = []
    if found.offset > 0:
        nav.append((t("‹ Previous"), page_data(max(0, found.offset - PER_PAGE))))
    if found.offset + PER_PAGE < found.total:
        nav.append((t("Next ›"), page_data(found.offset + PER_PAGE)))
    if nav:
        rows.append(nav)
    text, markup = "\n".join(lines), inline(rows)
    query = update.callback_query
    if query is not None and isinstance(query.message, Message):
        await query.answer()
        with suppress(BadRequest):
            await query.message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
        return
    await reply(update, text, markup)


async def accept_button(update: Update, context: KcbxContext) -> None:
    """ref:a:{referral_id}: the department takes the case on (checked: its own referral)."""
    person = require_person(context)
    t = context.gettext
    query = update.callback_query
    assert query is not None
    try:
        accepted = await accept_referral(
            context.services, person, int((query.data or "").rsplit(":", 1)[1])
        )
    except ReferralRefused:
        await deny(update, context)
        return
    if accepted:
        await query.answer(t("Accepted. Please record what your department does."))
    else:
        await query.answer(t("This referral was accepted already."))


async def detail_button(update: Update, context: KcbxContext) -> None:
    """ref:d:{referral_id}: what the department needs to know (and nothing more)."""
    person = require_person(context)
    t = context.gettext
    query = update.callback_query
    assert query is not None
    if not is_private(update):
        await deny(update, context)
        return
    try:
        text, referral = await referral_card(
            context.services, person, int((query.data or "").rsplit(":", 1)[1]), t, context.lang
        )
    except ReferralRefused:
        await deny(update, context)
        return
    await note_read(update, context, "card", "case", referral.case_id)
    await query.answer()
    row = []
    if referral.status == "open":
        row.append((t("Accept"), accept_data(referral.id)))
    row.append((t("Record our action"), visit_data(referral.case_id)))
    await reply(update, text, inline([row]))


def register(app: Application) -> None:
    entry = filters.Text(button_labels("inbox")) & filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("inbox", show_inbox))
    app.add_handler(MessageHandler(entry, show_inbox))
    app.add_handler(CallbackQueryHandler(page_button, pattern=r"^ref:p:\d{1,6}$"))
    app.add_handler(CallbackQueryHandler(accept_button, pattern=r"^ref:a:\d{1,12}$"))
    app.add_handler(CallbackQueryHandler(detail_button, pattern=r"^ref:d:\d{1,12}$"))
