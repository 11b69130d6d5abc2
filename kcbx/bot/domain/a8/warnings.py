"""A8 warnings, pure: who should hear, before a flag is earned or frozen, what is coming.

The flags themselves are :mod:`kcbx.bot.domain.a8.rules`; this module asks, at an
instant, which of them will be earned soon if nothing changes (A8 asks to warn "before";
how long before is the policy's ``warn_days_ahead``, ours).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from kcbx.bot.domain.a8.rules import (
    LADDER,
    CaseA8,
    Flag,
    Level,
    Rule,
    attrition_percent,
    evaluate,
    month_end,
    per_department,
    per_school,
    period_of,
    qualifies_at,
    school_measured,
    school_rule,
    unmeasured_by_school,
)
from kcbx.bot.domain.policy.tree import Policy


class WarningKind(StrEnum):
    BEFORE = "before"  # the flag will be earned at ``deadline`` unless something is done
    FREEZE = "freeze"  # the flag is earned now and is frozen at ``deadline`` (month's end)
    NEAR = "near"  # A8.1: attrition close to the threshold


@dataclass(frozen=True, slots=True)
class Warning:
    """A flag about to be earned (or to be frozen), to tell the responsible leaders."""

    rule: Rule
    unit_id: int
    level: Level
    kind: WarningKind
    cases: tuple[CaseA8, ...]
    deadline: datetime | None
    count: int
    threshold: float
    percent: float = 0.0

    @property
    def case(self) -> CaseA8 | None:
        """The case a per-case warning is about (A8.2/A8.3)."""
        return self.cases[0] if len(self.cases) == 1 else None


def warnings(
    cases: Iterable[CaseA8],
    policy: Policy,
    at: datetime,
    *,
    district_id: int,
    enrolled: int,
    ahead: timedelta | None = None,
    earned: Sequence[Flag] | None = None,
) -> list[Warning]:
    """What the responsible leaders should hear at ``at``, before a flag is earned or frozen
    (``earned``: the flags :func:`evaluate` gives for the same cases, if already known).

    * A8.2/A8.3, per case: from A7.2 (day 3) until its dropout mark, a case with no school
      measure that would make (or add to) the school's flag: "record a measure by the mark";
      and once the school is flagged, each unmeasured dropout: "record it before the month
      ends, when the flag is frozen".
    * A8.4/A8.5, per township or department: the next step of the ladder that will be earned
      within ``ahead`` if nothing changes, with the date and the cases.
    * A8.1: attrition at or above ``attrition_warn_share`` of the threshold.
    """
    cases = list(cases)
    acc = policy.accountability
    ahead = ahead if ahead is not None else timedelta(days=acc.warn_days_ahead)
    dropouts = [c for c in cases if c.is_dropout(at)]
    if earned is None:
        earned = evaluate(cases, policy, at, district_id=district_id, enrolled=enrolled)
    earned_levels = {(f.rule, f.unit_id): f.level for f in earned}
    out = attrition_warning(len(dropouts), policy, district_id=district_id, enrolled=enrolled)
    if (Rule.ATTRITION, district_id) in earned_levels:
        out = []
    out += school_warnings(cases, dropouts, policy, at)
    out += wide_warnings(dropouts, earned_levels, policy, at, ahead)
    return out


def attrition_warning(
    dropouts: int, policy: Policy, *, district_id: int, enrolled: int
) -> list[Warning]:
    """A8.1: attrition at or above ``attrition_warn_share`` of the threshold (unless the flag
    is earned: the caller leaves it out then)."""
    acc = policy.accountability
    percent = attrition_percent(dropouts, enrolled)
    if not dropouts or percent < acc.attrition_warn_share * acc.attrition_percent:
        return []
    return [
        Warning(
            Rule.ATTRITION,
            district_id,
            Level.FLAGGED,
            WarningKind.NEAR,
            (),
            None,
            dropouts,
            acc.attrition_percent,
            percent=percent,
        )
    ]


def wide_warnings(
    dropouts: Sequence[CaseA8],
    earned_levels: dict[tuple[Rule, int], Level],
    policy: Policy,
    at: datetime,
    ahead: timedelta,
) -> list[Warning]:
    """A8.4/A8.5: the next step of each township's or department's ladder, if it comes
    within ``ahead``."""
    out = []
    for township, _school, found in per_school(dropouts):
        current = earned_levels.get((Rule.TOWNSHIP, township))
        out.append(township_warning(township, found, current, policy, at, ahead))
    out += department_warnings(dropouts, earned_levels, policy, at, ahead)
    return first_of_each([w for w in out if w is not None])


def township_warning(
    township: int,
    found: Sequence[CaseA8],
    current: Level | None,
    policy: Policy,
    at: datetime,
    ahead: timedelta,
) -> Warning | None:
    """A8.4 for one school of a township's area (``found``: its dropouts) whose township has
    earned ``current``: the next step, if it comes within ``ahead``."""
    over = policy.accountability.township_dropouts_over
    earned = {(Rule.TOWNSHIP, township): current} if current is not None else {}
    return _next_step(Rule.TOWNSHIP, township, found, over, earned, policy, at, ahead)


def department_warnings(
    dropouts: Sequence[CaseA8],
    earned_levels: dict[tuple[Rule, int], Level],
    policy: Policy,
    at: datetime,
    ahead: timedelta,
) -> list[Warning]:
    """A8.5: the next step of each department's ladder, if it comes within ``ahead``."""
    over = policy.accountability.department_dropouts_over
    out = []
    for department, found in per_department(dropouts):
        warning = _next_step(
            Rule.DEPARTMENT, department, found, over, earned_levels, policy, at, ahead
        )
        if warning is not None:
            out.append(warning)
    return out


