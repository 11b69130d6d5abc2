"""A4.2 through the outbox: each school's returns whose check-in is overdue, once a week.

A check-in after a return (:mod:`kcbx.bot.domain.ladder.follow_up`) is reminded by the sweep
like any task, and escalated once, to the school lead. It is low priority: beyond that, a
return that was not followed up is counted in one digest per school a week (from Monday's
business-day start, ``fuw:{person}:{iso-week}``), to the school's lead (控辍专干; the principal
when no lead can be reached), never a page per case and never higher.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from kcbx.bot.domain.i18n import translator
from kcbx.bot.domain.ladder.follow_up import follow_up_horizon, is_follow_up
from kcbx.bot.domain.ladder.recipients import reachable
from kcbx.bot.domain.ladder.reminders import quiet_hours_next_send
from kcbx.bot.domain.model import Person
from kcbx.bot.domain.roles import Role
from kcbx.bot.engine.loading import load_case_files
from kcbx.bot.runtime.services import Services
from kcbx.bot.texts.follow_ups import Unfollowed, follow_up_digest
from kcbx.storage.outbox import OutgoingMessage

TOLD = (Role.SCHOOL_LEAD, Role.PRINCIPAL)  # the first of these who can be reached


async def unfollowed_returns(services: Services, now: datetime) -> dict[int, list[Unfollowed]]:
    """By school: the recent returns with a check-in overdue at ``now`` (a week beyond the
    sweep's horizon, so that the last week's digest still counts them)."""
    policy = services.policy
    since = now - follow_up_horizon(policy) - timedelta(days=7)
    cases = await services.cases.returned_since(since)
    latest = await services.cases.latest_of_students(c.student_id for c in cases)
    cases = [c for c in cases if latest.get(c.student_id, c.id) <= c.id]  # not absent again
    files = await load_case_files(services, cases)
    by_school: dict[int, list[Unfollowed]] = defaultdict(list)
    for case in cases:
        enrolled = files.enrolled.get(case.student_id)
        if enrolled is None or case.closed_at is None:
            continue
        state = files.state(case, services, now)
        late = [t for t in state.open_tasks if is_follow_up(t.code) and t.due_at < now]
        if late:
            by_school[enrolled.student.school_id].append(
                Unfollowed(
                    case,
                    enrolled.student,
                    policy.time.local_date(case.closed_at),
                    policy.time.local_date(late[0].due_at),
                )
            )
    return by_school


async def queue_follow_up_digests(services: Services) -> int:
    """From Monday's business-day start, each school's unfollowed returns to its lead (else
    its principal), once per ISO week. How many digests were queued."""
    policy = services.policy
    tz = policy.time.tz
    now = services.clock.now()
    local = now.astimezone(tz)
    monday = local.date() - timedelta(days=local.weekday())
    if local < datetime.combine(monday, policy.time.business_day_start, tzinfo=tz):
        return 0
    year, week, _ = local.isocalendar()
    queued = 0
    for school_id, entries in (await unfollowed_returns(services, now)).items():
        person = await _told(services, school_id)
        if person is None or person.chat_id is None:
            continue
        unit = await services.units.get(school_id)
        lang = person.lang or services.config.default_language
        text = follow_up_digest(unit.name if unit else "", entries, monday, translator(lang), lang)
        if await services.outbox.enqueue(
            key=f"fuw:{person.id}:{year}-W{week:02d}",
            chat_id=person.chat_id,
            message=OutgoingMessage(text=text),
            now=now,
            not_before=quiet_hours_next_send(now, policy),
            person_id=person.id,
        ):
            queued += 1
    return queued


async def _told(services: Services, school_id: int) -> Person | None:
    for role in TOLD:
        people = [p for p in await services.people.in_units([school_id], [role]) if reachable(p)]
        if people:
            return people[0]
    return None


__all__ = ["queue_follow_up_digests", "unfollowed_returns"]
