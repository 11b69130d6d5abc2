"""The policy: the ladder's numbers and tables, read from TOML into one frozen, typed tree.

The measures (RULES.md) leave many numbers open and other counties publish other numbers, so
none of them is a constant in code. ``kcbx/policy/default.toml`` holds our defaults (the
reading of RULES.md); a county file is merged over it by :func:`load_policy`: tables merge key
by key, lists and scalars replace. Every bad value is reported at once, each with its dotted
key and the reason (:class:`PolicyError`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kcbx.bot.domain.i18n import N_, Translate

DEFAULTS = "defaults"  # Policy.source of the built-in policy


class DayCounting(StrEnum):
    """How ladder days are counted (RULES.md, defaults under A7)."""

    CALENDAR = "calendar"
    SCHOOL_DAYS = "school_days"


# A6: the causes of absence, by code, with their names (msgids).
CAUSES: dict[str, str] = {
    "early_marriage": N_("early marriage"),
    "religious": N_("religious activity or scripture class"),
    "child_labour": N_("working (child labour)"),
    "missing": N_("missing or out of contact"),
    "bullying": N_("bullying or violence"),
    "internet": N_("internet addiction or online harm"),
    "poverty": N_("poverty or family hardship"),
    "illness": N_("illness or disability"),
    "parents_unwilling": N_("parents unwilling"),
    "weariness": N_("weariness of school or learning difficulty"),
    "other": N_("other cause"),
    "unknown": N_("cause not yet known"),
}

# A6, A9: the departments that can be brought into a case, by code, with their names (msgids).
DEPARTMENTS: dict[str, str] = {
    "civil_affairs": N_("civil affairs bureau"),
    "public_security": N_("public security sub-bureau"),
    "justice": N_("justice bureau"),
    "united_front": N_("united front work department"),
    "hr_social_security": N_("city HR and social security bureau"),
    "market_supervision": N_("market supervision sub-bureau"),
    "township": N_("township government"),
    "cyberspace": N_("cyberspace affairs office"),
    "rural_revitalisation": N_("rural revitalisation bureau"),
    "school": N_("the school"),
    "youth_league": N_("district youth league committee"),
    "womens_federation": N_("district women's federation"),
    "education_bureau": N_("education bureau"),
}


@dataclass(frozen=True)
class TimePolicy:
    """Where and when the business day is (see ``[time]`` in default.toml)."""

    zone: str
    business_day_start: time
    business_day_end: time

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    def start_of(self, day: date) -> datetime:
        """The start of the business day on ``day``, an aware instant in the policy zone."""
        return datetime.combine(day, self.business_day_start, tzinfo=self.tz)

    def end_of(self, day: date) -> datetime:
        """The end of the business day on ``day``: when a deadline on that date passes."""
        return datetime.combine(day, self.business_day_end, tzinfo=self.tz)

    def local_date(self, instant: datetime) -> date:
        """The date of an aware instant in the policy zone."""
        return instant.astimezone(self.tz).date()


@dataclass(frozen=True)
class LadderPolicy:
    """The A7 escalation ladder's numbers."""

    day_counting: DayCounting
    call_within_hours: float  # A7.1
    visit_within_days: int  # A7.1
    persuasion_day: int  # A7.2
    dropout_day: int  # A7.3
    notice_day: int  # A7.4
    notice_delivery_days: int  # A7.4 (ours)
    notice_deadline_days: int  # A7.4
    correction_deadline_days: int  # A7.5
    relapse_window_days: int


@dataclass(frozen=True)
class ReminderPolicy:
    """When reminders may be sent and how they repeat and escalate."""

    quiet_start: time
    quiet_end: time
    re_remind_hours: float
    escalate_hours: float

    @property
    def re_remind(self) -> timedelta:
        return timedelta(hours=self.re_remind_hours)

    @property
    def escalate(self) -> timedelta:
        return timedelta(hours=self.escalate_hours)


