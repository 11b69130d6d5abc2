"""The leaders' picture: the summary of a scope, its drill-down, its chart's figures.

``/summary`` answers with :func:`summary_view`; a press on its buttons with
:func:`summary_view` (another unit or page), :func:`school_cases_view` (a school's open
cases, names included, private chats only) or :func:`chart_data` (the figures of a photo).
Each call re-checks that the unit is inside the asker's scope (:func:`may_view_unit`):
callback data can be forged. They return view models; :mod:`kcbx.bot.texts.summary` writes
the messages.

How it stays fast. The counting is SQL (:class:`kcbx.storage.reports_repo.ReportsRepo`,
per-school rollups): students per school, cases new today / this week, returned, exempt and
transferred, the weekly trend. What the open cases give (their stages, the tasks overdue and
who owes them, the longest absences, A8) is added up from each school's part
(:mod:`kcbx.bot.services.summary_parts`), kept between summaries while the school's cases,
its people and the time are as they were, and computed again from the standings the sweep
keeps (:mod:`kcbx.bot.domain.ladder.standing`) for the schools where something moved.

Stage buckets: the ladder's stages: day 0-2 (A7.1), day 3-6 (A7.2), dropout (A7.3,
from day 7), notice to enrol (A7.4, from day 15 or the notice), reprimanded and ordered to
correct (A7.5); the day numbers come from the policy.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from kcbx.bot.domain.a8.parts import SchoolA8, combine
from kcbx.bot.domain.a8.rules import Flag
from kcbx.bot.domain.a8.warnings import Warning
from kcbx.bot.domain.capabilities import roles_of
from kcbx.bot.domain.ladder.state import Stage, ladder_state
from kcbx.bot.domain.model import Person, Unit
from kcbx.bot.domain.roles import DISTRICT_ROLES, Role
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.accountability import school_year_of, year_enrolment
from kcbx.bot.services.caseviews import (
    DROPOUT_STAGES,
    CaseView,
    Counts,
    Owner,
    UnitTree,
    a8_case,
    action_facts_of,
    case_facts_of,
    case_views,
    open_counts,
    unit_tree,
)
from kcbx.bot.services.summary_parts import (
    ATTENTION_LINES,
    CaseLine,
    OwedShare,
    Part,
    case_line,
    school_activity,
    summary_parts,
    summary_tree,
    warm,
)
from kcbx.storage.reports_repo import ReportScope, person_scope, unit_scope

# Who may ask for a summary, an export or a chart: leaders of a district, township or school.
SUMMARY_ROLES = roles_of("summary")

STAGE_KEYS = (Stage.DAY0, Stage.PERSUASION, Stage.DROPOUT, Stage.NOTICE, Stage.CORRECTION)

OWED_KEPT = 10  # groups owing overdue tasks a summary names (the others are counted)
CASES_PER_PAGE = 4  # cases per page of a school's list: with [更多] and the way back, six buttons
TREND_WEEKS = 8


# --- the periods a summary counts ------------------------------------------------------------


@dataclass(frozen=True)
class Periods:
    """The starts of today, this week (Monday), this month and this school year, as instants."""

    now: datetime
    today: datetime
    week: datetime
    month: datetime
    year: datetime


def periods(services: Services, now: datetime) -> Periods:
    tz = services.policy.time.tz
    local = now.astimezone(tz).date()
    year_start, _end = services.policy.accountability.school_year(local)

    def start(day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=tz)

    return Periods(
        now=now,
        today=start(local),
        week=start(local - timedelta(days=local.weekday())),
        month=start(local.replace(day=1)),
        year=start(year_start),
    )


# --- the summary -----------------------------------------------------------------------------


class _Counted(ABC):
    """Open cases and dropouts, of what ``counts`` counts (a line or a whole summary)."""

    @property
    @abstractmethod
    def counts(self) -> Counts: ...

    @property
    def open(self) -> int:
        return self.counts.open

    @property
    def dropouts(self) -> int:
        return self.counts.dropout


@dataclass
class UnitLine(_Counted):
    """One township or school of a summary's breakdown."""

    unit: Unit
    stages: Counter[str] = field(default_factory=Counter)
    overdue: int = 0
    a9: int = 0
    enrolled: int = 0
    returned: int = 0  # back at school this school year

    @property
    def counts(self) -> Counts:
        return open_counts(_stages_of(self.stages), self.returned)

    @property
    def empty(self) -> bool:
        """Nothing to show: no open case and nobody back at school this year."""
        return not self.open and not self.returned


