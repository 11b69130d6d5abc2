"""What the leaders get without asking: the weekly summary, the schools' monthly
reports to the bureau, the A8 month-end freeze and the A8 warnings.

One repeating job (:func:`reports_job`, registered in the composition root) runs
:func:`run_digests`. It only sweeps the database, so it is idempotent and catches up after
downtime:

* **weekly**: from Monday 08:00 (the policy's business-day start) of each ISO week, every
  district leader, bureau staff, township leader and principal who can be reached and has no
  outbox row ``wk:{person}:{iso-week}`` gets the summary of their scope, at most
  :data:`WEEKLY_BATCH` a pass (the job runs every minute). A bot that was down on Monday
  sends it when it comes back, that same week;
* **monthly**: from 08:00 on the 1st, each school with cases in the past month (new, closed,
  or open at its end) has its report queued for each bureau staff member,
  ``mo:{school}:{yyyy-mm}:{person}``. Schools with nothing to report send nothing;
* **A8**: every month that has ended is frozen (:func:`freeze_due_months`), before the
  monthly reports that quote it; the warnings (:func:`queue_warnings`) are computed at most
  once an hour (each is queued once per key anyway).

Nothing is sent in the quiet hours: what is queued then waits for the morning.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from html import escape
from typing import Any

from telegram.ext import CallbackContext

from kcbx.bot.domain.accountability import month_end, month_start, period_of
from kcbx.bot.domain.dates import format_date
from kcbx.bot.domain.i18n import Translate, translator
from kcbx.bot.domain.model import Person
from kcbx.bot.domain.reminders import quiet_hours_next_send
from kcbx.bot.domain.roles import Role
from kcbx.bot.engine.validity import queue_validity_warnings
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.accountability import (
    district_views,
    freeze_due_months,
    frozen_flag_text,
    queue_warnings,
)
from kcbx.bot.services.summary import (
    DROPOUT_STAGES,
    UnitTree,
    fit,
    summary_view,
    unit_tree,
)
from kcbx.storage.accountability_repo import FrozenFlag
from kcbx.storage.outbox import OutgoingMessage
from kcbx.storage.reports_repo import MonthActivity, unit_scope

log = logging.getLogger(__name__)

WEEKLY_ROLES = (Role.DISTRICT_LEADER, Role.BUREAU_STAFF, Role.TOWNSHIP_LEADER, Role.PRINCIPAL)
MONTHLY_ROLES = (Role.BUREAU_STAFF,)
DROPOUTS_LISTED = 10
WEEKLY_BATCH = 200  # summaries computed in one pass (a province has thousands of principals)
STATE_KEY = "kcbx.digests"


@dataclass
class DigestState:
    """What one running bot remembers between runs, only to skip needless work (a restart
    forgets it and merely redoes checks; the outbox keys keep everything exactly-once)."""

    months_done: set[str] = field(default_factory=set)
    warned_hour: str = ""


@dataclass
class DigestReport:
    frozen: list[str] = field(default_factory=list)
    weekly: int = 0
    monthly: int = 0
    warnings: int = 0

    @property
    def queued(self) -> int:
        return self.weekly + self.monthly + self.warnings


def week_key(local: datetime) -> str:
    year, week, _day = local.isocalendar()
    return f"{year}-W{week:02d}"


async def run_digests(services: Services, state: DigestState | None = None) -> DigestReport:
    """One pass: freeze ended months, queue the week's and the month's digests and the A8
    warnings that are due and not queued yet."""
    state = state or DigestState()
    report = DigestReport()
    report.frozen = await freeze_due_months(services)
    report.weekly = await queue_weekly(services)
    report.monthly = await queue_monthly(services, state)
    now = services.clock.now().astimezone(services.policy.time.tz)
    hour = now.strftime("%Y-%m-%dT%H")
    if state.warned_hour != hour:
        report.warnings = await queue_warnings(services)
        report.warnings += await queue_validity_warnings(services)
        state.warned_hour = hour
    return report


def _lang(person: Person, services: Services) -> str:
    return person.lang or services.config.default_language


async def queue_weekly(services: Services) -> int:
    """The week's summary to each leader, once per ISO week, from Monday 08:00."""
    tz = services.policy.time.tz
    now = services.clock.now()
    local = now.astimezone(tz)
    monday = local.date() - timedelta(days=local.weekday())
    if local < datetime.combine(monday, services.policy.time.business_day_start, tzinfo=tz):
        return 0
    week = week_key(local)
    people = await services.reports.reachable_without_key(
        WEEKLY_ROLES, prefix="wk:", suffix=f":{week}"
    )
    people = people[:WEEKLY_BATCH]  # the rest next pass: no pass holds the database long
    not_before = quiet_hours_next_send(now, services.policy)
    queued = 0
    for person in people:
        lang = _lang(person, services)
        t = translator(lang)
        view = await summary_view(services, person, None, in_group=False, gettext=t, lang=lang)
        if view is None or person.chat_id is None:
            continue
        heading = t("<b>Weekly summary</b>, the week from {monday}").format(
            monday=format_date(monday, t, lang)
        )
        text = fit([heading, view.text])
        if await services.outbox.enqueue(
            key=f"wk:{person.id}:{week}",
            chat_id=person.chat_id,
            message=OutgoingMessage(text=text, buttons=view.buttons),
            now=now,
            not_before=not_before,
            person_id=person.id,
        ):
            queued += 1
    return queued


