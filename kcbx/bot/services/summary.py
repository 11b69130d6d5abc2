"""The leaders' picture: the summary of a scope, its drill-down, its chart.

``/summary`` answers with :func:`summary_view`; a press on its buttons with
:func:`summary_view` (another unit or page), :func:`school_cases_view` (a school's open
cases, names included, private chats only) or :func:`summary_chart` (a photo). Each call
re-checks that the unit is inside the asker's scope (:func:`may_view_unit`): callback data
can be forged.

How it stays fast. The counting is SQL (:class:`kcbx.storage.reports_repo.ReportsRepo`):
students per school, cases new today / this week, returned this month, exempt and
transferred this school year, the weekly trend. What SQL cannot say without copying the
ladder's rules, the stage of each open case and the tasks overdue, comes from the pure ladder
(:func:`kcbx.bot.domain.ladder.ladder_state`) run once per *open case* of the scope, with all their
actions read in one chunked query. Nothing here walks the students.

Stage buckets: the ladder's stages: day 0-2 (A7.1), day 3-6 (A7.2), dropout (A7.3,
from day 7), notice to enrol (A7.4, from day 15 or the notice), reprimanded and ordered to
correct (A7.5); the day numbers come from the policy.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from html import escape

from kcbx.bot.documents.charts import ChartLabels, StageRow, render_summary_chart
from kcbx.bot.domain.accountability import (
    PERSUADING_KINDS,
    CaseA8,
    Flag,
    Persuasion,
    Warning,
    section_of,
)
from kcbx.bot.domain.caseactions import case_data
from kcbx.bot.domain.dates import format_date
from kcbx.bot.domain.i18n import N_, Translate
from kcbx.bot.domain.ladder import (
    STAGE_NAMES,
    ActionFact,
    CaseFacts,
    LadderState,
    Stage,
    Task,
    TaskCode,
    ladder_state,
    standing_actions,
)
from kcbx.bot.domain.model import Person, Unit
from kcbx.bot.domain.recipients import CasePlace, Directory, holders_of
from kcbx.bot.domain.roles import DISTRICT_ROLES, ROLE_LABELS, Role
from kcbx.bot.runtime.services import Services
from kcbx.storage.reports_repo import (
    ActionRecord,
    CaseRow,
    ReportScope,
    person_scope,
    unit_scope,
)

# Who may ask for a summary, an export or a chart: leaders of a district, township or school.
SUMMARY_ROLES = DISTRICT_ROLES | {Role.TOWNSHIP_LEADER, Role.PRINCIPAL, Role.SCHOOL_LEAD}

STAGE_KEYS = (Stage.DAY0, Stage.PERSUASION, Stage.DROPOUT, Stage.NOTICE, Stage.CORRECTION)
DROPOUT_STAGES = frozenset({Stage.DROPOUT, Stage.NOTICE, Stage.CORRECTION})

MESSAGE_LIMIT = 4000  # Telegram allows 4096 characters
ROWS_PER_PAGE = 8  # townships or schools per page of a summary
CASES_PER_PAGE = 10  # cases per page of a school's list
OWED_LINES = 6
WARNING_LINES = 5
ATTENTION_LINES = 5
TREND_WEEKS = 8
CHART_ROWS = 14  # townships or schools drawn; the rest are summed into one bar

Buttons = tuple[tuple[tuple[str, str], ...], ...]


@dataclass(frozen=True)
class Reply:
    """One message: HTML text (under 4096 characters) and its inline buttons."""

    text: str
    buttons: Buttons = ()


# --- the unit tree ---------------------------------------------------------------------------


class UnitTree:
    """All units by id, with the walks reports need (ancestors, branches, subtrees)."""

    def __init__(self, units: dict[int, Unit], *, complete: bool = False) -> None:
        self.units = units
        self.complete = complete
        self._ancestors: dict[int, tuple[Unit, ...]] = {}

    async def ensure(self, services: Services, unit_ids: Iterable[int | None]) -> None:
        """Load the units (and those above them) that this tree does not hold yet."""
        if self.complete:
            return
        missing = {i for i in unit_ids if i is not None and i not in self.units}
        if missing:
            self.units.update(await services.reports.lineages(missing))
            self._ancestors.clear()

    def get(self, unit_id: int | None) -> Unit | None:
        return self.units.get(unit_id) if unit_id is not None else None

    def ancestors(self, unit_id: int | None) -> tuple[Unit, ...]:
        """The unit and the units above it, nearest first (remembered: asked per case)."""
        if unit_id is None:
            return ()
        known = self._ancestors.get(unit_id)
        if known is not None:
            return known
        out: list[Unit] = []
        current = self.get(unit_id)
        while current is not None and len(out) < 16:
            out.append(current)
            current = self.get(current.parent_id)
        self._ancestors[unit_id] = tuple(out)
        return self._ancestors[unit_id]

    def nearest(self, unit_id: int | None, kind: str) -> Unit | None:
        return next((u for u in self.ancestors(unit_id) if u.kind == kind), None)

    def within(self, unit_id: int | None, root_id: int) -> bool:
        return any(u.id == root_id for u in self.ancestors(unit_id))

    def branch(self, unit_id: int | None, root_id: int) -> Unit | None:
        """The child of ``root_id`` that holds ``unit_id`` (None when it is not below it)."""
        chain = self.ancestors(unit_id)
        for index, unit in enumerate(chain):
            if unit.parent_id == root_id:
                return unit
            if unit.id == root_id:
                return chain[index - 1] if index else None
        return None

    def path(self, unit_id: int | None) -> str:
        """'滨河镇/新墩村/一组' (the district left out)."""
        names = [u.name for u in reversed(self.ancestors(unit_id)) if u.kind != "district"]
        return "/".join(names)

    def place(self, row: CaseRow) -> CasePlace:
        return CasePlace(
            school=self.ancestors(row.school_id),
            household=self.ancestors(row.household_unit_id),
            class_teacher_id=row.teacher_id,
        )

    def departments(self) -> list[Unit]:
        return [u for u in self.units.values() if u.kind == "department"]


async def unit_tree(services: Services, root: int | None = None) -> UnitTree:
    """Every unit, or (``root``) the units a report of that unit starts from; more are
    loaded with :meth:`UnitTree.ensure` as the cases show which are needed."""
    if root is None:
        return UnitTree(await services.reports.all_units(), complete=True)
    return UnitTree(await services.reports.units_around(root))


# --- the ladder over many cases ----------------------------------------------------------------


@dataclass(frozen=True)
class CaseView:
    """An open case with its student's facts, its actions and where the ladder puts it."""

    row: CaseRow
    actions: tuple[ActionRecord, ...]
    state: LadderState

    @property
    def stage(self) -> Stage:
        return self.state.stage