def _stages_of(stages: Counter[str]) -> list[Stage]:
    return [Stage(key) for key, count in stages.items() for _ in range(count)]


@dataclass(frozen=True)
class Owed:
    """Overdue tasks of one group of people (a role at a unit)."""

    role: str
    people: tuple[str, ...]
    unit: str
    count: int


@dataclass
class Summary(_Counted):
    unit: Unit
    title: str
    now: datetime
    enrolled: int = 0
    stages: Counter[str] = field(default_factory=Counter)
    new_today: int = 0
    new_week: int = 0
    returned_month: int = 0
    returned_year: int = 0
    enrolled_year: int | None = None  # A8.1's denominator (the district's summary only)
    exempt_year: int = 0
    transferred_year: int = 0
    a9_open: int = 0
    overdue: int = 0
    owed: list[Owed] = field(default_factory=list)  # the OWED_KEPT groups owing most
    owed_groups: int = 0  # how many groups owe overdue tasks
    lines: list[UnitLine] = field(default_factory=list)
    attention: list[CaseLine] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    warnings: list[Warning] = field(default_factory=list)
    unit_names: dict[int, str] = field(default_factory=dict)

    @property
    def counts(self) -> Counts:
        return open_counts(_stages_of(self.stages), self.returned_year)

    @property
    def rate(self) -> float | None:
        """Dropouts not returned per 100 students: A8.1's attrition at the district (against
        the year-start enrolment), the same share of today's students below it."""
        base = self.enrolled_year if self.enrolled_year is not None else self.enrolled
        return self.counts.rate(base)


def summary_scope(person: Person, unit: Unit, tree: UnitTree) -> ReportScope:
    """The asker's scope narrowed to a unit. A unit at or below a leader's own unit is all
    theirs: its scope is the unit's (the same students, counted faster); a school outside
    a township where its children study is narrowed to what the township leader may see."""
    if (
        person.role in SUMMARY_ROLES
        and person.unit_id is not None
        and tree.within(unit.id, person.unit_id)
    ):
        return unit_scope(unit)
    return person_scope(person).narrowed(unit_scope(unit))


async def build_summary(
    services: Services, scope: ReportScope, unit: Unit, tree: UnitTree
) -> Summary:
    """Everything a summary of ``scope`` shows, at the clock's now: the counts from SQL and
    the rollups, the open cases from each school's part (:mod:`.summary_parts`)."""
    now = services.clock.now()
    summary = Summary(unit=unit, title=tree.path(unit.id) or unit.name, now=now)
    enrolled = await services.reports.enrolled_by_school(scope)
    await tree.ensure(services, enrolled)
    summary.enrolled = sum(enrolled.values())
    returned = await _count_activity(services, scope, summary)
    parts = await summary_parts(services, scope, unit, tree)
    await tree.ensure(services, [p.school_id for p in parts])
    _count_parts(summary, parts, list(enrolled), tree)
    for school_id, line in _lines_by_school(summary, [*enrolled, *returned], tree).items():
        line.enrolled += enrolled.get(school_id, 0)
        line.returned += returned.get(school_id, 0)
    enrolled_then = None
    if unit.kind == "district":  # A8.1: the year-start enrolment, exempt children out
        year = await year_enrolment(services, tree, school_year_of(services, now))
        enrolled_then = {unit.id: year.get(unit.id, 0)}
        summary.enrolled_year = enrolled_then[unit.id]
    flags, warns = _a8(services, parts, tree, enrolled_then or {})
    summary.flags = [f for f in flags if _in_unit(f.rule, f.unit_id, unit, tree)]
    summary.warnings = [w for w in warns if _in_unit(w.rule, w.unit_id, unit, tree)]
    summary.unit_names = {u.id: u.name for u in tree.units.values()}
    return summary


