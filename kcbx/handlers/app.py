"""The composition root: builds the Application, opens shared resources, registers handlers.

One ordered, commented function (as PTB's rules-bot does): a newcomer reads here what runs.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram.ext import Application, ContextTypes

from kcbx.bot.domain.clock import Clock, SystemClock
from kcbx.bot.engine.delivery import Delivery
from kcbx.bot.engine.handover import quiet_hold, unreachable_hook
from kcbx.bot.engine.notice_files import NoticeFileWorker
from kcbx.bot.engine.wiring import register_features
from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.health import WriteAlarm
from kcbx.bot.runtime.instance import InstanceLease, configured_lease
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.unfinished import tell
from kcbx.handlers import accountability as accountability_handlers
from kcbx.handlers import (
    admin,
    coverage,
    fallback,
    find,
    gate,
    help,
    inbox,
    records,
    start,
)
from kcbx.handlers import cases as case_handlers
from kcbx.handlers import export as export_handlers
from kcbx.handlers import summary as summary_handlers
from kcbx.handlers.context import SERVICES_KEY, KcbxContext
from kcbx.handlers.conversations import closing, report, visit
from kcbx.handlers.conversations import notices as notice_handlers
from kcbx.handlers.conversations.closing import CLOSING
from kcbx.handlers.conversations.delivery import DELIVERY
from kcbx.handlers.conversations.flow import TIMEOUT
from kcbx.handlers.conversations.report import REPORT
from kcbx.handlers.conversations.visit_evidence import VISIT
from kcbx.handlers.jobs import (
    ALARM_KEY,
    DELIVERY_KEY,
    LEASE_KEY,
    NOTICE_FILES_KEY,
    delivery_job,
    heartbeat_job,
    kick_delivery,
    reports_job,
    sweep_job_of,
    sweep_now,
)
from kcbx.handlers.menu import publish_default_menus
from kcbx.handlers.persistence import DatabasePersistence
from kcbx.handlers.transport import (
    TelegramTransport,
    http_request,
    quiet_retries,
    rate_limiter,
)

log = logging.getLogger(__name__)

KcbxApplication = Application[Any, KcbxContext, Any, Any, Any, Any]


def build_application(
    config: Config,
    *,
    clock: Clock | None = None,
    services: Services | None = None,
    holder: str | None = None,
) -> KcbxApplication:
    """Build the bot. Services (database, repositories) open in post_init unless given;
    post_init takes the database's lease (as ``holder``, if `kcbx run` took it already)."""
    token = config.require_token()
    quiet_retries()

    async def post_init(app: KcbxApplication) -> None:
        opened = services or await Services.open(config, clock)
        register_features(opened)
        app.bot_data[SERVICES_KEY] = opened
        app.bot_data["kcbx.default_language"] = config.default_language
        await _start_delivery(app, opened, holder)
        await tell_unfinished(app, opened)
        await publish_default_menus(app.bot)
        # Jobs only sweep the database; sweep_seconds = 0 leaves them off (tests drive them).
        if config.sweep_seconds and app.job_queue is not None:
            _schedule_jobs(app, config)

    async def post_shutdown(app: KcbxApplication) -> None:
        await _stop_notice_files(app)
        await _release_lease(app)
        opened: Services | None = app.bot_data.pop(SERVICES_KEY, None)
        if opened is not None:
            await opened.audit.flush()  # the reads noted since the last batch
        if opened is not None and services is None:
            await opened.close()

    app: KcbxApplication = (
        Application.builder()
        .token(token)
        .base_url(config.telegram_api_url)
        .base_file_url(config.file_url)
        .request(http_request())
        .get_updates_request(http_request(long_poll=True))
        .context_types(ContextTypes(context=KcbxContext))
        .rate_limiter(rate_limiter(config))
        # conversations in progress survive a restart (their step and draft in the database)
        .persistence(DatabasePersistence(config, clock or SystemClock(), max_age=TIMEOUT))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .build()
    )

    _register_handlers(app)
    return app


def _register_handlers(app: KcbxApplication) -> None:
    """Every handler, in the order that decides who answers (the first match of a group wins)."""
    # 1. The gate: loads the person; strangers and revoked people stop here (group -10).
    gate.register(app)
    # 2. Getting in and finding one's way: /start <code>, /help, /lang.
    start.register(app)
    help.register(app)
    # 3. Administration: invitations, revocation, roster files.
    admin.register(app)
    # before /report so that a record under way keeps its answers: /visit (and the
    # vis: buttons), /exempt and /transfer, a department's /inbox, /coverage of the 三包 chain.
    visit.register(app)
    closing.register(app)
    inbox.register(app)
    coverage.register(app)
    # /notices, the buttons of notices and orders to correct, recording a delivery.
    notice_handlers.register(app)
    # /report (a conversation), /cases and the case card, the reminders' buttons.
    report.register(app)
    case_handlers.register(app)
    # vis: records a plain home visit, until a visits feature registered above
    # answers it first (the first matching handler of a group wins).
    case_handlers.register_visit_fallback(app)
    # /find: a student or case by name, pinyin initials or number, within one's scope.
    find.register(app)
    # /summary (drill-down sum: buttons, chart), /export (the ledger), /accountability.
    summary_handlers.register(app)
    export_handlers.register(app)
    accountability_handlers.register(app)
    # /audit: who did or saw what of one student (administrators).
    records.register(app)
    # 4. Last in group 0: unknown commands, stray text, stale buttons; the error handler.
    fallback.register(app)


