"""The sweep: walks the open cases, finds what is due and for whom, and queues the reminders.

Rules A7.1-A7.6 and A5/A6/A9 through the ladder. The sweep holds no state: the
ladder (:mod:`kcbx.bot.domain.ladder`) says which tasks are due from the recorded actions, the
reminder history (migration 0007) says what was already sent, the reminder plan
(:mod:`kcbx.bot.domain.reminders`) says what to do now, and :mod:`kcbx.bot.domain.recipients`
says who.
A restart, a crash or a week offline loses nothing: the next sweep catches up.

Exactly once. Everything one sweep decides (the outbox rows, the rounds, the escalations and
who was told what) is written in **one transaction**: either a round is queued and recorded,
or neither, and the next sweep does it. Each outbox row has a unique key
(``r:{case}:{task key}:{round}:{person}`` for a reminder, ``e:`` an escalation, ``u:`` a
hand-over, ``n:`` the note to the person escalated past, ``d:`` a digest), so the outbox sends
each at most once and retries it until delivered (:mod:`kcbx.bot.engine.delivery`).

The morning digest. When one sweep releases several reminders to one person (what fell due
overnight waits for 08:00; day 7 brings the school two tasks at once), they go as one message
listing them, paged under 4096 characters, with buttons for each; it is one outbox row (a
page each), written in the same transaction as the rounds it carries, so it is exactly-once
like any reminder. A task whose feature has its own renderer (e.g. a notice with its
documents) keeps its own message.

Who. A due task goes to the holders of its role for the student (recipients.route); a copy
goes once (round 1) to its cc roles. Nobody of the role reachable (blocked the bot, never
joined, revoked, or nobody holds it): the supervisor (for the 三包 chain, its next level)
gets it at once, and its plan ends. After the re-reminder, the escalation goes to the
supervisor's role and the person is told. A 403 at delivery marks the person unreachable
and :func:`hand_over` gives their tasks to the supervisor at once
(``Delivery.on_unreachable``). Nothing of the sweep is sent between 20:00 and 08:00, not
even a retry (:func:`quiet_hold`, ``Delivery.hold``).

Scale. The job keeps one :class:`Sweeper`, which looks again only at the cases that changed
or whose next event has come; a province's idle minute costs two queries and a loop.

Features plug in through ``services.task_hooks``: a renderer per task-code prefix (default:
:mod:`kcbx.bot.texts.reminders`), and first-due hooks that run once per (case, task key), in
one transaction with the mark that they ran.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from functools import cached_property
from typing import Any

from telegram.ext import Application, CallbackContext

from kcbx.bot.domain.due import DueTask
from kcbx.bot.domain.i18n import translator
from kcbx.bot.domain.ladder import LadderState, Task, ladder_state
from kcbx.bot.domain.model import Action, Case, Person
from kcbx.bot.domain.policy import Policy
from kcbx.bot.domain.recipients import (
    CasePlace,
    Directory,
    Route,
    holders_of,
    reachable,
    route,
    stand_in_role,
)
from kcbx.bot.domain.reminders import (
    Decision,
    Escalate,
    ReminderHistory,
    Send,
    decide,
    in_quiet_hours,
    plan,
    quiet_hours_next_send,
)
from kcbx.bot.engine.delivery import HoldHook, UnreachableHook
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.cases import action_facts, case_facts
from kcbx.bot.texts.reminders import (
    DigestEntry,
    digest_messages,
    language_of,
    reminder_message,
    told_message,
)
from kcbx.storage import reminder_history as kinds
from kcbx.storage.directory import Enrolled
from kcbx.storage.outbox import OutboxItem, OutgoingMessage, Queued
from kcbx.storage.reminder_history import Escalation, SendRow, TaskHistory

log = logging.getLogger(__name__)

SWEEP_LOCK_KEY = "kcbx.sweep_lock"
SWEEPER_KEY = "kcbx.sweeper"
YIELD_EVERY = 200  # cases (or recipients) between yields to the event loop
ESCALATED = "escalated"  # DueTask.reason of an escalation


# --- outbox keys -----------------------------------------------------------------------------


def reminder_key(case_id: int, task_key: str, round: int, person_id: int) -> str:
    return f"r:{case_id}:{task_key}:{round}:{person_id}"


def _key(kind: str, case_id: int, task_key: str, round: int, person_id: int) -> str:
    if kind in (kinds.REMIND, kinds.CC):
        return reminder_key(case_id, task_key, round, person_id)
    prefix = {kinds.ESCALATED: "e", kinds.TOLD: "n"}.get(kind, "u")
    return f"{prefix}:{case_id}:{task_key}:{person_id}"


def digest_key(person_id: int, keys: Iterable[str], page: int) -> str:
    """One key per (person, set of reminders, page): the same digest is never queued twice."""
    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:20]
    return f"d:{person_id}:{digest}:{page}"


# --- what the sweep decides ------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """One person to be told about one task (a row of ``reminder_sends``)."""

    due: DueTask
    kind: str  # kinds.REMIND, CC, ESCALATED, UNREACHABLE, NO_ONE or TOLD
    role: str  # the role the person is told in
    round: int  # the reminder round (0 for escalations and the notes about them)
    told_to: tuple[Person, ...] = ()  # TOLD: who the task went to
    told_role: str | None = None

    @cached_property
    def key(self) -> str:
        """Its outbox key when it goes as a message of its own."""
        due = self.due
        return _key(self.kind, due.case.id, due.task.key, self.round, due.recipient.id)


@dataclass
class TaskStep:
    """What one sweep decided about one task of one case."""

    case: Case
    student_name: str
    task: Task
    at: datetime
    decision: Decision
    round: int | None = None  # a reminder round to record
    escalate_to: str | None = None  # the task went to this role: its plan ends
    reason: str = ""  # ESCALATED, UNREACHABLE or NO_ONE with escalate_to
    notices: list[Notice] = field(default_factory=list)

    def describe(self, policy: Policy) -> str:
        """One line for operators (the CLI): when, which case and task, to whom."""
        local = self.at.astimezone(policy.time.tz)
        people = ", ".join(
            f"{n.due.recipient.name} ({n.role}{', ' + n.kind if n.kind != kinds.REMIND else ''})"
            for n in self.notices
        )
        if self.escalate_to is not None:
            what = self.reason
        elif isinstance(self.decision, Send):
            what = f"round {self.decision.round}"
        else:
            what = ESCALATED
        return (
            f"{local:%Y-%m-%d %H:%M} {self.case.number} {self.student_name} "
            f"{self.task.code} ({self.task.rule}) {what} -> {people or 'nobody can be told'}"
        )


@dataclass
class SweepReport:
    """What one sweep saw and did."""

    now: datetime
    cases: int = 0  # open cases walked
    due: int = 0  # tasks due and not done
    hooks_run: int = 0  # tasks whose first-due hooks ran
    steps: list[TaskStep] = field(default_factory=list)
    queued: int = 0  # outbox rows written
    digests: int = 0  # of which digest pages
    withdrawn: int = 0  # pending reminders of closed cases cancelled
    skipped: int = 0  # open cases not looked at: unchanged, and nothing can be due yet
    unassigned: list[str] = field(default_factory=list)  # due, nobody at all to tell
    errors: list[str] = field(default_factory=list)

    @property
    def reminders(self) -> int:
        return sum(1 for s in self.steps if s.escalate_to is None)

    @property
    def escalations(self) -> int:
        return sum(1 for s in self.steps if s.reason == ESCALATED)

    @property
    def handovers(self) -> int:
        return sum(1 for s in self.steps if s.reason in (kinds.UNREACHABLE, kinds.NO_ONE))

    def summary(self) -> str:
        return (
            f"{self.cases} open cases, {self.due} tasks due: {self.reminders} reminders, "
            f"{self.escalations} escalations, {self.handovers} hand-overs; "
            f"{self.queued} messages queued ({self.digests} digest pages); "
            f"{len(self.unassigned)} with nobody to tell; {len(self.errors)} errors"
        )


# --- loading, in batches ---------------------------------------------------------------------


@dataclass
class _World:
    """The open cases and everything the ladder and the plan need about them."""

    cases: list[Case]
    enrolled: dict[int, Enrolled]  # by student id
    actions: dict[int, list[Action]]  # by case id
    roles: dict[int, str]  # actor person id -> role
    histories: dict[int, dict[str, TaskHistory]]  # by case id, then task key

    def histories_of(self, case_id: int) -> dict[str, TaskHistory]:
        return self.histories.get(case_id, {})

    def state(self, case: Case, services: Services, now: datetime) -> LadderState:
        enrolled = self.enrolled.get(case.student_id)
        return ladder_state(
            case_facts(case, enrolled.student if enrolled else None),
            action_facts(self.actions.get(case.id, []), self.roles),
            services.policy,
            services.calendar,
            now,
        )


async def _load(services: Services, cases: list[Case]) -> _World:
    ids = [c.id for c in cases]
    actions = await services.cases.actions_of_cases(ids) if ids else {}
    actors = {a.actor_id for acts in actions.values() for a in acts if a.actor_id is not None}
    people = await services.directory.people(actors)
    return _World(
        cases=cases,
        enrolled=await services.directory.students(c.student_id for c in cases),
        actions=actions,
        roles={pid: p.role.value for pid, p in people.items()},
        histories=await services.reminder_history.by_case(ids),
    )


async def load_places(
    services: Services, enrolled: Iterable[Enrolled]
) -> tuple[dict[int, CasePlace], Directory]:
    """Where each student belongs, and who holds which role around them."""
    enrolled = list(enrolled)
    units = {e.student.school_id for e in enrolled}
    units |= {e.student.household_unit_id for e in enrolled if e.student.household_unit_id}
    lineages = await services.directory.lineages(units)
    departments = await services.directory.departments()
    around = {u.id for chain in lineages.values() for u in chain} | {d.id for d in departments}
    people = await services.directory.people_in_units(around)
    teachers = await services.directory.people(e.teacher_id for e in enrolled if e.teacher_id)
    directory = Directory([*people, *teachers.values()], departments)
    places = {
        e.student.id: CasePlace(
            school=lineages.get(e.student.school_id, ()),
            household=lineages.get(e.student.household_unit_id or -1, ()),
            class_teacher_id=e.teacher_id,
        )
        for e in enrolled
    }
    return places, directory


def history_of(history: TaskHistory | None) -> ReminderHistory:
    """The stored history of a task as the reminder plan reads it."""
    if history is None:
        return ReminderHistory()
    return ReminderHistory(
        sent=history.rounds,
        acknowledged_at=history.acknowledged_at,
        escalated_at=history.escalated_at,
    )


# --- who is told (pure) ----------------------------------------------------------------------


def plan_task(
    case: Case,
    enrolled: Enrolled,
    state: LadderState,
    task: Task,
    decision: Decision,
    history: ReminderHistory,
    place: CasePlace,
    directory: Directory,
    now: datetime,
) -> TaskStep | None:
    """Who hears what about ``task`` now; None when nobody at all can be told."""
    student = enrolled.student
    step = TaskStep(case, student.name, task, now, decision)

    def notice(
        person: Person,
        kind: str,
        role: str,
        round: int,
        reason: str = "",
        source: Person | None = None,
        **extra: Any,
    ) -> Notice:
        due = DueTask(case, student, state, task, round, person, source, reason)
        return Notice(due, kind, role, round if kind in (kinds.REMIND, kinds.CC) else 0, **extra)

    if isinstance(decision, Send):
        main = route(task.role, place, directory, task.department)
        if main.role is None:
            return None
        step.round = decision.round
        if main.reason:  # nobody of the role can be told: the supervisor has it at once
            step.escalate_to, step.reason = main.role, main.reason
            source = main.first_passed
            step.notices = [
                notice(p, main.reason, main.role, decision.round, main.reason, source)
                for p in main.people
            ]
        else:
            step.notices = [notice(p, kinds.REMIND, task.role, decision.round) for p in main.people]
        if decision.round == 1:  # cc roles are informed once, never reminded again
            told = {n.due.recipient.id for n in step.notices}
            for role in task.cc:
                for person in holders_of(role, place, directory):
                    if reachable(person) and person.id not in told:
                        told.add(person.id)
                        step.notices.append(notice(person, kinds.CC, role, 1))
        return step

    assert isinstance(decision, Escalate)
    holders = holders_of(decision.from_role, place, directory, task.department)
    up: Route = route(decision.to_role, place, directory, exclude={p.id for p in holders})
    if up.role is None:
        return None
    source = next((p for p in holders if reachable(p)), holders[0] if holders else None)
    rounds = len(history.sent)  # the reminders that went unanswered
    step.escalate_to, step.reason = up.role, ESCALATED
    step.notices = [
        notice(p, kinds.ESCALATED, up.role, rounds, ESCALATED, source) for p in up.people
    ]
    hearing = {p.id for p in up.people}
    step.notices += [
        notice(p, kinds.TOLD, decision.from_role, rounds, told_to=up.people, told_role=up.role)
        for p in holders
        if reachable(p) and p.id not in hearing
    ]
    return step


# --- rendering -------------------------------------------------------------------------------


@dataclass
class _Outgoing:
    key: str
    person: Person
    case_id: int | None
    message: OutgoingMessage
    notices: list[Notice]
    digest: bool = False


def _school_name(place: CasePlace | None) -> str:
    if place is None:
        return ""
    school = place.school_unit("school")
    return school.name if school else ""


async def _render(
    services: Services, notices: Sequence[Notice], places: dict[int, CasePlace]
) -> list[_Outgoing]:
    """The outbox messages for these notices: a digest per person when several are plain."""
    by_person: dict[int, list[Notice]] = {}
    for n in notices:
        by_person.setdefault(n.due.recipient.id, []).append(n)
    policy, default = services.policy, services.config.default_language
    out: list[_Outgoing] = []
    for index, group in enumerate(by_person.values()):
        if index % YIELD_EVERY == YIELD_EVERY - 1:
            await asyncio.sleep(0)  # let the handlers answer people during a long sweep
        person = group[0].due.recipient
        lang = language_of(person, default)
        t = translator(lang)
        plain: list[Notice] = []
        for n in group:
            renderer = (
                None if n.kind == kinds.TOLD else services.task_hooks.renderer_for(n.due.task.code)
            )
            if renderer is None:
                plain.append(n)
                continue
            try:
                messages = await renderer(services, n.due, t)
            except Exception:  # a feature's renderer failed: the generic reminder still goes
                log.exception("renderer for %s failed; sending the generic reminder", n.key)
                messages = []
            if not messages:
                plain.append(n)
                continue
            for i, message in enumerate(messages):
                key = n.key if i == 0 else f"{n.key}:{i}"
                out.append(_Outgoing(key, person, n.due.case.id, message, [n] if i == 0 else []))
        school = {n.key: _school_name(places.get(n.due.student.id)) for n in plain}
        if len(plain) == 1:
            n = plain[0]
            out.append(
                _Outgoing(n.key, person, n.due.case.id, _plain(n, school[n.key], policy, lang), [n])
            )
        elif plain:
            entries = [
                DigestEntry(n.due, school[n.key], n.told_to, n.told_role, n.kind == kinds.CC)
                for n in plain
            ]
            pages = digest_messages(entries, policy, t, lang)
            keys = [n.key for n in plain]
            cases = {n.due.case.id for n in plain}
            case_id = next(iter(cases)) if len(cases) == 1 else None
            for page, message in enumerate(pages, start=1):
                out.append(
                    _Outgoing(
                        digest_key(person.id, keys, page),
                        person,
                        case_id,
                        message,
                        plain if page == 1 else [],
                        digest=True,
                    )
                )
    return out


def _plain(n: Notice, school: str, policy: Policy, lang: str) -> OutgoingMessage:
    t = translator(lang)
    if n.kind == kinds.TOLD:
        assert n.told_role is not None
        return told_message(n.due, n.told_to, n.told_role, school, policy, t, lang)
    return reminder_message(n.due, school, policy, t, lang, cc=n.kind == kinds.CC)


# --- writing, in one transaction -------------------------------------------------------------


async def _write(
    services: Services,
    steps: Sequence[TaskStep],
    outgoing: Sequence[_Outgoing],
    now: datetime,
    first_due: Sequence[tuple[int, str, str]] = (),
) -> int:
    """Queue the messages and record first-due marks, rounds, escalations and who was told
    what: one transaction, a few batched statements, all or nothing. Returns rows queued."""
    if not (steps or outgoing or first_due):
        return 0
    not_before = quiet_hours_next_send(now, services.policy)
    sends: list[SendRow] = []
    queued: list[Queued] = []
    for item in outgoing:
        assert item.person.chat_id is not None  # routes choose reachable people only
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
        for n in item.notices:
            due = n.due
            source = due.escalated_from.id if due.escalated_from else None
            sends.append(
                SendRow(
                    *(due.case.id, due.task.key, due.task.code, n.round, n.kind),
                    *(due.recipient.id, n.role, source, item.key),
                )
            )
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
        count = await services.outbox.enqueue_many(queued, now=now)
        await history.save_sweep(now=now, sends=sends)
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


# --- the sweep -------------------------------------------------------------------------------


async def _first_due(
    services: Services, case: Case, enrolled: Enrolled, task: Task, now: datetime
) -> None:
    """Run the task's first-due hooks and mark that they ran, in one transaction."""
    async with services.db.transaction():
        for hook in services.task_hooks.first_due_for(task.code):
            await hook(services, case, enrolled.student, task)
        await services.reminder_history.mark_first_due(
            case.id, task_key=task.key, task_code=task.code, now=now
        )


