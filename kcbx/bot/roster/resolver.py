"""Resolving a roster's names against the stored units, into the plan of what to write.

Every name a row uses (a unit's parent, a person's unit, a student's school and household)
must name exactly one unit of a kind that fits; otherwise the row is refused with the reason,
the units it could mean, or the nearest name ("是否指“三道湖村”？"). Staff of a district
department (区教育局) whose role belongs to the district are attached to the district and
keep the department as their office (A3). The 三包 cadres a student's row names are added
as staff of the household's village or group (A5, see ``cadres``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kcbx.bot.domain.i18n import N_
from kcbx.bot.domain.roles import DISTRICT_ROLES, ROLE_LABELS, ROLE_UNIT_KINDS, Role
from kcbx.bot.roster.cadres import CadreBook
from kcbx.bot.roster.errors import SUGGESTION, Invalid, Msg, RosterError
from kcbx.bot.roster.layout import Origin
from kcbx.bot.roster.records import Probe, Roster, StaffRecord, StudentRecord, UnitRecord
from kcbx.bot.roster.tree import (
    KIND_LABELS,
    PARENT_KINDS,
    SECTION_GRADES,
    SECTION_LABELS,
    Node,
    UnitTree,
)
from kcbx.bot.roster.vocabulary import STAFF, Vocabulary, closest, default_vocabulary
from kcbx.storage.roster_repo import (
    ClassKey,
    ExistingPerson,
    ExistingUnit,
    RosterPlan,
    StaffUpsert,
    StudentUpsert,
    UnitKey,
    UnitUpsert,
)

SHOWN_PATHS = 5  # an ambiguous name lists at most this many of the units it may mean

_NOT_A = N_("“{value}” is a {kind}, not a {wanted}")
_NO_VILLAGE = N_("No village named “{value}”")


@dataclass
class Resolution:
    plan: RosterPlan
    errors: list[RosterError]
    bad_rows: set[tuple[str, int]]
    tree: UnitTree = field(default_factory=lambda: UnitTree(()))


def resolve(
    roster: Roster,
    units: Iterable[ExistingUnit],
    people: Iterable[ExistingPerson] = (),
    vocabulary: Vocabulary | None = None,
) -> Resolution:
    """Check the names the records use and build the plan of what to write."""
    tree = UnitTree(units)
    return _Resolver(tree, CadreBook(tree, people), vocabulary or default_vocabulary()).run(roster)


class _Resolver:
    def __init__(self, tree: UnitTree, cadres: CadreBook, vocabulary: Vocabulary) -> None:
        self.tree = tree
        self.cadres = cadres
        self.vocabulary = vocabulary
        self.errors: list[RosterError] = []
        self.bad: set[tuple[str, int]] = set()
        self.cache: dict[tuple[Any, ...], Node | Invalid] = {}

    def run(self, roster: Roster) -> Resolution:
        plan = RosterPlan()
        declared: dict[UnitKey, Origin] = {}
        for unit in roster.units:
            upsert = self._unit(unit, declared)
            if upsert is not None:
                plan.units.append(upsert)
        plan.units.extend(self._link_departments(declared))
        classes: dict[ClassKey, Origin] = {}
        for person in roster.staff:
            staff = self._staff(person, classes)
            if staff is not None:
                plan.staff.append(staff)
                self.cadres.listed_staff(staff)
        self.cache.clear()
        for student in roster.students:
            pupil = self._student(student)
            if pupil is not None:
                plan.students.append(pupil)
        for probe in roster.probes:
            self._probe(probe)
        plan.staff.extend(self.cadres.upserts(self._note))
        return Resolution(plan, self.errors, self.bad, self.tree)

    def _probe(self, probe: Probe) -> None:
        """Check the names a row with errors uses (that row is never written)."""
        if probe.origin.sheet.kind == STAFF:
            if probe.path is not None:
                self._staff_unit(probe.origin, probe.path, probe.role)
            return
        if probe.path is not None:
            self._school(probe.origin, probe.path, probe.grade)
        self._household(probe.origin, probe.household)

    def _fail(self, origin: Origin, name: str | None, problem: str, **params: Any) -> None:
        self._note(origin, name, problem, **params)
        self.bad.add(origin.key)

    def _note(self, origin: Origin, name: str | None, problem: str, **params: Any) -> None:
        """An error that leaves the row's own record fine (a cadre it names cannot be placed)."""
        self.errors.append(origin.error(name, problem, **params))

    def _cached(self, key: tuple[Any, ...], find: Callable[[], Node]) -> Node | Invalid:
        """``find()``'s unit or its Invalid, remembered: a column of 50,000 rows names a few
        hundred units."""
        hit = self.cache.get(key)
        if hit is None:
            try:
                hit = find()
            except Invalid as bad:
                hit = bad
            self.cache[key] = hit
        return hit

    def _find(self, path: Sequence[str], kinds: Sequence[str], what: str) -> Node:
        """The one unit of one of ``kinds`` at ``path``, or raise Invalid saying why not."""
        hit = self._cached(
            (tuple(path), tuple(kinds)), lambda: self._find_uncached(path, kinds, what)
        )
        if isinstance(hit, Invalid):
            raise hit.copy()
        return hit

    def _find_uncached(self, path: Sequence[str], kinds: Sequence[str], what: str) -> Node:
        found = self.tree.find(path)
        if not found:
            near = self.tree.near(path, kinds)
            raise Invalid(what, **({SUGGESTION: near} if near else {}))
        fitting = [n for n in found if n.kind in kinds]
        if not fitting:
            raise Invalid(
                _NOT_A,
                kind=Msg(KIND_LABELS[found[0].kind]),
                wanted=tuple(Msg(KIND_LABELS[k]) for k in kinds),
            )
        if len(fitting) > 1:
            paths = sorted(n.path() for n in fitting)
            shown = "、".join(paths[:SHOWN_PATHS]) + ("…" if len(paths) > SHOWN_PATHS else "")
            raise Invalid(
                N_("“{value}” names {count} units ({paths}); write the path, e.g. {example}"),
                count=len(fitting),
                paths=shown,
                example=paths[0],
            )
        broken = fitting[0].broken_row()
        if broken is not None:
            raise Invalid(
                N_("“{value}” is declared on row {row} of {sheet}, which has errors"),
                row=broken.row,
                sheet=broken.sheet.label,
            )
        return fitting[0]

    def _unit(self, unit: UnitRecord, declared: dict[UnitKey, Origin]) -> UnitUpsert | None:
        origin = unit.origin
        parent: Node | None = None
        if unit.parent:
            try:
                parent = self._find(
                    unit.parent,
                    PARENT_KINDS[unit.kind],
                    N_("No unit named “{value}”: list a parent above its units, or add it first"),
                )
            except Invalid as bad:
                self._fail(origin, "parent", bad.problem, **bad.params)
                return None
        key: UnitKey = (*(parent.key if parent else ()), (unit.kind, unit.name))
        first = declared.setdefault(key, origin)
        if first is not origin:
            self._fail(origin, "name", N_("This unit is also on row {first}"), first=first.row)
            return None
        stored = self.tree.by_key.get(key)
        # a department's role found from its name never replaces one stored or given (A6)
        keep = stored is not None and stored.code is not None and not unit.code_given
        code = None if keep else unit.code
        node = self.tree.add(key, unit.section, code)
        self.cache.clear()  # a new unit can make a short name ambiguous
        if not unit.ok:
            node.broken = origin
            return None
        # a blank section or code leaves the stored one alone
        given = (("section", unit.section), ("code", code), ("point", unit.point))
        return UnitUpsert(key, unit.section, code, frozenset(f for f, v in given if v), unit.point)

    def _link_departments(self, declared: dict[UnitKey, Origin]) -> list[UnitUpsert]:
        """Stored departments without an A6/A9 role get the one their name gives (an older
        import left them without, and their referrals reached nobody)."""
        linked = []
        for node in self.tree.by_id.values():
            if node.kind == "department" and node.code is None and node.key not in declared:
                node.code = self.vocabulary.department_of(node.name)
                if node.code is not None:
                    linked.append(UnitUpsert(node.key, None, node.code, frozenset({"code"})))
        return linked

    def _staff_unit(self, origin: Origin, path: Sequence[str], role: Role | None) -> Node | None:
        """The unit a staff member belongs to, of a kind that fits the role (A3-A6)."""
        kinds = ROLE_UNIT_KINDS[role] if role is not None else tuple(KIND_LABELS)
        if role in DISTRICT_ROLES:
            kinds = (*kinds, "department")  # 区教育局's staff: the district is their unit
        try:
            return self._find(path, kinds, N_("No unit named “{value}”"))
        except Invalid as bad:
            if role is not None and bad.problem == _NOT_A:
                bad = Invalid(
                    N_("“{value}” is a {kind}; a {role} belongs to a {wanted}"),
                    **bad.params,
                    role=Msg(ROLE_LABELS[role]),
                )
            self._fail(origin, "unit", bad.problem, **bad.params)
            return None

    def _staff(self, person: StaffRecord, classes: dict[ClassKey, Origin]) -> StaffUpsert | None:
        origin = person.origin
        unit = self._staff_unit(origin, person.unit, person.role)
        if unit is None:
            return None
        office: Node | None = None
        if unit.kind == "department" and person.role in DISTRICT_ROLES:
            office, district = unit, unit.nearest("district")
            if district is None:
                self._fail(origin, "unit", N_("“{value}” is not under a district"))
                return None
            unit = district
        keys = self._classes(person, unit, classes)
        if keys is None:
            return None
        return StaffUpsert(
            person.phone,
            person.name,
            person.role.value,
            unit.key,
            None if person.classes is None else tuple(keys),
            office.key if office is not None else None,
        )

    def _classes(
        self, person: StaffRecord, school: Node, classes: dict[ClassKey, Origin]
    ) -> list[ClassKey] | None:
        """A class teacher's classes at their school; None (with errors) if one is wrong."""
        origin = person.origin
        keys: list[ClassKey] = []
        ok = True
        for ref in person.classes or ():
            key = (school.key, ref.grade, ref.name)
            problem = _class_problem(ref.grade, school, classes, key, origin)
            if problem is None:
                keys.append(key)
            else:
                self._fail(origin, "classes", problem[0], value=ref.text, **problem[1])
                ok = False
        return keys if ok else None

    def _school(self, origin: Origin, path: Sequence[str], grade: int | None) -> Node | None:
        """The student's school, if it exists and teaches the grade."""
        try:
            school = self._find(path, ("school",), N_("No school named “{value}”"))
        except Invalid as bad:
            self._fail(origin, "school", bad.problem, **bad.params)
            return None
        if grade is not None and grade not in SECTION_GRADES.get(
            school.section or "", range(1, 10)
        ):
            self._fail(
                origin,
                "grade",
                N_("{school} is a {section}: it has no grade {value}"),
                school=school.name,
                section=Msg(SECTION_LABELS[school.section or "nine_year"]),
            )
            return None
        return school

    def _student(self, s: StudentRecord) -> StudentUpsert | None:
        school = self._school(s.origin, s.school, s.grade)
        ok, household = self._household(s.origin, s.household)
        if ok and s.cadres:
            if household is None:
                self._fail(
                    s.origin,
                    s.cadres[0].field,
                    N_("The contact-duty cadres are given but the household's village is empty"),
                )
                ok = False
            else:
                ok = self.cadres.named(s.origin, household, s.cadres, self._fail)
        if school is None or not ok:
            return None
        return StudentUpsert(
            registry_no=s.registry_no,
            name=s.name,
            school=school.key,
            grade=s.grade,
            class_key=(school.key, s.grade, s.class_name),
            gender=s.gender,
            birth_date=s.birth_date,
            household=household.key if household is not None else None,
            a9_flags=",".join(s.flags),
            note=s.note,
            guardians=s.guardians,
            fields=s.fields,
        )

    def _household(self, origin: Origin, where: tuple[str, str, str]) -> tuple[bool, Node | None]:
        """(ok, the household's group, village or township; None when the row gives none)."""
        township, village, group = where
        if not (township or village or group):
            return True, None
        hit = self._cached(
            ("household", *where), lambda: self._household_uncached(township, village, group)
        )
        if isinstance(hit, Invalid):
            params = dict(hit.params)
            column = params.pop("column")
            self._fail(origin, column, hit.problem, **params)
            return False, None
        return True, hit

    def _household_uncached(self, township: str, village: str, group: str) -> Node:
        town: Node | None = None
        if township:
            try:
                town = self._find((township,), ("township",), N_("No township named “{value}”"))
            except Invalid as bad:
                raise Invalid(bad.problem, column="township", **bad.params) from None
            if not village and not group:
                return town
        if not village:
            return self._joined_group(town, group)
        path = (township, village) if township else (village,)
        try:
            place = self._find(path, ("village",), _NO_VILLAGE)
        except Invalid as bad:
            if town is not None and bad.problem == _NO_VILLAGE:
                bad = Invalid(
                    N_("{township} has no village named “{value}”"),
                    township=town.name,
                    **{k: v for k, v in bad.params.items() if k == SUGGESTION},
                )
            raise Invalid(bad.problem, column="village", value=village, **bad.params) from None
        if not group:
            return place
        bare = group  # 三道湖村1组 in the group column of 三道湖村: the group 1组
        for prefix in (place.name, place.stem):
            if prefix and group.startswith(prefix) and len(group) > len(prefix):
                bare = group[len(prefix) :]
                break
        children = [c for c in place.children if c.kind == "group"]
        groups = [c for c in children if c.called(group) or c.called(bare)]
        if len(groups) != 1:
            near = closest(bare, [c.name for c in children])
            raise Invalid(
                N_("{village} has no group named “{value}”"),
                column="group",
                village=place.name,
                **({SUGGESTION: near} if near else {}),
            )
        return groups[0]

    def _joined_group(self, town: Node | None, group: str) -> Node:
        """A group written with its village and no village column: 三道湖村1组 (A5)."""
        path = (town.name, group) if town is not None else (group,)
        try:
            return self._find(path, ("group",), N_("No group named “{value}”"))
        except Invalid as bad:
            if bad.problem == N_("No group named “{value}”"):
                bad = Invalid(N_("The group is given but the village is empty"))
            raise Invalid(bad.problem, column="group", **bad.params) from None


def _class_problem(
    grade: int,
    school: Node,
    classes: dict[ClassKey, Origin],
    key: ClassKey,
    origin: Origin,
) -> tuple[str, dict[str, Any]] | None:
    """Why a teacher's class cannot be theirs: a grade the school does not teach, or a class
    another row already gave to its teacher (``classes``: each class's first row); None if fine."""
    section = school.section or "nine_year"
    if grade not in SECTION_GRADES.get(section, range(1, 10)):
        message = N_("{school} is a {section}: it has no class {value}")
        return message, {"school": school.name, "section": Msg(SECTION_LABELS[section])}
    first = classes.setdefault(key, origin)
    if first is not origin:
        return N_("Class {value} is already given to the teacher on row {first}"), {
            "first": first.row
        }
    return None