async def _start_delivery(app: KcbxApplication, services: Services, holder: str | None) -> None:
    # One instance per database: a second bot would send everything twice.
    lease = configured_lease(services.db, services.config, holder=holder)
    await lease.acquire()
    app.bot_data[LEASE_KEY] = lease
    transport = TelegramTransport(app.bot)
    # A database that cannot be written is said loudly: the log, the administrators.
    app.bot_data[ALARM_KEY] = WriteAlarm(services, notify=transport.notify)
    # A 403 marks the person unreachable; their tasks go to the supervisor.
    # Reminders due at night (a retry, a restart) wait for the morning.
    app.bot_data[DELIVERY_KEY] = Delivery(
        services,
        transport,
        on_unreachable=unreachable_hook(services),
        hold=quiet_hold(services),
        holder=lease.holder,
        concurrency=services.config.delivery_concurrency,
        # a claim also checks that the lease is still ours: taken over, this one stops
        fence=lease.holds,
    )
    # The notices' documents are rendered off the sweep; their files follow the reminder.
    app.bot_data[NOTICE_FILES_KEY] = NoticeFileWorker(
        services, on_queued=lambda: kick_delivery(app)
    )


async def _release_lease(app: KcbxApplication) -> None:
    lease: InstanceLease | None = app.bot_data.pop(LEASE_KEY, None)
    if lease is not None:
        try:
            await lease.release()  # the next instance need not wait for it to expire
        except Exception as exc:  # it expires by itself
            log.warning("could not release the database's lease: %s", exc)


async def _stop_notice_files(app: KcbxApplication) -> None:
    files: NoticeFileWorker | None = app.bot_data.pop(NOTICE_FILES_KEY, None)
    if files is not None:
        await files.stop()


def _schedule_jobs(app: KcbxApplication, config: Config) -> None:
    assert app.job_queue is not None
    app.bot_data["kcbx.jobs_enabled"] = True
    # The lease's heartbeat, which also notices when a database that could not be written
    # works again.
    beat = app.bot_data[LEASE_KEY].heartbeat_seconds
    app.job_queue.run_repeating(heartbeat_job, interval=beat, first=beat, name="lease")
    app.job_queue.run_repeating(
        delivery_job, interval=max(5, config.sweep_seconds // 6), first=1, name="deliver"
    )
    # The sweep: what is due, for whom; then it drains the outbox.
    app.job_queue.run_repeating(
        sweep_job_of(sweep_now), interval=config.sweep_seconds, first=2, name="sweep"
    )
    # weekly and monthly digests, the A8 month-end freeze and warnings.
    app.job_queue.run_repeating(reports_job, interval=config.sweep_seconds, first=5, name="reports")
    # the read audit's batches, export passwords deleted, retention once a day
    records.start_jobs(app)
    # the notices' files, rendered off the sweep (and those owed before a restart)
    app.bot_data[NOTICE_FILES_KEY].start()


# A conversation's name -> what the person is told it was (kcbx.bot.services.unfinished).
_UNFINISHED = {c.name: c.told_as for c in (REPORT, VISIT, CLOSING, DELIVERY)}


async def tell_unfinished(app: KcbxApplication, services: Services) -> None:
    """After a restart: each conversation brought back is offered to go on; one too old to
    come back is closed, and its person told that nothing was saved."""
    persistence = app.persistence
    if not isinstance(persistence, DatabasePersistence):
        return
    told = False
    for kept, items in ((True, persistence.resumed), (False, persistence.expired)):
        for item in items:
            if not kept:  # its draft went stale with it
                app.drop_user_data(item.telegram_id)
                await persistence.drop_user_data(item.telegram_id)
            what = _UNFINISHED.get(item.conversation)
            if what is not None:
                told |= await tell(services, item.telegram_id, what, kept=kept)
    persistence.resumed.clear()
    persistence.expired.clear()
    if told:
        kick_delivery(app)


def services_of(app: KcbxApplication) -> Services:
    """The opened services of a running application (tests and the demo use this)."""
    services: Services = app.bot_data[SERVICES_KEY]
    return services