def next_tick(now: datetime, policy: Policy) -> datetime:
    """The next instant a task can appear or fall due without anyone acting: a midnight,
    the start or end of the business day, or the end of the quiet hours."""
    marks = (
        time(0),
        policy.time.business_day_start,
        policy.time.business_day_end,
        policy.reminders.quiet_end,
    )
    tz = policy.time.tz
    day = now.astimezone(tz).date()
    instants = [
        datetime.combine(day + timedelta(days=d), m, tzinfo=tz) for d in (0, 1) for m in marks
    ]
    return min(i for i in instants if i > now)


@dataclass
class _Watch:
    """What the sweeper knew of a case when it last looked, and when to look again."""

    case: Case
    wake: datetime


@dataclass
class _Due:
    """A task owed now, with its reminder history and what the plan says to do."""

    case: Case
    enrolled: Enrolled
    state: LadderState
    task: Task
    key: str
    history: ReminderHistory
    decision: Decision


class Sweeper:
    """Sweeps one database again and again (the job keeps one per application).

    Each pass reads the open cases (one query); a case's count of recorded actions grows
    with each action, in the action's transaction, so a new action changes the case as read
    (however concurrent writers commit). A case is looked at again when it changed (a new
    action, a new cause, closed or reopened), when its next event has come (the
    earliest of: a task falls due, a reminder plan's next step, the next tick of
    :func:`next_tick`), and in any case after ``RECHECK`` (staggered by case), so that a
    change the sweeper cannot see (a student's A9 flags from a roster import) is not missed
    for long. A new sweeper (a restart, an operator's sweep) looks at every case.
    """

    RECHECK = timedelta(minutes=30)

    def __init__(self, services: Services) -> None:
        self.services = services
        self._watch: dict[int, _Watch] = {}
        self._last: datetime | None = None

    async def run(self, now: datetime) -> SweepReport:
        services = self.services
        report = SweepReport(now)
        if self._last is not None and now < self._last:
            self._watch.clear()  # the clock went back (an operator, a test): look at all
        self._last = now
        report.withdrawn = await services.reminder_history.withdraw_for_closed_cases()
        cases = await services.cases.open_cases()
        report.cases = len(cases)
        look = [c for c in cases if self._changed(c, now)]
        report.skipped = len(cases) - len(look)
        open_ids = {c.id for c in cases}
        self._watch = {k: w for k, w in self._watch.items() if k in open_ids}
        for case in look:
            self._watch.pop(case.id, None)  # kept again only once its sweep is written
        if look:
            await self._sweep(look, now, report)
        return report

    def _changed(self, case: Case, now: datetime) -> bool:
        watch = self._watch.get(case.id)
        return watch is None or watch.case != case or now >= watch.wake

    def _recheck(self, case: Case, now: datetime) -> datetime:
        """Between half of RECHECK and all of it, spread by case id."""
        return now + self.RECHECK * (16 + case.id % 16) / 32

    async def _sweep(self, cases: list[Case], now: datetime, report: SweepReport) -> None:
        services, policy = self.services, self.services.policy
        world = await _load(services, cases)
        quiet = in_quiet_hours(now, policy)
        quiet_end = quiet_hours_next_send(now, policy)
        tick = next_tick(now, policy)
        due: list[_Due] = []
        marks: list[tuple[int, str, str]] = []
        wakes: dict[int, datetime] = {}
        for index, case in enumerate(cases):
            if index % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)  # let the handlers answer people during a long sweep
            enrolled = world.enrolled.get(case.student_id)
            if enrolled is None:
                continue
            try:
                state = world.state(case, services, now)
            except Exception as exc:  # one bad case must not stop the others' reminders
                log.exception("ladder of case %s failed", case.number)
                report.errors.append(f"{case.number}: {exc}")
                continue
            wake = min(tick, self._recheck(case, now))
            plans = {key: history_of(h) for key, h in world.histories_of(case.id).items()}
            for task in state.open_tasks:
                if not task.is_due(now):
                    wake = min(wake, task.due_at)
                    continue
                report.due += 1
                key = task.key
                if key not in plans:
                    if services.task_hooks.first_due_for(task.code):
                        try:
                            await _first_due(services, case, enrolled, task, now)
                            report.hooks_run += 1
                        except Exception as exc:  # tried again at the next sweep
                            log.exception("first-due hooks of %s %s failed", case.number, key)
                            report.errors.append(f"{case.number} {task.code}: {exc}")
                            wake = now
                            continue
                    else:
                        marks.append((case.id, key, task.code))
                    plans[key] = ReminderHistory()
                upcoming = plan(task, plans[key], policy)  # reminders.decide, and what next
                if upcoming is None:
                    continue
                if upcoming.at <= now and not quiet:
                    decision = upcoming.decision
                    due.append(_Due(case, enrolled, state, task, key, plans[key], decision))
                else:
                    wake = min(wake, max(upcoming.at, quiet_end))
            wakes[case.id] = wake
        places, directory = await load_places(services, (d.enrolled for d in due))
        for d in due:
            place = places[d.enrolled.student.id]
            step = plan_task(
                d.case, d.enrolled, d.state, d.task, d.decision, d.history, place, directory, now
            )
            if step is None:  # nobody at all to tell: try again at every sweep
                report.unassigned.append(f"{d.case.number} {d.task.code}")
                wakes[d.case.id] = now
                continue
            report.steps.append(step)
            following = plan(d.task, _after(d.history, step, now), policy)
            if following is not None:
                wakes[d.case.id] = min(wakes[d.case.id], max(following.at, quiet_end))
        if report.unassigned:
            log.warning(
                "nobody to tell about %d due tasks: %s",
                len(report.unassigned),
                ", ".join(report.unassigned[:20]),
            )
        outgoing = await _render(services, [n for s in report.steps for n in s.notices], places)
        report.digests = sum(1 for o in outgoing if o.digest)
        report.queued = await _write(services, report.steps, outgoing, now, marks)
        for case in cases:  # written: remember when to look at each case again
            if case.id in wakes and wakes[case.id] > now:
                self._watch[case.id] = _Watch(case, wakes[case.id])


