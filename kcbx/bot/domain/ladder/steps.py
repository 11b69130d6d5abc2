"""The steps of the A7 ladder, one function each: which tasks a step opens on a case, for
whom, with their lead time (``notify_at``) and due time. :func:`kcbx.bot.domain.ladder.state.
ladder_state` runs them; the module docstring there says when each stage is reached.

Times (all aware instants, the policy's ``[time]``, ``[tasks]`` and the working week of
:class:`~kcbx.bot.domain.schoolcal.SchoolCalendar`):

* a step owed *on day N* (A7.2, A7.3, A7.4, A6, A5.1) opens when day N begins and is due at
  the end of the business day of day N, moved to the next working day when day N is a rest
  day; its first notice is that working morning;
* a step owed *within N days* (A7.1 home visit, delivering the notice) is due at the end of
  the working day of the last day; first told the working day before at
  ``notify_day_before`` (16:00), or when it opens if that is later;
* A7.1's phone call is due ``call_within_hours`` working hours after the report, first told
  ``call_lead_hours`` before; A9 relief is due at the end of the next working day;
* a step owed *when a deadline passes* (A7.5) opens the day after the deadline (the guardians
  have the whole deadline date) and is due at the end of that working day;
* a department that accepted its referral (an acknowledgement of its A6/A9 task) owes its
  action ``department_action_days`` working days after accepting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from kcbx.bot.domain.i18n import N_
from kcbx.bot.domain.ladder.tasks import (
    CHAIN_ROLES,
    DETAIL_DEADLINE,
    DETAIL_DELIVERED_ON,
    DETAIL_TASK,
    DETAIL_UNTIL,
    TASK_TEXTS,
    ActionFact,
    ActionKind,
    Task,
    TaskCode,
    satisfying_action,
)
from kcbx.bot.domain.policy.tree import Policy
from kcbx.bot.domain.roles import Role
from kcbx.bot.domain.schoolcal import SchoolCalendar


class Stage(StrEnum):
    """Where a case stands on the ladder, in order."""

    DAY0 = "day0"  # A7.1: the class teacher
    PERSUASION = "persuasion"  # A7.2: the school's persuasion team
    DROPOUT = "dropout"  # A7.3: dropout mark, report, joint persuasion
    NOTICE = "notice"  # A7.4: notice to enrol by a deadline
    CORRECTION = "correction"  # A7.5: reprimand and order to correct
    CLOSED = "closed"  # A7.6 returned, A3 exempt, or transferred


ORDER = (Stage.DAY0, Stage.PERSUASION, Stage.DROPOUT, Stage.NOTICE, Stage.CORRECTION)

STAGE_NAMES: dict[Stage, str] = {
    Stage.DAY0: N_("day 0: the class teacher acts"),
    Stage.PERSUASION: N_("school persuasion"),
    Stage.DROPOUT: N_("dropout: joint persuasion"),
    Stage.NOTICE: N_("notice to enrol by a deadline"),
    Stage.CORRECTION: N_("reprimand and order to correct"),
    Stage.CLOSED: N_("closed"),
}

_A6_TEXT = N_("Take part in the joint persuasion: the cause of absence falls within your duties")
_A6_DECIDE_TEXT = N_("Find out the cause of absence and decide which departments to bring in")
_A9_TEXT = N_("Help the family of this vulnerable student so that the child can return to school")

# Who acts for a department code that is not a department liaison (A6 table).
_DEPARTMENT_ROLES: dict[str, Role] = {
    "school": Role.SCHOOL_LEAD,
    "township": Role.TOWNSHIP_LEADER,
    "education_bureau": Role.BUREAU_STAFF,
}


def department_actor(department: str) -> Role:
    """Who acts on a department's A6/A9 task: its liaison, or the school, the township or the
    bureau for the codes they stand for."""
    return _DEPARTMENT_ROLES.get(department, Role.DEPARTMENT_LIAISON)


@dataclass(frozen=True)
class CaseFacts:
    """What the ladder needs to know about a case (see ``cases`` in 0001_core.sql)."""

    id: int
    number: str
    absent_since: date  # day 0 as reported
    reported_at: datetime  # aware
    status: str = "open"  # open / returned / exempt / transferred
    cause: str = "unknown"  # an A6 cause code
    a9_flags: tuple[str, ...] = ()  # A9 vulnerability flags of the student
    section: str = ""  # the student's school section: primary / junior (A8.2, A8.3)
    closed_at: datetime | None = None
    reopened_from: int | None = None
    carried_days: int = 0  # ladder days carried over from the case it reopens (relapse)


@dataclass(frozen=True)
class LadderState:
    """Where a case stands at ``now``."""

    case_id: int
    stage: Stage
    day: int  # ladder day number at now (at closing, for a closed case)
    ladder_start: date  # effective day 0 (absent_since moved back by carried days)
    now: datetime
    tasks: tuple[Task, ...]
    notice_deadline: date | None = None  # A7.4, once the notice is delivered
    correction_deadline: date | None = None  # A7.5, the latest order's
    closed_by: str | None = None  # returned / exempt / transferred
    next_stage_at: datetime | None = None  # when the next stage is reached with nobody acting

    @property
    def open_tasks(self) -> tuple[Task, ...]:
        return tuple(t for t in self.tasks if not t.done)

    @property
    def due_tasks(self) -> tuple[Task, ...]:
        """Tasks owed and not done at ``now``: what reminders are about."""
        return tuple(t for t in self.tasks if t.is_due(self.now))

    def task(self, code: str) -> Task | None:
        """The latest task with this code, if it has appeared."""
        found = [t for t in self.tasks if t.code == code]
        return found[-1] if found else None


def ladder_start(case: CaseFacts, calendar: SchoolCalendar) -> date:
    """The effective day 0: ``absent_since``, moved back by the days a relapse carries."""
    return calendar.add_days(case.absent_since, -case.carried_days)


def as_date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _settle(
    times: Mapping[Stage, datetime | None], early: Mapping[Stage, ActionFact | None]
) -> dict[Stage, datetime | None]:
    """Each stage's time, made earlier by an action of the stage or by a higher stage."""
    settled: dict[Stage, datetime | None] = {}
    later: datetime | None = None
    for stage in reversed(ORDER):
        candidates = [t for t in (times[stage], later) if t is not None]
        action = early.get(stage)
        if action is not None:
            candidates.append(action.at)
        settled[stage] = later = min(candidates) if candidates else None
    return settled


