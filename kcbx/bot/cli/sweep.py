"""The operators' sweep commands, called by ``kcbx sweep`` in :mod:`kcbx.bot.cli.main`.

``kcbx sweep --now 2024-03-12T09:00`` runs one sweep as if it were that time (a time without
a zone is in the policy's zone). With a bot token it then delivers what is due, holding the
database's lease meanwhile; beside a running ``kcbx run`` (which holds the lease) or offline
it only queues, and prints what it queued (``kcbx run`` delivers it).
``kcbx sweep --dry-run --days 7`` prints what will fire in the next 7 days and to whom,
writing nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from kcbx.bot.domain.policy.tree import Policy
from kcbx.bot.engine.delivery import Delivery, DrainReport
from kcbx.bot.engine.forecast import forecast
from kcbx.bot.engine.handover import quiet_hold, unreachable_hook
from kcbx.bot.engine.notice_files import NoticeFileWorker
from kcbx.bot.engine.sweep import SweepReport, sweep
from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.instance import InstanceLease, configured_lease, describe_holder
from kcbx.bot.runtime.services import Services
from kcbx.handlers.transport import telegram_transport

Print = Callable[[str], None]


class BadInstant(ValueError):
    """--now is not an ISO date and time."""


def parse_instant(text: str, policy: Policy) -> datetime:
    """``2024-03-12T09:00`` (policy zone) or with an offset; raises BadInstant."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise BadInstant(f"--now {text!r}: expected a time such as 2024-03-12T09:00") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=policy.time.tz)
    return value


async def run_sweep(services: Services, config: Config, out: Print) -> int:
    """One sweep at the services' clock; deliver only with a token and the lease."""
    lease: InstanceLease | None = None
    if config.telegram_token:
        config.require_token()
        lease = configured_lease(services.db, config, "sweep")
        running = await lease.try_acquire()
        if running is not None:
            lease = None
            out(
                f"{describe_holder(running.holder)} is running on {running.host} "
                f"(pid {running.pid}): this sweep only queues, the bot delivers"
            )
    try:
        report = await sweep(services, services.clock.now())
        _print_sweep(services, report, out)
        files = await NoticeFileWorker(services).drain()  # the notices' files it recorded
        if files:
            out(f"  {files} notice files rendered and queued")
        if lease is None:
            counts = await services.outbox.counts()
            where = (
                "`kcbx run` delivers them"
                if config.telegram_token
                else ("offline (no KCBX_TELEGRAM_TOKEN): `kcbx run` delivers them")
            )
            out(f"{counts.get('pending', 0)} messages wait in the outbox; {where}")
            return 1 if report.errors else 0
        drained = await _deliver(services, config, lease)
    finally:
        if lease is not None:
            await lease.release()
    out(
        f"delivered: {drained.sent} sent, {drained.retried} to retry, {drained.failed} failed, "
        f"{drained.unreachable} unreachable, {drained.held} held for the morning"
    )
    return 1 if report.errors or drained.failed else 0


def _print_sweep(services: Services, report: SweepReport, out: Print) -> None:
    local = services.clock.now().astimezone(services.policy.time.tz)
    out(f"sweep at {local:%Y-%m-%d %H:%M %Z}: {report.summary()}")
    for step in report.steps:
        out("  " + step.describe(services.policy))
    for item in report.unassigned:
        out(f"  nobody to tell: {item}")
    for error in report.errors:
        out(f"  error: {error}")


async def _deliver(services: Services, config: Config, lease: InstanceLease) -> DrainReport:
    async with telegram_transport(config) as transport:
        delivery = Delivery(
            services,
            transport,
            on_unreachable=unreachable_hook(services),
            hold=quiet_hold(services),
            holder=lease.holder,
            concurrency=config.delivery_concurrency,
            fence=lease.holds,
        )
        return await delivery.drain()


async def run_dry_run(services: Services, days: float, out: Print) -> int:
    """What will fire from the services' clock for ``days`` days, and to whom."""
    start = services.clock.now()
    steps = await forecast(services, start, days)
    local = start.astimezone(services.policy.time.tz)
    out(f"dry run from {local:%Y-%m-%d %H:%M %Z} for {days:g} days; nothing is written")
    if not steps:
        out("  nothing will fire")
    for step in steps:
        out("  " + step.describe(services.policy))
    out(f"{len(steps)} reminders, escalations and hand-overs")
    return 0


__all__ = ["BadInstant", "parse_instant", "run_dry_run", "run_sweep"]
