"""Reading the policy: TOML into the typed tree of :mod:`kcbx.bot.domain.policy.tree`.

``kcbx/policy/default.toml`` holds our defaults; a county file is merged over it by
:func:`load_policy`: tables merge key by key, lists and scalars replace. Every bad value is
reported at once, each with its dotted key and the reason (:class:`PolicyError`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from functools import cache
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kcbx.bot.domain.i18n import N_, Translate
from kcbx.bot.domain.ladder.tasks import Requirement, parse_requirement
from kcbx.bot.domain.policy.tree import (
    CAUSES,
    DEFAULTS,
    DEPARTMENTS,
    AccountabilityPolicy,
    CadrePolicy,
    DayCounting,
    DepartmentPolicy,
    LadderPolicy,
    NoticePolicy,
    Policy,
    ReminderPolicy,
    RetentionPolicy,
    SchoolPolicy,
    TaskPolicy,
    TimePolicy,
    Vacation,
    ValidityPolicy,
)


@dataclass(frozen=True)
class PolicyProblem:
    """One bad value: its dotted key and why (a msgid with ``{}`` fields)."""

    key: str
    why: str
    params: tuple[tuple[str, str], ...] = ()

    def render(self, gettext: Translate | None = None) -> str:
        text = (gettext or _identity)(self.why).format(**dict(self.params))
        return f"{self.key}: {text}" if self.key else text


class PolicyError(Exception):
    """A policy file has bad values (``problems`` lists every one), or cannot be read."""

    def __init__(
        self, source: str, problems: list[PolicyProblem], *, unreadable: bool = False
    ) -> None:
        self.source = source
        self.problems = problems
        self.unreadable = unreadable
        super().__init__(f"{source}: " + "; ".join(p.render() for p in problems))

    def render(self, gettext: Translate | None = None) -> str:
        return "\n".join(p.render(gettext) for p in self.problems)


def _identity(text: str) -> str:
    return text


# --- reading --------------------------------------------------------------------------------

_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_MONTH_DAY = re.compile(r"^(\d\d)-(\d\d)$")


class _Table:
    """One TOML table being read: typed getters that record problems instead of raising."""

    def __init__(self, problems: list[PolicyProblem], key: str, value: object) -> None:
        self.problems = problems
        self.key = key
        self.data: dict[str, Any] = {}
        self.ok = True
        if isinstance(value, dict):
            self.data = value
        else:
            self.problem("", N_("must be a table"))
            self.ok = False
        self.used: set[str] = set()

    def path(self, name: str) -> str:
        if self.key and name:
            return f"{self.key}.{name}"
        return name or self.key

    def problem(self, name: str, why: str, **params: object) -> None:
        self.problems.append(
            PolicyProblem(self.path(name), why, tuple((k, str(v)) for k, v in params.items()))
        )

    def raw(self, name: str) -> object:
        self.used.add(name)
        if name not in self.data:
            if self.ok:
                self.problem(name, N_("is missing"))
            return None
        return self.data[name]

    def finish(self) -> None:
        for name in self.data:
            if name not in self.used:
                self.problem(name, N_("unknown key"))

    def increasing(self, read: object, *keys: str) -> None:
        """Each of the read values must be less than the next (the ladder only goes up)."""
        values = [(key, getattr(read, key)) for key in keys]
        for (low_key, low), (high_key, high) in pairwise(values):
            if low >= high:
                self.problem(
                    low_key,
                    N_("must be less than {other} ({value})"),
                    other=self.path(high_key),
                    value=high,
                )

    def table(self, name: str) -> _Table:
        return _Table(self.problems, self.path(name), self.raw(name))

    def integer(self, name: str, minimum: int = 0, fallback: int = 0) -> int:
        value = self.raw(name)
        if value is None:
            return fallback
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(name, N_("must be a whole number"))
            return fallback
        if value < minimum:
            self.problem(name, N_("must be at least {minimum}"), minimum=minimum)
            return fallback
        return value

    def number(self, name: str, above: float = 0.0, fallback: float = 1.0) -> float:
        value = self.raw(name)
        if value is None:
            return fallback
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problem(name, N_("must be a number"))
            return fallback
        if value <= above:
            self.problem(name, N_("must be more than {minimum}"), minimum=number_text(above))
            return fallback
        return float(value)

    def text(self, name: str, fallback: str = "") -> str:
        value = self.raw(name)
        if value is None:
            return fallback
        if not isinstance(value, str):
            self.problem(name, N_("must be text"))
            return fallback
        return value

    def clock_time(self, name: str) -> time:
        value = self.raw(name)
        if value is None:
            return time(0)
        match = _TIME.match(value) if isinstance(value, str) else None
        if not match:
            self.problem(name, N_("must be a time of day such as 08:00"))
            return time(0)
        return time(int(match.group(1)), int(match.group(2)))

    def day(self, name: str) -> date:
        value = self.raw(name)
        if value is None:
            return date.min
        return self._date(name, value)

    def _date(self, name: str, value: object) -> date:
        if isinstance(value, datetime) or not isinstance(value, date):
            self.problem(name, N_("must be a date such as 2024-09-01, without quotes"))
            return date.min
        return value

    def items(self, name: str) -> list[object]:
        value = self.raw(name)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(name, N_("must be a list"))
            return []
        return value

    def dates(self, name: str) -> tuple[date, ...]:
        found = [self._date(f"{name}[{i}]", v) for i, v in enumerate(self.items(name))]
        return tuple(sorted(d for d in found if d != date.min))

    def codes(self, name: str, known: Mapping[str, str], why: str) -> tuple[str, ...]:
        found: list[str] = []
        for i, value in enumerate(self.items(name)):
            if not isinstance(value, str):
                self.problem(f"{name}[{i}]", N_("must be text"))
            elif value not in known:
                self.problem(f"{name}[{i}]", why, code=value)
            elif value not in found:
                found.append(value)
        return tuple(found)


def number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _read_time(root: _Table) -> TimePolicy:
    t = root.table("time")
    zone = t.text("zone", "Asia/Shanghai")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        t.problem("zone", N_("unknown time zone"))
        zone = "Asia/Shanghai"
    before = len(t.problems)
    start = t.clock_time("business_day_start")
    end = t.clock_time("business_day_end")
    if len(t.problems) == before and start >= end:
        t.problem(
            "business_day_end", N_("must be later than {other}"), other=t.path("business_day_start")
        )
    t.finish()
    return TimePolicy(zone, start, end)


def _read_ladder(root: _Table) -> LadderPolicy:
    t = root.table("ladder")
    mode_text = t.text("day_counting", DayCounting.CALENDAR)
    try:
        mode = DayCounting(mode_text)
    except ValueError:
        choices = ", ".join(m.value for m in DayCounting)
        t.problem("day_counting", N_("must be one of: {choices}"), choices=choices)
        mode = DayCounting.CALENDAR
    ladder = LadderPolicy(
        day_counting=mode,
        call_within_hours=t.number("call_within_hours"),
        visit_within_days=t.integer("visit_within_days"),
        persuasion_day=t.integer("persuasion_day", minimum=1, fallback=3),
        dropout_day=t.integer("dropout_day", minimum=1, fallback=7),
        notice_day=t.integer("notice_day", minimum=1, fallback=15),
        notice_delivery_days=t.integer("notice_delivery_days"),
        notice_deadline_days=t.integer("notice_deadline_days", minimum=1, fallback=7),
        correction_deadline_days=t.integer("correction_deadline_days", minimum=1, fallback=7),
        relapse_window_days=t.integer("relapse_window_days"),
    )
    # A7.2 < A7.3 < A7.4: the ladder only goes up.
    t.increasing(ladder, "persuasion_day", "dropout_day", "notice_day")
    t.finish()
    return ladder


def _read_reminders(root: _Table) -> ReminderPolicy:
    t = root.table("reminders")
    before = len(t.problems)
    reminders = ReminderPolicy(
        quiet_start=t.clock_time("quiet_start"),
        quiet_end=t.clock_time("quiet_end"),
        re_remind_hours=t.number("re_remind_hours", fallback=24.0),
        escalate_hours=t.number("escalate_hours", fallback=24.0),
    )
    if len(t.problems) == before and reminders.quiet_start == reminders.quiet_end:
        t.problem("quiet_end", N_("must differ from {other}"), other=t.path("quiet_start"))
    t.finish()
    return reminders


def _read_school(root: _Table) -> SchoolPolicy:
    t = root.table("school")
    term_starts = t.dates("term_starts")
    vacations: list[Vacation] = []
    for i, value in enumerate(t.items("vacations")):
        v = _Table(t.problems, t.path(f"vacations[{i}]"), value)
        if not v.ok:
            continue
        vacation = Vacation(v.text("name"), v.day("start"), v.day("end"))
        if date.min not in (vacation.start, vacation.end):
            if vacation.end < vacation.start:
                v.problem("end", N_("is before {other}"), other=v.path("start"))
            elif (vacation.end - vacation.start).days > 366:
                v.problem("end", N_("a vacation may last at most a year"))
            else:
                vacations.append(vacation)
        v.finish()
    t.finish()
    return SchoolPolicy(term_starts, tuple(sorted(vacations, key=lambda v: v.start)))


def _read_departments(root: _Table) -> DepartmentPolicy:
    t = root.table("departments")
    unknown_department = N_("unknown department code: {code}")
    relief = t.codes("a9_relief", DEPARTMENTS, unknown_department)
    r = t.table("routing")
    routing: list[tuple[str, tuple[str, ...]]] = []
    for cause in r.data:
        if cause not in CAUSES:
            r.used.add(cause)
            r.problem(cause, N_("unknown cause code; known: {codes}"), codes=", ".join(CAUSES))
            continue
        departments = r.codes(cause, DEPARTMENTS, unknown_department)
        if not departments and r.data[cause] == []:
            r.problem(cause, N_("must name at least one department"))
        routing.append((cause, departments))
    for cause in CAUSES:
        if r.ok and cause not in r.data:
            r.problem(cause, N_("is missing"))
    r.finish()
    t.finish()
    return DepartmentPolicy(relief, tuple(routing))


def _read_accountability(root: _Table) -> AccountabilityPolicy:
    t = root.table("accountability")
    year_start = t.text("school_year_start", "09-01")
    match = _MONTH_DAY.match(year_start)
    valid = False
    if match:
        try:
            date(2001, int(match.group(1)), int(match.group(2)))  # not a leap year: no 02-29
            valid = True
        except ValueError:
            pass
    if not valid:
        t.problem("school_year_start", N_("must be a month and day such as 09-01"))
        year_start = "09-01"
    attrition = t.number("attrition_percent", fallback=1.0)
    if attrition > 100:
        t.problem("attrition_percent", N_("must be a percentage, at most 100"))
    accountability = AccountabilityPolicy(
        school_year_start=year_start,
        attrition_percent=attrition,
        primary_dropouts=t.integer("primary_dropouts", minimum=1, fallback=1),
        junior_dropouts=t.integer("junior_dropouts", minimum=1, fallback=2),
        township_dropouts_over=t.integer("township_dropouts_over"),
        department_dropouts_over=t.integer("department_dropouts_over"),
        talk_after_months=t.integer("talk_after_months", minimum=1, fallback=1),
        reprimand_after_months=t.integer("reprimand_after_months", minimum=1, fallback=2),
        sanction_after_months=t.integer("sanction_after_months", minimum=1, fallback=3),
        warn_days_ahead=t.integer("warn_days_ahead", minimum=1, fallback=7),
        attrition_warn_share=t.number("attrition_warn_share", fallback=0.8),
    )
    if not 0 < accountability.attrition_warn_share <= 1:
        t.problem("attrition_warn_share", N_("must be a share between 0 and 1"))
    accountability = _read_a8_readings(t, accountability)
    t.increasing(
        accountability, "talk_after_months", "reprimand_after_months", "sanction_after_months"
    )
    t.finish()
    return accountability


A8_READINGS = {
    "measures_count": ("own", "any"),
    "measure_window": ("mark", "report"),
    "still_not_back": ("away", "unpersuaded"),
}


def _read_a8_readings(t: _Table, acc: AccountabilityPolicy) -> AccountabilityPolicy:
    """The open readings of A8; a policy file written before they were settings keeps the
    defaults (they are optional keys)."""
    chosen: dict[str, object] = {}
    for key, choices in A8_READINGS.items():
        if key not in t.data:
            continue
        value = t.text(key, choices[0])
        if value not in choices:
            t.problem(key, N_("must be one of: {choices}"), choices=", ".join(choices))
            continue
        chosen[key] = value
    if "review_from_day" in t.data:
        chosen["review_from_day"] = t.integer("review_from_day", fallback=acc.review_from_day)
    return replace(acc, **chosen)  # type: ignore[arg-type]


def _read_validity(root: _Table) -> ValidityPolicy:
    t = root.table("validity")
    validity = ValidityPolicy(
        in_force_from=t.day("in_force_from"),
        ends_on=t.day("ends_on"),
        warn_days_before=t.integer("warn_days_before"),
    )
    if date.min not in (validity.in_force_from, validity.ends_on) and (
        validity.ends_on <= validity.in_force_from
    ):
        t.problem("ends_on", N_("must be later than {other}"), other=t.path("in_force_from"))
    t.finish()
    return validity


def _read_notice(root: _Table) -> NoticePolicy:
    t = root.table("notice")
    formats = []
    for name, fallback in (
        ("number_format", "{year}-{seq:03d}"),
        ("correction_number_format", "{year}-C{seq:03d}"),
    ):
        text = t.text(name, fallback)
        try:
            numbers = {text.format(year=2024, seq=1), text.format(year=2024, seq=2)}
        except (KeyError, IndexError, ValueError):
            numbers = set()
        if len(numbers) < 2 or "{year" not in text:
            t.problem(name, N_("must use the fields {{year}} and {{seq}}, and no others"))
            text = fallback
        formats.append(text)
    notice = NoticePolicy(*formats)
    if notice.number(2024, 1) == notice.number(2024, 1, "correction"):
        other = t.path("number_format")
        t.problem("correction_number_format", N_("must differ from {other}"), other=other)
    t.finish()
    return notice


def _read_cadres(root: _Table) -> CadrePolicy:
    t = root.table("cadres")
    cadres = CadrePolicy(
        t.integer("max_households_per_group_cadre", minimum=1, fallback=30),
        t.integer("visit_within_days", fallback=2),
    )
    t.finish()
    return cadres


def _read_retention(root: _Table) -> RetentionPolicy:
    t = root.table("retention")
    retention = RetentionPolicy(
        photos_months=t.integer("photos_months", minimum=1, fallback=12),
        documents_years=t.integer("documents_years", minimum=1, fallback=3),
        details_years=t.integer("details_years", minimum=1, fallback=3),
        run_at=t.clock_time("run_at"),
    )
    t.finish()
    return retention


def _read_tasks(root: _Table) -> TaskPolicy:
    t = root.table("tasks")
    s = t.table("satisfied_by")
    rules: list[tuple[str, tuple[Requirement, ...]]] = []
    for code in s.data:
        requirements = []
        for i, value in enumerate(s.items(code)):
            try:
                requirements.append(parse_requirement(str(value)))
            except ValueError as exc:
                s.problem(f"{code}[{i}]", N_("not a requirement: {error}"), error=str(exc))
        rules.append((code, tuple(requirements)))
    s.finish()
    follow_up = tuple(
        v for v in t.items("follow_up_days") if isinstance(v, int) and not isinstance(v, bool)
    )
    tasks = TaskPolicy(
        satisfied_by=tuple(rules),
        call_lead_hours=t.number("call_lead_hours", above=-0.001, fallback=1.0),
        notify_day_before=t.clock_time("notify_day_before"),
        department_accept_days=t.integer("department_accept_days", minimum=0, fallback=1),
        department_action_days=t.integer("department_action_days", minimum=1, fallback=5),
        snooze_limit=t.integer("snooze_limit", fallback=2),
        snooze_hours=t.number("snooze_hours", fallback=2.0),
        follow_up_days=tuple(sorted(follow_up)),
    )
    t.finish()
    return tasks


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; anything else in ``over`` replaces what ``base`` has."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _default_data() -> dict[str, Any]:
    text = (resources.files("kcbx.policy") / "default.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def policy_from_data(data: Mapping[str, Any], source: str = DEFAULTS) -> Policy:
    """Build a Policy from TOML data merged over the defaults; raise PolicyError if bad."""
    problems: list[PolicyProblem] = []
    root = _Table(problems, "", _merge(_default_data(), data))
    policy = Policy(
        time=_read_time(root),
        ladder=_read_ladder(root),
        reminders=_read_reminders(root),
        school=_read_school(root),
        departments=_read_departments(root),
        accountability=_read_accountability(root),
        validity=_read_validity(root),
        notice=_read_notice(root),
        cadres=_read_cadres(root),
        retention=_read_retention(root),
        tasks=_read_tasks(root),
        source=source,
    )
    root.used.add("vocabulary")  # the roster's words: kcbx.bot.roster.vocabulary reads them
    root.finish()
    if problems:
        raise PolicyError(source, problems)
    return policy


@cache
def default_policy() -> Policy:
    """The built-in policy (kcbx/policy/default.toml, the defaults of RULES.md)."""
    return policy_from_data({})


def read_policy_file(path: Path) -> dict[str, Any]:
    """A policy file's TOML data; PolicyError (unreadable) if it cannot be read or parsed."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        error = exc.strerror or str(exc)
        problem = PolicyProblem("", N_("cannot read the file: {error}"), (("error", error),))
        raise PolicyError(str(path), [problem], unreadable=True) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        problem = PolicyProblem("", N_("not valid TOML: {error}"), (("error", str(exc)),))
        raise PolicyError(str(path), [problem], unreadable=True) from exc


def load_policy(path: Path | None) -> Policy:
    """The defaults, with the TOML file at ``path`` (if any) merged over them.

    Raises:
        PolicyError: the file cannot be read, is not TOML, or has bad values (all listed).
    """
    if path is None:
        return default_policy()
    return policy_from_data(read_policy_file(path), str(path))


__all__ = [
    "A8_READINGS",
    "PolicyError",
    "PolicyProblem",
    "default_policy",
    "load_policy",
    "number_text",
    "policy_from_data",
    "read_policy_file",
]