class Actions:
    """The standing actions of one case, looked up by kind."""

    def __init__(self, actions: Sequence[ActionFact]) -> None:
        self.all = actions

    def of(self, *kinds: str) -> list[ActionFact]:
        return [a for a in self.all if a.kind in kinds]

    def first(self, *kinds: str) -> ActionFact | None:
        found = self.of(*kinds)
        return found[0] if found else None

    def last(self, *kinds: str) -> ActionFact | None:
        found = self.of(*kinds)
        return found[-1] if found else None

    def for_task(self, kind: str, code: str, since: datetime) -> list[ActionFact]:
        return [a for a in self.of(kind) if a.detail.get(DETAIL_TASK) == code and a.at >= since]

    def acknowledged(self, code: str, since: datetime) -> datetime | None:
        times = [a.at for a in self.for_task(ActionKind.ACKNOWLEDGED, code, since)]
        return max(times) if times else None

    def snoozed(self, code: str, since: datetime) -> tuple[datetime | None, int]:
        """The latest "remind me later" of a task: until when, and how many so far."""
        snoozes = self.for_task(ActionKind.SNOOZED, code, since)
        until = [
            datetime.fromisoformat(str(a.detail[DETAIL_UNTIL]))
            for a in snoozes
            if a.detail.get(DETAIL_UNTIL)
        ]
        return (max(until) if until else None), len(snoozes)


