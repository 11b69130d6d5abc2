"""三包 coverage (A5.1): which households lack a cadre at some level, and who carries too many.

The chain of a household (its group, the group's village, the village's township):

* group level: a group cadre attached to the group;
* village level: a village cadre attached to the group (包组) or to its village;
* township level: a township cadre attached to the village (包村) or to its township.

A household whose unit is a village or a township (no group on the roster) has a gap at the
levels below. A cadre's load is the households they hold, each shared equally among the
cadres holding it at the same level (two group cadres of one group carry half each); a group
cadre over ``[cadres] max_households_per_group_cadre`` is flagged.

The rules here are pure; :func:`coverage_of` loads the facts (kcbx/storage/coverage.py).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from kcbx.bot.domain.i18n import N_, Translate
from kcbx.bot.domain.roles import ROLE_LABELS, Role
from kcbx.storage.coverage import CadreRow, HouseholdRow, UnitRow

if TYPE_CHECKING:
    from kcbx.bot.runtime.services import Services

LEVELS = ("group", "village", "township")  # the chain, from the household up
LEVEL_ROLES: dict[str, Role] = {
    "group": Role.GROUP_CADRE,
    "village": Role.VILLAGE_CADRE,
    "township": Role.TOWNSHIP_CADRE,
}
GAP_TEXTS: dict[str, str] = {
    "group": N_("no group cadre"),
    "village": N_("no village cadre"),
    "township": N_("no township cadre"),
}


@dataclass(frozen=True)
class Chain:
    """The units of a household's chain (None where the roster has no such unit)."""

    group: int | None
    village: int | None
    township: int | None


@dataclass(frozen=True)
class Gap:
    """Households of one unit that lack a cadre at one or more levels."""

    unit_id: int
    households: int
    students: int
    missing: tuple[str, ...]  # levels, from LEVELS
    rows: tuple[HouseholdRow, ...] = ()


@dataclass(frozen=True)
class Load:
    cadre: CadreRow
    households: int  # rounded up
    limit: int | None  # the policy's maximum for this role, if any

    @property
    def over(self) -> bool:
        return self.limit is not None and self.households > self.limit


@dataclass(frozen=True)
class CoverageReport:
    households: int
    students: int
    covered: int  # households with a cadre at every level
    gaps: tuple[Gap, ...]
    loads: tuple[Load, ...]
    without_household: int  # students whose household is not on the roster
    not_joined: tuple[CadreRow, ...]  # on the roster, not yet bound to Telegram
    limit: int

    @property
    def overloaded(self) -> tuple[Load, ...]:
        return tuple(load for load in self.loads if load.over)

    @property
    def households_with_gaps(self) -> int:
        return sum(g.households for g in self.gaps)


def chain_of(unit_id: int, units: Mapping[int, UnitRow]) -> Chain:
    """The group, village and township above a household unit."""
    found: dict[str, int] = {}
    current: int | None = unit_id
    for _ in range(16):
        unit = units.get(current) if current is not None else None
        if unit is None:
            break
        found.setdefault(unit.kind, unit.id)
        current = unit.parent_id
    return Chain(found.get("group"), found.get("village"), found.get("township"))


def holders(
    level: str, chain: Chain, cadres: Mapping[tuple[Role, int], Sequence[CadreRow]]
) -> list[CadreRow]:
    """The cadres who hold a household at one level of its chain (A5.1)."""
    role = LEVEL_ROLES[level]
    if level == "group":
        places = [chain.group]
    elif level == "village":
        places = [chain.group, chain.village]
    else:
        places = [chain.village, chain.township]
    out: list[CadreRow] = []
    for place in places:
        if place is not None:
            out.extend(cadres.get((role, place), ()))
    return out


def coverage_report(
    units: Iterable[UnitRow],
    households: Iterable[HouseholdRow],
    cadres: Iterable[CadreRow],
    *,
    max_households_per_group_cadre: int,
    without_household: int = 0,
) -> CoverageReport:
    """Gaps and loads of the 三包 chain over the given households."""
    by_id = {u.id: u for u in units}
    cadre_list = list(cadres)
    by_place: dict[tuple[Role, int], list[CadreRow]] = defaultdict(list)
    for cadre in cadre_list:
        by_place[(cadre.role, cadre.unit_id)].append(cadre)
    share: dict[int, Fraction] = defaultdict(Fraction)
    gap_households: dict[tuple[int, tuple[str, ...]], list[HouseholdRow]] = defaultdict(list)
    total = students = covered = 0
    for household in households:
        total += 1
        students += household.students
        chain = chain_of(household.unit_id, by_id)
        missing = []
        for level in LEVELS:
            held_by = holders(level, chain, by_place)
            if not held_by:
                missing.append(level)
            for cadre in held_by:
                share[cadre.person_id] += Fraction(1, len(held_by))
        if missing:
            gap_households[(household.unit_id, tuple(missing))].append(household)
        else:
            covered += 1
    gaps = tuple(
        Gap(unit_id, len(rows), sum(r.students for r in rows), missing, tuple(rows))
        for (unit_id, missing), rows in sorted(gap_households.items())
    )
    loads = tuple(
        Load(
            cadre,
            math.ceil(share[cadre.person_id]),
            max_households_per_group_cadre if cadre.role == Role.GROUP_CADRE else None,
        )
        for cadre in cadre_list
    )
    return CoverageReport(
        households=total,
        students=students,
        covered=covered,
        gaps=gaps,
        loads=loads,
        without_household=without_household,
        not_joined=tuple(c for c in cadre_list if not c.joined),
        limit=max_households_per_group_cadre,
    )


