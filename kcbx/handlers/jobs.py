"""Scheduled jobs. They hold no state: everything durable is in the database, and a job only
sweeps it, so a restart, a crash or a week offline loses nothing."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram.ext import Application, CallbackContext

from kcbx.bot.engine.delivery import Delivery, DrainReport
from kcbx.bot.engine.notice_files import NoticeFileWorker
from kcbx.bot.engine.sweep import Sweeper, SweepReport
from kcbx.bot.runtime.services import Services
from kcbx.handlers.context import SERVICES_KEY

log = logging.getLogger(__name__)

DELIVERY_KEY = "kcbx.delivery"
SWEEP_LOCK_KEY = "kcbx.sweep_lock"
SWEEPER_KEY = "kcbx.sweeper"
NOTICE_FILES_KEY = "kcbx.notice_files"


def delivery_of(app: Application[Any, Any, Any, Any, Any, Any]) -> Delivery:
    delivery: Delivery = app.bot_data[DELIVERY_KEY]
    return delivery


async def deliver_now(app: Application[Any, Any, Any, Any, Any, Any]) -> DrainReport:
    """Drain the outbox once (jobs, handlers after enqueueing, tests and the demo call this)."""
    return await delivery_of(app).drain(app.bot)


def notice_files_of(app: Application[Any, Any, Any, Any, Any, Any]) -> NoticeFileWorker:
    worker: NoticeFileWorker = app.bot_data[NOTICE_FILES_KEY]
    return worker


async def notice_files_now(app: Application[Any, Any, Any, Any, Any, Any]) -> int:
    """Render and queue every notice file owed now (the harness, before it delivers)."""
    return await notice_files_of(app).drain()


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


async def sweep_now(app: Application[Any, Any, Any, Any, Any, Any]) -> SweepReport:
    """One sweep at the services' clock (the job, the harness and operators call this)."""
    services: Services = app.bot_data[SERVICES_KEY]
    lock: asyncio.Lock = app.bot_data.setdefault(SWEEP_LOCK_KEY, asyncio.Lock())
    async with lock:
        sweeper: Sweeper | None = app.bot_data.get(SWEEPER_KEY)
        if sweeper is None or sweeper.services is not services:
            sweeper = app.bot_data[SWEEPER_KEY] = Sweeper(services)
        return await sweeper.run(services.clock.now())


async def sweep_job(context: CallbackContext[Any, Any, Any, Any]) -> None:
    """The repeating job: sweep, then drain the outbox. Never raises into the scheduler."""
    try:
        report = await sweep_now(context.application)
    except Exception:  # nothing was half-written (one transaction); the next run retries
        log.exception("sweep failed")
        return
    if report.queued or report.errors or report.unassigned:
        log.info("sweep: %s", report.summary())
    notice_files_of(context.application).kick()  # the notices' files, off the sweep
    await deliver_now(context.application)