class Builder:
    """Computes one LadderState of an open case at ``now``: one method per step."""

    def __init__(
        self,
        case: CaseFacts,
        acts: Actions,
        policy: Policy,
        calendar: SchoolCalendar,
        now: datetime,
    ) -> None:
        self.case, self.acts, self.policy, self.cal, self.now = case, acts, policy, calendar, now
        self.time = policy.time
        self.ladder = policy.ladder
        self.rules = policy.tasks.rules
        self.start = ladder_start(case, calendar)
        self.tasks: list[Task] = []

    # times

    def day_begins(self, n: int) -> datetime:
        """Midnight starting ladder day ``n``, never before the report."""
        day = self.cal.add_days(self.start, n)
        return max(datetime.combine(day, time(0), tzinfo=self.time.tz), self.case.reported_at)

    def after_deadline(self, day: date) -> datetime:
        """When a deadline date has passed: the midnight after it, never before the report."""
        after = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.time.tz)
        return max(after, self.case.reported_at)

    def local(self, instant: datetime) -> date:
        return self.time.local_date(instant)

    def due_end(self, day: date, opens: datetime) -> datetime:
        """The end of the working day of ``day`` (or later), after ``opens``."""
        return self.cal.end_of_working_day(day, not_before=opens)

    def told_day_before(self, due: datetime, opens: datetime) -> datetime:
        """The working day before ``due`` at ``notify_day_before``, not before ``opens``."""
        before = self.cal.working_day_before(self.local(due))
        at = datetime.combine(before, self.policy.tasks.notify_day_before, tzinfo=self.time.tz)
        return max(at, self.cal.working_instant(opens))

    # the deadlines of A7.4 and A7.5

    def notice_deadline(self) -> date | None:
        """A7.4: the deadline runs from delivery; a deadline written in the detail wins."""
        delivered = self.acts.last(ActionKind.NOTICE_DELIVERED)
        if delivered is None:
            return None
        issued = self.acts.last(ActionKind.NOTICE_ISSUED)
        for detail in (delivered.detail, issued.detail if issued else {}):
            explicit = as_date(detail.get(DETAIL_DEADLINE))
            if explicit is not None:
                return explicit
        delivered_on = as_date(delivered.detail.get(DETAIL_DELIVERED_ON))
        base = delivered_on or self.local(delivered.at)
        return self.cal.add_days(base, self.ladder.notice_deadline_days)

    def correction_deadline(self, order: ActionFact) -> date:
        """A7.5: the order's own deadline, else ``correction_deadline_days`` from delivery."""
        explicit = as_date(order.detail.get(DETAIL_DEADLINE))
        if explicit is not None:
            return explicit
        base = as_date(order.detail.get(DETAIL_DELIVERED_ON)) or self.local(order.at)
        return self.cal.add_days(base, self.ladder.correction_deadline_days)

    # tasks

    def add(
        self,
        code: str,
        rule: str,
        role: str,
        opens: datetime,
        due: datetime,
        *,
        notify: datetime | None = None,
        done_by: ActionFact | None = None,
        what: str | None = None,
        department: str | None = None,
        cc: tuple[str, ...] = (),
        by_rules: bool = True,
    ) -> None:
        """A task; done by ``done_by``, else by the work ``[tasks.satisfied_by]`` names
        (``by_rules=False``: only by ``done_by``)."""
        if done_by is None and by_rules:
            done_by = satisfying_action(code, self.acts.all, self.rules, department)
        first = self.cal.working_instant(notify or opens)
        snoozed_until, snoozes = self.acts.snoozed(code, opens)
        self.tasks.append(
            Task(
                code=code,
                rule=rule,
                role=role,
                what=what or TASK_TEXTS[code],
                opens_at=opens,
                due_at=due,
                done=done_by is not None,
                done_at=done_by.at if done_by else None,
                department=department,
                cc=cc,
                acknowledged_at=self.acts.acknowledged(code, opens),
                notify_at=min(first, due),
                done_by=done_by,
                snoozed_until=snoozed_until,
                snoozes=snoozes,
            )
        )

    def add_department(self, rule: str, department: str, opens: datetime, due: datetime) -> None:
        """A6/A9: before its referral is accepted the department owes acceptance (or its
        action) by ``due``; once accepted, its action within ``department_action_days``."""
        role = department_actor(department)
        if rule == "A9":
            what = _A9_TEXT
        elif department == "education_bureau":
            what = _A6_DECIDE_TEXT
        else:
            what = _A6_TEXT
        code = f"{rule}-{department}"
        notify = None
        accepted = self.acts.acknowledged(code, opens)
        if accepted is not None:
            days = self.policy.tasks.department_action_days
            due = self.due_end(self.cal.add_working_days(self.local(accepted), days), accepted)
            notify = self.told_day_before(due, accepted)
        self.add(code, rule, role, opens, due, notify=notify, what=what, department=department)

    def closing_task(self, code: str, rule: str, role: str, action: ActionFact) -> Task:
        return Task(
            code=code,
            rule=rule,
            role=role,
            what=TASK_TEXTS[code],
            opens_at=action.at,
            due_at=action.at,
            done=True,
            done_at=action.at,
            done_by=action,
        )

    # the steps

    def day0(self) -> None:
        """A7.1: the class teacher phones the guardians, then visits the home."""
        reported = self.case.reported_at
        hours = self.ladder.call_within_hours
        lead = min(self.policy.tasks.call_lead_hours, hours)
        call_due = self.cal.add_working_hours(reported, hours)
        notify = self.cal.add_working_hours(reported, hours - lead)
        self.add(TaskCode.CALL, "A7.1", Role.CLASS_TEACHER, reported, call_due, notify=notify)
        visit_by = self.cal.add_days(self.local(reported), self.ladder.visit_within_days)
        visit_due = self.due_end(visit_by, reported)
        notify = self.told_day_before(visit_due, reported)
        self.add(TaskCode.VISIT, "A7.1", Role.CLASS_TEACHER, reported, visit_due, notify=notify)

    def relief(self) -> tuple[str, ...]:
        """A9: a vulnerable student's case brings in the relief departments from day 0."""
        relief = self.policy.departments.a9_relief if self.case.a9_flags else ()
        reported = self.case.reported_at
        days = self.policy.tasks.department_accept_days
        due = self.due_end(self.cal.add_working_days(self.local(reported), days), reported)
        for department in relief:
            self.add_department("A9", department, reported, due)
        return relief

    def persuasion(self, opens: datetime) -> None:
        """A7.2: the school's persuasion team, on day 3."""
        due = self.due_end(self.local(opens), opens)
        self.add(TaskCode.PERSUASION, "A7.2", Role.SCHOOL_LEAD, opens, due)

    def dropout(self, opens: datetime, relief: tuple[str, ...]) -> None:
        """A7.3 on day 7: the school marks and reports; the bureau and the township organise
        joint persuasion with the departments that own the cause (A6); the household's
        三包 chain visits within ``[cadres] visit_within_days`` (A5.1)."""
        due = self.due_end(self.local(opens), opens)
        self.add(TaskCode.MARK, "A7.3", Role.SCHOOL_LEAD, opens, due)
        self.add(TaskCode.REPORT, "A7.3", Role.SCHOOL_LEAD, opens, due)
        cc = (Role.TOWNSHIP_LEADER,)
        self.add(TaskCode.JOINT, "A7.3", Role.BUREAU_STAFF, opens, due, cc=cc)
        for department in self.policy.departments.routes_for(self.case.cause):
            if department not in relief:  # already brought in under A9
                self.add_department("A6", department, opens, due)
        visit_by = self.cal.add_days(self.local(opens), self.policy.cadres.visit_within_days)
        chain_due = self.due_end(visit_by, opens)
        chain = CHAIN_ROLES[1:]
        self.add(TaskCode.CHAIN_VISIT, "A5.1", Role.GROUP_CADRE, opens, chain_due, cc=chain)

    def notice(self, opens: datetime) -> None:
        """A7.4 on day 15: the bureau issues the notice (签发); the township cadre delivers
        it, a task of its own once it is issued. One owner each."""
        issued = self.acts.first(ActionKind.NOTICE_ISSUED)
        delivered = self.acts.last(ActionKind.NOTICE_DELIVERED)
        due = self.due_end(self.local(opens), opens)
        given = issued or delivered
        self.add(TaskCode.NOTICE, "A7.4", Role.BUREAU_STAFF, opens, due, done_by=given)
        if given is not None:
            given = self.acts.last(ActionKind.NOTICE_ISSUED) or delivered
            assert given is not None
            deliver_by = self.cal.add_days(self.local(given.at), self.ladder.notice_delivery_days)
            deliver_due = self.due_end(deliver_by, given.at)
            cadre = Role.TOWNSHIP_CADRE
            self.add(TaskCode.DELIVER, "A7.4", cadre, given.at, deliver_due, done_by=delivered)

    def correction(self, opens: datetime) -> date | None:
        """A7.5 when the notice's deadline has passed; again each time a correction deadline
        passes without a new order. Returns the latest correction deadline."""
        orders = self.acts.of(ActionKind.CORRECTION_ORDERED)
        cc = (Role.TOWNSHIP_LEADER,)
        due = self.due_end(self.local(opens), opens)
        first = orders[0] if orders else None
        self.add(TaskCode.CORRECTION, "A7.5", Role.BUREAU_STAFF, opens, due, done_by=first, cc=cc)
        deadline: date | None = None
        for index, order in enumerate(orders):
            deadline = self.correction_deadline(order)
            lapses = self.after_deadline(deadline)
            following = orders[index + 1] if index + 1 < len(orders) else None
            if lapses > self.now or (following is not None and following.at < lapses):
                continue  # not passed yet, or replaced by a new order before it passed
            again_due = self.due_end(self.local(lapses), lapses)
            self.add(
                TaskCode.CORRECTION_AGAIN,
                "A7.5",
                Role.BUREAU_STAFF,
                lapses,
                again_due,
                done_by=following,  # a new order after the deadline passed, nothing else
                cc=cc,
                by_rules=False,
            )
        return deadline

    # the whole

    def reached(self, notice_deadline: date | None) -> dict[Stage, datetime | None]:
        """When each stage is reached (its day begins); an action of a stage reaches it
        earlier; and reaching a stage reaches every stage below it."""
        ladder, acts = self.ladder, self.acts
        orders = acts.of(ActionKind.CORRECTION_ORDERED)
        passes = self.after_deadline(notice_deadline) if notice_deadline is not None else None
        return _settle(
            {
                Stage.DAY0: self.case.reported_at,
                Stage.PERSUASION: self.day_begins(ladder.persuasion_day),
                Stage.DROPOUT: self.day_begins(ladder.dropout_day),
                Stage.NOTICE: self.day_begins(ladder.notice_day),
                Stage.CORRECTION: passes,
            },
            {
                Stage.DROPOUT: acts.first(ActionKind.REGISTRY_MARK, ActionKind.REPORTED_UP),
                Stage.NOTICE: acts.first(ActionKind.NOTICE_ISSUED, ActionKind.NOTICE_DELIVERED),
                Stage.CORRECTION: orders[0] if orders else None,
            },
        )

    def state(self) -> LadderState:
        now = self.now
        day = self.cal.days_between(self.start, self.local(now))
        notice_deadline = self.notice_deadline()
        reached = self.reached(notice_deadline)
        stage = Stage.DAY0
        for candidate in ORDER:
            when = reached[candidate]
            if when is not None and when <= now:
                stage = candidate
        ahead = [w for w in reached.values() if w is not None and w > now]
        steps = ORDER[: ORDER.index(stage) + 1]

        def opens(s: Stage) -> datetime:
            when = reached[s]
            assert when is not None  # a reached stage has its time
            return when

        self.day0()
        relief = self.relief()
        if Stage.PERSUASION in steps:
            self.persuasion(opens(Stage.PERSUASION))
        if Stage.DROPOUT in steps:
            self.dropout(opens(Stage.DROPOUT), relief)
        if Stage.NOTICE in steps:
            self.notice(opens(Stage.NOTICE))
        correction_deadline = None
        if Stage.CORRECTION in steps:
            correction_deadline = self.correction(opens(Stage.CORRECTION))
        return LadderState(
            case_id=self.case.id,
            stage=stage,
            day=day,
            ladder_start=self.start,
            now=now,
            tasks=tuple(self.tasks),
            notice_deadline=notice_deadline,
            correction_deadline=correction_deadline,
            next_stage_at=min(ahead, default=None),
        )


__all__ = [
    "ORDER",
    "STAGE_NAMES",
    "Actions",
    "Builder",
    "CaseFacts",
    "LadderState",
    "Stage",
    "department_actor",
    "ladder_start",
]
