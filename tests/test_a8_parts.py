"""A8 over a summary's parts (kcbx.bot.domain.a8.parts): a district's flags and warnings from
its schools' parts are those of all its cases at once (A8.1-A8.5), at any instant before each
part's ``until``; the parts computed at one instant and read at a later one."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from kcbx.bot.domain.a8.parts import combine, school_a8
from kcbx.bot.domain.a8.rules import CaseA8, Persuasion, evaluate
from kcbx.bot.domain.a8.warnings import warnings
from kcbx.bot.domain.policy.reading import default_policy

TZ = ZoneInfo("Asia/Shanghai")
POLICY = default_policy()
DISTRICT = 1
TOWNSHIPS = {10: (100, 101, 102), 20: (200, 201)}  # township -> its schools
DEPARTMENTS = (50, 51)
START = datetime(2024, 1, 8, 9, tzinfo=TZ)
ROLES = {  # who may record a measure, and the units above them
    "class_teacher": lambda school, township: (school, township, DISTRICT),
    "principal": lambda school, township: (school, township, DISTRICT),
    "township_cadre": lambda school, township: (township * 10, township, DISTRICT),
    "township_leader": lambda school, township: (township, DISTRICT),
    "department_liaison": lambda school, township: (DEPARTMENTS[school % 2], DISTRICT),
}


def _instant(rng: random.Random, days: int) -> datetime:
    return START + timedelta(days=rng.uniform(0, days), hours=rng.randint(0, 23))


def random_cases(rng: random.Random) -> list[CaseA8]:
    """Open cases of the district's schools: dropouts marked over four months, and cases
    before the mark with their warning start and mark due; measures by several roles."""
    cases = []
    for township, schools in TOWNSHIPS.items():
        for school in schools:
            for _ in range(rng.randint(0, 7)):
                n = len(cases) + 1
                start = _instant(rng, 120)
                marked = start + timedelta(days=7) if rng.random() < 0.7 else None
                measures = tuple(
                    Persuasion(
                        rng.choice(["phone_call", "home_visit", "persuasion"]),
                        start + timedelta(days=rng.uniform(0, 100)),
                        "某某",
                        role,
                        ROLES[role](school, township),
                    )
                    for role in rng.sample(sorted(ROLES), rng.randint(0, 2))
                )
                cases.append(
                    CaseA8(
                        case_id=n,
                        number=f"KC-2024-{n:04d}",
                        school_id=school,
                        section=rng.choice(["primary", "junior"]),
                        township_id=township,
                        marked_at=marked,
                        persuasion=measures,
                        departments=tuple(d for d in DEPARTMENTS if rng.random() < 0.25),
                        mark_due=None if marked else start + timedelta(days=7),
                        warn_from=None if marked else start + timedelta(days=3),
                    )
                )
    return cases


def test_a_districts_parts_give_what_all_its_cases_give_until_they_expire() -> None:
    rng = random.Random(8)
    checked = expired = wide = 0
    for _round in range(60):
        cases = random_cases(rng)
        by_school: dict[int, list[CaseA8]] = {}
        for case in cases:
            by_school.setdefault(case.school_id, []).append(case)
        ordered = [c for school in sorted(by_school) for c in by_school[school]]
        enrolled = rng.choice([0, 200, 5_000])
        made = _instant(rng, 200)
        parts = [school_a8(by_school[s], POLICY, made) for s in sorted(by_school)]
        until = min((p.until for p in parts), default=made + timedelta(days=30))
        assert all(p.until > made for p in parts)
        wide += sum(len(p.wide) for p in parts)
        for at in [made, *sorted(made + (until - made) * rng.random() for _ in range(4))]:
            if at >= until:
                expired += 1
                continue
            want_flags = evaluate(ordered, POLICY, at, district_id=DISTRICT, enrolled=enrolled)
            want_warnings = warnings(
                ordered, POLICY, at, district_id=DISTRICT, enrolled=enrolled, earned=want_flags
            )
            got = combine(parts, POLICY, at, district_id=DISTRICT, enrolled=enrolled)
            assert got == (want_flags, want_warnings), (_round, at)
            checked += 1
    assert checked > 200 and wide > 20, (checked, expired, wide)


def _case(n: int, **facts: Any) -> CaseA8:
    """A primary case of school 100 in township 10."""
    return CaseA8(
        case_id=n,
        number=f"KC-2024-{n:04d}",
        school_id=100,
        section="primary",
        township_id=10,
        **facts,
    )


def test_a_part_expires_at_the_next_instant_its_cases_name() -> None:
    """A case before its mark: its part holds until its warning starts (A7.2), then until
    the mark is due; a dropout's, until the month's end (the flags' freeze)."""
    coming = _case(
        1,
        marked_at=None,
        warn_from=datetime(2024, 3, 7, tzinfo=TZ),
        mark_due=datetime(2024, 3, 11, tzinfo=TZ),
    )
    assert school_a8([coming], POLICY, datetime(2024, 3, 5, tzinfo=TZ)).until == coming.warn_from
    assert school_a8([coming], POLICY, datetime(2024, 3, 8, tzinfo=TZ)).until == coming.mark_due
    marked = _case(2, marked_at=datetime(2024, 3, 11, tzinfo=TZ))
    part = school_a8([marked], POLICY, datetime(2024, 3, 12, tzinfo=TZ))
    assert part.until.astimezone(TZ).date().day == 1 and part.until.month == 4
    assert [f.rule.value for f in part.flags] == ["A8.2"]
