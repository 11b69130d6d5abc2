"""Who is told what about a due task, and how its reminder history moves on (pure).

A due task goes to the holders of its role for the student (:func:`route`); a copy goes once
(round 1) to its cc roles. Nobody of the role reachable (blocked the bot, never joined,
revoked, or nobody holds it): the supervisor (for the 三包 chain, its next level) gets it at
once, and its plan ends. After the re-reminder, the escalation goes to the supervisor's role
and the person escalated past is told.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from typing import Any

from kcbx.bot.domain.ladder.due import DueTask
from kcbx.bot.domain.ladder.recipients import (
    CasePlace,
    Directory,
    Route,
    holders_of,
    reachable,
    route,
)
from kcbx.bot.domain.ladder.reminders import Decision, Escalate, ReminderHistory, Send
from kcbx.bot.domain.ladder.state import LadderState, Task
from kcbx.bot.domain.model import Case, Person
from kcbx.bot.domain.policy.tree import Policy
from kcbx.bot.engine.keys import notification_key
from kcbx.storage import reminder_history as kinds
from kcbx.storage.directory import Enrolled

ESCALATED = "escalated"  # DueTask.reason of an escalation


@dataclass(frozen=True)
class Notification:
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
        return notification_key(self.kind, due.case.id, due.task.key, self.round, due.recipient.id)


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
    notifications: list[Notification] = field(default_factory=list)

    def describe(self, policy: Policy) -> str:
        """One line for operators (the CLI): when, which case and task, to whom."""
        local = self.at.astimezone(policy.time.tz)
        people = ", ".join(
            f"{n.due.recipient.name} ({n.role}{', ' + n.kind if n.kind != kinds.REMIND else ''})"
            for n in self.notifications
        )
        task = self.task
        if self.escalate_to is not None:
            what = self.reason
        elif isinstance(self.decision, Send):
            what = f"round {self.decision.round}"
            if self.decision.round == 1 and self.at < task.due_at:
                what += " (notice ahead)"
        else:
            what = ESCALATED
        due = task.due_at.astimezone(policy.time.tz)
        opened = task.opens_at.astimezone(policy.time.tz)
        shift = ""
        rest = opened.weekday() >= 5 or opened.time() >= policy.time.business_day_end
        if opened.date() != local.date() and rest:
            shift = f", opened {opened:%a %m-%d %H:%M}: moved to the working day"
        return (
            f"{local:%Y-%m-%d %H:%M} {self.case.number} {self.student_name} "
            f"{task.code} ({task.rule}) {what}, owner {task.role}, due {due:%a %m-%d %H:%M}"
            f"{shift} -> {people or 'nobody can be told'}"
        )


def history_after(history: ReminderHistory, step: TaskStep, now: datetime) -> ReminderHistory:
    """The task's reminder history once ``step`` is written."""
    if step.round is not None:
        history = replace(history, sent=(*history.sent, now))
    if step.escalate_to is not None:
        history = replace(history, escalated_at=now)
    return history


@dataclass(frozen=True)
class _Teller:
    """Makes the notifications of one task at one instant."""

    case: Case
    enrolled: Enrolled
    state: LadderState
    task: Task

    def __call__(
        self,
        person: Person,
        kind: str,
        role: str,
        round: int,
        reason: str = "",
        source: Person | None = None,
        **extra: Any,
    ) -> Notification:
        student = self.enrolled.student
        due = DueTask(self.case, student, self.state, self.task, round, person, source, reason)
        shown = round if kind in (kinds.REMIND, kinds.CC) else 0
        return Notification(due, kind, role, shown, **extra)


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
    step = TaskStep(case, enrolled.student.name, task, now, decision)
    tell = _Teller(case, enrolled, state, task)
    if isinstance(decision, Send):
        return _send(step, tell, decision, place, directory)
    assert isinstance(decision, Escalate)
    return _escalate(step, tell, decision, history, place, directory)


def _send(
    step: TaskStep, tell: _Teller, decision: Send, place: CasePlace, directory: Directory
) -> TaskStep | None:
    task = step.task
    main = route(task.role, place, directory, task.department)
    if main.role is None:
        return None
    step.round = decision.round
    if main.reason:  # nobody of the role can be told: the supervisor has it at once
        step.escalate_to, step.reason = main.role, main.reason
        source = main.first_passed
        step.notifications = [
            tell(p, main.reason, main.role, decision.round, main.reason, source)
            for p in main.people
        ]
    else:
        step.notifications = [tell(p, kinds.REMIND, task.role, decision.round) for p in main.people]
    if decision.round == 1:  # cc roles are informed once, never reminded again
        told = {n.due.recipient.id for n in step.notifications}
        for role in task.cc:
            for person in holders_of(role, place, directory):
                if reachable(person) and person.id not in told:
                    told.add(person.id)
                    step.notifications.append(tell(person, kinds.CC, role, 1))
    return step


def _escalate(
    step: TaskStep,
    tell: _Teller,
    decision: Escalate,
    history: ReminderHistory,
    place: CasePlace,
    directory: Directory,
) -> TaskStep | None:
    task = step.task
    holders = holders_of(decision.from_role, place, directory, task.department)
    up: Route = route(
        decision.to_role, place, directory, task.department, exclude={p.id for p in holders}
    )
    if up.role is None:
        return None
    source = next((p for p in holders if reachable(p)), holders[0] if holders else None)
    rounds = len(history.sent)  # the reminders that went unanswered
    step.escalate_to, step.reason = up.role, ESCALATED
    step.notifications = [
        tell(p, kinds.ESCALATED, up.role, rounds, ESCALATED, source) for p in up.people
    ]
    hearing = {p.id for p in up.people}
    step.notifications += [
        tell(p, kinds.TOLD, decision.from_role, rounds, told_to=up.people, told_role=up.role)
        for p in holders
        if reachable(p) and p.id not in hearing
    ]
    return step
