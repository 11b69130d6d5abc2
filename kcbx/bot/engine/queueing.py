"""Turning what the sweep decided into outbox messages, and writing it all in one transaction.

The morning digest. When one sweep releases several reminders to one person (what fell due
overnight waits for 08:00; day 7 brings the school two tasks at once), they go as one message
listing them, paged under 4096 characters, with buttons for each; it is one outbox row (a
page each), written in the same transaction as the rounds it carries, so it is exactly-once
like any reminder. A task whose feature has its own renderer (e.g. a notice) keeps its own
message.

Exactly once. Everything one sweep decides (the outbox rows, the rounds, the escalations and
who was told what) is written in **one transaction**: either a round is queued and recorded,
or neither, and the next sweep does it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from kcbx.bot.domain.i18n import Translate, translator
from kcbx.bot.domain.ladder.recipients import (
    NO_ONE,
    UNREACHABLE,
    CasePlace,
    Directory,
    holders_of,
    reachable,
)
from kcbx.bot.domain.ladder.reminders import quiet_hours_next_send
from kcbx.bot.domain.model import Person
from kcbx.bot.domain.policy.tree import Policy
from kcbx.bot.domain.roles import Role
from kcbx.bot.engine.keys import digest_key
from kcbx.bot.engine.notice_files import FileToRender
from kcbx.bot.engine.planning import Notification, TaskStep
from kcbx.bot.runtime.services import Services
from kcbx.bot.texts.reminders import (
    MAX_PAGES,
    DigestEntry,
    digest_messages,
    language_of,
    liaison_gap_message,
    reminder_message,
    told_message,
)
from kcbx.storage import reminder_history as kinds
from kcbx.storage.case_plans import PlanMark
from kcbx.storage.notices import NoticeFile
from kcbx.storage.outbox import OutgoingMessage, Queued
from kcbx.storage.reminder_history import Escalation, SendRow

log = logging.getLogger(__name__)

YIELD_EVERY = 200  # cases (or recipients) between yields to the event loop


@dataclass
class Outgoing:
    """One outbox message and the notifications it carries (none for a follow-up)."""

    key: str
    person: Person
    case_id: int | None
    message: OutgoingMessage
    notifications: list[Notification]
    digest: bool = False


def _school_name(place: CasePlace | None) -> str:
    if place is None:
        return ""
    school = place.school_unit("school")
    return school.name if school else ""


async def render_messages(
    services: Services,
    notifications: Sequence[Notification],
    places: dict[int, CasePlace],
    budgets: dict[int, int] | None = None,
) -> list[Outgoing]:
    """The outbox messages for these notifications: a digest per person when several are
    plain (no feature renders them), or when the person's day has little room left."""
    by_person: dict[int, list[Notification]] = {}
    for n in notifications:
        by_person.setdefault(n.due.recipient.id, []).append(n)
    out: list[Outgoing] = []
    for index, group in enumerate(by_person.values()):
        if index % YIELD_EVERY == YIELD_EVERY - 1:
            await asyncio.sleep(0)  # let the handlers answer people during a long sweep
        room = (budgets or {}).get(group[0].due.recipient.id, MAX_PAGES)
        out += await _messages_of_person(services, group, places, room)
    return out


