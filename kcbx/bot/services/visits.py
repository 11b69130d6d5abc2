"""Recording what was done on a case: a phone call, a home visit, a persuasion meeting, a
department's action (A7.1, A7.2, A5.1, A6), with who was met, the outcome, the cause found,
a location pin and photos as evidence.

Each record is an append-only action with its author and time; a correction is a new record
pointing at the one it corrects (``corrects_id``), never an edit. The cause found moves the
case's cause, and the referrals follow it (:func:`kcbx.bot.services.referrals.follow_cause`). A
return agreed for a date sets a check on that date: "Is 张三 back?" to the class teacher,
queued in the outbox for 08:00 (the start of the business day) of that date.

The pure rules (kinds per role, dates, the detail written) come first; :func:`record_visit`
is the one service function the conversation calls when the person confirms.
"""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from kcbx.bot.domain.capabilities import LIAISONS, roles_of
from kcbx.bot.domain.dates import parse_user_date
from kcbx.bot.domain.geo import Point, nearest
from kcbx.bot.domain.i18n import N_, translator
from kcbx.bot.domain.ladder.state import (
    CHAIN_ROLES,
    DETAIL_ACTOR_ROLE,
    DETAIL_DEPARTMENT,
    ActionKind,
)
from kcbx.bot.domain.model import Action, Case, Person, Student
from kcbx.bot.domain.roles import CADRE_ROLES, Role
from kcbx.bot.domain.scope import can_see_student
from kcbx.bot.runtime.services import Services
from kcbx.bot.services import Problem
from kcbx.bot.services.cases import case_in_scope, open_cases_with_students, record_now
from kcbx.bot.services.referrals import Rerouted, follow_cause
from kcbx.bot.texts.notifications import return_check_message
from kcbx.storage.records.audit import actor_of
from kcbx.storage.visits import CaseNotOpen, EvidenceFile

# What may be recorded here, with its name (msgid) and the rule it fulfils.
KINDS: dict[str, str] = {
    ActionKind.PHONE_CALL: N_("Phone call"),
    ActionKind.HOME_VISIT: N_("Home visit"),
    ActionKind.PERSUASION: N_("Persuasion meeting"),
    ActionKind.DEPARTMENT_ACTION: N_("Department action"),
}
VISIT_KINDS = tuple(KINDS)
ON_SITE = frozenset({ActionKind.HOME_VISIT, ActionKind.PERSUASION, ActionKind.DEPARTMENT_ACTION})

MET: dict[str, str] = {
    "guardians": N_("the guardians"),
    "child": N_("the child"),
    "both": N_("the guardians and the child"),
    "relatives": N_("other relatives"),
    "nobody": N_("nobody"),
}
OUTCOMES: dict[str, str] = {
    "agreed": N_("agreed to return"),
    "refused": N_("refused"),
    "nobody_home": N_("nobody home"),
    "moved": N_("moved away"),
    "working": N_("working away"),
    "undecided": N_("not decided yet"),
}
NEEDS_PLACE = frozenset({"moved", "working"})  # where to / where
NOBODY_MET = ("nobody_home", "moved", "working")  # what can come of meeting nobody


def outcomes_for(met: str | None) -> dict[str, str]:
    """The outcomes that fit who was met: meeting nobody cannot end in an answer, and
    meeting someone is not "nobody home"."""
    if met == "nobody":
        return {code: OUTCOMES[code] for code in NOBODY_MET}
    return {code: name for code, name in OUTCOMES.items() if code != "nobody_home"}


# Who records what (A7.1 teachers and the school; A5.1 the 三包 cadres; A7.3 the bureau and
# the township organise joint persuasion; A6 the departments record their own actions).
_RECORDERS: dict[Role, tuple[str, ...]] = {
    **{
        role: (ActionKind.PHONE_CALL, ActionKind.HOME_VISIT, ActionKind.PERSUASION)
        for role in roles_of("visit") - LIAISONS
    },
    Role.DEPARTMENT_LIAISON: (ActionKind.DEPARTMENT_ACTION,),
}

MAX_PHOTOS = 5
NOTE_MAX = 1000
PLACE_MAX = 100
RETURN_WITHIN_DAYS = 60  # an agreed return further ahead is probably a typing mistake
RECORD_HOUR = time(12, 0)  # the time given to a record dated before today


