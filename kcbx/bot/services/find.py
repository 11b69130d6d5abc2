"""Finding a student or a case within one's scope: by name, pinyin initials, case number or
registry number (学籍号). A person finds only the students they may see (scope_clause)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from kcbx.bot.domain.model import Case, Person, Student
from kcbx.bot.domain.names import matches
from kcbx.bot.domain.scope import can_see_student
from kcbx.bot.runtime.services import Services

LIMIT = 10
# KC-2024-0003, kc2024-3, 2024-0003 ...
_CASE_NUMBER = re.compile(r"^(?:kc)?-?(\d{4})-?(\d{1,6})$", re.IGNORECASE)


@dataclass(frozen=True)
class Found:
    student: Student
    case: Case | None  # the open case, else the latest one, if any


@dataclass(frozen=True)
class FindResult:
    query: str
    found: list[Found]
    more: bool  # more matched than are shown


def _normal(query: str) -> str:
    return unicodedata.normalize("NFKC", query).strip()


async def _by_case_number(services: Services, person: Person, q: str) -> list[Student]:
    match = _CASE_NUMBER.match(q.replace(" ", ""))
    if match is None:
        return []
    year, seq = match.group(1), int(match.group(2))
    case = await services.cases.by_number(f"KC-{year}-{seq:04d}")
    if case is None:
        return []
    student = await services.students.get(case.student_id)
    return [student] if student is not None else []


async def _visible(services: Services, person: Person, students: list[Student]) -> list[Student]:
    out = []
    for student in students:
        place = await services.students.place(student.id)
        if place is not None and can_see_student(person, place):
            out.append(student)
    return out


async def find(services: Services, person: Person, query: str) -> FindResult:
    q = _normal(query)
    if not q:
        return FindResult(q, [], False)
    students = await _by_case_number(services, person, q)
    if not students:
        exact = await services.students.by_registry(q.upper())
        students = [exact] if exact is not None else []
    students = await _visible(services, person, students)
    if not students and not q.isascii():
        students = await services.students.named_in_scope(person, q, limit=LIMIT + 1)
    elif not students and q.isalpha():
        names = await services.students.names_in_scope(person)
        ids = sorted((name, sid) for sid, name in names if matches(name, q))
        students = await services.students.many([sid for _, sid in ids[: LIMIT + 1]])
        students.sort(key=lambda s: (s.name, s.id))
    found = []
    for student in students[:LIMIT]:
        case = await services.cases.open_case_of(student.id)
        if case is None:
            case = await services.cases.last_closed_of(student.id)
        found.append(Found(student, case))
    return FindResult(q, found, len(students) > LIMIT)
