"""Who must act on a task: a role resolved to people, for one case's student (A3-A6).

Pure: the sweep loads a :class:`Directory` snapshot (people by unit, class teachers, the
department units) and the :class:`CasePlace` of each case in a few batched queries, and the
rules here answer without I/O.

The rules (A3-A6):

- class teacher: the teacher of the student's class;
- principal: of the student's school; school lead (控辍专干): of the school, else the
  principal;
- bureau staff, district leader, administrator: of the district above the school (else above
  the household);
- township leader: of the household's township, else of the school's township;
- 三包 chain (A5.1): a township cadre covers a village (else is attached to the township), a
  village cadre a group (else the village), a group cadre the households of a group; when
  nobody of a cadre role can be told, the next level of the chain stands in;
- department liaison: of the department unit whose ``code`` is the task's department, in the
  student's district (else any unit with that code).

:func:`route` adds reachability: a person who blocked the bot, was never bound to Telegram or
was revoked cannot be told, and when nobody of the role can be, the task goes up the
supervisor chain (:data:`kcbx.bot.domain.reminders.SUPERVISORS`) at once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from kcbx.bot.domain.model import Person, Unit
from kcbx.bot.domain.reminders import supervisor_role
from kcbx.bot.domain.roles import Role

# Why a task reaches someone other than its role (DueTask.reason).
UNREACHABLE = "unreachable"  # the role's holders cannot be reached through the bot
NO_ONE = "no_one"  # nobody holds the role for this student


@dataclass(frozen=True)
class CasePlace:
    """Where a case's student belongs: the units above the school and the household."""

    school: tuple[Unit, ...]  # the school, then its township, district ... (nearest first)
    household: tuple[Unit, ...]  # the household unit (a group, else village ...), then up
    class_teacher_id: int | None

    def school_unit(self, kind: str) -> Unit | None:
        return next((u for u in self.school if u.kind == kind), None)

    def household_unit(self, kind: str) -> Unit | None:
        return next((u for u in self.household if u.kind == kind), None)

    @property
    def district(self) -> Unit | None:
        return self.school_unit("district") or self.household_unit("district")

    def unit_ids(self) -> set[int]:
        return {u.id for u in (*self.school, *self.household)}


class Directory:
    """A snapshot of who holds which role in which unit, for one sweep."""

    def __init__(self, people: Iterable[Person], departments: Iterable[Unit] = ()) -> None:
        self._by_id: dict[int, Person] = {}
        self._by_unit: dict[tuple[int, str], list[Person]] = {}
        for person in people:
            self.add(person)
        self._departments: dict[str, list[Unit]] = {}
        for unit in departments:
            if unit.code:
                self._departments.setdefault(unit.code, []).append(unit)

    def add(self, person: Person) -> None:
        if person.id in self._by_id:
            return
        self._by_id[person.id] = person
        if person.unit_id is not None:
            self._by_unit.setdefault((person.unit_id, person.role.value), []).append(person)

    def person(self, person_id: int | None) -> Person | None:
        return self._by_id.get(person_id) if person_id is not None else None

    def holders(self, role: str, unit: Unit | None) -> list[Person]:
        """Active people of the role attached to the unit."""
        if unit is None:
            return []
        return [p for p in self._by_unit.get((unit.id, role), []) if p.active]

    def department(self, code: str, district: Unit | None) -> Unit | None:
        """The department unit with this code, preferably the one of the district."""
        units = self._departments.get(code, [])
        if district is not None:
            for unit in units:
                if unit.parent_id == district.id:
                    return unit
        return units[0] if units else None

    def department_units(self) -> list[Unit]:
        return [u for units in self._departments.values() for u in units]