async def queue_monthly(services: Services, state: DigestState) -> int:
    """Each school's report for the past month to the bureau, from 08:00 on the 1st."""
    tz = services.policy.time.tz
    now = services.clock.now()
    local = now.astimezone(tz)
    first = datetime.combine(local.date().replace(day=1), time(0), tzinfo=tz)
    if local < first.replace(hour=services.policy.time.business_day_start.hour):
        return 0
    period = period_of(first - timedelta(days=1), tz)
    if period in state.months_done:
        return 0
    bureau = await services.reports.reachable_people(MONTHLY_ROLES)
    if not bureau:
        return 0
    tree = await unit_tree(services)
    start, end = month_start(period, tz), month_end(period, tz)
    activity: dict[int, MonthActivity] = {}
    for district in (u for u in tree.units.values() if u.kind == "district"):
        activity.update(
            await services.reports.month_by_school(unit_scope(district), start=start, end=end)
        )
    if not activity:
        state.months_done.add(period)
        return 0
    views = await district_views(services, tree, as_of=end)
    dropouts: dict[int, list[tuple[str, str, int]]] = defaultdict(list)
    for view in views:
        if view.stage in DROPOUT_STAGES:
            dropouts[view.row.school_id].append(
                (view.row.number, view.row.student_name, view.state.day)
            )
    frozen = {m.period: m for m in await services.a8.months()}
    month = frozen.get(period)
    not_before = quiet_hours_next_send(now, services.policy)
    queued = 0
    for person in bureau:
        home = tree.nearest(person.unit_id, "district")
        if home is None or person.chat_id is None:
            continue
        lang = _lang(person, services)
        t = translator(lang)
        for school_id in sorted(activity):
            if not tree.within(school_id, home.id):
                continue
            key = f"mo:{school_id}:{period}:{person.id}"
            if await services.outbox.has_key(key):
                continue
            flags = [f for f in (month.flags if month else ()) if f.unit_id == school_id]
            text = school_month_text(
                tree, school_id, period, activity[school_id], dropouts[school_id], flags, t
            )
            if await services.outbox.enqueue(
                key=key,
                chat_id=person.chat_id,
                message=OutgoingMessage(
                    text=text, buttons=(((t("Summary"), f"sum:s:{school_id}"),),)
                ),
                now=now,
                not_before=not_before,
                person_id=person.id,
            ):
                queued += 1
    state.months_done.add(period)
    return queued


def school_month_text(
    tree: UnitTree,
    school_id: int,
    period: str,
    activity: MonthActivity,
    dropouts: list[tuple[str, str, int]],
    flags: list[FrozenFlag],
    t: Translate,
) -> str:
    """One school's month for the bureau: counts, its dropouts at the month's end, its A8."""
    school = tree.get(school_id)
    year, month = (int(x) for x in period.split("-"))
    lines = [
        t("<b>Monthly report: {school}, {year}-{month}</b>").format(
            school=escape(tree.path(school_id) or (school.name if school else "")),
            year=year,
            month=month,
        ),
        t(
            "Reported this month: {new}. Back at school: {returned}. Exempt (A3): {exempt}. "
            "Transferred: {transferred}."
        ).format(
            new=activity.new,
            returned=activity.returned,
            exempt=activity.exempt,
            transferred=activity.transferred,
        ),
        t("Open at the month's end: {open}, of which dropouts: {dropouts}.").format(
            open=activity.open_at_end, dropouts=len(dropouts)
        ),
    ]
    for number, name, day in sorted(dropouts, key=lambda d: -d[2])[:DROPOUTS_LISTED]:
        lines.append(
            " · "
            + t("<b>{name}</b> <b>{number}</b>, day {day}").format(
                name=escape(name), number=escape(number), day=day
            )
        )
    if len(dropouts) > DROPOUTS_LISTED:
        lines.append(" · " + t("and {count} more").format(count=len(dropouts) - DROPOUTS_LISTED))
    if flags:
        lines.append(t("A8 flags frozen at the month's end:"))
        lines += [" · " + frozen_flag_text(f, t) for f in flags]
    else:
        lines.append(t("No A8 flag at the month's end."))
    return fit(lines)


async def reports_job(context: CallbackContext[Any, Any, Any, Any]) -> None:
    """The repeating job: one :func:`run_digests` pass, then drain the outbox if it queued."""
    from kcbx.handlers.context import SERVICES_KEY
    from kcbx.handlers.jobs import deliver_now

    app = context.application
    state = app.bot_data.setdefault(STATE_KEY, DigestState())
    try:
        report = await run_digests(app.bot_data[SERVICES_KEY], state)
    except Exception:  # nothing half-written: each freeze and each row is one transaction
        log.exception("digests failed")
        return
    if report.queued or report.frozen:
        log.info(
            "digests: %d weekly, %d monthly, %d A8 warnings; frozen %s",
            report.weekly,
            report.monthly,
            report.warnings,
            ", ".join(report.frozen) or "-",
        )
        await deliver_now(app)


__all__ = [
    "MONTHLY_ROLES",
    "WEEKLY_ROLES",
    "DigestReport",
    "DigestState",
    "queue_monthly",
    "queue_weekly",
    "reports_job",
    "run_digests",
    "school_month_text",
    "week_key",
]
