"""The departments of A6/A9 after an import: found by name, each with a liaison to tell.

The policy routes referrals to departments by role (civil_affairs ...); the importer links
each department unit to its role from its name (区民政局 -> civil_affairs, see
:meth:`Vocabulary.department_of`), or from a 代码 cell. What an import leaves without a unit
or a liaison is a warning, since those referrals go to the supervisor instead
("区乡村振兴局：无联络员，A6/A9 转介将交教育局工作人员代办").
"""

from __future__ import annotations

from collections.abc import Iterable

from kcbx.bot.domain.i18n import N_
from kcbx.bot.domain.ladder.recipients import stand_in_role
from kcbx.bot.domain.ladder.state import department_actor
from kcbx.bot.domain.policy.tree import DEPARTMENTS, Policy
from kcbx.bot.domain.roles import ROLE_LABELS, Role
from kcbx.bot.roster.errors import Listed, Msg, RosterError, file_error
from kcbx.bot.roster.records import Roster
from kcbx.bot.roster.tree import UnitTree
from kcbx.storage.roster_repo import ExistingPerson, RosterPlan, UnitKey


def _liaisons(tree: UnitTree, people: Iterable[ExistingPerson], plan: RosterPlan) -> set[UnitKey]:
    """The units that will have an active department liaison once the plan is written."""
    where: dict[str, tuple[str, UnitKey | None]] = {}
    unnamed: set[UnitKey] = set()  # liaisons invited by hand, without a phone
    for person in people:
        node = tree.by_id.get(person.unit_id) if person.unit_id is not None else None
        if not person.active or node is None:
            continue
        if person.phone:
            where[person.phone] = (person.role, node.key)
        elif person.role == Role.DEPARTMENT_LIAISON:
            unnamed.add(node.key)
    for staff in plan.staff:
        where[staff.phone] = (staff.role, staff.unit)
    return unnamed | {
        key for role, key in where.values() if role == Role.DEPARTMENT_LIAISON and key
    }


def department_warnings(
    roster: Roster,
    tree: UnitTree,
    people: Iterable[ExistingPerson],
    plan: RosterPlan,
    policy: Policy,
) -> list[RosterError]:
    """What the import leaves unrouted: departments the file names that no role fits, and the
    policy's routed departments with no unit or no liaison."""
    warnings: list[RosterError] = []
    declared = {record.name: record for record in roster.units if record.kind == "department"}
    for record in declared.values():
        if record.code is None and record.ok:
            warnings.append(
                record.origin.error(
                    "name",
                    N_(
                        "“{value}” is not a department of the A6/A9 table by its name, so it "
                        "receives no referrals; if it should, write its role ({civil}, "
                        "{police} …) in a {column} column"
                    ),
                    civil="民政",
                    police="公安",
                    column="代码",
                )
            )
    liaisons = _liaisons(tree, people, plan)
    stands_in = Msg(ROLE_LABELS[Role(stand_in_role(Role.DEPARTMENT_LIAISON) or Role.BUREAU_STAFF)])
    missing: list[Msg] = []
    for code in policy.departments.routed():
        if department_actor(code) != Role.DEPARTMENT_LIAISON:
            continue  # the school, the township or the bureau acts itself
        units = [n for n in tree.nodes() if n.kind == "department" and n.code == code]
        if not units:
            missing.append(Msg(DEPARTMENTS[code]))
        elif not any(n.key in liaisons for n in units):
            warnings.extend(
                file_error(
                    N_("{unit}: no liaison; its A6/A9 referrals will go to the {role}"),
                    roster.file,
                    unit=node.name,
                    role=stands_in,
                )
                for node in units
            )
    if missing:
        warnings.append(
            file_error(
                N_("Not on the roster: {departments}; their A6/A9 referrals will go to the {role}"),
                roster.file,
                departments=Listed(missing),
                role=stands_in,
            )
        )
    return warnings
