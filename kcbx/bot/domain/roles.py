"""Roles (A3-A6: who is who) and what each may see."""

from __future__ import annotations

from enum import StrEnum

from kcbx.bot.domain.i18n import N_


class Role(StrEnum):
    ADMIN = "admin"
    DISTRICT_LEADER = "district_leader"
    BUREAU_STAFF = "bureau_staff"
    DEPARTMENT_LIAISON = "department_liaison"
    TOWNSHIP_LEADER = "township_leader"
    TOWNSHIP_CADRE = "township_cadre"
    VILLAGE_CADRE = "village_cadre"
    GROUP_CADRE = "group_cadre"
    PRINCIPAL = "principal"
    SCHOOL_LEAD = "school_lead"
    CLASS_TEACHER = "class_teacher"


ROLE_LABELS: dict[Role, str] = {
    Role.ADMIN: N_("administrator"),
    Role.DISTRICT_LEADER: N_("district leader"),
    Role.BUREAU_STAFF: N_("education bureau staff"),
    Role.DEPARTMENT_LIAISON: N_("department liaison"),
    Role.TOWNSHIP_LEADER: N_("township leader"),
    Role.TOWNSHIP_CADRE: N_("township cadre"),
    Role.VILLAGE_CADRE: N_("village cadre"),
    Role.GROUP_CADRE: N_("group cadre"),
    Role.PRINCIPAL: N_("school principal"),
    Role.SCHOOL_LEAD: N_("school dropout-control lead"),
    Role.CLASS_TEACHER: N_("class teacher"),
}

# The unit kind each role is attached to (A3-A6; 三包 A5.1: a township cadre covers a village,
# a village cadre a group, a group cadre the households of a group).
ROLE_UNIT_KINDS: dict[Role, tuple[str, ...]] = {
    Role.ADMIN: ("district",),
    Role.DISTRICT_LEADER: ("district",),
    Role.BUREAU_STAFF: ("district",),
    Role.DEPARTMENT_LIAISON: ("department",),
    Role.TOWNSHIP_LEADER: ("township",),
    Role.TOWNSHIP_CADRE: ("village", "township"),
    Role.VILLAGE_CADRE: ("group", "village"),
    Role.GROUP_CADRE: ("group",),
    Role.PRINCIPAL: ("school",),
    Role.SCHOOL_LEAD: ("school",),
    Role.CLASS_TEACHER: ("school",),
}

DISTRICT_ROLES = frozenset({Role.ADMIN, Role.DISTRICT_LEADER, Role.BUREAU_STAFF})
SCHOOL_ROLES = frozenset({Role.PRINCIPAL, Role.SCHOOL_LEAD})
CADRE_ROLES = frozenset({Role.TOWNSHIP_CADRE, Role.VILLAGE_CADRE, Role.GROUP_CADRE})
LEADER_ROLES = frozenset(
    {Role.ADMIN, Role.DISTRICT_LEADER, Role.BUREAU_STAFF, Role.TOWNSHIP_LEADER, Role.PRINCIPAL}
)


def parse_role(text: str) -> Role | None:
    """A role from its code ('class_teacher') or None."""
    try:
        return Role(text.strip().lower())
    except ValueError:
        return None
