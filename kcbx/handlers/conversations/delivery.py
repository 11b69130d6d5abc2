"""Recording the delivery of a notice or an order (A7.4, A7.5): ``ntc:d:{id}`` "Record
delivery" → the date → who received it → a photo of the signed receipt → confirm. Nothing is
written before "Save"; every step re-checks that the document is still the person's to record.
Telegram glue only: the rules are in kcbx/bot/services/notices.py.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from html import escape
from typing import TypeVar

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

from kcbx.bot.domain.dates import format_date
from kcbx.bot.domain.i18n import N_
from kcbx.bot.domain.model import Person
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.notices import (
    DeliveryStart,
    NoticeDenied,
    NoticeError,
    checked_delivery_date,
    clean_receiver,
    deadline_from,
    read_delivery_date,
    record_delivery,
    start_delivery,
)
from kcbx.bot.texts.notices import delivery_saved, delivery_summary, notice_title, problem_text
from kcbx.handlers.common import (
    Rows,
    deny,
    inline,
    is_private,
    pressed,
    reply,
    require_person,
    tell,
)
from kcbx.handlers.context import KcbxContext
from kcbx.handlers.conversations import flow
from kcbx.handlers.conversations.evidence import take_evidence
from kcbx.handlers.conversations.flow import END, Conversation, Drafts
from kcbx.storage.visits import EvidenceFile

DATE, WHO, PHOTO = range(3)
T = TypeVar("T")
RECEIVER_EXAMPLE = "王芳 母亲"  # a name and a relation, as a deliverer writes them


@dataclass
class DeliveryDraft:
    """What the person has answered so far (kept in user_data; nothing is written)."""

    notice_id: int
    guardians: list[str] = field(default_factory=list)
    delivered_on: date | None = None
    delivered_to: str | None = None
    receipt: EvidenceFile | None = None


_OVER = N_(
    "This delivery record is no longer open; nothing was saved from it. Press “Record "
    "delivery” again to start over."
)
_STOPPED = N_("The delivery record was stopped; nothing was saved. Please send your command again.")
_drafts = Drafts("kcbx.notice.delivery", DeliveryDraft)
DELIVERY = Conversation(
    "notice_delivery",
    "ntc",
    _drafts,
    _OVER,
    _STOPPED,
    buttons=r"^ntc:(dt|to|ok|x)",
    what="delivery",
)


def pressed_id(update: Update, pattern: str) -> int | None:
    """The number ``pattern`` finds in the pressed button's data (None: no match)."""
    query = update.callback_query
    match = re.match(pattern, (query.data or "") if query else "")
    return int(match.group(1)) if match else None


async def notice_problem(update: Update, context: KcbxContext, problem: NoticeError) -> None:
    """Tell the person what to correct (a refusal reveals nothing)."""
    if isinstance(problem, NoticeDenied):
        await deny(update, context)
        return
    text = problem_text(problem, context.gettext, context.lang)
    query = update.callback_query
    if query is not None:
        await query.answer()
    await reply(update, text)


async def private_only(update: Update, context: KcbxContext) -> bool:
    """Groups get counts, never a child's name: notices are handled in a private chat."""
    if is_private(update):
        return True
    await tell(update, context.gettext("Please handle notices in a private chat with me."))
    return False


async def pressed_notice(
    update: Update,
    context: KcbxContext,
    pattern: str,
    act: Callable[[Services, Person, int], Awaitable[T]],
) -> T | None:
    """A notice's button: its id from ``pattern``, a private chat, then ``act`` on the notice;
    a problem is answered here, else the press is. None: nothing more to do."""
    person = require_person(context)
    notice_id = pressed_id(update, pattern)
    if notice_id is None or not await private_only(update, context):
        return None
    try:
        result = await act(context.services, person, notice_id)
    except NoticeError as problem:
        await notice_problem(update, context, problem)
        return None
    query = pressed(update)
    await query.answer()
    return result


async def begin_delivery(update: Update, context: KcbxContext) -> int:
    """ntc:d:{id}: step 1, the date of delivery."""
    start = await pressed_notice(update, context, r"^ntc:d:(\d{1,12})$", start_delivery)
    if start is None:
        return END
    _drafts.keep(context, DeliveryDraft(start.view.notice.id, guardians=start.guardians))
    return await _ask_date(update, context, start)


async def _ask_date(update: Update, context: KcbxContext, start: DeliveryStart) -> int:
    t = context.gettext
    today, issued = start.today, start.view.notice.issue_date
    choices = [(0, t("Today")), (1, t("Yesterday"))]
    buttons = [  # the label alone: the text says which day today is
        (label, f"ntc:dt:{back}")
        for back, label in choices
        if today - timedelta(days=back) >= issued
    ]
    rows: Rows = [[b] for b in buttons]
    rows.append(DELIVERY.cancel_row(t))
    await reply(
        update,
        t("Record the delivery of {title}. Today is {today}.").format(
            title=notice_title(start.view, t), today=format_date(today, t, context.lang)
        )
        + "\n"
        + t(
            "Step 1 of 3: on which day did the guardians receive it? Press a button or write "
            "the date (for example 3.5)."
        ),
        inline(rows),
    )
    return DATE


async def _start(context: KcbxContext, draft: DeliveryDraft) -> DeliveryStart:
    """The draft's notice, checked again (scope, case open, not yet delivered)."""
    return await start_delivery(context.services, require_person(context), draft.notice_id)


rechecked = DELIVERY.rechecked(_start, NoticeError, notice_problem)