def _a8(
    services: Services, parts: Sequence[Part], tree: UnitTree, enrolled: Mapping[int, int]
) -> tuple[list[Flag], list[Warning]]:
    """The A8 flags earned now and the warnings due now, district by district (``enrolled``:
    A8.1's denominator of a district; without it, A8.1 is not evaluated)."""
    by_district: dict[int, list[SchoolA8]] = defaultdict(list)
    for part in parts:
        district = tree.nearest(part.school_id, "district")
        by_district[district.id if district else 0].append(part.a8)
    flags: list[Flag] = []
    warns: list[Warning] = []
    for district_id, found in sorted(by_district.items()):
        earned, warned = combine(
            found,
            services.policy,
            services.clock.now(),
            district_id=district_id,
            enrolled=enrolled.get(district_id, 0),
        )
        flags += earned
        warns += warned
    return flags, warns


async def _count_activity(
    services: Services, scope: ReportScope, summary: Summary
) -> dict[int, int]:
    """New today and this week, back this month and this school year, exempt and
    transferred this school year; returns those back this school year per school."""
    p = periods(services, summary.now)
    activity = await school_activity(
        services, scope, summary.unit, (p.today, p.week, p.month, p.year)
    )
    for a in activity.values():
        summary.new_today += a.new_today
        summary.new_week += a.new_week
        summary.returned_month += a.returned_month
        summary.exempt_year += a.exempt_year
        summary.transferred_year += a.transferred_year
    # "returned" since the year's start, as the ledger counts it
    returned = {school_id: a.returned_year for school_id, a in activity.items() if a.returned_year}
    summary.returned_year = sum(returned.values())
    return returned


def _line_unit(school_id: int, unit: Unit, tree: UnitTree) -> Unit | None:
    """The township (of a district) or school (of a township) whose line counts a school."""
    if unit.kind == "school":
        return None
    target = tree.branch(school_id, unit.id) if unit.kind == "district" else None
    return target or tree.get(school_id)


def _lines_by_school(
    summary: Summary, schools: Sequence[int], tree: UnitTree
) -> dict[int, UnitLine]:
    """Each school's line of the breakdown (made when missing, kept in roster order)."""
    lines = {line.unit.id: line for line in summary.lines}
    out: dict[int, UnitLine] = {}
    for school_id in dict.fromkeys(schools):
        target = _line_unit(school_id, summary.unit, tree)
        if target is None:
            continue
        if target.id not in lines:
            lines[target.id] = UnitLine(target)
        out[school_id] = lines[target.id]
    summary.lines = sorted(lines.values(), key=lambda ln: ln.unit.id)
    return out


