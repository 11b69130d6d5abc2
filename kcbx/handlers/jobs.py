"""Scheduled jobs. They hold no state: everything durable is in the database, and a job only
sweeps it, so a restart, a crash or a week offline loses nothing.

- the heartbeat renews the database's lease (one instance per database) and is the write
  that tells when a database that could not be written works again;
- delivery drains the outbox; the sweep queues what the ladder says is due; the digests
  queue the weekly and monthly reports and the A8 freeze and warnings.

A job never raises into the scheduler: a database that cannot be written goes to the
:class:`~kcbx.bot.runtime.health.WriteAlarm` (one log line a minute, the administrators told
once); anything else is logged as an ERROR with its traceback, and the next run retries.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram.ext import Application, CallbackContext

from kcbx.bot.engine.delivery import Delivery, DrainReport
from kcbx.bot.engine.digests import STATE_KEY, DigestState, run_digests
from kcbx.bot.engine.notice_files import NoticeFileWorker
from kcbx.bot.engine.sweep import Sweeper, SweepReport
from kcbx.bot.runtime.health import WriteAlarm
from kcbx.bot.runtime.instance import InstanceLease
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.summary import warm_summaries
from kcbx.handlers.context import SERVICES_KEY

log = logging.getLogger(__name__)

DELIVERY_KEY = "kcbx.delivery"
ALARM_KEY = "kcbx.write_alarm"
LEASE_KEY = "kcbx.lease"
SWEEP_LOCK_KEY = "kcbx.sweep_lock"
SWEEPER_KEY = "kcbx.sweeper"
NOTICE_FILES_KEY = "kcbx.notice_files"

AnyApplication = Application[Any, Any, Any, Any, Any, Any]
Job = Callable[[CallbackContext[Any, Any, Any, Any]], Coroutine[Any, Any, None]]


def delivery_of(app: AnyApplication) -> Delivery:
    delivery: Delivery = app.bot_data[DELIVERY_KEY]
    return delivery


def alarm_of(app: AnyApplication) -> WriteAlarm | None:
    alarm: WriteAlarm | None = app.bot_data.get(ALARM_KEY)
    return alarm


async def deliver_now(app: AnyApplication) -> DrainReport:
    """Drain the outbox once (jobs, handlers after enqueueing, tests and the demo call this)."""
    return await delivery_of(app).drain()


async def guarded(app: AnyApplication, what: str, work: Callable[[], Awaitable[None]]) -> bool:
    """Run one job's pass; False if it failed (and was said so, once)."""
    try:
        await work()
    except Exception as exc:
        alarm = alarm_of(app)
        if alarm is not None and alarm.concerns(exc):
            await alarm.failed(exc, where=what)
        else:  # the next run retries; nothing was half-written (one transaction each)
            log.exception("%s failed", what)
        return False
    return True


async def delivery_job(context: CallbackContext[Any, Any, Any, Any]) -> None:
    async def work() -> None:
        report = await deliver_now(context.application)
        if report.sent or report.failed or report.unreachable or report.resent:
            log.info(
                "outbox: %d sent (%d again after a crash), %d retried, %d failed, %d unreachable",
                report.sent,
                report.resent,
                report.retried,
                report.failed,
                report.unreachable,
            )

    await guarded(context.application, "delivery", work)


async def sweep_now(app: AnyApplication) -> SweepReport:
    """One sweep at the services' clock (the job, the harness and operators call this)."""
    services: Services = app.bot_data[SERVICES_KEY]
    lock: asyncio.Lock = app.bot_data.setdefault(SWEEP_LOCK_KEY, asyncio.Lock())
    async with lock:
        sweeper: Sweeper | None = app.bot_data.get(SWEEPER_KEY)
        if sweeper is None or sweeper.services is not services:
            sweeper = app.bot_data[SWEEPER_KEY] = Sweeper(services)
        return await sweeper.run(services.clock.now())


def notice_files_of(app: AnyApplication) -> NoticeFileWorker:
    worker: NoticeFileWorker = app.bot_data[NOTICE_FILES_KEY]
    return worker


async def notice_files_now(app: AnyApplication) -> int:
    """Render and queue every notice file owed now (the harness, before it delivers)."""
    return await notice_files_of(app).drain()


def sweep_job_of(sweep_now: Callable[[AnyApplication], Awaitable[Any]]) -> Job:
    """The repeating sweep job: ``sweep_now(app)`` (what is due, for whom), then a drain.
    (The composition root hands the engine's sweep in.)"""

    async def sweep_job(context: CallbackContext[Any, Any, Any, Any]) -> None:
        app = context.application

        async def work() -> None:
            report = await sweep_now(app)
            if report.queued or report.errors or report.unassigned:
                log.info("sweep: %s", report.summary())
            files: NoticeFileWorker | None = app.bot_data.get(NOTICE_FILES_KEY)
            if files is not None:
                files.kick()  # the notices' files, off the sweep
            # the schools whose cases the sweep looked at: their share of a summary, now
            await warm_summaries(app.bot_data[SERVICES_KEY])

        if await guarded(app, "sweep", work):
            await guarded(app, "delivery", lambda: _drain(app))

    return sweep_job


async def reports_job(context: CallbackContext[Any, Any, Any, Any]) -> None:
    """One digests pass (:func:`~kcbx.bot.engine.digests.run_digests`), then drain the
    outbox if it queued."""
    app = context.application
    state = app.bot_data.setdefault(STATE_KEY, DigestState())
    queued: list[bool] = []

    async def work() -> None:
        report = await run_digests(app.bot_data[SERVICES_KEY], state)
        if report.queued or report.frozen:
            log.info(
                "digests: %d weekly, %d monthly, %d A8 warnings; frozen %s",
                report.weekly,
                report.monthly,
                report.warnings,
                ", ".join(report.frozen) or "-",
            )
            queued.append(True)

    if await guarded(app, "digests", work) and queued:
        await guarded(app, "delivery", lambda: _drain(app))


async def _drain(app: AnyApplication) -> None:
    await deliver_now(app)


async def heartbeat(app: AnyApplication) -> bool:
    """Renew the lease; False if another instance has taken it over (this one stops)."""
    lease: InstanceLease | None = app.bot_data.get(LEASE_KEY)
    if lease is None:
        return True
    alarm = alarm_of(app)
    try:
        kept = await lease.renew()
    except Exception as exc:
        if alarm is not None and alarm.concerns(exc):
            await alarm.failed(exc, where="heartbeat")
            return True  # nothing can be written, by anyone: keep the lease we hold
        log.exception("could not renew the database's lease")
        return True
    if alarm is not None:
        await alarm.succeeded()
    if not kept:
        log.error(
            "another instance has taken this database's lease over: stopping, so that "
            "nothing is sent twice"
        )
    return kept


async def heartbeat_job(context: CallbackContext[Any, Any, Any, Any]) -> None:
    if not await heartbeat(context.application):
        context.application.stop_running()


def kick_delivery(app: AnyApplication) -> None:
    """Ask for a drain as soon as possible (after a handler queued something)."""
    if app.job_queue is not None and app.bot_data.get("kcbx.jobs_enabled"):
        app.job_queue.run_once(delivery_job, 0, name="deliver-now")
