"""The A7 escalation ladder as a pure function: given a case, its actions, the policy, the
school calendar and "now", where the case stands and what is owed, by whom, by when.

No I/O here: the sweep loads the facts, calls :func:`ladder_state`, and hands the due tasks
to :mod:`kcbx.bot.domain.reminders`; a test walks a case through 60 days in microseconds.

Days. Day 0 is the first day of unexplained absence (``CaseFacts.absent_since``); day numbers
and "N days" are counted in the policy's mode (calendar days, or school days), in the policy
time zone. A relapse (a new absence soon after a return) continues the old count: see
:func:`relapse_carry`.

Time of day of ``Task.due_at`` (all aware instants; the policy's ``[time]`` table):

* A step owed *on day N* (A7.2 on day 3, A7.3 on day 7, A7.4 on day 15, the A6 referrals
  and the 三包 chain's visit (A5.1, ``A5-visit``: the chain is told that morning and asked to
  visit within ``[cadres] visit_within_days``) with A7.3) is due at the **start of the
  business day** (08:00) of day N: on that morning
  it is known that the child did not come back within N days. The stage itself changes when
  day N begins (midnight), so that the stage and the day number always agree; between
  midnight and 08:00 the step is listed but not yet due.
* A step owed *within N days* (A7.1 home visit, delivering the notice) is due at the **end of
  the business day** (18:00) of the last day.
* A step owed *when a deadline passes* (A7.5 after the notice's deadline, a renewed A7.5
  after the correction deadline) is due when the deadline passes: the end of the business day
  (18:00) of the deadline date. The guardians have the whole school day of the deadline.
* A7.1's phone call is due ``call_within_hours`` after the report, to the minute; A9 relief
  is due at once (the report).
* Nothing is due before the case was reported: a late report makes the earlier steps due at
  the moment of the report. A stage reached early by an action (a notice issued on day 12)
  makes its steps due from that action.

Quiet hours are not applied here: a task may be due at 18:00 or 02:00; the reminder plan
(:mod:`kcbx.bot.domain.reminders`) holds messages until the quiet hours end.

Actions. An action that a later action corrects (``ActionFact.corrects``) is ignored: the
correction replaces it (to retract an action, record a ``note`` that corrects it). Actions
whose ``at`` is after ``now`` are not yet taken into account. A task is done by the first
standing action of its kind, whenever it was recorded (a home visit made before the report
counts); department tasks are done by a ``department_action`` whose detail names the
department.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from kcbx.bot.domain.clock import to_iso
from kcbx.bot.domain.i18n import N_
from kcbx.bot.domain.policy import Policy
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


_ORDER = (Stage.DAY0, Stage.PERSUASION, Stage.DROPOUT, Stage.NOTICE, Stage.CORRECTION)

STAGE_NAMES: dict[Stage, str] = {
    Stage.DAY0: N_("day 0: the class teacher acts"),
    Stage.PERSUASION: N_("school persuasion"),
    Stage.DROPOUT: N_("dropout: joint persuasion"),
    Stage.NOTICE: N_("notice to enrol by a deadline"),
    Stage.CORRECTION: N_("reprimand and order to correct"),
    Stage.CLOSED: N_("closed"),
}


class ActionKind(StrEnum):
    """The kinds of action recorded on a case (``actions.kind``)."""

    PHONE_CALL = "phone_call"  # A7.1
    HOME_VISIT = "home_visit"  # A7.1
    PERSUASION = "persuasion"  # A7.2: the school's persuasion team or meeting
    REGISTRY_MARK = "registry_mark"  # A7.3: dropout mark in the student registry
    REPORTED_UP = "reported_up"  # A7.3: reported to the education bureau and the township
    JOINT_PERSUASION = "joint_persuasion"  # A7.3
    DEPARTMENT_ACTION = "department_action"  # A6, A9; detail: department
    NOTICE_ISSUED = "notice_issued"  # A7.4; detail: number, deadline?
    NOTICE_DELIVERED = "notice_delivered"  # A7.4; detail: delivered_on, deadline?
    CORRECTION_ORDERED = "correction_ordered"  # A7.5; detail: delivered_on?, deadline?
    RETURNED = "returned"  # A7.6: closes the case
    EXEMPTED = "exempted"  # A3: closes the case
    TRANSFERRED = "transferred"  # closes the case
    ACKNOWLEDGED = "acknowledged"  # detail: task (a task code); stops re-reminders for a while
    NOTE = "note"


# detail keys
DETAIL_TASK = "task"
DETAIL_DEPARTMENT = "department"
DETAIL_DELIVERED_ON = "delivered_on"
DETAIL_DEADLINE = "deadline"
DETAIL_NUMBER = "number"

_CLOSING = {
    ActionKind.RETURNED: "returned",
    ActionKind.EXEMPTED: "exempt",
    ActionKind.TRANSFERRED: "transferred",
}


class TaskCode(StrEnum):
    """Task codes (department tasks are ``A6-<department>`` and ``A9-<department>``)."""

    CALL = "A7.1-call"
    VISIT = "A7.1-visit"
    PERSUASION = "A7.2"
    MARK = "A7.3-mark"
    REPORT = "A7.3-report"
    JOINT = "A7.3-joint"
    NOTICE = "A7.4-notice"
    DELIVER = "A7.4-deliver"
    CORRECTION = "A7.5"
    CORRECTION_AGAIN = "A7.5-again"
    RETURNED = "A7.6"
    EXEMPT = "A3"
    CHAIN_VISIT = "A5-visit"  # A5.1: the household's 三包 chain, told at A7.3


TASK_TEXTS: dict[str, str] = {
    TaskCode.CALL: N_("Phone the guardians and find out why the child is absent"),
    TaskCode.VISIT: N_(
        "Visit the home, find out the reason and persuade the family to send the child back"
    ),
    TaskCode.PERSUASION: N_(
        "Organise the school's persuasion team to persuade the child to return"
    ),
    TaskCode.MARK: N_("Put the dropout mark in the student registry (the enrolment is kept)"),
    TaskCode.REPORT: N_("Report the dropout to the education bureau and the township"),
    TaskCode.JOINT: N_("Organise joint persuasion with the township and the departments concerned"),
    TaskCode.NOTICE: N_("Issue the notice to enrol by a deadline to the guardians"),
    TaskCode.DELIVER: N_(
        "Deliver the notice to enrol by a deadline to the guardians and record the date"
    ),
    TaskCode.CORRECTION: N_(
        "The notice's deadline has passed: reprimand the guardians and order them to correct "
        "by a deadline"
    ),
    TaskCode.CORRECTION_AGAIN: N_(
        "The deadline to correct has passed: reprimand the guardians again and set a new deadline"
    ),
    TaskCode.RETURNED: N_("Confirm that the child is back at school"),
    TaskCode.EXEMPT: N_("Record the exemption and its evidence"),
    TaskCode.CHAIN_VISIT: N_(
        "Visit the household with the other cadres of its 三包 chain, find out the cause and "
        "persuade the family to send the child back"
    ),
}
_A6_TEXT = N_(
    "Take part in the joint persuasion: the cause of absence falls within your department's duties"
)
_A6_DECIDE_TEXT = N_("Find out the cause of absence and decide which departments to bring in")
_A9_TEXT = N_("Help the family of this vulnerable student so that the child can return to school")

# Steps shown to the teacher after a report (expected_steps), by rule.
STEP_TEXTS: dict[str, str] = {
    "A7.1": N_("phone the guardians today and visit the home"),
    "A7.2": N_("the school organises a persuasion team"),
    "A7.3": N_("dropout mark, report to the education bureau and the township"),
    "A7.4": N_("notice to enrol by a deadline"),
}

# The 三包 chain of a household (A5.1): the group cadre acts, the village and township
# cadres are told too; a home visit recorded by any of them does the task.
CHAIN_ROLES: tuple[str, ...] = (Role.GROUP_CADRE, Role.VILLAGE_CADRE, Role.TOWNSHIP_CADRE)
DETAIL_ACTOR_ROLE = "actor_role"  # the role of who recorded it, kept in the detail too

# Who acts for a department code that is not a department liaison (A6 table).
_DEPARTMENT_ROLES: dict[str, Role] = {
    "school": Role.SCHOOL_LEAD,
    "township": Role.TOWNSHIP_LEADER,
    "education_bureau": Role.BUREAU_STAFF,
}


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
class ActionFact:
    """One recorded action (a row of ``actions``), with the role of the person who acted."""

    id: int
    kind: str
    at: datetime  # aware: when it happened
    rule: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    actor_role: str | None = None
    corrects: int | None = None  # actions.corrects_id: the action this one replaces


@dataclass(frozen=True)
class Task:
    """One step owed on a case.

    ``code`` identifies the task on its case (acknowledgements name it); ``rule`` is the rule
    of RULES.md it fulfils. ``role`` must act (and is reminded, then escalated past);
    ``cc`` are told too. ``what`` is a msgid. ``opens_at`` is when the task appeared,
    ``due_at`` when it is owed (see the module docstring for the time of day).
    """

    code: str
    rule: str
    role: str
    what: str
    opens_at: datetime
    due_at: datetime
    done: bool = False
    done_at: datetime | None = None
    department: str | None = None
    cc: tuple[str, ...] = ()
    acknowledged_at: datetime | None = None

    @property
    def key(self) -> str:
        """Code and due instant: a task that recurs with a new due time is a new task."""
        return f"{self.code}@{to_iso(self.due_at)}"

    def is_due(self, now: datetime) -> bool:
        return not self.done and now >= self.due_at


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


class Step(NamedTuple):
    """A step ahead and the date it falls on (see STEP_TEXTS for its description)."""

    rule: str
    on: date


@dataclass(frozen=True)
class Relapse:
    """How a new case continues the ladder of a case that closed with a return."""

    previous_case_id: int
    returned_on: date
    carried_days: int
    stage: Stage  # the stage the carried days alone put the new case in


# --- helpers ---------------------------------------------------------------------------------


def standing_actions(
    actions: Iterable[ActionFact], now: datetime | None = None
) -> list[ActionFact]:
    """The actions that stand: not replaced by a correction, and (if given) not after ``now``.

    Sorted by time, then id.
    """
    actions = list(actions)
    corrected = {a.corrects for a in actions if a.corrects is not None}
    return sorted(
        (a for a in actions if a.id not in corrected and (now is None or a.at <= now)),
        key=lambda a: (a.at, a.id),
    )


def ladder_start(case: CaseFacts, calendar: SchoolCalendar) -> date:
    """The effective day 0: ``absent_since``, moved back by the days a relapse carries."""
    return calendar.add_days(case.absent_since, -case.carried_days)


def stage_for_day(day: int, policy: Policy) -> Stage:
    """The stage a day number alone reaches (A7.2 day 3, A7.3 day 7, A7.4 day 15)."""
    ladder = policy.ladder
    if day >= ladder.notice_day:
        return Stage.NOTICE
    if day >= ladder.dropout_day:
        return Stage.DROPOUT
    if day >= ladder.persuasion_day:
        return Stage.PERSUASION
    return Stage.DAY0


def _as_date(value: object) -> date | None:
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
    for stage in reversed(_ORDER):
        candidates = [t for t in (times[stage], later) if t is not None]
        action = early.get(stage)
        if action is not None:
            candidates.append(action.at)
        settled[stage] = later = min(candidates) if candidates else None
    return settled


class _Actions:
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

    def department(self, code: str) -> ActionFact | None:
        for action in self.of(ActionKind.DEPARTMENT_ACTION):
            if action.detail.get(DETAIL_DEPARTMENT) == code:
                return action
        return None

    def by_chain(self, kind: str) -> ActionFact | None:
        """The first standing action of ``kind`` recorded by a cadre of the 三包 chain."""
        for action in self.of(kind):
            role = action.actor_role or action.detail.get(DETAIL_ACTOR_ROLE)
            if role in CHAIN_ROLES:
                return action
        return None

    def acknowledged(self, code: str, since: datetime) -> datetime | None:
        times = [
            a.at
            for a in self.of(ActionKind.ACKNOWLEDGED)
            if a.detail.get(DETAIL_TASK) == code and a.at >= since
        ]
        return max(times) if times else None


# --- the ladder ------------------------------------------------------------------------------


def ladder_state(
    case: CaseFacts,
    actions: Iterable[ActionFact],
    policy: Policy,
    calendar: SchoolCalendar,
    now: datetime,
) -> LadderState:
    """Where ``case`` stands at ``now`` and every task that has appeared, done or not.

    A closed case (A7.6 returned, A3 exempt, transferred; by action or by status) keeps the
    tasks that were done before it closed and a done closing task (A7.6 or A3); whatever was
    still open is no longer owed.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    acts = _Actions(standing_actions(actions, now))
    closing = acts.first(*_CLOSING)
    closed_by: str | None = None
    until = now
    if closing is not None:
        closed_by, until = _CLOSING[ActionKind(closing.kind)], closing.at
    elif case.status != "open":
        closed_by, until = case.status, min(now, case.closed_at or now)
    if closed_by is not None:
        acts = _Actions([a for a in acts.all if a.at <= until])

    build = _Builder(case, acts, policy, calendar, until)
    state = build.state()
    if closed_by is None:
        return state
    tasks = [t for t in state.tasks if t.done]
    if closing is not None and closing.kind == ActionKind.RETURNED:
        tasks.append(build.closing_task(TaskCode.RETURNED, "A7.6", Role.CLASS_TEACHER, closing))
    elif closing is not None and closing.kind == ActionKind.EXEMPTED:
        tasks.append(build.closing_task(TaskCode.EXEMPT, "A3", Role.BUREAU_STAFF, closing))
    return LadderState(
        case_id=case.id,
        stage=Stage.CLOSED,
        day=state.day,
        ladder_start=state.ladder_start,
        now=now,
        tasks=tuple(tasks),
        notice_deadline=state.notice_deadline,
        correction_deadline=state.correction_deadline,
        closed_by=closed_by,
    )