def case_facts_of(row: CaseRow, tree: UnitTree, *, as_open: bool = False) -> CaseFacts:
    """A case as the pure ladder sees it; ``as_open``: as it stood before it was closed."""
    school = tree.get(row.school_id)
    return CaseFacts(
        id=row.id,
        number=row.number,
        absent_since=row.absent_since,
        reported_at=row.reported_at,
        status="open" if as_open else row.status,
        cause=row.cause,
        a9_flags=row.a9_flags,
        section=section_of(school.section if school else None, row.grade),
        closed_at=None if as_open else row.closed_at,
        reopened_from=row.reopened_from,
        carried_days=row.carried_days,
    )


def action_facts_of(records: Iterable[ActionRecord]) -> list[ActionFact]:
    return [
        ActionFact(
            id=a.id,
            kind=a.kind,
            at=a.at,
            rule=a.rule,
            detail=a.detail,
            actor_role=a.actor_role,
            corrects=a.corrects_id,
        )
        for a in records
    ]


async def case_views(
    services: Services,
    scope: ReportScope,
    tree: UnitTree,
    *,
    as_of: datetime | None = None,
) -> list[CaseView]:
    """The open cases of a scope with their ladder state: now, or as they stood at ``as_of``
    (open then, and only the actions recorded by then)."""
    at = as_of or services.clock.now()
    rows = await services.reports.open_cases(scope, as_of=as_of)
    await tree.ensure(services, {r.school_id for r in rows} | {r.household_unit_id for r in rows})
    actions = await services.reports.actions_of([r.id for r in rows], recorded_until=as_of)
    views = []
    for row in rows:
        records = tuple(actions.get(row.id, ()))
        state = ladder_state(
            case_facts_of(row, tree, as_open=as_of is not None),
            action_facts_of(records),
            services.policy,
            services.calendar,
            at,
        )
        views.append(CaseView(row, records, state))
    return views