async def _messages_of_person(
    services: Services, group: list[Notification], places: dict[int, CasePlace], room: int
) -> list[Outgoing]:
    person = group[0].due.recipient
    lang = language_of(person, services.config.default_language)
    t = translator(lang)
    out: list[Outgoing] = []
    plain: list[Notification] = []
    own_messages = room >= MAX_PAGES and (  # else one numbered list
        len(group) == 1 or (len(group) <= MAX_PAGES and not any(_with_files(n) for n in group))
    )
    for n in group:
        rendered = await _rendered(services, n, t) if own_messages else []
        if not rendered:
            plain.append(n)
            continue
        for i, message in enumerate(rendered):
            key = n.key if i == 0 else f"{n.key}:{i}"
            out.append(Outgoing(key, person, n.due.case.id, message, [n] if i == 0 else []))
    school = {n.key: _school_name(places.get(n.due.student.id)) for n in plain}
    policy = services.policy
    if len(plain) == 1:
        n = plain[0]
        message = _plain(n, school[n.key], policy, lang)
        out.append(Outgoing(n.key, person, n.due.case.id, message, [n]))
    elif plain:
        entries = [
            DigestEntry(n.due, school[n.key], n.told_to, n.told_role, n.kind == kinds.CC)
            for n in plain
        ]
        keys = [n.key for n in plain]
        cases = {n.due.case.id for n in plain}
        case_id = next(iter(cases)) if len(cases) == 1 else None
        pages = digest_messages(entries, policy, t, lang, max(1, min(MAX_PAGES, room)))
        for page, message in enumerate(pages, start=1):
            carried = plain if page == 1 else []
            key = digest_key(person.id, keys, page)
            out.append(Outgoing(key, person, case_id, message, carried, digest=True))
    return out


async def _rendered(services: Services, n: Notification, t: Translate) -> list[OutgoingMessage]:
    """A feature's own messages for this notification; none for the generic reminder."""
    if n.kind == kinds.TOLD:
        return []
    renderer = services.task_hooks.renderer_for(n.due.task.code)
    if renderer is None:
        return []
    try:
        return await renderer(services, n.due, t)
    except Exception:  # a feature's renderer failed: the generic reminder still goes
        log.exception("renderer for %s failed; sending the generic reminder", n.key)
        return []


# --- no flood: one numbered list per person per sweep, a daily budget --------------------------

MAX_PER_DAY = 8  # messages to one person in one day (policy time zone), every feature's
_MAIN = frozenset({kinds.REMIND, kinds.ESCALATED, kinds.UNREACHABLE, kinds.NO_ONE})


async def _budgets(services: Services, steps: Sequence[TaskStep], now: datetime) -> dict[int, int]:
    """How many more messages each person told in this sweep may get today."""
    tz = services.policy.time.tz
    midnight = datetime.combine(now.astimezone(tz).date(), time(0), tzinfo=tz)
    people = {n.due.recipient.id for s in steps for n in s.notifications}
    sent = await services.outbox.per_person_since(midnight, people)
    return {pid: MAX_PER_DAY - sent.get(pid, 0) for pid in people}


def _defer(steps: Sequence[TaskStep], budgets: dict[int, int]) -> list[TaskStep]:
    """The steps whose owner has no room left today (they wait for the next working
    morning); copies and notes to people without room are dropped from the others."""
    deferred = []
    for step in steps:
        if any(n.kind in _MAIN and budgets[n.due.recipient.id] <= 0 for n in step.notifications):
            deferred.append(step)
            continue
        step.notifications = [n for n in step.notifications if budgets[n.due.recipient.id] > 0]
    return deferred


async def budgeted(
    services: Services,
    report: Any,
    steps: list[TaskStep],
    places: dict[int, CasePlace],
    directory: Directory,
    wake: Callable[[int, datetime], None],
) -> list[Outgoing]:
    """The messages of these steps within each person's budget; a step over the day's budget
    is taken out of ``steps`` and waits for the next working morning (``wake``)."""
    now = report.now
    budgets = await _budgets(services, steps, now)
    for step in _defer(steps, budgets):
        steps.remove(step)
        report.deferred += 1
        wake(step.case.id, services.calendar.next_working_morning(now))
    notifications = [n for s in steps for n in s.notifications]
    outgoing = await render_messages(services, notifications, places, budgets)
    return outgoing + _liaison_gaps(services, steps, places, directory, now)


