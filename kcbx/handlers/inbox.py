"""/inbox: a department liaison's referrals (A6, A9), paged; accept one, see what it needs,
record the department's action. The liaison sees no other case: every press is
checked against the referral's department (kcbx/bot/services/referrals.py)."""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from kcbx.bot.domain.capabilities import button_labels
from kcbx.bot.domain.caseactions import visit_data
from kcbx.bot.services.referrals import ReferralRefused, accept_referral, inbox_page, referral_card
from kcbx.bot.texts.referrals import accept_data, inbox_text
from kcbx.bot.texts.taps import accepted_line, tap_time
from kcbx.handlers.common import (
    deny,
    edit_in_place,
    edit_message,
    inline,
    is_private,
    keyboard,
    note_read,
    permitted,
    pressed,
    pressed_number,
    reply,
    require_person,
    show,
)
from kcbx.handlers.context import KcbxContext

PER_PAGE = 4  # one button an item, and the pages: six a message at most


async def show_inbox(update: Update, context: KcbxContext) -> None:
    """/inbox or the keyboard button: the first page."""
    await _page(update, context, 0)


async def page_button(update: Update, context: KcbxContext) -> None:
    """ref:p:{offset}"""
    await _page(update, context, pressed_number(update))


async def _page(update: Update, context: KcbxContext, offset: int) -> None:
    t = context.gettext
    person = await permitted(update, context, "inbox")
    if person is None:
        return
    try:
        found = await inbox_page(context.services, person, offset, PER_PAGE)
    except ReferralRefused:
        await deny(update, context)
        return
    if not found.items:
        await reply(update, t("No cases are referred to your department."))
        return
    text, rows = inbox_text(found.items, found.offset, found.total, PER_PAGE, t)
    await show(update, text, rows)


async def accept_button(update: Update, context: KcbxContext) -> None:
    """ref:a:{referral_id}: the department takes the case on (checked: its own referral).
    The message loses [接收] and says who accepted it and when, also when someone else did."""
    query = pressed(update)
    allowed, line = await _accept(update, context, pressed_number(update))
    if allowed and isinstance(query.message, Message):
        await edit_message(query.message, line, lambda data: data == query.data)


async def list_accept_button(update: Update, context: KcbxContext) -> None:
    """ref:al:{referral_id}:{offset}: [接收] on a page of /inbox; the page is shown again, so
    that its line says the referral is accepted and its button offers the details."""
    query = pressed(update)
    referral_id, offset = (int(n) for n in (query.data or "").split(":")[2:4])
    allowed, _ = await _accept(update, context, referral_id)
    if not allowed:
        return
    found = await inbox_page(context.services, require_person(context), offset, PER_PAGE)
    if found.items and isinstance(query.message, Message):  # (the press is answered)
        text, rows = inbox_text(found.items, found.offset, found.total, PER_PAGE, context.gettext)
        await edit_in_place(query.message, text, keyboard(rows))


async def _accept(
    update: Update, context: KcbxContext, referral_id: int
) -> tuple[bool, str | None]:
    """Accept and answer the press: whether the person may (else told so), and the line for
    the message (None: none)."""
    person = require_person(context)
    t = context.gettext
    query = pressed(update)
    try:
        done = await accept_referral(context.services, person, referral_id)
    except ReferralRefused:
        await deny(update, context)
        return False, None
    now, policy, lang = context.services.clock.now(), context.services.policy, context.lang
    line = None
    if done.at is not None:
        line = accepted_line(done.by, done.at, now, t, lang, policy)
    if done.accepted:
        await query.answer(t("Accepted. Please record what your department does."))
    elif not done.case_open:
        line = "⌛ " + t("This case is closed: the referral needs nothing more.")
        await query.answer(line, show_alert=True)
    elif line is not None:
        answer = t("This referral was accepted by {by} at {when}.")
        when = tap_time(done.at or now, now, t, lang, policy)
        await query.answer(answer.format(by=done.by or "—", when=when), show_alert=True)
    else:
        await query.answer(t("This referral was accepted already."), show_alert=True)
    return True, line


async def detail_button(update: Update, context: KcbxContext) -> None:
    """ref:d:{referral_id}: what the department needs to know (and nothing more)."""
    person = require_person(context)
    t = context.gettext
    query = pressed(update)
    if not is_private(update):
        await deny(update, context)
        return
    try:
        text, referral = await referral_card(
            context.services, person, pressed_number(update), t, context.lang
        )
    except ReferralRefused:
        await deny(update, context)
        return
    await note_read(update, context, "card", "case", referral.case_id)
    await query.answer()
    case = await context.services.cases.get(referral.case_id)
    case_open = case is not None and case.is_open
    row = []  # only what can still be done (docs/texts.md)
    if referral.status == "open" and case_open:
        row.append((t("Accept"), accept_data(referral.id)))
    if referral.standing and case_open:
        row.append((t("Record our action"), visit_data(referral.case_id)))
    await reply(update, text, inline([row]) if row else None)


def register(app: Application) -> None:
    entry = filters.Text(button_labels("inbox")) & filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("inbox", show_inbox))
    app.add_handler(MessageHandler(entry, show_inbox))
    app.add_handler(CallbackQueryHandler(page_button, pattern=r"^ref:p:\d{1,6}$"))
    app.add_handler(CallbackQueryHandler(accept_button, pattern=r"^ref:a:\d{1,12}$"))
    app.add_handler(CallbackQueryHandler(list_accept_button, pattern=r"^ref:al:\d{1,12}:\d{1,6}$"))
    app.add_handler(CallbackQueryHandler(detail_button, pattern=r"^ref:d:\d{1,12}$"))