@dataclass(frozen=True)
class Vacation:
    """A school vacation, both ends included."""

    name: str
    start: date
    end: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


@dataclass(frozen=True)
class SchoolPolicy:
    """Term starts and vacations of the district's schools."""

    term_starts: tuple[date, ...]  # sorted
    vacations: tuple[Vacation, ...]


@dataclass(frozen=True)
class DepartmentPolicy:
    """A6 routing (cause -> departments) and the A9 relief departments."""

    a9_relief: tuple[str, ...]
    routing: tuple[tuple[str, tuple[str, ...]], ...]

    def routes_for(self, cause: str) -> tuple[str, ...]:
        """The departments that own ``cause`` (A6); an unknown code routes as ``unknown``."""
        table = dict(self.routing)
        return table.get(cause, table.get("unknown", ()))


@dataclass(frozen=True)
class AccountabilityPolicy:
    """A8 thresholds."""

    school_year_start: str  # "MM-DD"
    attrition_percent: float  # A8.1
    primary_dropouts: int  # A8.2
    junior_dropouts: int  # A8.3
    township_dropouts_over: int  # A8.4
    department_dropouts_over: int  # A8.5
    talk_after_months: int
    reprimand_after_months: int
    sanction_after_months: int
    warn_days_ahead: int = 7  # ours: how long before a flag the leaders are warned
    attrition_warn_share: float = 0.8  # ours: A8.1 warning at this share of the threshold

    def school_year(self, day: date) -> tuple[date, date]:
        """The first and last day of the school year that contains ``day``."""
        month, dom = (int(part) for part in self.school_year_start.split("-"))
        start = date(day.year, month, dom)
        if day < start:
            start = date(day.year - 1, month, dom)
        return start, date(start.year + 1, month, dom) - timedelta(days=1)


@dataclass(frozen=True)
class ValidityPolicy:
    """A10: the measures' period of validity."""

    in_force_from: date
    ends_on: date
    warn_days_before: int

    @property
    def warn_from(self) -> date:
        return self.ends_on - timedelta(days=self.warn_days_before)

    def needs_warning(self, today: date) -> bool:
        """True from ``warn_days_before`` days before the end (and after it), A10."""
        return today >= self.warn_from


@dataclass(frozen=True)
class NoticePolicy:
    """A7.4 and A7.5: how notices to enrol by a deadline and orders to correct are numbered.

    Each kind has its own yearly series and format, so a notice and an order never share a
    number.
    """

    number_format: str
    correction_number_format: str

    def number(self, year: int, seq: int, kind: str = "notice") -> str:
        """The printed number of the ``seq``-th document of ``kind`` in ``year``."""
        text = self.correction_number_format if kind == "correction" else self.number_format
        return text.format(year=year, seq=seq)


@dataclass(frozen=True)
class CadrePolicy:
    """A5.1: the load of one group cadre, and how soon the chain visits after A7.3."""

    max_households_per_group_cadre: int
    visit_within_days: int = 2


@dataclass(frozen=True)
class RetentionPolicy:
    """How long a closed case keeps its personal details (PIPL art. 19, 28: no longer than
    needed); the counts that summaries and A8 need are never reduced."""

    photos_months: int  # visit photos and evidence files, after the case closed
    documents_years: int  # the notices, orders to correct and their receipts
    details_years: int  # the guardians' words, notes, places and locations of the records
    run_at: time  # the daily pass, local time


@dataclass(frozen=True)
class Policy:
    """Everything the ladder, the reminders and the reports need to know about the rules."""

    time: TimePolicy
    ladder: LadderPolicy
    reminders: ReminderPolicy
    school: SchoolPolicy
    departments: DepartmentPolicy
    accountability: AccountabilityPolicy
    validity: ValidityPolicy
    notice: NoticePolicy
    cadres: CadrePolicy
    retention: RetentionPolicy
    source: str = field(default=DEFAULTS, compare=False)


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

    def increasing(self, *values: tuple[str, int]) -> None:
        """Each value must be less than the next (the ladder only goes up)."""
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
            self.problem(name, N_("must be more than {minimum}"), minimum=_num(above))
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