class _Builder:
    """Computes one LadderState of an open case at ``now`` (kept small by sharing state)."""

    def __init__(
        self,
        case: CaseFacts,
        acts: _Actions,
        policy: Policy,
        calendar: SchoolCalendar,
        now: datetime,
    ) -> None:
        self.case, self.acts, self.policy, self.cal, self.now = case, acts, policy, calendar, now
        self.time = policy.time
        self.ladder = policy.ladder
        self.start = ladder_start(case, calendar)
        self.tasks: list[Task] = []

    # times

    def day_begins(self, n: int) -> datetime:
        """Midnight starting ladder day ``n``, never before the report."""
        day = self.cal.add_days(self.start, n)
        return max(datetime.combine(day, time(0), tzinfo=self.time.tz), self.case.reported_at)

    def on_day(self, n: int) -> datetime:
        """Start of the business day on ladder day ``n``, never before the report."""
        return max(self.time.start_of(self.cal.add_days(self.start, n)), self.case.reported_at)

    def deadline_end(self, day: date) -> datetime:
        return max(self.time.end_of(day), self.case.reported_at)

    def local(self, instant: datetime) -> date:
        return self.time.local_date(instant)

    # the deadlines of A7.4 and A7.5

    def notice_deadline(self) -> date | None:
        """A7.4: the deadline runs from delivery; a deadline written in the detail wins."""
        delivered = self.acts.last(ActionKind.NOTICE_DELIVERED)
        if delivered is None:
            return None
        issued = self.acts.last(ActionKind.NOTICE_ISSUED)
        for detail in (delivered.detail, issued.detail if issued else {}):
            explicit = _as_date(detail.get(DETAIL_DEADLINE))
            if explicit is not None:
                return explicit
        delivered_on = _as_date(delivered.detail.get(DETAIL_DELIVERED_ON))
        base = delivered_on or self.local(delivered.at)
        return self.cal.add_days(base, self.ladder.notice_deadline_days)

    def correction_deadline(self, order: ActionFact) -> date:
        """A7.5: the order's own deadline, else ``correction_deadline_days`` from delivery."""
        explicit = _as_date(order.detail.get(DETAIL_DEADLINE))
        if explicit is not None:
            return explicit
        base = _as_date(order.detail.get(DETAIL_DELIVERED_ON)) or self.local(order.at)
        return self.cal.add_days(base, self.ladder.correction_deadline_days)

    # tasks

    def add(
        self,
        code: str,
        rule: str,
        role: str,
        opens: datetime,
        due: datetime,
        done_by: ActionFact | None,
        *,
        what: str | None = None,
        department: str | None = None,
        cc: tuple[str, ...] = (),
    ) -> None:
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
            )
        )

    def add_department(self, rule: str, department: str, opens: datetime, due: datetime) -> None:
        role = _DEPARTMENT_ROLES.get(department, Role.DEPARTMENT_LIAISON)
        if rule == "A9":
            what = _A9_TEXT
        elif department == "education_bureau":
            what = _A6_DECIDE_TEXT
        else:
            what = _A6_TEXT
        self.add(
            f"{rule}-{department}",
            rule,
            role,
            opens,
            due,
            self.acts.department(department),
            what=what,
            department=department,
        )

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
        )

    def state(self) -> LadderState:
        case, acts, ladder, now = self.case, self.acts, self.ladder, self.now
        day = self.cal.days_between(self.start, self.local(now))
        notice_deadline = self.notice_deadline()
        orders = acts.of(ActionKind.CORRECTION_ORDERED)

        # When each stage is reached (its day begins) and when its steps are due (that day's
        # business begins); an action of a stage reaches it earlier; and reaching a stage
        # reaches every stage below it.
        passes = self.deadline_end(notice_deadline) if notice_deadline is not None else None
        reached = _settle(
            {
                Stage.DAY0: case.reported_at,
                Stage.PERSUASION: self.day_begins(ladder.persuasion_day),
                Stage.DROPOUT: self.day_begins(ladder.dropout_day),
                Stage.NOTICE: self.day_begins(ladder.notice_day),
                Stage.CORRECTION: passes,
            },
            early := {
                Stage.DROPOUT: acts.first(ActionKind.REGISTRY_MARK, ActionKind.REPORTED_UP),
                Stage.NOTICE: acts.first(ActionKind.NOTICE_ISSUED, ActionKind.NOTICE_DELIVERED),
                Stage.CORRECTION: orders[0] if orders else None,
            },
        )
        due = _settle(
            {
                Stage.DAY0: case.reported_at,
                Stage.PERSUASION: self.on_day(ladder.persuasion_day),
                Stage.DROPOUT: self.on_day(ladder.dropout_day),
                Stage.NOTICE: self.on_day(ladder.notice_day),
                Stage.CORRECTION: passes,
            },
            early,
        )
        stage = Stage.DAY0
        for candidate in _ORDER:
            when = reached[candidate]
            if when is not None and when <= now:
                stage = candidate

        def has(s: Stage) -> bool:
            return _ORDER.index(stage) >= _ORDER.index(s)

        def at(s: Stage) -> tuple[datetime, datetime]:
            opens, owed = reached[s], due[s]
            assert opens is not None and owed is not None  # a reached stage has its times
            return opens, owed

        # A7.1: the class teacher, from the report
        self.add(
            TaskCode.CALL,
            "A7.1",
            Role.CLASS_TEACHER,
            case.reported_at,
            case.reported_at + timedelta(hours=ladder.call_within_hours),
            acts.first(ActionKind.PHONE_CALL),
        )
        visit_by = self.cal.add_days(self.local(case.reported_at), ladder.visit_within_days)
        self.add(
            TaskCode.VISIT,
            "A7.1",
            Role.CLASS_TEACHER,
            case.reported_at,
            self.deadline_end(visit_by),
            acts.first(ActionKind.HOME_VISIT),
        )
        # A9: a vulnerable student's case brings in the relief departments from day 0
        relief = self.policy.departments.a9_relief if case.a9_flags else ()
        for department in relief:
            self.add_department("A9", department, case.reported_at, case.reported_at)
        # A7.2
        if has(Stage.PERSUASION):
            opens, owed = at(Stage.PERSUASION)
            self.add(
                TaskCode.PERSUASION,
                "A7.2",
                Role.SCHOOL_LEAD,
                opens,
                owed,
                acts.first(ActionKind.PERSUASION),
            )
        # A7.3 and the A6 departments that own the cause
        if has(Stage.DROPOUT):
            opens, owed = at(Stage.DROPOUT)
            school = Role.SCHOOL_LEAD
            mark = acts.first(ActionKind.REGISTRY_MARK)
            self.add(TaskCode.MARK, "A7.3", school, opens, owed, mark)
            report = acts.first(ActionKind.REPORTED_UP)
            self.add(TaskCode.REPORT, "A7.3", school, opens, owed, report)
            self.add(
                TaskCode.JOINT,
                "A7.3",
                Role.BUREAU_STAFF,
                opens,
                owed,
                acts.first(ActionKind.JOINT_PERSUASION),
                cc=(Role.TOWNSHIP_LEADER,),
            )
            for department in self.policy.departments.routes_for(case.cause):
                if department not in relief:  # already brought in under A9
                    self.add_department("A6", department, opens, owed)
            # A5.1: the household's chain is told on day 7 and visits within the policy's days
            self.add(
                TaskCode.CHAIN_VISIT,
                "A5.1",
                Role.GROUP_CADRE,
                opens,
                owed,
                acts.by_chain(ActionKind.HOME_VISIT),
                cc=CHAIN_ROLES[1:],
            )
        # A7.4: issue the notice, then deliver it (an undelivered notice is a task of its own)
        if has(Stage.NOTICE):
            opens, owed = at(Stage.NOTICE)
            issued = acts.first(ActionKind.NOTICE_ISSUED)
            delivered = acts.last(ActionKind.NOTICE_DELIVERED)
            self.add(
                TaskCode.NOTICE,
                "A7.4",
                Role.BUREAU_STAFF,
                opens,
                owed,
                issued or delivered,
                cc=(Role.TOWNSHIP_LEADER,),
            )
            if issued or delivered:
                given = acts.last(ActionKind.NOTICE_ISSUED) or delivered
                assert given is not None
                deliver_by = self.cal.add_days(self.local(given.at), ladder.notice_delivery_days)
                self.add(
                    TaskCode.DELIVER,
                    "A7.4",
                    Role.TOWNSHIP_CADRE,
                    given.at,
                    self.deadline_end(deliver_by),
                    delivered,
                    cc=(Role.BUREAU_STAFF,),
                )
        # A7.5: reprimand and order to correct; again each time a correction deadline passes
        correction_deadline: date | None = None
        if has(Stage.CORRECTION):
            opens, owed = at(Stage.CORRECTION)
            self.add(
                TaskCode.CORRECTION,
                "A7.5",
                Role.BUREAU_STAFF,
                opens,
                owed,
                orders[0] if orders else None,
                cc=(Role.TOWNSHIP_LEADER,),
            )
            for index, order in enumerate(orders):
                correction_deadline = self.correction_deadline(order)
                lapses = self.deadline_end(correction_deadline)
                following = orders[index + 1] if index + 1 < len(orders) else None
                if lapses > now or (following is not None and following.at < lapses):
                    continue  # not passed yet, or replaced by a new order before it passed
                self.add(
                    TaskCode.CORRECTION_AGAIN,
                    "A7.5",
                    Role.BUREAU_STAFF,
                    lapses,
                    lapses,
                    following,
                    cc=(Role.TOWNSHIP_LEADER,),
                )

        return LadderState(
            case_id=case.id,
            stage=stage,
            day=day,
            ladder_start=self.start,
            now=now,
            tasks=tuple(self.tasks),
            notice_deadline=notice_deadline,
            correction_deadline=correction_deadline,
        )