def a8_case(
    view: CaseView,
    tree: UnitTree,
    services: Services,
    departments: Sequence[int] = (),
) -> CaseA8:
    """What A8 needs of one open case (the dropout mark, the persuasion recorded by then)."""
    row, state = view.row, view.state
    policy, calendar = services.policy, services.calendar
    mark = state.task(TaskCode.MARK)
    marked_at = mark.opens_at if mark is not None and state.stage in DROPOUT_STAGES else None

    def day_begins(n: int) -> datetime:
        day = calendar.add_days(state.ladder_start, n)
        return max(datetime.combine(day, time(0), tzinfo=policy.time.tz), row.reported_at)

    names = {a.id: a.actor_name for a in view.actions}
    persuasion = tuple(
        Persuasion(a.kind, a.at, names.get(a.id, ""))
        for a in standing_actions(action_facts_of(view.actions), state.now)
        if a.kind in PERSUADING_KINDS
    )
    school = tree.get(row.school_id)
    township = tree.nearest(row.school_id, "township")
    return CaseA8(
        case_id=row.id,
        number=row.number,
        school_id=row.school_id,
        section=section_of(school.section if school else None, row.grade),
        township_id=township.id if township else None,
        marked_at=marked_at,
        persuasion=persuasion,
        departments=tuple(departments),
        mark_due=None if marked_at else day_begins(policy.ladder.dropout_day),
        warn_from=None if marked_at else day_begins(policy.ladder.persuasion_day),
    )


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


@dataclass
class UnitLine:
    """One township or school of a summary's breakdown."""

    unit: Unit
    stages: Counter[str] = field(default_factory=Counter)
    overdue: int = 0
    a9: int = 0

    @property
    def open(self) -> int:
        return sum(self.stages.values())

    @property
    def dropouts(self) -> int:
        return sum(self.stages[s] for s in DROPOUT_STAGES)


@dataclass(frozen=True)
class Owed:
    """Overdue tasks of one group of people (a role at a unit)."""

    role: str
    people: tuple[str, ...]
    unit: str
    count: int


@dataclass(frozen=True)
class CaseLine:
    """A case as a line of a list (names: private chats only)."""

    case_id: int
    number: str
    student: str
    school: str
    grade: int | None
    class_name: str | None
    day: int
    stage: Stage
    a9: bool