class VisitProblem(Problem):
    """Something the person must correct; ``message`` is a msgid, ``params`` its fields."""


# --- pure rules -------------------------------------------------------------------------------


def kinds_for(role: Role) -> tuple[str, ...]:
    """The kinds of record a role may make (empty: none)."""
    return _RECORDERS.get(role, ())


def rule_of(kind: str, role: Role, reason: str | None = None) -> str:
    """The rule a record fulfils: A7.1 a call or visit (A5.1 by the chain), A7.2, A6/A9."""
    if kind == ActionKind.DEPARTMENT_ACTION:
        return "A9" if reason == "a9" else "A6"
    if kind == ActionKind.PERSUASION:
        return "A7.2"
    if kind == ActionKind.HOME_VISIT and role in CHAIN_ROLES:
        return "A5.1"
    return "A7.1"


def visit_date_problem(day: date, today: date, absent_since: date) -> VisitProblem | None:
    """A record is dated from the first day of absence to today, never in the future."""
    if day > today:
        return VisitProblem(
            N_("A record cannot be dated in the future. Please give today or an earlier date.")
        )
    if day < absent_since:
        return VisitProblem(
            N_("The child has been absent only since {date}: please give a date from then on."),
            date=absent_since.isoformat(),
        )
    return None


def return_date_problem(day: date, today: date) -> VisitProblem | None:
    """An agreed return is today or later, and not far ahead."""
    if day < today:
        return VisitProblem(N_("The agreed return date must be today or later."))
    if day > today + timedelta(days=RETURN_WITHIN_DAYS):
        return VisitProblem(
            N_("That is more than {days} days ahead. Please check the date."),
            days=RETURN_WITHIN_DAYS,
        )
    return None


def read_return_date(text: str, today: date) -> date:
    """A typed return date: a date without a year is the next such date from today on.

    Raises:
        DateError: the text is not a date.
    """
    day = parse_user_date(text, today)
    if day < today and not re.search(r"\d{4}", text):
        with suppress(ValueError):  # 2月29日 has no date in the next year
            later = day.replace(year=day.year + 1)
            if later >= today:
                return later
    return day


def read_text(text: str, limit: int) -> str:
    """User text for a note or a place: trimmed, one to ``limit`` characters."""
    value = " ".join(text.split())
    if not value:
        raise VisitProblem(N_("Please write a few words."))
    if len(value) > limit:
        raise VisitProblem(
            N_("That is too long ({length} characters; at most {limit})."),
            length=len(value),
            limit=limit,
        )
    return value


def read_note(text: str) -> str:
    """A record's note (a visit's or a closing's), as :func:`read_text` reads it."""
    return read_text(text, NOTE_MAX)


@dataclass
class VisitDraft:
    """What a visit record has collected so far; nothing is written until it is confirmed."""

    case_id: int
    kind: str | None = None
    on: date | None = None
    met: str | None = None
    outcome: str | None = None
    return_on: date | None = None
    place: str | None = None  # where they moved or work
    cause: str | None = None
    location: tuple[float, float] | None = None
    photos: list[EvidenceFile] = field(default_factory=list)
    note: str | None = None
    corrects_id: int | None = None


def action_time(day: date, now: datetime, tz: tzinfo) -> datetime:
    """When the record says it happened: now for today, midday for an earlier date."""
    if now.astimezone(tz).date() == day:
        return now
    return datetime.combine(day, RECORD_HOUR, tzinfo=tz)


def visit_detail(draft: VisitDraft, role: Role, department: str | None) -> dict[str, Any]:
    """The JSON detail of the action (the photos are kept as evidence rows, not here)."""
    detail: dict[str, Any] = {DETAIL_ACTOR_ROLE: role.value, "via": "visit"}
    for key in ("met", "outcome", "place", "cause", "note"):
        value = getattr(draft, key)
        if value:
            detail[key] = value
    if draft.return_on is not None:
        detail["return_on"] = draft.return_on.isoformat()
    if draft.location is not None:
        detail["location"] = {"lat": draft.location[0], "lon": draft.location[1]}
    if draft.photos:
        detail["photos"] = len(draft.photos)
    if department:
        detail[DETAIL_DEPARTMENT] = department
    return detail


