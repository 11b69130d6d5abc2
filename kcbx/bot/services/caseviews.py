"""Open cases as the ladder sees them, many at a time: the unit tree, the case views, and
the facts A8 needs of each case.

Shared by the summaries, the A8 rules in service (:mod:`kcbx.bot.services.accountability`)
and the ledger. Nothing here renders text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time

from kcbx.bot.domain.a8.rules import CaseA8, Persuasion, section_of
from kcbx.bot.domain.ladder.recipients import CasePlace, Directory, holders_of
from kcbx.bot.domain.ladder.standing import (
    DROPOUT_STAGES,
    Standing,
    dropout_marked_at,
    loads,
    persuading_actions,
    standing_of,
)
from kcbx.bot.domain.ladder.state import (
    DETAIL_ACTOR_ROLE,
    ActionFact,
    CaseFacts,
    LadderState,
    Stage,
    ladder_state,
)
from kcbx.bot.domain.ladder.stored import action_facts
from kcbx.bot.domain.model import Unit
from kcbx.bot.domain.roles import Role
from kcbx.bot.engine.wake import rules_fingerprint
from kcbx.bot.runtime.services import Services
from kcbx.storage.reports_repo import ActionRecord, CaseRow, ReportScope

NOTICE_STAGES = frozenset({Stage.NOTICE, Stage.CORRECTION})


# --- the counts every report uses --------------------------------------------------------------


@dataclass
class Counts:
    """The five counts the summary, its chart, the ledger and the digests print, each
    defined once here so that no two of them can disagree on the same scope:

    * ``open``: cases not closed;
    * ``dropout``: open cases past the dropout mark (A7.3, from day 7: the dropout, notice
      and correction stages): the dropouts not returned that A8.1 counts;
    * ``suspected``: open cases before it (``open - dropout``);
    * ``notice``: dropouts whose notice to enrol is issued or due (A7.4, A7.5 after it);
    * ``returned``: cases closed as back at school within the school year.
    """

    open: int = 0
    dropout: int = 0
    notice: int = 0
    returned: int = 0

    @property
    def suspected(self) -> int:
        return self.open - self.dropout

    def add(self, stage: Stage) -> None:
        """Count one open case at ``stage``."""
        self.open += 1
        self.dropout += stage in DROPOUT_STAGES
        self.notice += stage in NOTICE_STAGES

    def rate(self, enrolled: int) -> float | None:
        """The dropouts not returned per 100 students (A8.1's attrition); None without any."""
        return 100.0 * self.dropout / enrolled if enrolled > 0 else None


def is_dropout(stage: Stage) -> bool:
    return stage in DROPOUT_STAGES


def open_counts(stages: Iterable[Stage], returned: int = 0) -> Counts:
    """The counts of open cases at these stages, and ``returned`` as it was counted."""
    counts = Counts(returned=returned)
    for stage in stages:
        counts.add(stage)
    return counts


# --- the unit tree ---------------------------------------------------------------------------


class UnitTree:
    """All units by id, with the walks reports need (ancestors, branches, subtrees)."""

    def __init__(
        self,
        units: dict[int, Unit],
        *,
        complete: bool = False,
        digest: tuple[int, ...] | None = None,
    ) -> None:
        self.units = units
        self.complete = complete
        self.digest = digest  # the tree's digest when it was read, if known (ReportsRepo)
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
    """A report's actions as the ladder sees them, each with its actor's role."""
    records = tuple(records)
    roles = {a.actor_id: a.actor_role for a in records if a.actor_id is not None}
    return action_facts(records, roles)


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
    state = view.state
    records = {a.id: a for a in view.actions}
    persuasion = []
    for fact in persuading_actions(action_facts_of(view.actions), state.now):
        record = records[fact.id]
        units = tuple(u.id for u in tree.ancestors(record.actor_unit_id))
        role = record.detail.get(DETAIL_ACTOR_ROLE) or record.actor_role
        persuasion.append(Persuasion(fact.kind, fact.at, record.actor_name, role, units))
    marked_at = dropout_marked_at(state)
    return _a8_of(view.row, state.ladder_start, marked_at, persuasion, tree, services, departments)


def _a8_of(
    row: CaseRow,
    start: date,
    marked_at: datetime | None,
    persuasion: Sequence[Persuasion],
    tree: UnitTree,
    services: Services,
    departments: Sequence[int],
) -> CaseA8:
    policy, calendar = services.policy, services.calendar

    def day_begins(n: int) -> datetime:
        day = calendar.add_days(start, n)
        return max(datetime.combine(day, time(0), tzinfo=policy.time.tz), row.reported_at)

    school = tree.get(row.school_id)
    township = tree.nearest(row.school_id, "township")
    return CaseA8(
        case_id=row.id,
        number=row.number,
        school_id=row.school_id,
        section=section_of(school.section if school else None, row.grade),
        township_id=township.id if township else None,
        marked_at=marked_at,
        persuasion=tuple(persuasion),
        departments=tuple(departments),
        mark_due=None if marked_at else day_begins(policy.ladder.dropout_day),
        warn_from=None if marked_at else day_begins(policy.ladder.persuasion_day),
    )


# --- who owes a task -------------------------------------------------------------------------


Owner = tuple[str, tuple[int, ...], int | None]  # role, the holders' ids, their unit


def task_owner(role: str, department: str | None, place: CasePlace, directory: Directory) -> Owner:
    """Who owes a task of ``role`` at ``place``: its holders, or the unit where they would sit."""
    holders = holders_of(role, place, directory, department)
    if holders:
        return holders[0].role.value, tuple(p.id for p in holders), holders[0].unit_id
    return role, (), _expected_unit(role, place, directory, department)


_SCHOOL_ROLES = frozenset({Role.PRINCIPAL, Role.SCHOOL_LEAD})
_HOUSEHOLD_ROLES = frozenset({Role.TOWNSHIP_CADRE, Role.VILLAGE_CADRE, Role.GROUP_CADRE})
OwnerKey = tuple[str, str | None, int | None, int | None, int | None]


def owner_key(role: str, department: str | None, row: CaseRow, tree: UnitTree) -> OwnerKey:
    """What :func:`task_owner` reads of a case's place for a role (the same key, the same
    owner): the class teacher and the school for the class teacher's task; the school for
    the school's; the household for the 三包 chain's; the school and the household for the
    township leader's; the district (found from the school, else the household) for the
    others."""
    if role == Role.CLASS_TEACHER:
        return role, None, row.school_id, None, row.teacher_id
    if role in _SCHOOL_ROLES:
        return role, None, row.school_id, None, None
    if role in _HOUSEHOLD_ROLES:
        return role, None, None, row.household_unit_id, None
    if role == Role.TOWNSHIP_LEADER:
        return role, None, row.school_id, row.household_unit_id, None
    district = tree.nearest(row.school_id, "district")
    if district is not None:
        return role, department, district.id, None, None
    return role, department, row.school_id, row.household_unit_id, None


def _expected_unit(
    role: str, place: CasePlace, directory: Directory, department: str | None
) -> int | None:
    """The unit where a role's holder for this case would sit (to say who is missing)."""
    if role in (Role.CLASS_TEACHER, Role.PRINCIPAL, Role.SCHOOL_LEAD):
        unit = place.school_unit("school")
    elif role == Role.TOWNSHIP_LEADER:
        unit = place.household_unit("township") or place.school_unit("township")
    elif role == Role.TOWNSHIP_CADRE:
        unit = place.household_unit("village") or place.household_unit("township")
    elif role in (Role.VILLAGE_CADRE, Role.GROUP_CADRE):
        unit = place.household_unit("group") or place.household_unit("village")
    elif role == Role.DEPARTMENT_LIAISON and department:
        unit = directory.department(department, place.district)
    else:
        unit = place.district
    return unit.id if unit is not None else None


# --- the open cases as a summary reads them ----------------------------------------------------


@dataclass(frozen=True)
class OpenCase:
    """An open case with where the ladder puts it now (kept by the sweep, or computed)."""

    row: CaseRow
    standing: Standing
    day: int  # the ladder day number now
    kept: bool = True  # the sweep's standing; False: computed now, for now only

    @property
    def stage(self) -> Stage:
        return self.standing.stage


async def open_cases_now(
    services: Services, scope: ReportScope, tree: UnitTree, *, kept: bool = True
) -> tuple[list[OpenCase], int]:
    """The open cases of a scope with their standing now: the sweep's where it still holds
    (:meth:`Standing.holds`), the ladder's for the others (their actions read in one chunked
    query); with ``kept=False``, the ladder's for all. Returns the cases and how many were
    computed."""
    now = services.clock.now()
    if kept:
        stored = await services.reports.open_cases_kept(scope)
    else:
        stored = [(row, None) for row in await services.reports.open_cases(scope)]
    rows = [row for row, _text in stored]
    await tree.ensure(services, {r.school_id for r in rows} | {r.household_unit_id for r in rows})
    rules = rules_fingerprint(services.policy)
    found: dict[int, Standing] = {}
    for row, text in stored:
        standing = loads(text, rules) if text is not None else None
        if standing is not None and standing.holds(case_facts_of(row, tree), now):
            found[row.id] = standing
    missing = [r for r in rows if r.id not in found]
    actions = await services.reports.actions_of([r.id for r in missing]) if missing else {}
    for row in missing:
        facts, acts = case_facts_of(row, tree), action_facts_of(actions.get(row.id, ()))
        state = ladder_state(facts, acts, services.policy, services.calendar, now)
        found[row.id] = standing_of(facts, acts, state)
    today = services.policy.time.local_date(now)
    days = services.calendar.days_between
    computed = {r.id for r in missing}
    cases = [
        OpenCase(r, found[r.id], days(found[r.id].ladder_start, today), r.id not in computed)
        for r in rows
    ]
    return cases, len(missing)


EVERY_CASE = ReportScope(0, "1 = 1", ())


async def stale_standings(services: Services) -> tuple[int, list[tuple[OpenCase, Standing]]]:
    """The kept standings that hold now against the ladder computed again: how many hold,
    and each that says otherwise, with what the ladder says (``kcbx doctor``)."""
    tree = await unit_tree(services)
    kept, computed = await open_cases_now(services, EVERY_CASE, tree)
    live, _ = await open_cases_now(services, EVERY_CASE, tree, kept=False)

    def said(standing: Standing) -> Standing:  # what it says, not when it was computed
        return replace(standing, at=datetime.min.replace(tzinfo=UTC), until=None)

    wrong = [
        (k, fresh.standing)
        for k, fresh in zip(kept, live, strict=True)
        if said(k.standing) != said(fresh.standing)
    ]
    return len(kept) - computed, wrong


async def a8_of_open(
    services: Services,
    cases: Sequence[OpenCase],
    tree: UnitTree,
    known: Directory | None = None,
) -> list[CaseA8]:
    """What A8 needs of the open cases (their actors and referrals read now; the actors
    ``known`` already are not read again)."""
    departments = await services.reports.referred_departments([c.row.id for c in cases])
    actors = {m.actor_id for c in cases for m in c.standing.measures if m.actor_id is not None}
    people = {a: p for a in actors if known and (p := known.person(a)) is not None}
    people.update(await services.reports.people_by_id(actors - set(people)))
    await tree.ensure(services, {p.unit_id for p in people.values()})
    out = []
    for case in cases:
        persuasion = []
        for m in case.standing.measures:
            who = people.get(m.actor_id) if m.actor_id is not None else None
            role = m.role or (who.role.value if who is not None else None)
            units = tuple(u.id for u in tree.ancestors(who.unit_id if who else None))
            persuasion.append(Persuasion(m.kind, m.at, who.name if who else "", role, units))
        standing = case.standing
        out.append(
            _a8_of(
                case.row,
                standing.ladder_start,
                standing.marked_at,
                persuasion,
                tree,
                services,
                departments.get(case.row.id, ()),
            )
        )
    return out


__all__ = [
    "DROPOUT_STAGES",
    "NOTICE_STAGES",
    "CaseView",
    "Counts",
    "OpenCase",
    "Owner",
    "OwnerKey",
    "UnitTree",
    "a8_case",
    "a8_of_open",
    "action_facts_of",
    "case_facts_of",
    "case_views",
    "is_dropout",
    "open_cases_now",
    "open_counts",
    "owner_key",
    "stale_standings",
    "task_owner",
    "unit_tree",
]