def _num(value: float) -> str:
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
    t.increasing(
        ("persuasion_day", ladder.persuasion_day),
        ("dropout_day", ladder.dropout_day),
        ("notice_day", ladder.notice_day),
    )
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
    t.increasing(
        ("talk_after_months", accountability.talk_after_months),
        ("reprimand_after_months", accountability.reprimand_after_months),
        ("sanction_after_months", accountability.sanction_after_months),
    )
    t.finish()
    return accountability


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
        source=source,
    )
    root.finish()
    if problems:
        raise PolicyError(source, problems)
    return policy


@cache
def default_policy() -> Policy:
    """The built-in policy (kcbx/policy/default.toml, the defaults of RULES.md)."""
    return policy_from_data({})


def load_policy(path: Path | None) -> Policy:
    """The defaults, with the TOML file at ``path`` (if any) merged over them.

    Raises:
        PolicyError: the file cannot be read, is not TOML, or has bad values (all listed).
    """
    if path is None:
        return default_policy()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        error = exc.strerror or str(exc)
        problem = PolicyProblem("", N_("cannot read the file: {error}"), (("error", error),))
        raise PolicyError(str(path), [problem], unreadable=True) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        problem = PolicyProblem("", N_("not valid TOML: {error}"), (("error", str(exc)),))
        raise PolicyError(str(path), [problem], unreadable=True) from exc
    return policy_from_data(data, str(path))


# --- showing ---------------------------------------------------------------------------------

_MODE_NAMES = {
    DayCounting.CALENDAR: N_("calendar days"),
    DayCounting.SCHOOL_DAYS: N_("school days (no weekends, public holidays or vacations)"),
}


def _hm(value: time) -> str:
    return value.strftime("%H:%M")