async def sweep(services: Services, now: datetime) -> SweepReport:
    """One full pass over the open cases at ``now`` (operators, tests): first-due hooks,
    then everything due queued in one transaction."""
    return await Sweeper(services).run(now)


# --- hand-over on 403 ------------------------------------------------------------------------


async def hand_over(services: Services, item: OutboxItem) -> int:
    """A reminder bounced (403; the person is already marked unreachable): the tasks it
    carried go to the supervisor at once. Returns the messages queued."""
    if item.person_id is None:
        return 0
    sends = [
        s
        for s in await services.reminder_history.sends_of_message(item.dedup_key)
        if s.person_id == item.person_id and s.kind not in (kinds.TOLD, kinds.CC)
    ]
    if not sends:
        return 0
    now = services.clock.now()
    cases = [c for c in [await services.cases.get(i) for i in {s.case_id for s in sends}] if c]
    world = await _load(services, [c for c in cases if c.is_open])
    by_id = {c.id: c for c in world.cases}
    places, directory = await load_places(services, world.enrolled.values())
    blocked = (await services.directory.people([item.person_id])).get(item.person_id)
    steps: list[TaskStep] = []
    for send in sends:
        case = by_id.get(send.case_id)
        enrolled = world.enrolled.get(case.student_id) if case else None
        if case is None or enrolled is None:
            continue
        state = world.state(case, services, now)
        task = next((t for t in state.tasks if t.key == send.task_key), None)
        if task is None or task.done:
            continue
        place = places[enrolled.student.id]
        history = world.histories_of(case.id).get(task.key)
        step = TaskStep(case, enrolled.student.name, task, now, Send(send.round, (send.role,)))
        if send.kind == kinds.REMIND:
            if history is not None and history.escalated_at is not None:
                continue
            up = route(task.role, place, directory, task.department)
            if not up.reason or up.role is None:
                continue  # others of the role were told too, or nobody is left at all
            step.escalate_to, step.reason = up.role, kinds.UNREACHABLE
        else:  # the supervisor who was handed the task is unreachable: one more step up
            above = stand_in_role(send.role)
            if above is None:
                continue
            up = route(above, place, directory, exclude={send.person_id})
            if up.role is None:
                continue
        step.notices = [
            Notice(
                DueTask(case, enrolled.student, state, task, send.round, p, blocked, "unreachable"),
                kinds.UNREACHABLE,
                up.role or "",
                0,
            )
            for p in up.people
        ]
        steps.append(step)
    if not steps:
        return 0
    outgoing = await _render(services, [n for s in steps for n in s.notices], places)
    return await _write(services, steps, outgoing, now)


