"""The policy: the ladder's numbers and tables as one frozen, typed tree.

The measures (RULES.md) leave many numbers open and other counties publish other numbers, so
none of them is a constant in code. ``kcbx/policy/default.toml`` holds our defaults (the
reading of RULES.md); :mod:`kcbx.bot.domain.policy.reading` reads it and a county's file into
this tree, and :mod:`kcbx.bot.domain.policy.showing` shows it (``kcbx policy check``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from kcbx.bot.domain.i18n import N_
from kcbx.bot.domain.ladder.tasks import Requirement

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

    def routed(self) -> tuple[str, ...]:
        """Every department a case may be referred to (A6 routing and A9 relief), once each."""
        codes = [*self.a9_relief, *(d for _, departments in self.routing for d in departments)]
        return tuple(dict.fromkeys(codes))


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
    # The readings where 第八条 is open (each argued in default.toml and docs/reports.md):
    measures_count: str = "own"  # "own": only the answering body's people; "any": anyone's
    measure_window: str = "mark"  # A8.4/A8.5 month 1 counts measures from: "mark" | "report"
    still_not_back: str = "away"  # months 2-3: "away" (not back) | "unpersuaded" (and no measure)
    review_from_day: int = 3  # a transfer or exemption from this ladder day needs a second person

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
    document: str = "卫沙政办规发〔2023〕4号"  # the measures' document number

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
class TaskPolicy:
    """The tasks of the ladder: what satisfies each, and their lead times (``[tasks]``).

    Every interval here and in :class:`ReminderPolicy` is counted in working hours (the
    business day, on working days: :meth:`SchoolCalendar.add_working_hours`).
    """

    satisfied_by: tuple[tuple[str, tuple[Requirement, ...]], ...]
    call_lead_hours: float = 1.0  # A7.1: the call's first notice, this long before it is due
    notify_day_before: time = time(16, 0)  # a step due at a day's end: told the day before
    department_accept_days: int = 1  # A6/A9: accept (or act) within this many working days
    department_action_days: int = 5  # then record the department's action within these
    snooze_limit: int = 2  # "remind me later" per task
    snooze_hours: float = 2.0
    follow_up_days: tuple[int, ...] = (7, 30)  # A4.2: check-ins after a return

    @property
    def rules(self) -> dict[str, tuple[Requirement, ...]]:
        return dict(self.satisfied_by)


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
    tasks: TaskPolicy
    source: str = field(default=DEFAULTS, compare=False)


__all__ = [
    "CAUSES",
    "DEFAULTS",
    "DEPARTMENTS",
    "AccountabilityPolicy",
    "CadrePolicy",
    "DayCounting",
    "DepartmentPolicy",
    "LadderPolicy",
    "NoticePolicy",
    "Policy",
    "ReminderPolicy",
    "RetentionPolicy",
    "SchoolPolicy",
    "TaskPolicy",
    "TimePolicy",
    "Vacation",
    "ValidityPolicy",
]