@rechecked
async def date_button(
    update: Update, context: KcbxContext, draft: DeliveryDraft, start: DeliveryStart
) -> int:
    back = pressed_id(update, r"^ntc:dt:([01])$") or 0
    try:
        day = checked_delivery_date(
            start.today - timedelta(days=back), start.view.notice, start.today
        )
    except NoticeError as problem:
        await notice_problem(update, context, problem)
        return DATE
    query = pressed(update)
    await flow.settle(query, format_date(day, context.gettext, context.lang))
    return await _ask_who(update, context, replace(draft, delivered_on=day))


@rechecked
async def date_text(
    update: Update, context: KcbxContext, draft: DeliveryDraft, start: DeliveryStart
) -> int:
    try:
        day = read_delivery_date(flow.typed_text(update), start.view.notice, start.today)
    except NoticeError as problem:
        await notice_problem(update, context, problem)
        return DATE
    return await _ask_who(update, context, replace(draft, delivered_on=day))


async def _ask_who(update: Update, context: KcbxContext, draft: DeliveryDraft) -> int:
    t = context.gettext
    _drafts.keep(context, draft)
    rows: Rows = [[(name, f"ntc:to:{i}")] for i, name in enumerate(draft.guardians)]
    rows.append(DELIVERY.cancel_row(t))
    await reply(
        update,
        t(
            "Step 2 of 3: who received it? Press a guardian's name, or write the name and the "
            "relation to the child (for example {example})."
        ).format(example=RECEIVER_EXAMPLE),
        inline(rows),
    )
    return WHO


@rechecked
async def who_button(
    update: Update, context: KcbxContext, draft: DeliveryDraft, start: DeliveryStart
) -> int:
    index = pressed_id(update, r"^ntc:to:(\d)$")
    if index is None or index >= len(draft.guardians):
        return await DELIVERY.lost(update, context)
    name = draft.guardians[index]
    query = pressed(update)
    await flow.settle(query, escape(name))
    return await _ask_photo(update, context, replace(draft, delivered_to=name))


@rechecked
async def who_text(
    update: Update, context: KcbxContext, draft: DeliveryDraft, start: DeliveryStart
) -> int:
    name = clean_receiver(flow.typed_text(update))
    if name is None:
        await reply(
            update,
            context.gettext(
                "Please write who received it in one line, at most 40 characters "
                "(for example {example})."
            ).format(example=RECEIVER_EXAMPLE),
        )
        return WHO
    return await _ask_photo(update, context, replace(draft, delivered_to=name))


async def _ask_photo(update: Update, context: KcbxContext, draft: DeliveryDraft) -> int:
    t = context.gettext
    _drafts.keep(context, draft)
    await reply(
        update,
        t(
            "Step 3 of 3: please send a photo of the receipt with the guardian's "
            "signature. If the guardians refused to sign, photograph the receipt on which the "
            "deliverer and a witness noted the refusal."
        ),
        inline([DELIVERY.cancel_row(t)]),
    )
    return PHOTO


@rechecked
async def photo(
    update: Update, context: KcbxContext, draft: DeliveryDraft, start: DeliveryStart
) -> int:
    receipt = await take_evidence(update, context)
    if receipt is None:
        return PHOTO
    draft = replace(draft, receipt=receipt)
    _drafts.keep(context, draft)
    t, services = context.gettext, context.services
    assert draft.delivered_on is not None and draft.delivered_to is not None
    deadline = deadline_from(
        draft.delivered_on, start.view.notice.kind, services.policy, services.calendar
    )
    text = delivery_summary(
        start.view, draft.delivered_on, draft.delivered_to, deadline, t, context.lang
    )
    return await DELIVERY.summary(update, context, text, N_("Save"))


async def save(update: Update, context: KcbxContext, person: Person, draft: DeliveryDraft) -> int:
    query = pressed(update)
    if draft.receipt is None or draft.delivered_on is None:
        return await DELIVERY.lost(update, context)
    t = context.gettext
    result = await record_delivery(
        context.services,
        person,
        draft.notice_id,
        delivered_on=draft.delivered_on,
        delivered_to=draft.delivered_to or "",
        receipt=draft.receipt.data,
        receipt_name=draft.receipt.filename,
        receipt_mime=draft.receipt.mime,
    )
    _drafts.forget(context)
    await flow.settle(query, t("Save"))
    await reply(update, delivery_saved(result, draft.delivered_on, t, context.lang))
    return END


async def hint_date(update: Update, context: KcbxContext) -> None:
    await reply(
        update, context.gettext("Please press a button or write the date, or send /cancel.")
    )


async def hint_who(update: Update, context: KcbxContext) -> None:
    await reply(
        update, context.gettext("Please press a name or write who received it, or send /cancel.")
    )


async def hint_photo(update: Update, context: KcbxContext) -> None:
    await reply(
        update, context.gettext("Please send a photo of the signed receipt, or send /cancel.")
    )


def register(app: Application) -> None:
    """The delivery conversation, then an answer for its buttons once it is over."""
    text, other = DELIVERY.inputs.text, DELIVERY.inputs.other
    conversation = DELIVERY.handler(
        [CallbackQueryHandler(begin_delivery, pattern=r"^ntc:d:\d{1,12}$")],
        {
            DATE: [
                CallbackQueryHandler(date_button, pattern=r"^ntc:dt:[01]$"),
                MessageHandler(text, date_text),
                MessageHandler(other, hint_date),
            ],
            WHO: [
                CallbackQueryHandler(who_button, pattern=r"^ntc:to:\d$"),
                MessageHandler(text, who_text),
                MessageHandler(other, hint_who),
            ],
            PHOTO: [
                MessageHandler(filters.PHOTO | filters.Document.ALL, photo),
                MessageHandler(other, hint_photo),
            ],
            **DELIVERY.confirm_step(save, NoticeError, notice_problem),
        },
    )
    DELIVERY.register(app, conversation)
