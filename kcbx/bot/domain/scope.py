"""Who may see which child: a pure check, run in every handler and every button press."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from kcbx.bot.domain.roles import CADRE_ROLES, DISTRICT_ROLES, SCHOOL_ROLES, Role


class Viewer(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def role(self) -> Role: ...
    @property
    def unit_id(self) -> int | None: ...
    @property
    def active(self) -> bool: ...


@dataclass(frozen=True)
class StudentPlace:
    """Where a student belongs: the units above their school and household, and more."""

    student_id: int
    school_id: int
    class_teacher_id: int | None
    school_units: frozenset[int]
    household_units: frozenset[int]
    departments: frozenset[int]


def can_see_student(person: Viewer, place: StudentPlace) -> bool:
    """A class teacher sees their classes; a school its students; a township its area; a
    cadre the households of their 三包 unit (A5.1); a department what is referred to it (A6);
    district roles everything under their district."""
    if not person.active:
        return False
    role, unit = person.role, person.unit_id
    if role == Role.CLASS_TEACHER:
        return place.class_teacher_id == person.id
    if unit is None:
        return False
    if role in SCHOOL_ROLES:
        return place.school_id == unit
    if role in CADRE_ROLES:
        return unit in place.household_units
    if role == Role.DEPARTMENT_LIAISON:
        return unit in place.departments
    if role in DISTRICT_ROLES or role == Role.TOWNSHIP_LEADER:
        return unit in place.school_units or unit in place.household_units
    return False