def _liaison_gaps(
    services: Services,
    steps: Sequence[TaskStep],
    places: dict[int, CasePlace],
    directory: Directory,
    now: datetime,
) -> list[Outgoing]:
    """Tell each district's administrator once a day which departments need a liaison."""
    gaps: dict[int, tuple[Person, set[str]]] = {}
    for step in steps:
        task = step.task
        if task.role != Role.DEPARTMENT_LIAISON or step.reason not in (UNREACHABLE, NO_ONE):
            continue
        place = places.get(step.notifications[0].due.student.id) if step.notifications else None
        if place is None or task.department is None:
            continue
        for admin in holders_of(Role.ADMIN, place, directory):
            if reachable(admin):
                gaps.setdefault(admin.id, (admin, set()))[1].add(task.department)
    day = now.astimezone(services.policy.time.tz).date().isoformat()
    out = []
    for admin, departments in gaps.values():
        t = translator(language_of(admin, services.config.default_language))
        message = liaison_gap_message(sorted(departments), t)
        out.append(Outgoing(f"liaison:{admin.id}:{day}", admin, None, message, []))
    return out


def _with_files(n: Notification) -> bool:
    """A task whose own message may bring documents (A7.4, A7.5: up to three messages)."""
    return n.due.task.code.startswith(("A7.4", "A7.5"))


def _plain(n: Notification, school: str, policy: Policy, lang: str) -> OutgoingMessage:
    t = translator(lang)
    if n.kind == kinds.TOLD:
        assert n.told_role is not None
        return told_message(n.due, n.told_to, n.told_role, school, policy, t, lang)
    return reminder_message(n.due, school, policy, t, lang, cc=n.kind == kinds.CC)


def _rows(
    outgoing: Sequence[Outgoing], not_before: datetime
) -> tuple[list[Queued], list[SendRow], list[NoticeFile]]:
    queued: list[Queued] = []
    sends: list[SendRow] = []
    files: list[NoticeFile] = []
    for item in outgoing:
        assert item.person.chat_id is not None  # routes choose reachable people only
        if isinstance(item.message, FileToRender):  # rendered and queued off the sweep
            m = item.message
            files.append(
                NoticeFile(
                    *(item.key, m.notice_id, m.file_format, item.person.id),
                    *(item.person.chat_id, item.case_id, m.text),
                )
            )
            continue
        queued.append(
            Queued(
                item.key,
                item.person.chat_id,
                item.message,
                person_id=item.person.id,
                case_id=item.case_id,
                not_before=not_before,
            )
        )
        for n in item.notifications:
            due = n.due
            source = due.escalated_from.id if due.escalated_from else None
            sends.append(
                SendRow(
                    *(due.case.id, due.task.key, due.task.code, n.round, n.kind),
                    *(due.recipient.id, n.role, source, item.key),
                )
            )
    return queued, sends, files


async def write_sweep(
    services: Services,
    steps: Sequence[TaskStep],
    outgoing: Sequence[Outgoing],
    now: datetime,
    first_due: Sequence[tuple[int, str, str]] = (),
    plans: Sequence[PlanMark] = (),
    closed: Sequence[int] = (),
) -> int:
    """Queue the messages and record first-due marks, rounds, escalations, who was told
    what, and when to look at each case again (``plans``; ``closed`` cases leave the plan):
    one transaction, a few batched statements, all or nothing. Returns rows queued."""
    if not (steps or outgoing or first_due or plans or closed):
        return 0
    queued, sends, files = _rows(outgoing, quiet_hours_next_send(now, services.policy))
    history = services.reminder_history
    async with services.db.transaction():
        await history.save_sweep(
            now=now,
            first_due=first_due,
            rounds=[(s.case.id, s.task.key, s.round) for s in steps if s.round is not None],
            escalations=[
                Escalation(s.case.id, s.task.key, s.escalate_to, s.reason)
                for s in steps
                if s.escalate_to is not None
            ],
        )
        count = await services.outbox.enqueue_many(queued, now=now) if queued else 0
        count += await services.notice_files.add_many(files, now=now)
        await history.save_sweep(now=now, sends=sends)
        await services.case_plans.save(plans, now=now)
        await services.case_plans.forget(closed)
        if count:
            await history.record_sweep(
                now=now,
                detail={
                    "queued": count,
                    "tasks": len(steps),
                    "escalations": sum(1 for s in steps if s.escalate_to is not None),
                },
            )
    return count