# The outbox keys of what the sweep queues: reminders, escalations, hand-overs, notes, digests.
OUTBOX_PREFIXES = (*kinds.REMINDER_KEY_PREFIXES, "d:")


def quiet_hold(services: Services) -> HoldHook:
    """``Delivery.hold``: a reminder due in the quiet hours (a retry, a restart at night)
    waits for their end; nothing of the sweep is sent between 20:00 and 08:00."""

    def hold(item: OutboxItem, now: datetime) -> datetime | None:
        if not item.dedup_key.startswith(OUTBOX_PREFIXES):
            return None
        if not in_quiet_hours(now, services.policy):
            return None
        return quiet_hours_next_send(now, services.policy)

    return hold


def unreachable_hook(services: Services) -> UnreachableHook:
    """``Delivery.on_unreachable``: hand the bounced tasks over; never fail the drain."""

    async def hook(item: OutboxItem) -> None:
        try:
            await hand_over(services, item)
        except Exception:  # logged; the person stays marked, the next sweep routes around
            log.exception("hand-over of %s failed", item.dedup_key)

    return hook


# --- looking ahead (dry run) -----------------------------------------------------------------


def _ticks(start: datetime, end: datetime, policy: Policy) -> list[datetime]:
    """The instants of each day at which tasks appear or fall due, or quiet hours end."""
    tz = policy.time.tz
    marks = {
        time(0),
        policy.time.business_day_start,
        policy.time.business_day_end,
        policy.reminders.quiet_end,
    }
    day = start.astimezone(tz).date()
    last = end.astimezone(tz).date()
    out = []
    while day <= last:
        out += [datetime.combine(day, m, tzinfo=tz) for m in marks]
        day += timedelta(days=1)
    return sorted(t for t in out if start < t <= end)