def last_own_record(actions: list[Action], person_id: int) -> Action | None:
    """The person's latest standing visit record on the case (the one they may correct)."""
    corrected = {a.corrects_id for a in actions if a.corrects_id is not None}
    own = [
        a
        for a in actions
        if a.actor_id == person_id and a.kind in VISIT_KINDS and a.id not in corrected
    ]
    return max(own, key=lambda a: (a.recorded_at, a.id)) if own else None


def latest_records(actions: list[Action], limit: int = 2) -> list[Action]:
    """The latest standing visit records of a case, newest first."""
    corrected = {a.corrects_id for a in actions if a.corrects_id is not None}
    kept = [a for a in actions if a.kind in VISIT_KINDS and a.id not in corrected]
    return sorted(kept, key=lambda a: (a.at, a.id), reverse=True)[:limit]


# --- the service -----------------------------------------------------------------------------


@dataclass(frozen=True)
class VisitTarget:
    """A case the person may record on, and what they may record."""

    case: Case
    student: Student
    kinds: tuple[str, ...]
    last_own: Action | None
    department: str | None  # the liaison's department code


async def visit_target(services: Services, person: Person, case_id: int) -> VisitTarget:
    """The case if the person may record on it; VisitProblem otherwise (scope, chain, role).

    A cadre outside the household's 三包 chain, a liaison whose department the case is not
    referred to, anyone outside their scope: refused alike (nothing is revealed).
    """
    kinds = kinds_for(person.role)
    case = await services.cases.get(case_id)
    place = await services.students.place(case.student_id) if case is not None else None
    if case is None or place is None or not can_see_student(person, place):
        if person.role in CADRE_ROLES:
            raise VisitProblem(
                N_("This case is not in your contact-duty chain: you cannot record on it.")
            )
        raise VisitProblem(N_("This is not available to you."))
    if not kinds:
        raise VisitProblem(N_("Your role does not record visits."))
    if not case.is_open:
        raise VisitProblem(N_("Case {number} is closed."), number=case.number)
    student = await services.students.get(case.student_id)
    assert student is not None
    department = None
    if person.role == Role.DEPARTMENT_LIAISON and person.unit_id is not None:
        unit = await services.units.get(person.unit_id)
        department = unit.code if unit is not None else None
    actions = await services.cases.actions(case.id)
    return VisitTarget(case, student, kinds, last_own_record(actions, person.id), department)


async def visit_cases(
    services: Services, person: Person, offset: int, per_page: int = 6
) -> tuple[list[tuple[Case, Student]], int]:
    """A page of the open cases the person may record on, and how many there are."""
    if not kinds_for(person.role):
        return [], 0
    return await open_cases_with_students(services, person, offset, per_page)


@dataclass(frozen=True)
class VisitResult:
    action: Action
    case: Case
    student: Student
    cause_changed: bool
    rerouted: Rerouted
    check_on: date | None  # the return check's date, if one was set
    check_to: str | None  # who will be asked
    check_to_me: bool = False  # the person who recorded the visit will be asked (second person)


def today_of(services: Services) -> date:
    return services.policy.time.local_date(services.clock.now())


def _checked(draft: VisitDraft, target: VisitTarget, today: date) -> tuple[str, date]:
    """The draft's kind and day, once the role, who was met and the outcome, the dates, the record
    corrected and the photos are found right; else the problem."""
    kind = draft.kind
    if kind is None or kind not in target.kinds or draft.on is None:
        raise VisitProblem(N_("Your role does not record this kind of action."))
    if draft.met and draft.outcome and draft.outcome not in outcomes_for(draft.met):
        raise VisitProblem(N_("Who was met and the outcome do not fit together."))
    problem = visit_date_problem(draft.on, today, target.case.absent_since)
    if problem is None and draft.return_on is not None:
        problem = return_date_problem(draft.return_on, today)
    if problem is not None:
        raise problem
    if draft.corrects_id is not None and (
        target.last_own is None or target.last_own.id != draft.corrects_id
    ):
        raise VisitProblem(N_("Only your own latest record can be corrected."))
    if len(draft.photos) > MAX_PHOTOS:
        raise VisitProblem(N_("At most {count} photos."), count=MAX_PHOTOS)
    return kind, draft.on


