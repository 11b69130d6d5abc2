"""A school's share of a summary, kept between summaries while nothing it counts has moved.

A summary adds up what the open cases of each school give it: their stages, the tasks
overdue and who owes them, the longest absences, and what A8 makes of
them (:mod:`kcbx.bot.domain.a8.parts`). Working that out takes the standing of every open
case and the A8 facts of each: at a province's thousands of open cases, most of a summary's
time. Yet a school's share changes only when one of its cases does, someone's role does, or
time passes an instant its cases name.

So each school's :class:`Part` is kept (in this process, one per school) with its basis:

* a digest of the school's open cases' plan rows (:meth:`ReportsRepo.open_digest`): which
  cases, the writes about them (every write bumps ``changed`` in its own transaction) and the
  sweep's looks since (``looks``);
* the people's generation (who holds which role: the owners of overdue tasks, the actors of
  measures), a digest of the unit tree, and the rules' fingerprint;
* ``at <= now < until``: ``until`` is the first instant after which time alone could change
  it (a standing's end, the next midnight for the day numbers, the next A8 instant).

A summary reads the digest (one GROUP BY over the open cases) and computes again only the
parts whose basis moved; a summary whose scope is not a whole unit (a township leader's look
at a school outside the township) computes its parts and keeps none.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import NamedTuple

from kcbx.bot.domain.a8.parts import SchoolA8, school_a8
from kcbx.bot.domain.ladder.recipients import Directory
from kcbx.bot.domain.ladder.state import Stage
from kcbx.bot.domain.model import Unit
from kcbx.bot.engine.wake import rules_fingerprint
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.caseviews import (
    OpenCase,
    Owner,
    OwnerKey,
    UnitTree,
    a8_of_open,
    open_cases_now,
    owner_key,
    task_owner,
    unit_tree,
)
from kcbx.storage import rollups
from kcbx.storage.reports_repo import (
    EVERYONE,
    CaseRow,
    ReportScope,
    SchoolActivity,
    outside_scope,
    unit_scope,
)

ATTENTION_LINES = 5  # the longest absences a summary lists
# schools whose parts are computed together: their cases are read in one statement (an IN
# list well under the engines' limits), and a province's first summary holds a few hundred
# schools' cases at a time, not all of them
SCHOOLS_AT_ONCE = 400


@dataclass(frozen=True, slots=True)
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


class OwedShare(NamedTuple):
    """Overdue tasks of one school's cases that one group of people owes (a tuple of
    numbers and strings: the garbage collector need not look into the thousands kept)."""

    owner: Owner  # role, the holders' ids, their unit
    names: tuple[str, ...]
    unit: str  # the unit's name as a summary prints it
    tasks: int


@dataclass(frozen=True, slots=True)
class Part:
    """What the open cases of one school give a summary, computed at ``at``."""

    school_id: int
    basis: tuple[object, ...] | None  # None: computed for one summary, not kept
    at: datetime
    until: datetime
    stages: tuple[tuple[Stage, int], ...]
    a9: int  # open cases of children with an A9 situation
    overdue: int  # tasks due and not done
    owed: tuple[OwedShare, ...]
    longest: tuple[CaseLine, ...]  # the ATTENTION_LINES longest absences
    a8: SchoolA8

    def holds(self, basis: tuple[object, ...], now: datetime) -> bool:
        return self.basis == basis and self.at <= now < self.until


async def summary_parts(
    services: Services, scope: ReportScope, unit: Unit, tree: UnitTree
) -> list[Part]:
    """The parts of a summary of ``scope`` (at ``unit``), one per school, in school order: the
    kept ones that still hold, the others computed now (and kept when ``scope`` is the whole
    unit's)."""
    if scope != unit_scope(unit):
        views, _ = await open_cases_now(services, scope, tree)
        return await _parts(services, views, tree, None)
    now = services.clock.now()
    within = None if await services.reports.whole(scope) is EVERYONE else unit.id
    digest = await services.reports.open_digest(within)
    shared = (
        rules_fingerprint(services.policy),
        await services.people.generation(),
        tree.digest or await services.reports.units_digest(),
    )
    kept: dict[int, Part] = services.kept.parts
    basis = {school: (*rows, *shared) for school, rows in digest.items()}
    stale = sorted(s for s, b in basis.items() if (p := kept.get(s)) is None or not p.holds(b, now))
    for start in range(0, len(stale), SCHOOLS_AT_ONCE):  # a few hundred schools' cases at once
        chunk = stale[start : start + SCHOOLS_AT_ONCE]
        views, _ = await open_cases_now(services, _schools(unit, chunk), tree)
        for part in await _parts(services, views, tree, basis):
            kept[part.school_id] = part
    if within is None:  # schools left without an open case: their parts are gone
        for school in [s for s in kept if s not in basis]:
            del kept[school]
    parts = [kept[s] for s in sorted(basis) if s in kept]
    if within is not None and unit.kind != "school":
        # the unit's children at schools outside it: computed each time (few)
        views, _ = await open_cases_now(services, outside_scope(unit), tree)
        parts += await _parts(services, views, tree, None)
    return parts


async def _parts(
    services: Services,
    views: Sequence[OpenCase],
    tree: UnitTree,
    basis: dict[int, tuple[object, ...]] | None,
) -> list[Part]:
    """The parts of the schools of ``views`` (each school's cases in the views' order)."""
    now = services.clock.now()
    directory = await case_directory(services, tree, views)
    facts = await a8_of_open(services, views, tree, directory)
    by_school: dict[int, list[int]] = defaultdict(list)
    for index, view in enumerate(views):
        by_school[view.row.school_id].append(index)
    owners: dict[OwnerKey, Owner] = {}
    midnight = _next_midnight(services, now)
    out = []
    for school_id in sorted(by_school):
        mine = [views[i] for i in by_school[school_id]]
        a8 = school_a8([facts[i] for i in by_school[school_id]], services.policy, now)
        # a standing computed now holds for now only (it has no end of its own)
        ends = [now if not v.kept else v.standing.until for v in mine]
        untils = [u for u in ends if u is not None]
        longest = sorted(mine, key=lambda v: (-v.day, v.row.id))[:ATTENTION_LINES]
        out.append(
            Part(
                school_id=school_id,
                basis=basis[school_id] if basis is not None else None,
                at=now,
                until=min([a8.until, midnight, *untils]),
                stages=tuple(sorted(Counter(v.stage for v in mine).items())),
                a9=sum(1 for v in mine if v.row.a9_flags),
                overdue=sum(len(v.standing.due) for v in mine),
                owed=_owed(mine, tree, directory, owners),
                longest=tuple(case_line(v.row, v.day, v.stage, tree) for v in longest),
                a8=a8,
            )
        )
    return out


Starts = tuple[datetime, datetime, datetime, datetime]  # today, this week, month, school year


async def school_activity(
    services: Services, scope: ReportScope, unit: Unit, starts: Starts
) -> dict[int, SchoolActivity]:
    """Cases new, returned, exempted and transferred per school since the period starts:
    each school's counts kept while its rollup row (kcbx/storage/rollups.py: its cases
    opened and closed, its students) and the periods are as they were, counted again for
    the others (and all counted when ``scope`` is not the whole unit's)."""
    today, week, month, year = starts

    async def counted(of: ReportScope) -> dict[int, SchoolActivity]:
        return await services.reports.activity_by_school(
            of, today=today, week=week, month=month, year=year
        )

    if scope != unit_scope(unit):
        return await counted(scope)
    within = None if await services.reports.whole(scope) is EVERYONE else unit.id
    basis = {
        s: (row, starts) for s, row in (await rollups.counts_within(services.db, within)).items()
    }
    kept: dict[int, tuple[object, SchoolActivity]] = services.kept.activity
    stale = sorted(s for s, b in basis.items() if (k := kept.get(s)) is None or k[0] != b)
    if stale:
        found = await counted(scope if len(stale) > SCHOOLS_AT_ONCE else _schools(unit, stale))
        for school in stale:
            kept[school] = (basis[school], found.get(school, SchoolActivity(school)))
    if within is None:
        for school in [s for s in kept if s not in basis]:
            del kept[school]
    out = {s: kept[s][1] for s in basis}
    if within is not None and unit.kind != "school":
        out.update(await counted(outside_scope(unit)))
    return out


async def summary_tree(services: Services, root: int | None) -> UnitTree:
    """The units a summary starts from: down to the schools (the villages and groups that
    its cases name are loaded as they do), the units above, the departments."""
    if root is None:
        return await unit_tree(services)
    digest = await services.reports.units_digest()
    kept = services.kept.trees.get(root)
    if kept is None or kept[0] != digest:
        kept = services.kept.trees[root] = (digest, await services.reports.units_to_schools(root))
    return UnitTree(dict(kept[1]), digest=digest)  # its own copy: a summary adds villages


async def warm(services: Services, starts: Starts) -> int:
    """Bring the kept parts and counts of every tree up to date (after a sweep, so that a
    leader's next summary finds them); returns how many schools have a part."""
    for root in await services.reports.roots():
        tree = await summary_tree(services, root.id)
        scope = unit_scope(root)
        await summary_parts(services, scope, root, tree)
        await school_activity(services, scope, root, starts)
    return len(services.kept.parts)


def _schools(unit: Unit, schools: Sequence[int]) -> ReportScope:
    """The pupils of these schools of the unit."""
    return ReportScope(unit.id, f"s.school_id IN ({','.join('?' * len(schools))})", tuple(schools))


def _owed(
    views: Sequence[OpenCase],
    tree: UnitTree,
    directory: Directory,
    owners: dict[OwnerKey, Owner],
) -> tuple[OwedShare, ...]:
    """Who owes the overdue tasks of these cases, by group, first owed first."""
    counted: Counter[Owner] = Counter()
    for view in views:
        row, place = view.row, None
        for task_role, department in view.standing.due:  # asked once per owner_key
            key = owner_key(task_role, department, row, tree)
            if key not in owners:
                place = place or tree.place(row)
                owners[key] = task_owner(task_role, department, place, directory)
            counted[owners[key]] += 1
    return tuple(
        OwedShare(
            owner,
            tuple(who.name for pid in owner[1] if (who := directory.person(pid)) is not None),
            unit_name(tree, owner[2]),
            count,
        )
        for owner, count in counted.items()
    )


def _next_midnight(services: Services, now: datetime) -> datetime:
    """The next local midnight: the day numbers move then."""
    tz = services.policy.time.tz
    day = services.policy.time.local_date(now) + timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=tz)