@dataclass
class Summary:
    unit: Unit
    title: str
    now: datetime
    enrolled: int = 0
    stages: Counter[str] = field(default_factory=Counter)
    new_today: int = 0
    new_week: int = 0
    returned_month: int = 0
    exempt_year: int = 0
    transferred_year: int = 0
    a9_open: int = 0
    overdue: int = 0
    owed: list[Owed] = field(default_factory=list)
    lines: list[UnitLine] = field(default_factory=list)
    attention: list[CaseLine] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    warnings: list[Warning] = field(default_factory=list)
    unit_names: dict[int, str] = field(default_factory=dict)
    cases: dict[int, str] = field(default_factory=dict)  # case id -> number

    @property
    def open(self) -> int:
        return sum(self.stages.values())

    @property
    def dropouts(self) -> int:
        return sum(self.stages[s] for s in DROPOUT_STAGES)


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
    """Everything a summary of ``scope`` shows, at the clock's now."""
    from kcbx.bot.services.accountability import live_a8

    now = services.clock.now()
    p = periods(services, now)
    reports = services.reports
    summary = Summary(unit=unit, title=tree.path(unit.id) or unit.name, now=now)
    enrolled = await reports.enrolled_by_school(scope)
    await tree.ensure(services, enrolled)
    summary.enrolled = sum(enrolled.values())
    activity = await reports.activity_by_school(
        scope, today=p.today, week=p.week, month=p.month, year=p.year
    )
    for a in activity.values():
        summary.new_today += a.new_today
        summary.new_week += a.new_week
        summary.returned_month += a.returned_month
        summary.exempt_year += a.exempt_year
        summary.transferred_year += a.transferred_year
    views = await case_views(services, scope, tree)
    summary.cases = {v.row.id: v.row.number for v in views}
    lines: dict[int, UnitLine] = {}

    def line_of(school_id: int) -> UnitLine | None:
        if unit.kind == "school":
            return None
        target = tree.branch(school_id, unit.id) if unit.kind == "district" else None
        target = target or tree.get(school_id)
        if target is None:
            return None
        if target.id not in lines:
            lines[target.id] = UnitLine(target)
        return lines[target.id]

    for school_id in enrolled:  # every school of the scope gets a line, even without cases
        line_of(school_id)
    overdue: Counter[tuple[str, tuple[int, ...], int | None]] = Counter()
    directory = await _directory(services, tree, views)
    for view in views:
        stage = view.stage
        line = line_of(view.row.school_id)
        summary.stages[stage] += 1
        if view.row.a9_flags:
            summary.a9_open += 1
        due = view.state.due_tasks
        summary.overdue += len(due)
        if line is not None:
            line.stages[stage] += 1
            line.overdue += len(due)
            line.a9 += bool(view.row.a9_flags)
        place = tree.place(view.row)
        for task in due:
            holders = holders_of(task.role, place, directory, task.department)
            if holders:
                role, unit_id = holders[0].role.value, holders[0].unit_id
            else:
                role, unit_id = task.role, _expected_unit(task.role, place, directory, task)
            overdue[(role, tuple(p.id for p in holders), unit_id)] += 1
    summary.owed = [
        Owed(
            role,
            tuple(who.name for pid in ids if (who := directory.person(pid)) is not None),
            _unit_name(tree, unit_id),
            count,
        )
        for (role, ids, unit_id), count in overdue.most_common()
    ]
    summary.lines = sorted(lines.values(), key=lambda ln: (-ln.dropouts, -ln.open, ln.unit.name))
    longest = sorted(views, key=lambda v: (-v.state.day, v.row.id))[:ATTENTION_LINES]
    summary.attention = [_case_line(v, tree) for v in longest]
    flags, warns = await live_a8(
        services,
        views,
        tree,
        enrolled={unit.id: summary.enrolled} if unit.kind == "district" else None,
    )
    summary.flags = [f for f in flags if _in_unit(f.rule, f.unit_id, unit, tree)]
    summary.warnings = [w for w in warns if _in_unit(w.rule, w.unit_id, unit, tree)]
    summary.unit_names = {u.id: u.name for u in tree.units.values()}
    return summary