def expected_steps(case: CaseFacts, policy: Policy, calendar: SchoolCalendar) -> list[Step]:
    """The steps ahead with their dates, to show the class teacher right after a report.

    A7.1 falls on the day the home visit is expected by (the phone call is due the same day
    as the report); A7.2, A7.3 and A7.4 on their ladder days.
    """
    start = ladder_start(case, calendar)
    reported_on = policy.time.local_date(case.reported_at)
    ladder = policy.ladder
    return [
        Step("A7.1", calendar.add_days(reported_on, ladder.visit_within_days)),
        Step("A7.2", calendar.add_days(start, ladder.persuasion_day)),
        Step("A7.3", calendar.add_days(start, ladder.dropout_day)),
        Step("A7.4", calendar.add_days(start, ladder.notice_day)),
    ]


def relapse_carry(
    previous: CaseFacts,
    previous_actions: Iterable[ActionFact],
    new_absent_since: date,
    policy: Policy,
    calendar: SchoolCalendar,
) -> Relapse | None:
    """Whether a new absence continues the ladder of ``previous``, and from which day.

    Our design: a child who returned (A7.6) and is absent again within
    ``relapse_window_days`` (calendar days from the return) does not start again at day 0.
    The new case stores ``reopened_from`` = the previous case and ``carried_days`` = the
    ladder days the previous case had reached on the day of the return; its effective day 0
    (:func:`ladder_start`) is ``new_absent_since`` moved back by that many ladder days, so on
    its first day the new case stands at the same day number, hence the same stage, as the
    old one had reached. Every step of that stage is owed again (a registry mark, a new
    report, a new notice): documents of the old case were complied with by the return, so
    a new notice is issued rather than jumping to A7.5.

    Returns:
        None when ``previous`` did not close with a return, or the new absence is outside
        the window (or before the return).
    """
    returned = next(
        (a for a in standing_actions(previous_actions) if a.kind == ActionKind.RETURNED), None
    )
    if returned is not None:
        returned_at: datetime | None = returned.at
    elif previous.status == "returned":
        returned_at = previous.closed_at
    else:
        returned_at = None
    if returned_at is None:
        return None
    returned_on = policy.time.local_date(returned_at)
    gap = (new_absent_since - returned_on).days
    if gap < 0 or gap > policy.ladder.relapse_window_days:
        return None
    carried = max(0, calendar.days_between(ladder_start(previous, calendar), returned_on))
    return Relapse(previous.id, returned_on, carried, stage_for_day(carried, policy))


__all__ = [
    "CHAIN_ROLES",
    "STAGE_NAMES",
    "STEP_TEXTS",
    "TASK_TEXTS",
    "ActionFact",
    "ActionKind",
    "CaseFacts",
    "LadderState",
    "Relapse",
    "Stage",
    "Step",
    "Task",
    "TaskCode",
    "expected_steps",
    "ladder_start",
    "ladder_state",
    "relapse_carry",
    "stage_for_day",
    "standing_actions",
]