def first_of_each(found: Iterable[Warning]) -> list[Warning]:
    """One warning per unit and step (several schools of a township may each warn of it)."""
    seen: set[tuple[Rule, int, Level]] = set()
    out = []
    for warning in found:
        key = (warning.rule, warning.unit_id, warning.level)
        if key not in seen:
            seen.add(key)
            out.append(warning)
    return out


def school_warnings(
    cases: Sequence[CaseA8], dropouts: Sequence[CaseA8], policy: Policy, at: datetime
) -> list[Warning]:
    """A8.2/A8.3, one per case: coming (before the mark) or frozen (at the month's end)."""
    zone = policy.time.tz
    flagged_now = unmeasured_by_school(dropouts, policy, at)
    coming: dict[tuple[int, str], list[CaseA8]] = defaultdict(list)
    for case in cases:
        if (
            case.marked_at is None
            and case.mark_due is not None
            and case.warn_from is not None
            and case.warn_from <= at < case.mark_due
            and not school_measured(case, policy, at)
        ):
            coming[(case.school_id, case.section)].append(case)
    end = month_end(period_of(at, zone), zone)
    out: list[Warning] = []
    for key in sorted(set(flagged_now) | set(coming)):
        school_id, section = key
        rule, threshold = school_rule(section, policy)
        now_count = len(flagged_now[key])
        if now_count >= threshold:
            out += [
                Warning(
                    rule,
                    school_id,
                    Level.FLAGGED,
                    WarningKind.FREEZE,
                    (c,),
                    end,
                    now_count,
                    threshold,
                )
                for c in flagged_now[key]
            ]
        total = now_count + len(coming[key])
        if total >= threshold:
            out += [
                Warning(
                    rule,
                    school_id,
                    Level.FLAGGED,
                    WarningKind.BEFORE,
                    (c,),
                    c.mark_due,
                    total,
                    threshold,
                )
                for c in coming[key]
            ]
    return out


def _next_step(
    rule: Rule,
    unit_id: int,
    found: Sequence[CaseA8],
    over: int,
    earned: dict[tuple[Rule, int], Level],
    policy: Policy,
    at: datetime,
    ahead: timedelta,
) -> Warning | None:
    """A8.4/A8.5: the next step above the one earned, if it comes within ``ahead``."""
    if len(found) <= over:
        return None
    current = earned.get((rule, unit_id))
    for level in LADDER:
        if current is not None and LADDER.index(level) <= LADDER.index(current):
            continue
        times = sorted(
            (when, case.case_id, case)
            for case in found
            if (when := qualifies_at(case, level, policy, rule, unit_id)) is not None
        )
        if len(times) <= over:
            continue
        due = times[over][0]
        if not at < due <= at + ahead:
            return None
        return Warning(
            rule,
            unit_id,
            level,
            WarningKind.BEFORE,
            tuple(c for _w, _i, c in times[: over + 1]),
            due,
            len(times),
            over,
        )
    return None


__all__ = [
    "Warning",
    "WarningKind",
    "attrition_warning",
    "department_warnings",
    "first_of_each",
    "school_warnings",
    "township_warning",
    "warnings",
    "wide_warnings",
]