def render_policy(policy: Policy, gettext: Translate) -> str:
    """The effective ladder and tables, one fact a line, for ``kcbx policy check``."""
    t = gettext
    sep = t(", ")
    ladder, reminders, times = policy.ladder, policy.reminders, policy.time
    acc, validity = policy.accountability, policy.validity
    lines = [
        t("Policy: {source}").format(
            source=t(N_("built-in defaults")) if policy.source == DEFAULTS else policy.source
        ),
        t("Days are counted as: {mode}").format(mode=t(_MODE_NAMES[ladder.day_counting])),
        t(
            "Business day {start}-{end} ({zone}); no reminders from {quiet_start} to {quiet_end}"
        ).format(
            start=_hm(times.business_day_start),
            end=_hm(times.business_day_end),
            zone=times.zone,
            quiet_start=_hm(reminders.quiet_start),
            quiet_end=_hm(reminders.quiet_end),
        ),
        t(
            "A7.1 class teacher: phone the guardians within {hours} h of the report; "
            "home visit within {days} days"
        ).format(hours=_num(ladder.call_within_hours), days=ladder.visit_within_days),
        t("A7.2 day {day}: the school organises a persuasion team").format(
            day=ladder.persuasion_day
        ),
        t(
            "A7.3 day {day}: dropout mark in the student registry, report to the education "
            "bureau and the township, joint persuasion with the departments"
        ).format(day=ladder.dropout_day),
        t(
            "A7.4 day {day}: notice to enrol by a deadline, delivered within {delivery} days; "
            "its deadline is {deadline} days after delivery"
        ).format(
            day=ladder.notice_day,
            delivery=ladder.notice_delivery_days,
            deadline=ladder.notice_deadline_days,
        ),
        t(
            "A7.5 when the notice's deadline passes: reprimand and order to correct "
            "within {days} days"
        ).format(days=ladder.correction_deadline_days),
        t("A7.6 the child is back at school: the case closes"),
        t("Relapse: a new absence within {days} days of a return continues the ladder").format(
            days=ladder.relapse_window_days
        ),
        t(
            "Reminders: again after {again} h without acknowledgement or action; "
            "to the supervisor after another {escalate} h"
        ).format(again=_num(reminders.re_remind_hours), escalate=_num(reminders.escalate_hours)),
        t("A6 causes and the departments brought in at A7.3:"),
    ]
    for cause, departments in policy.departments.routing:
        names = sep.join(t(DEPARTMENTS[d]) for d in departments)
        lines.append(
            "  " + t("{name}: {departments}").format(name=t(CAUSES[cause]), departments=names)
        )
    relief = sep.join(t(DEPARTMENTS[d]) for d in policy.departments.a9_relief)
    lines += [
        t("A9 vulnerable students: from day 0 bring in {departments}").format(
            departments=relief or "-"
        ),
        t("A8 school year starts on {start}; education bureau: attrition above {percent}%").format(
            start=acc.school_year_start, percent=_num(acc.attrition_percent)
        ),
        t(
            "A8 flags a primary school at {primary} and a junior middle school at {junior} "
            "dropouts without persuasion"
        ).format(primary=acc.primary_dropouts, junior=acc.junior_dropouts),
        t(
            "A8 township above {township} or department above {department} dropouts: "
            "admonitory talk at month {talk}, public reprimand at month {reprimand}, "
            "sanction at month {sanction}"
        ).format(
            township=acc.township_dropouts_over,
            department=acc.department_dropouts_over,
            talk=acc.talk_after_months,
            reprimand=acc.reprimand_after_months,
            sanction=acc.sanction_after_months,
        ),
        t("A10 in force {start} to {end}; administrators are warned from {warn}").format(
            start=validity.in_force_from.isoformat(),
            end=validity.ends_on.isoformat(),
            warn=validity.warn_from.isoformat(),
        ),
        t("Notice numbers look like {example}").format(
            example=policy.notice.number(validity.in_force_from.year, 1)
        ),
        t("A group cadre covers at most {count} households").format(
            count=policy.cadres.max_households_per_group_cadre
        ),
        t("A5.1 at A7.3 the household's 三包 chain visits within {days} days").format(
            days=policy.cadres.visit_within_days
        ),
        t("Term starts: {dates}").format(
            dates=sep.join(d.isoformat() for d in policy.school.term_starts) or "-"
        ),
        t("School vacations:"),
    ]
    lines += [
        f"  {v.start.isoformat()} - {v.end.isoformat()} {v.name}".rstrip()
        for v in policy.school.vacations
    ]
    return "\n".join(lines)


def check_policy_file(path: Path, gettext: Translate) -> tuple[int, str]:
    """Check a policy file for ``kcbx policy check FILE``.

    Returns:
        The exit code and the text to print: 0 and the effective ladder when the file is good;
        1 and every problem (dotted key: why) when it has bad values; 2 when it cannot be read
        or is not TOML.
    """
    try:
        policy = load_policy(path)
    except PolicyError as error:
        heading = gettext("The policy file {source} has problems:").format(source=error.source)
        return (2 if error.unreadable else 1), heading + "\n" + error.render(gettext)
    return 0, render_policy(policy, gettext)


__all__ = [
    "CAUSES",
    "DEPARTMENTS",
    "AccountabilityPolicy",
    "CadrePolicy",
    "DayCounting",
    "DepartmentPolicy",
    "LadderPolicy",
    "NoticePolicy",
    "Policy",
    "PolicyError",
    "PolicyProblem",
    "ReminderPolicy",
    "SchoolPolicy",
    "TimePolicy",
    "Vacation",
    "ValidityPolicy",
    "check_policy_file",
    "default_policy",
    "load_policy",
    "policy_from_data",
    "render_policy",
]