def _expected_unit(role: str, place: CasePlace, directory: Directory, task: Task) -> int | None:
    """The unit where a role's holder for this case would sit (to say who is missing)."""
    if role in (Role.CLASS_TEACHER, Role.PRINCIPAL, Role.SCHOOL_LEAD):
        unit = place.school_unit("school")
    elif role == Role.TOWNSHIP_LEADER:
        unit = place.household_unit("township") or place.school_unit("township")
    elif role == Role.TOWNSHIP_CADRE:
        unit = place.household_unit("village") or place.household_unit("township")
    elif role in (Role.VILLAGE_CADRE, Role.GROUP_CADRE):
        unit = place.household_unit("group") or place.household_unit("village")
    elif role == Role.DEPARTMENT_LIAISON and task.department:
        unit = directory.department(task.department, place.district)
    else:
        unit = place.district
    return unit.id if unit is not None else None


def _unit_name(tree: UnitTree, unit_id: int | None) -> str:
    """A school or a district by its name, a village or group by its path (一组 is common)."""
    unit = tree.get(unit_id)
    if unit is None:
        return ""
    if unit.kind in ("village", "group"):
        return tree.path(unit.id)
    return unit.name


def _in_unit(rule: str, unit_id: int, unit: Unit, tree: UnitTree) -> bool:
    """Whether a flag's unit answers to this summary's unit (A8.1, A8.5 at the district)."""
    target = tree.get(unit_id)
    if target is None:
        return False
    if target.kind in ("district", "department"):
        return unit.kind == "district"
    return tree.within(unit_id, unit.id)


async def _directory(services: Services, tree: UnitTree, views: Sequence[CaseView]) -> Directory:
    """Who holds which role around the open cases (for "who owes the overdue tasks")."""
    unit_ids: set[int] = {u.id for u in tree.departments()}
    teachers: set[int] = set()
    for view in views:
        if view.state.due_tasks:
            unit_ids |= tree.place(view.row).unit_ids()
            if view.row.teacher_id is not None:
                teachers.add(view.row.teacher_id)
    people = await services.reports.people_in_units(unit_ids)
    people += list((await services.reports.people_by_id(teachers)).values())
    return Directory(people, tree.departments())


def _case_line(view: CaseView, tree: UnitTree) -> CaseLine:
    school = tree.get(view.row.school_id)
    return CaseLine(
        case_id=view.row.id,
        number=view.row.number,
        student=view.row.student_name,
        school=school.name if school else "",
        grade=view.row.grade,
        class_name=view.row.class_name,
        day=view.state.day,
        stage=view.stage,
        a9=bool(view.row.a9_flags),
    )


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


async def summary_view(
    services: Services,
    person: Person,
    unit_id: int | None,
    *,
    page: int = 0,
    in_group: bool,
    gettext: Translate,
    lang: str,
) -> Reply | None:
    """The summary of a unit (the person's own when ``unit_id`` is None); None if the
    person may not see it. In a group: counts only, no child's name, no list of cases."""
    tree = await unit_tree(services, person.unit_id)
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
    return render_summary(
        summary, services, gettext, lang, page=page, in_group=in_group, parent_id=up
    )


async def school_cases_view(
    services: Services, person: Person, school_id: int, page: int, *, gettext: Translate, lang: str
) -> Reply | None:
    """One page of a school's open cases (names), each with a button to its case card."""
    tree = await unit_tree(services, person.unit_id)
    await tree.ensure(services, [school_id])
    school = tree.get(school_id)
    if school is None or school.kind != "school":
        return None
    if not await may_view_unit(services, person, school, tree):
        return None
    t = gettext
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
    lines = [
        t("<b>Open cases of {school}</b> ({count})").format(school=escape(school.name), count=total)
    ]
    buttons: list[tuple[tuple[str, str], ...]] = []
    if not total:
        lines.append(t("No open cases."))
    for index, row in enumerate(rows, start=page * CASES_PER_PAGE + 1):
        state = ladder_state(
            case_facts_of(row, tree),
            action_facts_of(actions.get(row.id, ())),
            services.policy,
            services.calendar,
            now,
        )
        view = CaseView(row, tuple(actions.get(row.id, ())), state)
        lines.append(f"{index}. " + case_line_text(_case_line(view, tree), t, with_school=False))
        buttons.append(((f"{row.number} {row.student_name}"[:40], case_data(row.id)),))
    if pages > 1:
        lines.append(t("Page {page} of {pages}").format(page=page + 1, pages=pages))
    nav: list[tuple[str, str]] = []
    if page > 0:
        nav.append((t("◀ Previous"), f"sum:c:{school_id}:{page - 1}"))
    if page + 1 < pages:
        nav.append((t("Next ▶"), f"sum:c:{school_id}:{page + 1}"))
    buttons.append((*nav, (t("Back to the summary"), f"sum:s:{school_id}")))
    return Reply(fit(lines), tuple(buttons))


