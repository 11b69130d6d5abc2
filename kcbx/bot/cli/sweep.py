"""The operators' sweep commands, called by ``kcbx sweep`` in :mod:`kcbx.bot.cli.main`.

``kcbx sweep --now 2024-03-12T09:00`` runs one sweep as if it were that time (a time without
a zone is in the policy's zone). With a bot token it then delivers what is due; offline it
only queues, and prints what it queued (``kcbx run`` delivers it later).
``kcbx sweep --dry-run --days 7`` prints what will fire in the next 7 days and to whom,
writing nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from telegram.ext import AIORateLimiter, ExtBot

from kcbx.bot.domain.policy import Policy
from kcbx.bot.engine.delivery import Delivery
from kcbx.bot.engine.sweep import forecast, quiet_hold, sweep, unreachable_hook
from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.services import Services

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
    """One sweep at the services' clock; deliver only if the config has a token."""
    now = services.clock.now()
    report = await sweep(services, now)
    local = now.astimezone(services.policy.time.tz)
    out(f"sweep at {local:%Y-%m-%d %H:%M %Z}: {report.summary()}")
    for step in report.steps:
        out("  " + step.describe(services.policy))
    for item in report.unassigned:
        out(f"  nobody to tell: {item}")
    for error in report.errors:
        out(f"  error: {error}")
    if not config.telegram_token:
        counts = await services.outbox.counts()
        out(
            f"offline (no KCBX_TELEGRAM_TOKEN): {counts.get('pending', 0)} messages wait in "
            "the outbox; `kcbx run` delivers them"
        )
        return 1 if report.errors else 0
    config.require_token()
    bot: ExtBot[int] = ExtBot(
        token=config.telegram_token,
        base_url=config.telegram_api_url,
        base_file_url=config.file_url,
        rate_limiter=AIORateLimiter(
            overall_max_rate=config.overall_max_rate,
            group_max_rate=config.group_max_rate,
            max_retries=config.max_retries,
        ),
    )
    async with bot:
        delivery = Delivery(
            services, on_unreachable=unreachable_hook(services), hold=quiet_hold(services)
        )
        drained = await delivery.drain(bot)
    out(
        f"delivered: {drained.sent} sent, {drained.retried} to retry, {drained.failed} failed, "
        f"{drained.unreachable} unreachable, {drained.held} held for the morning"
    )
    return 1 if report.errors or drained.failed else 0


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
