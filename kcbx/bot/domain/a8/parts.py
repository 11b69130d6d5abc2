"""Article 8 over a summary's parts, pure: what one school's open cases give A8 at an
instant (:func:`school_a8`), and the flags and warnings of a district from its schools' parts
(:func:`combine`), the same as :func:`~kcbx.bot.domain.a8.rules.evaluate` and
:func:`~kcbx.bot.domain.a8.warnings.warnings` over all of its cases.

Why it adds up. A8.2/A8.3 look at one school (its dropouts without the school's measure,
per section), so a school's flags and warnings are its own part's. A8.4 climbs a township's
ladder school by school (the highest step any school of its area reaches): a part keeps its
school's step, and the warning of the next step for each step the township may have earned.
A8.1 counts the dropouts. Only A8.5 looks across schools (a department's referred dropouts,
wherever they study): a part keeps those (``wide``), and :func:`combine` runs the rule over
them. A part's own outputs hold until ``until``: each comparison they make is of the instant
with a case's mark, warning start, mark due or measure, with the instant a dropout meets a
step of the township's ladder (and that instant less the warning's notice), or with the
month's end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from kcbx.bot.domain.a8.rules import (
    LADDER,
    CaseA8,
    Flag,
    Level,
    Rule,
    SchoolStep,
    attrition_flags,
    department_flags,
    month_end,
    per_school,
    period_of,
    qualifies_at,
    school_flags,
    township_flags,
    township_steps,
)
from kcbx.bot.domain.a8.warnings import (
    Warning,
    attrition_warning,
    department_warnings,
    first_of_each,
    school_warnings,
    township_warning,
)
from kcbx.bot.domain.policy.tree import Policy


@dataclass(frozen=True, slots=True)
class SchoolA8:
    """What the open cases of one school give A8 at the instant it was made, valid until
    ``until``."""

    dropouts: tuple[CaseA8, ...]  # in the order of the cases given
    wide: tuple[CaseA8, ...]  # the dropouts referred to a department (A8.5)
    flags: tuple[Flag, ...]  # A8.2/A8.3
    warnings: tuple[Warning, ...]  # A8.2/A8.3
    steps: tuple[SchoolStep, ...]  # A8.4: the school's step of its township's ladder
    # A8.4: for each township of the school, the warning of its next step by the step the
    # township has earned (None: none yet)
    next_steps: tuple[tuple[int, tuple[tuple[Level | None, Warning | None], ...]], ...]
    until: datetime


def school_a8(cases: Sequence[CaseA8], policy: Policy, at: datetime) -> SchoolA8:
    """A8 of the open cases of one school (or of cases of several schools, each school's
    flags and warnings its own, as :func:`evaluate` gives them)."""
    dropouts = tuple(c for c in cases if c.is_dropout(at))
    ahead = timedelta(days=policy.accountability.warn_days_ahead)
    next_steps = tuple(
        (
            township,
            tuple(
                (current, township_warning(township, found, current, policy, at, ahead))
                for current in (None, *LADDER)
            ),
        )
        for township, _school, found in per_school(dropouts)
        if len(found) > policy.accountability.township_dropouts_over
    )
    return SchoolA8(
        dropouts=dropouts,
        wide=tuple(c for c in dropouts if c.departments),
        flags=tuple(school_flags(dropouts, policy, at)),
        warnings=tuple(school_warnings(cases, dropouts, policy, at)),
        steps=tuple(township_steps(dropouts, policy, at)),
        next_steps=next_steps,
        until=_next_instant(cases, next_steps, policy, at),
    )


def _next_instant(
    cases: Sequence[CaseA8],
    next_steps: Sequence[tuple[int, object]],
    policy: Policy,
    at: datetime,
) -> datetime:
    """The first instant after ``at`` at which the school's A8 can say something else with
    nobody acting: a mark, a warning start, a mark due, a measure dated ahead, a dropout
    meeting a step of the township's ladder (or its warning's notice starting), the
    month's end."""
    zone = policy.time.tz
    end = month_end(period_of(at, zone), zone)
    instants: list[datetime | None] = []
    for case in cases:
        instants += [case.marked_at, case.warn_from, case.mark_due]
        instants += [m.at for m in case.persuasion]
    ahead = timedelta(days=policy.accountability.warn_days_ahead)
    townships = {township for township, _warnings in next_steps}
    for case in cases:
        if case.township_id in townships:
            for level in LADDER:
                when = qualifies_at(case, level, policy, Rule.TOWNSHIP, case.township_id)
                instants += [when, when - ahead if when is not None else None]
    return min((i for i in instants if i is not None and at < i < end), default=end)


def combine(
    parts: Sequence[SchoolA8],
    policy: Policy,
    at: datetime,
    *,
    district_id: int,
    enrolled: int,
) -> tuple[list[Flag], list[Warning]]:
    """The flags and warnings of one district at ``at`` from its schools' parts (each valid
    at ``at``), in the order :func:`evaluate` and :func:`warnings` give them for the
    parts' cases one school after another."""
    ahead = timedelta(days=policy.accountability.warn_days_ahead)
    dropouts = [c for part in parts for c in part.dropouts]
    wide = [c for part in parts for c in part.wide]
    flags = attrition_flags(dropouts, policy, district_id, enrolled)
    flags += [f for part in parts for f in part.flags]
    flags += township_flags([step for part in parts for step in part.steps], policy)
    flags += department_flags(wide, policy, at)
    earned = {(f.rule, f.unit_id): f.level for f in flags}
    warns = []
    if (Rule.ATTRITION, district_id) not in earned:
        warns = attrition_warning(len(dropouts), policy, district_id=district_id, enrolled=enrolled)
    warns += [w for part in parts for w in part.warnings]
    coming = [
        dict(options).get(earned.get((Rule.TOWNSHIP, township)))
        for part in parts
        for township, options in part.next_steps
    ]
    coming += department_warnings(wide, earned, policy, at, ahead)
    return flags, warns + first_of_each([w for w in coming if w is not None])


__all__ = ["SchoolA8", "combine", "school_a8"]
