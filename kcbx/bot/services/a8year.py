"""The school year's A8 record as the bureau reads it for 年终考核, and whom each finding
addresses: the leader the clause names (分管领导 or 主要领导, ``people.leader_rank``).

* :func:`year_record`: every finding of a school year in the order earned, each with what
  happened afterwards (the child back, a measure recorded later) noted beside it, never
  instead of it. ``kcbx accountability --year``, ``/accountability`` and the ledger's A8
  sheet read it;
* :func:`addressed`: the people a step names (A8.4 month 1 and 2: the leader in charge;
  month 3: the leader in charge and the main leader; A8.1: the bureau's main leader and its
  leader in charge; A8.2/A8.3: the school's principal, lead and the cases' class teachers).
  Where no leader of a unit has a rank yet, every leader of it is addressed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from kcbx.bot.domain.a8.rules import PERSUADING_KINDS, STEP_RANKS, Level, Rule
from kcbx.bot.domain.ladder.recipients import reachable
from kcbx.bot.domain.model import Person
from kcbx.bot.domain.roles import Role
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.caseviews import UnitTree, unit_tree
from kcbx.storage.accountability_repo import YearFinding

# The leaders' role of each unit a clause holds to account.
LEADER_ROLES: dict[Rule, tuple[Role, ...]] = {
    Rule.ATTRITION: (Role.BUREAU_STAFF, Role.DISTRICT_LEADER),
    Rule.TOWNSHIP: (Role.TOWNSHIP_LEADER,),
    Rule.DEPARTMENT: (Role.DEPARTMENT_LIAISON,),
}
SCHOOL_ROLES = (Role.PRINCIPAL, Role.SCHOOL_LEAD)


@dataclass(frozen=True)
class Addressee:
    person: Person
    rank: str  # 'chief' | 'deputy' | '' (no rank set, or a school's staff)


def by_rank(
    people: Sequence[Person], ranks: dict[int, str], wanted: Iterable[str]
) -> list[Addressee]:
    """The people holding the ranks wanted; all of them when none holds one."""
    wanted = tuple(wanted)
    chosen = [Addressee(p, ranks[p.id]) for p in people if ranks.get(p.id) in wanted]
    chosen.sort(key=lambda a: wanted.index(a.rank))
    return chosen or [Addressee(p, ranks.get(p.id, "")) for p in people]


async def addressed(
    services: Services,
    rule: str,
    level: str,
    unit_id: int,
    *,
    teachers: Iterable[int] = (),
) -> list[Addressee]:
    """Whom a step names (see the module's docstring), reachable or not."""
    rule, level = Rule(rule), Level(level)
    people = await services.reports.people_in_units([unit_id])
    if rule in (Rule.PRIMARY, Rule.JUNIOR):
        staff = [Addressee(p, "") for p in people if p.role in SCHOOL_ROLES]
        found = await services.reports.people_by_id(set(teachers))
        return staff + [Addressee(p, "") for p in found.values() if p.active]
    leaders = [p for p in people if p.role in LEADER_ROLES[rule]]
    ranks = await services.a8.leader_ranks(p.id for p in leaders)
    return by_rank(leaders, ranks, STEP_RANKS[(rule, level)])


def reachable_of(found: Iterable[Addressee]) -> list[Person]:
    unique = {a.person.id: a.person for a in found if reachable(a.person)}
    return [unique[k] for k in sorted(unique)]


# --- the year's list -------------------------------------------------------------------------


@dataclass(frozen=True)
class FindingNote:
    """Something that happened to a finding's case after the finding was earned."""

    at: datetime
    number: str
    what: str  # a case status ('returned', 'exempt', 'transferred') or an action kind
    actor: str = ""


@dataclass(frozen=True)
class FindingLine:
    finding: YearFinding
    unit: str  # the unit's name now (the evidence keeps the name it had then)
    named: tuple[Addressee, ...]  # the leaders the step names
    notes: tuple[FindingNote, ...]


@dataclass(frozen=True)
class YearRecord:
    school_year: int
    start: date
    end: date
    lines: tuple[FindingLine, ...]


def year_bounds(services: Services, school_year: int) -> tuple[date, date]:
    start = date(
        school_year, *(int(x) for x in services.policy.accountability.school_year_start.split("-"))
    )
    return services.policy.accountability.school_year(start)


async def year_record(
    services: Services, school_year: int, *, tree: UnitTree | None = None
) -> YearRecord:
    """Every A8 finding of a school year, in the order earned, with the notes beside it."""
    tree = tree or await unit_tree(services)
    findings = await services.a8.findings(school_year=school_year)
    start, end = year_bounds(services, school_year)
    return YearRecord(school_year, start, end, tuple(await finding_views(services, findings, tree)))


async def finding_views(
    services: Services, findings: Sequence[YearFinding], tree: UnitTree
) -> list[FindingLine]:
    """The findings with the leaders they name and the notes beside them."""
    notes = await _notes(services, findings)
    lines = []
    for finding in findings:
        unit = tree.get(finding.unit_id)
        named: list[Addressee] = []
        if (Rule(finding.rule), Level(finding.level)) in STEP_RANKS:
            named = await addressed(services, finding.rule, finding.level, finding.unit_id)
        lines.append(
            FindingLine(
                finding,
                unit.name if unit else str(finding.evidence.get("unit", "")),
                tuple(named),
                notes.get(finding.id, ()),
            )
        )
    return lines


async def _notes(
    services: Services, findings: Sequence[YearFinding]
) -> dict[int, tuple[FindingNote, ...]]:
    """Per finding: its cases closed since, and the first measure recorded after it."""
    case_ids = {int(i) for f in findings for i in f.evidence.get("case_ids", [])}
    actions = await services.reports.actions_of(case_ids)
    cases = {i: await services.cases.get(i) for i in sorted(case_ids)}
    out: dict[int, tuple[FindingNote, ...]] = {}
    for finding in findings:
        notes: list[FindingNote] = []
        for case_id in (int(i) for i in finding.evidence.get("case_ids", [])):
            case = cases.get(case_id)
            if case is None:
                continue
            later = [
                a
                for a in actions.get(case_id, ())
                if a.kind in PERSUADING_KINDS and a.at > finding.earned_at
            ]
            if later:
                notes.append(
                    FindingNote(later[0].at, case.number, later[0].kind, later[0].actor_name)
                )
            if not case.is_open and case.closed_at is not None:
                notes.append(FindingNote(case.closed_at, case.number, case.status))
        out[finding.id] = tuple(sorted(notes, key=lambda n: n.at))
    return out


def parse_school_year(text: str) -> int | None:
    """'2023-2024' or '2023' -> 2023 (the calendar year the school year starts in)."""
    parts = text.strip().split("-")
    try:
        first = int(parts[0])
    except ValueError:
        return None
    if len(parts) == 2 and parts[1].strip() != str(first + 1):
        return None
    return first if 2000 <= first <= 2100 and len(parts) <= 2 else None


__all__ = [
    "Addressee",
    "FindingLine",
    "FindingNote",
    "YearRecord",
    "addressed",
    "by_rank",
    "finding_views",
    "parse_school_year",
    "reachable_of",
    "year_bounds",
    "year_record",
]