def unit_path(unit_id: int, units: Mapping[int, UnitRow]) -> str:
    """'滨河镇/新墩村/一组' (the district left out)."""
    names: list[str] = []
    current: int | None = unit_id
    for _ in range(16):
        unit = units.get(current) if current is not None else None
        if unit is None:
            break
        if unit.kind != "district":
            names.append(unit.name)
        current = unit.parent_id
    return "/".join(reversed(names))


def render_coverage(
    report: CoverageReport,
    units: Mapping[int, UnitRow],
    gettext: Translate,
    *,
    scope: str,
    html: bool = True,
    households: bool = False,
) -> list[str]:
    """The report as lines (HTML-escaped when ``html``; a caller pages them)."""
    from html import escape

    def e(text: str) -> str:
        return escape(text) if html else text

    def b(text: str) -> str:
        return f"<b>{escape(text)}</b>" if html else text

    t = gettext
    sep = t(", ")
    lines = [
        t("三包 coverage of {scope}").format(scope=b(scope or t("the district"))),
        t(
            "{households} households ({students} students); {covered} covered at every level."
        ).format(households=report.households, students=report.students, covered=report.covered),
    ]
    if report.gaps:
        lines.append("")
        lines.append(
            t("Households with a gap ({count}):").format(count=report.households_with_gaps)
        )
        for gap in report.gaps:
            lines.append(
                "• "
                + t("{unit}: {households} households ({students} students): {missing}").format(
                    unit=e(unit_path(gap.unit_id, units)),
                    households=gap.households,
                    students=gap.students,
                    missing=sep.join(t(GAP_TEXTS[level]) for level in gap.missing),
                )
            )
            if households:  # the operator's list (no child's name goes to a chat)
                for row in gap.rows:
                    key = row.key if not row.key.startswith("student:") else t("no phone")
                    lines.append(f"    {e(key)}: {e(sep.join(row.names))}")
    else:
        lines += ["", t("No gaps: every household has a group, village and township cadre.")]
    if report.without_household:
        lines.append(
            t("Students whose household is not on the roster: {count}").format(
                count=report.without_household
            )
        )
    lines.append("")
    over = report.overloaded
    if over:
        lines.append(t("Group cadres over {limit} households:").format(limit=report.limit))
        for load in sorted(over, key=lambda item: -item.households):
            lines.append(
                "• "
                + t("{name} ({unit}): {households} households").format(
                    name=b(load.cadre.name or "—"),
                    unit=e(unit_path(load.cadre.unit_id, units)),
                    households=load.households,
                )
            )
    else:
        lines.append(
            t("No group cadre carries more than {limit} households.").format(limit=report.limit)
        )
    if report.not_joined:
        lines.append(
            t("Cadres on the roster who have not joined the bot yet: {names}").format(
                names=sep.join(
                    t("{name} ({role})").format(name=e(c.name or "—"), role=t(ROLE_LABELS[c.role]))
                    for c in report.not_joined[:20]
                )
                + (" …" if len(report.not_joined) > 20 else "")
            )
        )
    return lines


@dataclass(frozen=True)
class CoverageView:
    report: CoverageReport
    units: Mapping[int, UnitRow]
    scope: str


async def coverage_of(services: Services, root_id: int | None) -> CoverageView:
    """The coverage of the households under ``root_id`` (a township; None: the district)."""
    repo = services.coverage
    units = {u.id: u for u in await repo.units(root_id)}
    report = coverage_report(
        units.values(),
        await repo.households(root_id),
        await repo.cadres(root_id),
        max_households_per_group_cadre=services.policy.cadres.max_households_per_group_cadre,
        without_household=await repo.students_without_household(root_id),
    )
    scope = unit_path(root_id, units) if root_id is not None else ""
    return CoverageView(report, units, scope)


class UnitNotFound(Exception):
    """``kcbx coverage --unit``: no such unit, or several (``count``)."""

    def __init__(self, text: str, count: int) -> None:
        super().__init__(text)
        self.text = text
        self.count = count


async def coverage_root(services: Services, unit_text: str | None) -> int | None:
    """The unit a coverage is asked for (a name or a path such as 滨河镇/新墩村); None: all."""
    if not unit_text:
        return None
    found = await services.units.find(unit_text, ("district", "township", "village", "group"))
    if len(found) != 1:
        raise UnitNotFound(unit_text, len(found))
    return found[0].id
