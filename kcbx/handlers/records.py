"""The records' housekeeping in chat: /audit for administrators, and the jobs that flush the
read audit, delete export passwords when their time comes and run the daily retention pass.
Telegram glue only: kcbx/bot/services/audit.py and retention.py hold the rules."""

from __future__ import annotations

import html
import logging
from datetime import datetime, timedelta
from typing import Any

from telegram import Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import Application, CallbackContext, CommandHandler

from kcbx.bot.runtime.services import Services
from kcbx.bot.services.audit import NotFound, student_history
from kcbx.bot.services.retention import apply_retention
from kcbx.bot.texts.audit import history_lines
from kcbx.bot.texts.paging import pages
from kcbx.handlers.common import is_private, permitted, reply
from kcbx.handlers.context import SERVICES_KEY, KcbxContext

log = logging.getLogger(__name__)

FLUSH_SECONDS = 5
_RETENTION_DONE = "kcbx.retention_day"


async def audit(update: Update, context: KcbxContext) -> None:
    """/audit 学籍号: who did or saw what of one student (administrators, private chat)."""
    t = context.gettext
    person = await permitted(update, context, "audit", private=False)
    if person is None:
        return
    if not is_private(update):
        await reply(update, t("The audit history names people: ask for it in a private chat."))
        return
    registry_no = " ".join(context.args or []).strip()
    if not registry_no:
        await reply(update, t("Send /audit and the student's registry number."))
        return
    services = context.services
    try:
        history = await student_history(services, registry_no)
    except NotFound:
        await reply(
            update,
            t("No student has the registry number {number}.").format(
                number=html.escape(registry_no)
            ),
        )
        return
    services.audit.viewed(
        at=services.clock.now(),
        actor=f"person:{person.id}",
        what="audit",
        entity="student",
        entity_id=registry_no,
        chat_id=update.effective_chat.id if update.effective_chat else None,
    )
    for page in pages(history_lines(history, services.config.tz, t, context.lang)):
        await reply(update, page)


async def housekeeping_job(context: CallbackContext[Any, Any, Any, Any]) -> None:
    """Flush the noted reads; delete export passwords that are due; retention once a day."""
    services: Services = context.application.bot_data[SERVICES_KEY]
    await services.audit.flush()
    await delete_due_messages(context.application, services)
    await daily_retention(context.application, services)


async def delete_due_messages(
    app: Application[Any, Any, Any, Any, Any, Any], services: Services
) -> int:
    now = services.clock.now()
    deleted = 0
    for item in await services.ephemeral.due(now):
        try:
            await app.bot.delete_message(item.chat_id, item.message_id)
            deleted += 1
        except (BadRequest, Forbidden) as exc:  # already gone, too old, or the bot was blocked
            log.warning(
                "could not delete message %s in chat %s: %s", item.message_id, item.chat_id, exc
            )
        await services.ephemeral.done(item.id, now)
    return deleted


def _retention_due(services: Services, now: datetime, last_day: object) -> bool:
    local = now.astimezone(services.config.tz)
    return last_day != local.date() and local.time() >= services.policy.retention.run_at


async def daily_retention(
    app: Application[Any, Any, Any, Any, Any, Any], services: Services
) -> None:
    now = services.clock.now()
    if not _retention_due(services, now, app.bot_data.get(_RETENTION_DONE)):
        return
    app.bot_data[_RETENTION_DONE] = now.astimezone(services.config.tz).date()
    report = await apply_retention(services)
    reduced = {kind: len(done) for kind, done in report.done.items() if done}
    if reduced:
        log.info("retention: %s", ", ".join(f"{k} {n} cases" for k, n in reduced.items()))


def start_jobs(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    if app.job_queue is not None:
        app.job_queue.run_repeating(
            housekeeping_job, interval=timedelta(seconds=FLUSH_SECONDS), first=3, name="records"
        )


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CommandHandler("audit", audit))
