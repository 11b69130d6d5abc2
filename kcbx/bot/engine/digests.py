"""What the leaders get without asking: the weekly summary, the schools' monthly
reports to the bureau, the A8 month-end freeze and the A8 warnings.

One repeating job (``reports_job`` in :mod:`kcbx.handlers.jobs`) runs
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
* **A4.2**: from Monday 08:00, each school's returns whose check-in is overdue, counted, to
  its lead (:mod:`kcbx.bot.engine.follow_ups`), looked at once an hour;
* **A8**: every month that has ended is frozen (:func:`freeze_due_months`), before the
  monthly reports that quote it; the school year's record takes the findings earned since
  the last pass and tells the leaders they name (:func:`record_and_tell`), and the warnings
  (:func:`queue_warnings`) are computed, both at most once an hour (each message is queued
  once per key anyway; a return between two passes is evaluated as the case stood before).

Nothing is sent in the quiet hours: what is queued then waits for the morning.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from kcbx.bot.domain.a8.rules import month_end, month_start, period_of
from kcbx.bot.domain.i18n import translator
from kcbx.bot.domain.ladder.reminders import quiet_hours_next_send
from kcbx.bot.domain.model import Person
from kcbx.bot.domain.roles import Role
from kcbx.bot.engine.a8_warnings import queue_warnings, record_and_tell
from kcbx.bot.engine.follow_ups import queue_follow_up_digests
from kcbx.bot.engine.validity import queue_validity_warnings
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.accountability import district_views, freeze_due_months
from kcbx.bot.services.summary import DROPOUT_STAGES, summary_view, unit_tree
from kcbx.bot.texts.digests import school_month_text, weekly_text
from kcbx.storage.outbox import OutgoingMessage
from kcbx.storage.reports_repo import MonthActivity, unit_scope

log = logging.getLogger(__name__)

WEEKLY_ROLES = (Role.DISTRICT_LEADER, Role.BUREAU_STAFF, Role.TOWNSHIP_LEADER, Role.PRINCIPAL)
MONTHLY_ROLES = (Role.BUREAU_STAFF,)
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
    findings: int = 0  # messages about new findings of the school year's record
    follow_ups: int = 0  # A4.2: schools' digests of the returns not followed up

    @property
    def queued(self) -> int:
        return self.weekly + self.monthly + self.warnings + self.findings + self.follow_ups


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
        report.findings = await record_and_tell(services)
        report.warnings = await queue_warnings(services)
        report.warnings += await queue_validity_warnings(services)
        report.follow_ups = await queue_follow_up_digests(services)
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
    people = await services.directory.reachable_without_key(
        WEEKLY_ROLES, prefix="wk:", suffix=f":{week}"
    )
    people = people[:WEEKLY_BATCH]  # the rest next pass: no pass holds the database long
    not_before = quiet_hours_next_send(now, services.policy)
    queued = 0
    for person in people:
        lang = _lang(person, services)
        t = translator(lang)
        view = await summary_view(services, person, None)
        if view is None or person.chat_id is None:
            continue
        message = weekly_text(view, monday, services.policy, t, lang)
        if await services.outbox.enqueue(
            key=f"wk:{person.id}:{week}",
            chat_id=person.chat_id,
            message=OutgoingMessage(text=message.text, buttons=message.buttons),
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
    bureau = await services.directory.reachable_people(MONTHLY_ROLES)
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


__all__ = [
    "MONTHLY_ROLES",
    "WEEKLY_ROLES",
    "DigestReport",
    "DigestState",
    "queue_monthly",
    "queue_weekly",
    "run_digests",
    "week_key",
]
