"""What the sweep reads about the cases it looks at, in a few batched queries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from kcbx.bot.domain.ladder.recipients import CasePlace, Directory
from kcbx.bot.domain.ladder.reminders import ReminderHistory
from kcbx.bot.domain.ladder.state import ActionFact, CaseFacts, LadderState, ladder_state
from kcbx.bot.domain.ladder.stored import action_facts, case_facts
from kcbx.bot.domain.model import Action, Case
from kcbx.bot.runtime.services import Services
from kcbx.storage.directory import Enrolled
from kcbx.storage.reminder_history import TaskHistory


@dataclass
class CaseFiles:
    """Cases and everything the ladder and the reminder plan need about them."""

    cases: list[Case]
    enrolled: dict[int, Enrolled]  # by student id
    actions: dict[int, list[Action]]  # by case id
    roles: dict[int, str]  # actor person id -> role
    histories: dict[int, dict[str, TaskHistory]]  # by case id, then task key

    def histories_of(self, case_id: int) -> dict[str, TaskHistory]:
        return self.histories.get(case_id, {})

    def facts(self, case: Case) -> tuple[CaseFacts, list[ActionFact]]:
        """The case and its actions as the ladder reads them."""
        enrolled = self.enrolled.get(case.student_id)
        facts = case_facts(case, enrolled.student if enrolled else None)
        return facts, action_facts(self.actions.get(case.id, []), self.roles)

    def state(self, case: Case, services: Services, now: datetime) -> LadderState:
        facts, actions = self.facts(case)
        return ladder_state(facts, actions, services.policy, services.calendar, now)


async def load_case_files(services: Services, cases: list[Case]) -> CaseFiles:
    ids = [c.id for c in cases]
    actions = await services.cases.actions_of_cases(ids) if ids else {}
    actors = {a.actor_id for acts in actions.values() for a in acts if a.actor_id is not None}
    people = await services.directory.people(actors)
    return CaseFiles(
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
    if not enrolled:  # nothing due: not even the departments need reading
        return {}, Directory([])
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