async def forecast(services: Services, start: datetime, days: float) -> list[TaskStep]:
    """What will fire from ``start`` for ``days`` days, and to whom, if nobody acts.

    Reads only: no hooks run, nothing is queued or recorded. Recorded actions are taken as
    they are; acknowledgements and actions still to come are not foreseen.
    """
    end = start + timedelta(days=days)
    policy = services.policy
    cases = await services.cases.open_cases()
    world = await _load(services, cases)
    places, directory = await load_places(services, world.enrolled.values())
    ticks = _ticks(start, end, policy)
    steps: list[TaskStep] = []
    for case in cases:
        enrolled = world.enrolled.get(case.student_id)
        if enrolled is None:
            continue
        histories = {key: history_of(h) for key, h in world.histories_of(case.id).items()}
        queue = [start, *ticks]
        heapq.heapify(queue)
        seen: set[datetime] = set()
        nobody: set[str] = set()
        while queue:
            now = heapq.heappop(queue)
            if now in seen:
                continue
            seen.add(now)
            state = world.state(case, services, now)
            for task in state.open_tasks:
                history = histories.get(task.key, ReminderHistory())
                decision = decide(task, history, policy, now) if task.is_due(now) else None
                if decision is not None:
                    step = plan_task(
                        case,
                        enrolled,
                        state,
                        task,
                        decision,
                        history,
                        places[enrolled.student.id],
                        directory,
                        now,
                    )
                    if step is not None:
                        steps.append(step)
                        history = _after(history, step, now)
                        histories[task.key] = history
                    elif task.key not in nobody:  # listed once; the sweep keeps trying
                        nobody.add(task.key)
                        steps.append(TaskStep(case, enrolled.student.name, task, now, decision))
                upcoming = plan(task, history, policy)
                if upcoming is not None and now < upcoming.at <= end:
                    heapq.heappush(queue, upcoming.at)
    steps.sort(key=lambda s: (s.at, s.case.number, s.task.code))
    return steps


