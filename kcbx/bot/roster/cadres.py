"""The 三包 cadres a students sheet names (A5: 乡镇干部包村、村干部包组（队）、组（队）干部包户).

A student's row may name its household's cadres in 包村干部, 包组干部 and 包户干部 columns,
with a phone (in the cell or in a phone column). Each becomes a staff member of the unit
they cover: a 包村干部 of the household's village, a 包组干部 of its group (else the
village), a 包户干部 of its group. A cadre named for several villages (or groups) is
attached to the unit above them all, where the role allows it (A5.1: a township cadre may
cover a township, a village cadre a village). A cadre named without a phone must already be
on the roster (in the staff sheet or stored) with that name, role and area.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from kcbx.bot.domain.i18n import N_
from kcbx.bot.domain.roles import ROLE_LABELS, ROLE_UNIT_KINDS, Role
from kcbx.bot.roster.errors import Msg
from kcbx.bot.roster.layout import Origin
from kcbx.bot.roster.records import Cadre
from kcbx.bot.roster.tree import KIND_LABELS, Node, UnitTree
from kcbx.storage.roster_repo import ExistingPerson, StaffUpsert, UnitKey

Fail = Callable[..., None]
"""fail(origin, field, problem msgid, **params): record an error."""

# the unit each 三包 cadre covers, nearest first (A5.1)
_COVERS = {
    Role.TOWNSHIP_CADRE: ("village",),
    Role.VILLAGE_CADRE: ("group", "village"),
    Role.GROUP_CADRE: ("group",),
}


@dataclass
class _Named:
    """A cadre named with a phone, and every unit the rows name them for."""

    name: str
    role: Role
    origin: Origin
    column: str  # the field of the cell it was read from
    units: dict[UnitKey, Node] = field(default_factory=dict)


class CadreBook:
    """The cadres of the students' rows, checked against the staff sheet and the stored staff."""

    def __init__(self, tree: UnitTree, people: Iterable[ExistingPerson]) -> None:
        self.tree = tree
        self.stored: dict[tuple[str, str], list[UnitKey]] = {}
        for person in people:
            node = tree.by_id.get(person.unit_id) if person.unit_id is not None else None
            if node is not None and person.active:
                self.stored.setdefault((person.name, person.role), []).append(node.key)
        self.listed: dict[str, StaffUpsert] = {}  # the staff sheet, by phone
        self.by_name: dict[tuple[str, str], list[UnitKey]] = {}
        self.named_by_phone: dict[str, _Named] = {}

    def listed_staff(self, staff: StaffUpsert) -> None:
        """A person of the staff sheet (it places them; the students' rows only name them)."""
        self.listed[staff.phone] = staff
        self.by_name.setdefault((staff.name, staff.role), []).append(staff.unit)

    def named(self, origin: Origin, household: Node, cadres: Sequence[Cadre], fail: Fail) -> bool:
        """Check the cadres one student's row names; False (with errors) if one is wrong."""
        ok = True
        for cadre in cadres:
            unit = next(filter(None, map(household.nearest, _COVERS[cadre.role])), None)
            if unit is None:
                wanted = _COVERS[cadre.role][-1]
                fail(
                    origin,
                    cadre.field,
                    N_("A {role} covers a {kind}, and the household gives none"),
                    role=Msg(ROLE_LABELS[cadre.role]),
                    kind=Msg(KIND_LABELS[wanted]),
                )
                ok = False
            elif cadre.phone is None:
                ok = self._known(origin, cadre, unit, fail) and ok
            else:
                ok = self._with_phone(origin, cadre, cadre.phone, unit, fail) and ok
        return ok

    def _known(self, origin: Origin, cadre: Cadre, unit: Node, fail: Fail) -> bool:
        """A cadre named without a phone: on the roster already, over this unit."""
        key = (cadre.name, cadre.role.value)
        places = [*self.by_name.get(key, ()), *self.stored.get(key, ())]
        for other in self.named_by_phone.values():
            if (other.name, other.role) == (cadre.name, cadre.role):
                places.extend(other.units)
        if any(unit.key[: len(place)] == place for place in places):
            return True
        fail(
            origin,
            cadre.field,
            N_(
                "“{value}” is not on the roster as a {role} of {unit}: "
                "give the mobile number ({example}, or a phone column)"
            ),
            value=cadre.name,
            example="张三 13900000000",
            role=Msg(ROLE_LABELS[cadre.role]),
            unit=unit.path(),
        )
        return False

    def _with_phone(self, origin: Origin, cadre: Cadre, phone: str, unit: Node, fail: Fail) -> bool:
        listed = self.listed.get(phone)
        if listed is not None:
            if listed.role != cadre.role.value:
                fail(
                    origin,
                    cadre.field,
                    N_("{phone} is a {other} in the staff sheet, not a {role}"),
                    phone=phone,
                    other=Msg(ROLE_LABELS[Role(listed.role)]),
                    role=Msg(ROLE_LABELS[cadre.role]),
                )
                return False
            return True  # the staff sheet places them
        seen = self.named_by_phone.setdefault(
            phone, _Named(cadre.name, cadre.role, origin, cadre.field)
        )
        if (seen.name, seen.role) != (cadre.name, cadre.role):
            fail(
                origin,
                cadre.field,
                N_("{phone} is {name} ({role}) on row {row}"),
                phone=phone,
                name=seen.name,
                role=Msg(ROLE_LABELS[seen.role]),
                row=seen.origin.row,
            )
            return False
        seen.units[unit.key] = unit
        return True

    def upserts(self, error: Fail) -> list[StaffUpsert]:
        """The cadres to write, each attached to the unit above all the units they cover."""
        found: list[StaffUpsert] = []
        for phone, seen in self.named_by_phone.items():
            unit = self._above_all(list(seen.units))
            if unit is None or unit.kind not in ROLE_UNIT_KINDS[seen.role]:
                error(
                    seen.origin,
                    seen.column,
                    N_("{name} is named as {role} for {units}: one {role} covers one {kind}"),
                    value=seen.name,
                    name=seen.name,
                    role=Msg(ROLE_LABELS[seen.role]),
                    units="、".join(sorted(n.path() for n in seen.units.values())),
                    kind=Msg(KIND_LABELS[ROLE_UNIT_KINDS[seen.role][-1]]),
                )
                continue
            found.append(StaffUpsert(phone, seen.name, seen.role.value, unit.key))
        return found

    def _above_all(self, keys: list[UnitKey]) -> Node | None:
        common = keys[0]
        for key in keys[1:]:
            length = 0
            while length < min(len(common), len(key)) and common[length] == key[length]:
                length += 1
            common = common[:length]
        return self.tree.by_key.get(common) if common else None