async def record_visit(services: Services, person: Person, draft: VisitDraft) -> VisitResult:
    """Save a confirmed record, in one transaction with the cause, the referrals it moves and
    the return check it sets. Everything is checked again first: the scope (the case may have
    moved out of it), the role, the dates."""
    target = await visit_target(services, person, draft.case_id)
    case, student = target.case, target.student
    kind, on = _checked(draft, target, today_of(services))
    reason = None
    referral = None
    if target.department is not None:
        referral = next(
            (
                r
                for r in await services.referrals.of_case(case.id)
                if r.department_code == target.department
            ),
            None,
        )
        reason = referral.reason if referral else None
    now = services.clock.now()
    tz = services.policy.time.tz
    cause_changed = bool(draft.cause) and draft.cause not in (case.cause, "unknown")
    rerouted = Rerouted()
    check_to: Person | None = None
    try:
        async with services.db.transaction():
            action = await services.visits.record(
                case.id,
                kind=kind,
                actor_id=person.id,
                at=action_time(on, now, tz),
                now=now,
                rule=rule_of(kind, person.role, reason),
                detail=visit_detail(draft, person.role, target.department),
                evidence=draft.photos,
                corrects_id=draft.corrects_id,
            )
            if referral is not None and referral.status == "open":  # acting accepts it (A6)
                await services.referrals.accept(referral.id, person_id=person.id, now=now)
            if draft.corrects_id is not None:
                await services.outbox.cancel_for_case(
                    case.id, prefix=f"retcheck:case={case.id}:action={draft.corrects_id}:"
                )
            if cause_changed and draft.cause is not None:
                await services.cases.set_cause(
                    case.id, draft.cause, actor=actor_of(person.id), now=now
                )
                rerouted = await follow_cause(services, case, student, draft.cause, actor=person)
            if draft.outcome == "agreed" and draft.return_on is not None:
                check_to = await schedule_return_check(
                    services, case, student, action, draft.return_on
                )
    except CaseNotOpen as exc:
        raise VisitProblem(N_("Case {number} is closed."), number=case.number) from exc
    saved = await services.cases.get(case.id)
    assert saved is not None
    return VisitResult(
        action=action,
        case=saved,
        student=student,
        cause_changed=cause_changed,
        rerouted=rerouted,
        check_on=draft.return_on if check_to is not None else None,
        check_to=check_to.name if check_to is not None else None,
        check_to_me=check_to is not None and check_to.id == person.id,
    )


async def schedule_return_check(
    services: Services, case: Case, student: Student, action: Action, on: date
) -> Person | None:
    """Queue "Is 张三 back?" for the class teacher (else the school's leaders) at the start of
    the business day of ``on`` (08:00). Returns who will be asked, or None."""
    place = await services.students.place(student.id)
    asked: list[Person] = []
    if place is not None and place.class_teacher_id is not None:
        teacher = await services.people.get(place.class_teacher_id)
        if teacher is not None and teacher.active and teacher.chat_id is not None:
            asked = [teacher]
    if not asked:
        leaders = await services.people.in_units(
            [student.school_id], [Role.SCHOOL_LEAD, Role.PRINCIPAL]
        )
        asked = [p for p in leaders if p.chat_id is not None][:1]
    if not asked:
        return None
    when = services.policy.time.start_of(on)
    for person in asked:
        lang = person.lang or services.config.default_language
        message = return_check_message(case, student, on, translator(lang), lang)
        await services.outbox.enqueue(
            key=f"retcheck:case={case.id}:action={action.id}:to={person.id}",
            chat_id=person.chat_id or 0,
            message=message,
            now=services.clock.now(),
            not_before=when,
            person_id=person.id,
            case_id=case.id,
        )
    return asked[0]


@dataclass(frozen=True)
class NotBack:
    case: Case
    student: Student
    recorded: bool  # False: already noted today


