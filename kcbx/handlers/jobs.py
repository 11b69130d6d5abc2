"""Scheduled jobs. They hold no state: everything durable is in the database, and a job only
sweeps it, so a restart, a crash or a week offline loses nothing."""

from __future__ import annotations

import logging
from typing import Any

from telegram.ext import Application, CallbackContext

from kcbx.bot.engine.delivery import Delivery, DrainReport

log = logging.getLogger(__name__)

DELIVERY_KEY = "kcbx.delivery"


def delivery_of(app: Application[Any, Any, Any, Any, Any, Any]) -> Delivery:
    delivery: Delivery = app.bot_data[DELIVERY_KEY]
    return delivery


async def deliver_now(app: Application[Any, Any, Any, Any, Any, Any]) -> DrainReport:
    """Drain the outbox once (jobs, handlers after enqueueing, tests and the demo call this)."""
    return await delivery_of(app).drain(app.bot)


async def delivery_job(context: CallbackContext[Any, Any, Any, Any]) -> None:
    report = await deliver_now(context.application)
    if report.sent or report.failed or report.unreachable:
        log.info(
            "outbox: %d sent, %d retried, %d failed, %d unreachable",
            report.sent,
            report.retried,
            report.failed,
            report.unreachable,
        )


def kick_delivery(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Ask for a drain as soon as possible (after a handler queued something)."""
    if app.job_queue is not None and app.bot_data.get("kcbx.jobs_enabled"):
        app.job_queue.run_once(delivery_job, 0, name="deliver-now")