async def summary_chart(
    services: Services, person: Person, unit_id: int, *, gettext: Translate, lang: str
) -> tuple[bytes, str] | None:
    """The summary's picture (open cases by stage per township or school, and the trend of
    open cases over the last weeks) and its caption; None if the unit is out of scope."""
    tree = await unit_tree(services, person.unit_id)
    await tree.ensure(services, [unit_id])
    unit = tree.get(unit_id)
    if unit is None or not await may_view_unit(services, person, unit, tree):
        return None
    scope = summary_scope(person, unit, tree)
    views = await case_views(services, scope, tree)
    rows = chart_rows(views, unit, tree, gettext)
    points = await trend_points(services, scope)
    t = gettext
    labels = chart_labels(services, t, lang, unit)
    title = t("Dropout control: {unit}").format(unit=tree.path(unit.id) or unit.name)
    png = await asyncio.to_thread(render_summary_chart, rows, points, title, labels)
    caption = t("Open cases by stage, and open cases over the last {weeks} weeks.").format(
        weeks=TREND_WEEKS
    )
    return png, caption


def chart_rows(
    views: Sequence[CaseView], unit: Unit, tree: UnitTree, t: Translate
) -> list[StageRow]:
    """Open cases by stage per township (district), per school (township), or the school."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for view in views:
        if unit.kind == "school":
            name = unit.name
        else:
            target = tree.branch(view.row.school_id, unit.id) if unit.kind == "district" else None
            target = target or tree.get(view.row.school_id)
            name = target.name if target else "?"
        counts[name][view.stage.value] += 1
    ordered = sorted(counts.items(), key=lambda item: (-sum(item[1].values()), item[0]))
    rows = [StageRow(name, dict(c)) for name, c in ordered[:CHART_ROWS]]
    rest: Counter[str] = Counter()
    for _name, c in ordered[CHART_ROWS:]:
        rest.update(c)
    if rest:
        rows.append(StageRow(t("others"), dict(rest)))
    return rows


async def trend_points(services: Services, scope: ReportScope) -> list[tuple[date, int]]:
    """Open cases at this moment of the day, today and on the same weekday of past weeks."""
    now = services.clock.now()
    tz = services.policy.time.tz
    instants = [now - timedelta(weeks=k) for k in range(TREND_WEEKS - 1, -1, -1)]
    points = [(i.astimezone(tz).date(), i) for i in instants]
    counts = await services.reports.open_trend(scope, points)
    return [(day, count) for (day, _i), count in zip(points, counts, strict=True)]


def stage_labels(services: Services, t: Translate) -> dict[Stage, str]:
    """The buckets' names with the policy's day numbers."""
    ladder = services.policy.ladder
    return {
        Stage.DAY0: t("day {first}–{last}").format(first=0, last=ladder.persuasion_day - 1),
        Stage.PERSUASION: t("day {first}–{last}").format(
            first=ladder.persuasion_day, last=ladder.dropout_day - 1
        ),
        Stage.DROPOUT: t("dropout (day {day}+)").format(day=ladder.dropout_day),
        Stage.NOTICE: t("notice to enrol (A7.4)"),
        Stage.CORRECTION: t("reprimanded, ordered to correct (A7.5)"),
    }


def chart_labels(services: Services, t: Translate, lang: str, unit: Unit) -> ChartLabels:
    now = services.clock.now().astimezone(services.policy.time.tz)
    panel = {
        "district": N_("Open cases by township and stage"),
        "township": N_("Open cases by school and stage"),
    }.get(unit.kind, N_("Open cases by stage"))
    return ChartLabels(
        stages={k.value: v for k, v in stage_labels(services, t).items()},
        cases=t("open cases"),
        no_cases=t("No open cases."),
        stage_panel=t(panel),
        trend_panel=t("Open cases over the last {weeks} weeks").format(weeks=TREND_WEEKS),
        date_format=t("{d.month}/{d.day}"),
        footnote=t("As of {when}").format(when=format_when(now, t, lang)),
    )


# --- rendering -------------------------------------------------------------------------------


def format_when(instant: datetime, t: Translate, lang: str) -> str:
    return f"{format_date(instant.date(), t, lang)} {instant.strftime('%H:%M')}"


def fit(lines: Sequence[str], limit: int = MESSAGE_LIMIT) -> str:
    """Whole lines up to ``limit`` characters; what does not fit is cut with an ellipsis."""
    out: list[str] = []
    size = 0
    for line in lines:
        if size + len(line) + 1 > limit - 2:
            out.append("…")
            break
        out.append(line)
        size += len(line) + 1
    return "\n".join(out)


def case_line_text(line: CaseLine, t: Translate, *, with_school: bool = True) -> str:
    """'<b>张三</b> 3年级1班 · day 16 · notice to enrol · KC-2024-0001' (escaped)."""
    where = []
    if with_school and line.school:
        where.append(escape(line.school))
    if line.grade is not None and line.class_name:
        where.append(
            t("grade {grade} {name}").format(grade=line.grade, name=escape(line.class_name))
        )
    text = f"<b>{escape(line.student)}</b>"
    if where:
        text += " " + " ".join(where)
    text += " · " + t("day {day}").format(day=line.day)
    text += " · " + t(STAGE_NAMES[line.stage])
    text += f" · <b>{escape(line.number)}</b>"
    if line.a9:
        text += " · " + t("A9")
    return text


def render_summary(
    summary: Summary,
    services: Services,
    t: Translate,
    lang: str,
    *,
    page: int = 0,
    in_group: bool,
    parent_id: int | None = None,
) -> Reply:
    """The summary as one message with its drill-down buttons."""
    from kcbx.bot.services.accountability import flag_text, warning_text

    unit = summary.unit
    local = summary.now.astimezone(services.policy.time.tz)
    labels = stage_labels(services, t)
    lines = [
        t("<b>Dropout control summary: {unit}</b>").format(unit=escape(summary.title)),
        t("As of {when}").format(when=format_when(local, t, lang)),
        t(
            "Students: {enrolled}. Open cases: <b>{open}</b>, of which dropouts: <b>{dropouts}</b>."
        ).format(enrolled=summary.enrolled, open=summary.open, dropouts=summary.dropouts),
        t("By stage: {stages}").format(
            stages=t(", ").join(f"{labels[s]} {summary.stages[s]}" for s in STAGE_KEYS)
        ),
        t("New: {today} today, {week} this week. Back at school this month: {returned}.").format(
            today=summary.new_today, week=summary.new_week, returned=summary.returned_month
        ),
        t(
            "This school year, counted apart (not dropouts): {exempt} exempt (A3), "
            "{transferred} transferred."
        ).format(exempt=summary.exempt_year, transferred=summary.transferred_year),
        t("Vulnerable students (A9) among the open cases: {count}.").format(count=summary.a9_open),
    ]
    lines.append("")
    lines.append(t("<b>Overdue tasks: {count}</b>").format(count=summary.overdue))
    for owed in summary.owed[:OWED_LINES]:
        who = t(ROLE_LABELS.get(owed.role, owed.role))  # type: ignore[call-overload]
        if owed.unit:
            who += t(" ({unit})").format(unit=escape(owed.unit))
        if owed.people and not in_group:
            who += " " + escape(t(", ").join(owed.people))
        elif not owed.people:
            who += t(" (nobody holds this role)")
        lines.append(" · " + t("{who}: {count}").format(who=who, count=owed.count))
    if len(summary.owed) > OWED_LINES:
        rest = sum(o.count for o in summary.owed[OWED_LINES:])
        lines.append(" · " + t("others: {count}").format(count=rest))
    lines.append("")
    lines.append(
        t("<b>Accountability (A8)</b>: {flags} flags, {warnings} warnings").format(
            flags=len(summary.flags), warnings=len(summary.warnings)
        )
    )
    shown = 0
    for flag in summary.flags:
        if shown >= WARNING_LINES:
            break
        lines.append(" · " + flag_text(flag, summary.unit_names, t, lang, services))
        shown += 1
    for warning in summary.warnings:
        if shown >= WARNING_LINES:
            break
        lines.append(" · " + warning_text(warning, summary.unit_names, t, lang, services))
        shown += 1
    hidden = len(summary.flags) + len(summary.warnings) - shown
    if hidden > 0:
        lines.append(" · " + t("and {count} more: /accountability").format(count=hidden))

    buttons: list[tuple[tuple[str, str], ...]] = []
    if summary.lines:
        heading = {
            "district": N_("<b>By township</b> (open / dropouts):"),
            "township": N_("<b>By school</b> (open / dropouts):"),
        }.get(unit.kind, N_("<b>By unit</b> (open / dropouts):"))
        pages = max(1, -(-len(summary.lines) // ROWS_PER_PAGE))
        page = min(max(page, 0), pages - 1)
        chunk = summary.lines[page * ROWS_PER_PAGE : (page + 1) * ROWS_PER_PAGE]
        lines.append("")
        lines.append(t(heading))
        row_buttons: list[tuple[str, str]] = []
        for line in chunk:
            lines.append(
                " · "
                + t("{name}: {open} / {dropouts}").format(
                    name=escape(line.unit.name), open=line.open, dropouts=line.dropouts
                )
            )
            kind = "s" if line.unit.kind == "school" else "t"
            if line.unit.kind in ("school", "township"):
                row_buttons.append(
                    (f"{line.unit.name} ({line.open})"[:40], f"sum:{kind}:{line.unit.id}")
                )
        for i in range(0, len(row_buttons), 2):
            buttons.append(tuple(row_buttons[i : i + 2]))
        if pages > 1:
            lines.append(t("Page {page} of {pages}").format(page=page + 1, pages=pages))
            nav: list[tuple[str, str]] = []
            if page > 0:
                nav.append((t("◀ Previous"), f"sum:u:{unit.id}:{page - 1}"))
            if page + 1 < pages:
                nav.append((t("Next ▶"), f"sum:u:{unit.id}:{page + 1}"))
            buttons.append(tuple(nav))
    if summary.attention and not in_group:
        lines.append("")
        lines.append(t("<b>Longest open:</b>"))
        for case in summary.attention:
            lines.append(" · " + case_line_text(case, t))
    last: list[tuple[str, str]] = [(t("Chart"), f"sum:g:{unit.id}")]
    if unit.kind == "school" and not in_group:
        last.append((t("Open cases"), f"sum:c:{unit.id}:0"))
    if parent_id is not None:
        last.append((t("Up"), f"sum:u:{parent_id}:0"))
    buttons.append(tuple(last))
    return Reply(fit(lines), tuple(buttons))


__all__ = [
    "SUMMARY_ROLES",
    "CaseView",
    "Reply",
    "Summary",
    "UnitTree",
    "a8_case",
    "build_summary",
    "case_views",
    "may_view_unit",
    "render_summary",
    "school_cases_view",
    "summary_chart",
    "summary_view",
]