async def note_not_back(services: Services, person: Person, case_id: int) -> NotBack:
    """ "Not back" on a return check: a note on the case (the ladder goes on)."""
    case = await services.cases.get(case_id)
    place = await services.students.place(case.student_id) if case is not None else None
    if case is None or place is None or not can_see_student(person, place):
        raise VisitProblem(N_("This is not available to you."))
    student = await services.students.get(case.student_id)
    assert student is not None
    if not case.is_open:
        raise VisitProblem(N_("Case {number} is closed."), number=case.number)
    today = today_of(services)
    tz = services.policy.time.tz
    actions = await services.cases.actions(case.id)
    corrected = {a.corrects_id for a in actions if a.corrects_id is not None}
    for action in actions:
        if action.id in corrected:
            continue
        if (
            action.kind == ActionKind.NOTE
            and action.detail.get("return_check") == "not_back"
            and action.at.astimezone(tz).date() == today
        ):
            return NotBack(case, student, recorded=False)
    detail = {"return_check": "not_back", DETAIL_ACTOR_ROLE: person.role.value}
    await record_now(services, case.id, ActionKind.NOTE, person, "A7.6", detail)
    return NotBack(case, student, recorded=True)


@dataclass(frozen=True)
class VisitPhotos:
    """One recorded visit's photos, by the channel's file ids (sent again as they are)."""

    action: Action
    recorder: str
    file_ids: tuple[str, ...]


async def visit_photos(
    services: Services, person: Person, case_id: int
) -> list[VisitPhotos] | None:
    """The photos of the case's visits, visit by visit; None if the case is out of the
    person's scope (or does not exist), checked again at every press."""
    if await case_in_scope(services, person, case_id) is None:
        return None
    photos: dict[int, list[str]] = {}
    for item in await services.visits.evidence_of_case(case_id):
        if item.kind == "photo" and item.file_id:
            photos.setdefault(item.action_id, []).append(item.file_id)
    found = []
    for action in await services.cases.actions(case_id):
        if action.id in photos and "visit" in action.kind:
            recorder = await services.people.get(action.actor_id) if action.actor_id else None
            name = recorder.name if recorder else ""
            found.append(VisitPhotos(action, name, tuple(photos[action.id])))
    return found


@dataclass(frozen=True)
class VisitPlace:
    """Where a visit's pin was, told by the roster's villages: the nearest one that has
    coordinates (``village`` None when none has), how far, and whether it is the child's."""

    point: Point
    village: str | None
    km: float = 0.0
    own: bool = False
    home: str = ""  # the child's village ('' if the roster gives none)


async def place_of(
    services: Services, student: Student, location: tuple[float, float] | None
) -> VisitPlace | None:
    """The village nearest a pin (haversine), anywhere in the district; None without a pin."""
    if location is None:
        return None
    at = Point(location[0], location[1])
    units = services.units
    home = None
    if student.household_unit_id is not None:
        home = await units.nearest(student.household_unit_id, "village")
    villages = [v for v in await units.villages_on_map() if v.latitude is not None]
    found = nearest(at, ((v, Point(v.latitude or 0, v.longitude or 0)) for v in villages))
    if found is None:
        return VisitPlace(at, None, home=home.name if home else "")
    village, km = found
    own = home is not None and village.id == home.id
    name = village.name
    if home is not None and village.parent_id != home.parent_id:  # another township's
        name = await units.path_name(village.id)
    return VisitPlace(at, name, km, own, home.name if home else "")


@dataclass(frozen=True)
class VisitLocation:
    """One recorded visit's pin, with the village it is near."""

    action: Action
    recorder: str
    place: VisitPlace


async def case_locations(services: Services, case: Case, student: Student) -> list[VisitLocation]:
    """The pins of a case's visits (a corrected record's left out), in the order recorded."""
    actions = await services.cases.actions(case.id)
    corrected = {a.corrects_id for a in actions if a.corrects_id is not None}
    found = []
    for action in actions:
        pin = action.detail.get("location")
        if action.id in corrected or not isinstance(pin, dict):
            continue
        with suppress(KeyError, TypeError, ValueError):
            place = await place_of(services, student, (float(pin["lat"]), float(pin["lon"])))
            recorder = await services.people.get(action.actor_id) if action.actor_id else None
            if place is not None:
                found.append(VisitLocation(action, recorder.name if recorder else "", place))
    return found


async def visit_locations(
    services: Services, person: Person, case_id: int
) -> list[VisitLocation] | None:
    """The case's visit pins; None if the case is out of the person's scope (or does not
    exist), checked again at every press."""
    found = await case_in_scope(services, person, case_id)
    if found is None:
        return None
    return await case_locations(services, *found)