def _after(history: ReminderHistory, step: TaskStep, now: datetime) -> ReminderHistory:
    if step.round is not None:
        history = replace(history, sent=(*history.sent, now))
    if step.escalate_to is not None:
        history = replace(history, escalated_at=now)
    return history


# --- running it ------------------------------------------------------------------------------


async def sweep_now(app: Application[Any, Any, Any, Any, Any, Any]) -> SweepReport:
    """One sweep at the services' clock (the job, the harness and operators call this)."""
    from kcbx.handlers.app import services_of

    services = services_of(app)
    lock: asyncio.Lock = app.bot_data.setdefault(SWEEP_LOCK_KEY, asyncio.Lock())
    async with lock:
        sweeper: Sweeper | None = app.bot_data.get(SWEEPER_KEY)
        if sweeper is None or sweeper.services is not services:
            sweeper = app.bot_data[SWEEPER_KEY] = Sweeper(services)
        return await sweeper.run(services.clock.now())


async def sweep_job(context: CallbackContext[Any, Any, Any, Any]) -> None:
    """The repeating job: sweep, then drain the outbox. Never raises into the scheduler."""
    from kcbx.handlers.jobs import deliver_now

    try:
        report = await sweep_now(context.application)
    except Exception:  # nothing was half-written (one transaction); the next run retries
        log.exception("sweep failed")
        return
    if report.queued or report.errors or report.unassigned:
        log.info("sweep: %s", report.summary())
    await deliver_now(context.application)


__all__ = [
    "Notice",
    "SweepReport",
    "Sweeper",
    "TaskStep",
    "digest_key",
    "forecast",
    "hand_over",
    "load_places",
    "next_tick",
    "plan_task",
    "quiet_hold",
    "reminder_key",
    "sweep",
    "sweep_job",
    "sweep_now",
    "unreachable_hook",
]