def _count_parts(
    summary: Summary, parts: Sequence[Part], schools: Sequence[int], tree: UnitTree
) -> None:
    """Open cases by stage, per township or school, the overdue tasks by who owes them and
    the longest absences, from the schools' parts."""
    unit = summary.unit
    lines: dict[int, UnitLine] = {}

    def line_of(school_id: int) -> UnitLine | None:
        target = _line_unit(school_id, unit, tree)
        if target is None:
            return None
        if target.id not in lines:
            lines[target.id] = UnitLine(target)
        return lines[target.id]

    for school_id in schools:  # every school of the scope gets a line, even without cases
        line_of(school_id)
    overdue: Counter[Owner] = Counter()
    shares: dict[Owner, OwedShare] = {}
    for part in parts:
        line = line_of(part.school_id)
        for stage, count in part.stages:
            summary.stages[stage] += count
            if line is not None:
                line.stages[stage] += count
        summary.a9_open += part.a9
        summary.overdue += part.overdue
        if line is not None:
            line.overdue += part.overdue
            line.a9 += part.a9
        for share in part.owed:
            overdue[share.owner] += share.tasks
            shares.setdefault(share.owner, share)
    summary.owed = [
        Owed(owner[0], shares[owner].names, shares[owner].unit, count)
        for owner, count in overdue.most_common(OWED_KEPT)
    ]
    summary.owed_groups = len(overdue)
    longest = sorted((c for p in parts for c in p.longest), key=lambda c: (-c.day, c.case_id))
    summary.attention = longest[:ATTENTION_LINES]
    # administrative order: the roster's, the order its units were imported or created
    summary.lines = sorted(lines.values(), key=lambda ln: ln.unit.id)


def _in_unit(rule: str, unit_id: int, unit: Unit, tree: UnitTree) -> bool:
    """Whether a flag's unit answers to this summary's unit (A8.1, A8.5 at the district)."""
    target = tree.get(unit_id)
    if target is None:
        return False
    if target.kind in ("district", "department"):
        return unit.kind == "district"
    return tree.within(unit_id, unit.id)


async def warm_summaries(services: Services) -> int:
    """After a sweep: every school's part and counts brought up to date, so that the next
    summary reads them instead of computing them (returns how many schools have a part)."""
    p = periods(services, services.clock.now())
    return await warm(services, (p.today, p.week, p.month, p.year))


# --- permission ------------------------------------------------------------------------------


async def may_view_unit(services: Services, person: Person, unit: Unit, tree: UnitTree) -> bool:
    """A leader sees the units under their own; a township leader also a school outside it
    where children of the township's households study (their scope holds them)."""
    if not person.active or person.role not in SUMMARY_ROLES or person.unit_id is None:
        return False
    if unit.kind not in ("district", "township", "school"):
        return False
    if tree.within(unit.id, person.unit_id):
        return True
    if unit.kind == "school" and person.role in DISTRICT_ROLES | {Role.TOWNSHIP_LEADER}:
        return await services.reports.sees_school(person_scope(person), unit.id)
    return False


# --- the views the handlers send ---------------------------------------------------------------


@dataclass(frozen=True)
class SummaryView:
    """A summary to show, and the unit one level up if the asker may go there."""

    summary: Summary
    parent_id: int | None = None


async def summary_view(
    services: Services, person: Person, unit_id: int | None
) -> SummaryView | None:
    """The summary of a unit (the person's own when ``unit_id`` is None); None if the
    person may not see it."""
    tree = await summary_tree(services, person.unit_id)
    await tree.ensure(services, [unit_id])
    unit = tree.get(unit_id if unit_id is not None else person.unit_id)
    if unit is None or not await may_view_unit(services, person, unit, tree):
        return None
    summary = await build_summary(services, summary_scope(person, unit, tree), unit, tree)
    parent = tree.get(unit.parent_id)
    up = None
    mine = person.unit_id
    if parent is not None and mine is not None and unit.id != mine and tree.within(parent.id, mine):
        up = parent.id
    return SummaryView(summary, up)


@dataclass(frozen=True)
class SchoolCases:
    """One page of a school's open cases (names: private chats only)."""

    school: Unit
    lines: tuple[CaseLine, ...]
    total: int
    page: int
    pages: int
    first: int  # the number of the page's first line