def holders_of(
    role: str, place: CasePlace, directory: Directory, department: str | None = None
) -> list[Person]:
    """The active people holding ``role`` for this student (the rules in the module doc)."""
    holders = directory.holders
    if role == Role.CLASS_TEACHER:
        teacher = directory.person(place.class_teacher_id)
        return [teacher] if teacher is not None and teacher.active else []
    if role == Role.PRINCIPAL:
        return holders(role, place.school_unit("school"))
    if role == Role.SCHOOL_LEAD:
        school = place.school_unit("school")
        return holders(role, school) or holders(Role.PRINCIPAL, school)
    if role in (Role.BUREAU_STAFF, Role.DISTRICT_LEADER, Role.ADMIN):
        return holders(role, place.district)
    if role == Role.TOWNSHIP_LEADER:
        return holders(role, place.household_unit("township")) or holders(
            role, place.school_unit("township")
        )
    if role == Role.TOWNSHIP_CADRE:
        return holders(role, place.household_unit("village")) or holders(
            role, place.household_unit("township")
        )
    if role == Role.VILLAGE_CADRE:
        return holders(role, place.household_unit("group")) or holders(
            role, place.household_unit("village")
        )
    if role == Role.GROUP_CADRE:
        return holders(role, place.household_unit("group"))
    if role == Role.DEPARTMENT_LIAISON:
        unit = directory.department(department, place.district) if department else None
        return holders(role, unit)
    return []


# A5.1: when nobody of a 三包 role can be told (revoked, never joined, blocked, or
# none on the roster), the next level of the household's chain stands in until someone is
# assigned; only above the township cadre does the task go to the township leader.
CHAIN_STAND_INS: dict[str, str] = {
    Role.GROUP_CADRE: Role.VILLAGE_CADRE,
    Role.VILLAGE_CADRE: Role.TOWNSHIP_CADRE,
}


def stand_in_role(role: str) -> str | None:
    """Who takes a task nobody of ``role`` can be told about: the chain's next level (A5.1),
    else the supervisor."""
    return CHAIN_STAND_INS.get(role) or supervisor_role(role)


def reachable(person: Person) -> bool:
    """Whether the bot can write to the person: active, bound, not blocked (403)."""
    return person.active and person.chat_id is not None and person.unreachable_at is None


@dataclass(frozen=True)
class Route:
    """Who will hear about a task: the role they hold, why, and who was passed over."""

    role: str | None  # the role of ``people`` (the task's, or a supervisor's); None: nobody
    people: tuple[Person, ...]  # reachable, in id order
    passed: tuple[Person, ...] = ()  # holders passed over (unreachable), nearest role first
    reason: str = ""  # '' when the role itself hears it; UNREACHABLE or NO_ONE otherwise

    @property
    def first_passed(self) -> Person | None:
        return self.passed[0] if self.passed else None


def route(
    role: str,
    place: CasePlace,
    directory: Directory,
    department: str | None = None,
    *,
    exclude: Collection[int] = (),
) -> Route:
    """The reachable holders of ``role``, else of its stand-in (:func:`stand_in_role`: the
    三包 chain's next level, else the supervisor), and so on up the chain.

    ``exclude``: people who must not be chosen (an escalation does not go back to the people
    it escalates from, e.g. a principal standing in for a missing school lead); they are
    skipped without counting as passed over.
    """
    passed: list[Person] = []
    reason = ""
    current: str | None = role
    seen: set[str] = set()
    while current is not None and current not in seen:
        seen.add(current)
        everyone = holders_of(current, place, directory, department if current == role else None)
        holders = [p for p in everyone if p.id not in exclude]
        people = tuple(p for p in holders if reachable(p))
        if people:
            return Route(current, people, tuple(passed), reason)
        if holders:
            passed.extend(holders)
            reason = reason or UNREACHABLE
        elif not everyone:
            reason = reason or NO_ONE
        current = stand_in_role(current)
    return Route(None, (), tuple(passed), reason or NO_ONE)


__all__ = [
    "NO_ONE",
    "UNREACHABLE",
    "CasePlace",
    "Directory",
    "Route",
    "holders_of",
    "reachable",
    "route",
]