def unit_name(tree: UnitTree, unit_id: int | None) -> str:
    """A school or a district by its name, a village or group by its path (一组 is common)."""
    unit = tree.get(unit_id)
    if unit is None:
        return ""
    if unit.kind in ("village", "group"):
        return tree.path(unit.id)
    return unit.name


async def case_directory(
    services: Services, tree: UnitTree, views: Sequence[OpenCase]
) -> Directory:
    """Who holds which role around the open cases (for "who owes the overdue tasks")."""
    unit_ids: set[int] = {u.id for u in tree.departments()}
    teachers: set[int] = set()
    for view in views:
        if view.standing.due:
            unit_ids |= tree.place(view.row).unit_ids()
            if view.row.teacher_id is not None:
                teachers.add(view.row.teacher_id)
    people = await services.reports.people_in_units(unit_ids)
    teachers -= {p.id for p in people}
    people += list((await services.reports.people_by_id(teachers)).values())
    return Directory(people, tree.departments())


def case_line(row: CaseRow, day: int, stage: Stage, tree: UnitTree) -> CaseLine:
    school = tree.get(row.school_id)
    return CaseLine(
        case_id=row.id,
        number=row.number,
        student=row.student_name,
        school=school.name if school else "",
        grade=row.grade,
        class_name=row.class_name,
        day=day,
        stage=stage,
        a9=bool(row.a9_flags),
    )


__all__ = [
    "ATTENTION_LINES",
    "CaseLine",
    "OwedShare",
    "Part",
    "case_directory",
    "case_line",
    "school_activity",
    "summary_parts",
    "summary_tree",
    "unit_name",
    "warm",
]