async def school_cases_view(
    services: Services, person: Person, school_id: int, page: int
) -> SchoolCases | None:
    """One page of a school's open cases, or None if the school is out of scope."""
    tree = await summary_tree(services, person.unit_id)
    await tree.ensure(services, [school_id])
    school = tree.get(school_id)
    if school is None or school.kind != "school":
        return None
    if not await may_view_unit(services, person, school, tree):
        return None
    scope = summary_scope(person, school, tree)
    page = max(page, 0)
    rows, total = await services.reports.open_cases_of_school(
        scope, school_id, limit=CASES_PER_PAGE, offset=page * CASES_PER_PAGE
    )
    pages = max(1, -(-total // CASES_PER_PAGE))
    if page >= pages:  # a stale page number: the list got shorter
        page = pages - 1
        rows, total = await services.reports.open_cases_of_school(
            scope, school_id, limit=CASES_PER_PAGE, offset=page * CASES_PER_PAGE
        )
    actions = await services.reports.actions_of([r.id for r in rows])
    now = services.clock.now()
    lines = []
    for row in rows:
        state = ladder_state(
            case_facts_of(row, tree),
            action_facts_of(actions.get(row.id, ())),
            services.policy,
            services.calendar,
            now,
        )
        lines.append(case_line(row, state.day, state.stage, tree))
    return SchoolCases(school, tuple(lines), total, page, pages, page * CASES_PER_PAGE + 1)


@dataclass(frozen=True)
class ChartData:
    """What the summary's chart draws: the summary itself (its lines in roster order, its
    counts, its dropout rate), and open cases on the same weekday of the last weeks."""

    summary: Summary
    trend: tuple[tuple[date, int], ...]

    @property
    def unit(self) -> Unit:
        return self.summary.unit

    @property
    def title(self) -> str:
        return self.summary.title

    @property
    def now(self) -> datetime:
        return self.summary.now


async def chart_data(services: Services, person: Person, unit_id: int) -> ChartData | None:
    """The chart's figures, counted as the summary counts them; None if the unit is out of
    the person's scope."""
    found = await summary_view(services, person, unit_id)
    if found is None:
        return None
    unit = found.summary.unit
    tree = await summary_tree(services, person.unit_id)
    await tree.ensure(services, [unit.id])
    points = await trend_points(services, summary_scope(person, unit, tree))
    return ChartData(found.summary, tuple(points))


def stage_counts(summary: Summary) -> list[tuple[UnitLine, dict[str, int]]]:
    """Open cases by stage per township (district) or school (township), in roster order,
    lines with neither an open case nor a return this year left out; a school's summary is
    its one line."""
    if summary.unit.kind == "school":
        line = UnitLine(summary.unit, Counter(summary.stages), enrolled=summary.enrolled)
        line.returned = summary.returned_year
        return [(line, {Stage(s).value: n for s, n in summary.stages.items() if n})]
    return [
        (line, {Stage(s).value: n for s, n in line.stages.items() if n})
        for line in summary.lines
        if not line.empty
    ]


async def trend_points(services: Services, scope: ReportScope) -> list[tuple[date, int]]:
    """Open cases at this moment of the day, today and on the same weekday of past weeks."""
    now = services.clock.now()
    tz = services.policy.time.tz
    instants = [now - timedelta(weeks=k) for k in range(TREND_WEEKS - 1, -1, -1)]
    points = [(i.astimezone(tz).date(), i) for i in instants]
    counts = await services.reports.open_trend(scope, points)
    return [(day, count) for (day, _i), count in zip(points, counts, strict=True)]


__all__ = [
    "DROPOUT_STAGES",
    "STAGE_KEYS",
    "SUMMARY_ROLES",
    "CaseLine",
    "CaseView",
    "ChartData",
    "Counts",
    "Owed",
    "Periods",
    "SchoolCases",
    "Summary",
    "SummaryView",
    "UnitLine",
    "UnitTree",
    "a8_case",
    "action_facts_of",
    "build_summary",
    "case_facts_of",
    "case_views",
    "chart_data",
    "may_view_unit",
    "periods",
    "school_cases_view",
    "stage_counts",
    "summary_scope",
    "summary_tree",
    "summary_view",
    "trend_points",
    "unit_tree",
    "warm_summaries",
]
