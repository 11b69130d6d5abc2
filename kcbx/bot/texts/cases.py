"""The texts of cases, pure: a report's summary and the steps ahead, a line of /cases, the
case card, and the line a button press adds to a reminder.

Every function takes the person's ``gettext`` and language; user-supplied text (names, notes,
guardians) is escaped here, case numbers and names are bold (STYLE). Long texts are cut into
pages of whole lines by :func:`kcbx.bot.texts.paging.pages` so that no message reaches Telegram's
4096 characters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from html import escape
from typing import TYPE_CHECKING

from kcbx.bot.domain.caseactions import ACTION_NAMES, CONTACT_RESULTS, CONTACTS
from kcbx.bot.domain.dates import format_date, format_date_time
from kcbx.bot.domain.glossary import cited
from kcbx.bot.domain.grades import class_words
from kcbx.bot.domain.i18n import N_, Translate
from kcbx.bot.domain.kinship import relation_word
from kcbx.bot.domain.ladder.follow_up import FOLLOW_UP_OUTCOMES, is_follow_up
from kcbx.bot.domain.ladder.state import (
    DETAIL_DEPARTMENT,
    DETAIL_TASK,
    STAGE_NAMES,
    STEP_TEXTS,
    ActionKind,
    LadderState,
    Stage,
    Step,
    Task,
    TaskCode,
)
from kcbx.bot.domain.model import Case, Student
from kcbx.bot.domain.policy.tree import CAUSES, DEPARTMENTS, Policy
from kcbx.bot.domain.roles import ROLE_LABELS, Role
from kcbx.bot.services.reporting import EXEMPT_PROBLEM, ReportProblem
from kcbx.bot.services.visits import OUTCOMES as VISIT_OUTCOMES

if TYPE_CHECKING:
    from kcbx.bot.services.cases import CaseCard

# A9: the vulnerable-student flags (RULES.md), by code
A9_FLAG_NAMES: dict[str, str] = {
    "sudden_hardship": N_("sudden severe hardship"),
    "unstable_poverty_exit": N_("unstable out of poverty"),
    "rural_subsistence": N_("rural minimum-subsistence household"),
    "disabled_child": N_("disabled child"),
    "child_of_disabled": N_("child of disabled parents"),
    "child_of_prisoner": N_("child of a prisoner"),
    "left_behind": N_("left-behind child"),
    "single_parent": N_("single-parent family"),
    "orphan": N_("orphan"),
}

CASE_STATUS: dict[str, str] = {
    "open": N_("open"),
    "returned": N_("closed: back at school"),
    "exempt": N_("closed: exempt (Article 3)"),
    "transferred": N_("closed: transferred"),
}


def when(instant: datetime, t: Translate, lang: str, policy: Policy) -> str:
    """3月5日（周二）14:30 in the policy's time zone."""
    local = instant.astimezone(policy.time.tz)
    return format_date_time(local, t, lang)


def class_label(student: Student, t: Translate) -> str:
    if student.grade is None or not student.class_name:
        return ""
    return escape(class_words(student.grade, student.class_name, t))


def student_label(student: Student, t: Translate) -> str:
    """<b>张三</b>（3年级1班）."""
    label = class_label(student, t)
    name = f"<b>{escape(student.name)}</b>"
    return t("{name} ({detail})").format(name=name, detail=label) if label else name


def case_heading(case: Case, student: Student, t: Translate) -> str:
    """``Case <b>KC-2024-0001</b>: <b>张三</b>``."""
    return t("Case <b>{number}</b>: <b>{name}</b>").format(
        number=escape(case.number), name=escape(student.name)
    )


def case_choices(
    cases: Sequence[tuple[Case, Student]], data: Callable[[Case], str], t: Translate
) -> list[list[tuple[str, str]]]:
    """A button a case (``KC-2024-0001 张三``), one a row, to pick the case to act on."""
    return [[(case_label(case.number, student.name, t), data(case))] for case, student in cases]


def case_label(number: str, name: str, t: Translate) -> str:
    """A case's button, at most 12 characters: 张三（0001） for KC-2024-0001."""
    return t("{name} ({seq})").format(name=name, seq=number.rsplit("-", 1)[-1])


def cause_name(code: str, t: Translate) -> str:
    return t(CAUSES.get(code, CAUSES["unknown"]))


def role_name(role: str | None, t: Translate) -> str:
    try:
        return t(ROLE_LABELS[Role(role)]) if role else ""
    except ValueError:
        return role or ""


# --- reporting ---------------------------------------------------------------------------------


def report_summary(
    *,
    student: Student,
    absent_since: date,
    cause: str,
    contact: str,
    note: str | None,
    previous: tuple[Case, date, int, Stage] | None,
    relapse_window: int,
    t: Translate,
    lang: str,
) -> str:
    """The summary a reporter confirms (nothing is written before)."""
    lines = [
        t("Please check and confirm the report:"),
        "",
        t("Student: {student}").format(student=student_label(student, t)),
        t("Absent since: {date}").format(date=format_date(absent_since, t, lang)),
        t("Reason: {cause}").format(cause=cause_name(cause, t)),
        t("Phone call to the guardians: {contact}").format(contact=t(CONTACT_RESULTS[contact])),
    ]
    if note:
        lines.append(t("Note: {note}").format(note=escape(note)))
    if previous is not None:
        case, returned_on, day, stage = previous
        lines += [
            "",
            t(
                "Back at school on {date} (case <b>{number}</b>) and absent again within "
                "{days} days: the case continues at day {day} ({stage})."
            ).format(
                date=format_date(returned_on, t, lang),
                number=case.number,
                days=relapse_window,
                day=day,
                stage=t(STAGE_NAMES[stage]),
            ),
        ]
    return "\n".join(lines)


def report_problem(problem: ReportProblem, t: Translate, lang: str) -> str:
    """What the reporter must know or correct (an exempt student is named, escaped)."""
    name = problem.params.get("name") if problem.message == EXEMPT_PROBLEM else None
    if name is not None:
        return t(
            "<b>{name}</b> is exempt from attendance (Article 3): no case is opened. "
            "Please contact the education bureau if this has changed."
        ).format(name=escape(str(name)))
    return problem.render(t, lang)


def steps_ahead(steps: Sequence[Step], today: date, t: Translate, lang: str) -> list[str]:
    """• 3月6日（周三）: phone the guardians today and visit the home (A7.1)."""
    lines = []
    for step in steps:
        on = t("now") if step.on <= today else format_date(step.on, t, lang)
        lines.append(
            t("• {when}: {what} ({rule})").format(
                when=on, what=t(STEP_TEXTS[step.rule]), rule=cited(step.rule, t)
            )
        )
    return lines


def report_done(
    case: Case, student: Student, steps: Sequence[Step], today: date, t: Translate, lang: str
) -> str:
    lines = [
        t("Case <b>{number}</b> is open for {student}. The steps ahead:").format(
            number=case.number, student=student_label(student, t)
        ),
        *steps_ahead(steps, today, t, lang),
        "",
        t("I will remind whoever must act at each deadline."),
    ]
    return "\n".join(lines)


def open_case_instead(
    case: Case, student: Student, state: LadderState, t: Translate, lang: str
) -> str:
    return t(
        "{student} already has an open case, <b>{number}</b> (absent since {since}; now: "
        "{stage}, day {day}). A student is not reported twice: here is the case."
    ).format(
        student=student_label(student, t),
        number=case.number,
        since=format_date(case.absent_since, t, lang),
        stage=t(STAGE_NAMES[state.stage]),
        day=state.day,
    )


# --- lists and cards ---------------------------------------------------------------------------


# A task in a few words, where a line has no room for its whole text ("下一步：家访").
TASK_LABELS: dict[str, str] = {
    TaskCode.CALL: N_("phone the guardians"),
    TaskCode.VISIT: N_("home visit"),
    TaskCode.PERSUASION: N_("school persuasion"),
    TaskCode.MARK: N_("dropout mark"),
    TaskCode.REPORT: N_("report the dropout"),
    TaskCode.JOINT: N_("joint persuasion"),
    TaskCode.NOTICE: N_("issue the notice"),
    TaskCode.DELIVER: N_("deliver the notice"),
    TaskCode.CORRECTION: N_("order to correct"),
    TaskCode.CORRECTION_AGAIN: N_("order to correct again"),
    TaskCode.RETURNED: N_("confirm the return"),
    TaskCode.EXEMPT: N_("record the exemption"),
    TaskCode.CHAIN_VISIT: N_("contact-duty visit"),
}


def task_label(code: str, t: Translate) -> str:
    """A task code in a user's words: A7.1-visit -> 家访; a department's A6/A9 task by its
    kind; anything unknown by its article (never the code itself)."""
    if code in TASK_LABELS:
        return t(TASK_LABELS[code])
    if code.startswith("A6-"):
        return t("joint persuasion with the department")
    if code.startswith("A9-"):
        return t("relief for the family")
    return cited(code, t)


# What the work that satisfied a task is called on the card ("✓ 已家访 3月5日 邱曦").
DONE_LABELS: dict[str, str] = {
    ActionKind.PHONE_CALL: N_("guardians reached by phone"),
    ActionKind.HOME_VISIT: N_("home visited"),
    ActionKind.PERSUASION: N_("persuasion held"),
    ActionKind.REGISTRY_MARK: N_("dropout mark made"),
    ActionKind.REPORTED_UP: N_("reported up"),
    ActionKind.JOINT_PERSUASION: N_("joint persuasion held"),
    ActionKind.DEPARTMENT_ACTION: N_("department acted"),
    ActionKind.NOTICE_ISSUED: N_("notice issued"),
    ActionKind.NOTICE_DELIVERED: N_("notice delivered"),
    ActionKind.CORRECTION_ORDERED: N_("ordered to correct"),
    ActionKind.RETURNED: N_("back at school"),
    ActionKind.EXEMPTED: N_("exempted"),
}
FOLLOW_UP_DONE = N_("followed up after the return")  # A4.2: "✓ A4.2 已回访 3月18日 邱曦"


def _task_line(
    task: Task,
    now: datetime,
    t: Translate,
    lang: str,
    policy: Policy,
    names: Mapping[int, str] | None = None,
) -> str:
    what = t(task.what)
    by = task.done_by
    if task.done and by is not None and by.kind in DONE_LABELS:
        name = (names or {}).get(by.actor_id or -1, "")
        local = by.at.astimezone(policy.time.tz).date()
        return (
            "✓ "
            + t("{done} {date} {name}")
            .format(
                done=t(FOLLOW_UP_DONE if is_follow_up(task.code) else DONE_LABELS[by.kind]),
                date=format_date(local, t, lang),
                name=escape(name),
            )
            .rstrip()
        )
    if task.done and task.done_at is not None:
        return "✓ " + t("{what} (done {when})").format(
            what=what, when=when(task.done_at, t, lang, policy)
        )
    mark = "⚠ " if task.due_at <= now else "• "
    return mark + t("{what} ({role}, due {when})").format(
        what=what,
        role=role_name(task.role, t),
        when=when(task.due_at, t, lang, policy),
    )


def case_line(
    case: Case,
    student: Student,
    state: LadderState,
    next_task: Task | None,
    t: Translate,
    lang: str,
    policy: Policy,
) -> str:
    """<b>KC-2024-0001</b> <b>张三</b>（3年级1班） + stage, day and the next deadline."""
    head = f"<b>{case.number}</b> {student_label(student, t)}"
    where = t("{stage}, day {day}").format(stage=t(STAGE_NAMES[state.stage]), day=state.day)
    if next_task is None:
        nxt = t("no open task")
    else:
        nxt = t("next: {what} by {when}").format(
            what=task_label(next_task.code, t), when=when(next_task.due_at, t, lang, policy)
        )
        if next_task.due_at <= state.now:
            nxt += " ⚠ " + t("overdue")
    return f"{head}\n    {where} · {nxt}"


def _detail(action_kind: str, detail: dict[str, object], t: Translate, restricted: bool) -> str:
    parts = []
    task = detail.get(DETAIL_TASK)
    department = detail.get(DETAIL_DEPARTMENT)
    if isinstance(department, str):
        parts.append(t(DEPARTMENTS.get(department, department)))
    elif isinstance(task, str) and action_kind == ActionKind.ACKNOWLEDGED:
        parts.append(task_label(task, t))
    outcome = detail.get("outcome")
    if isinstance(outcome, str) and not restricted:
        # a report's phone call says what the guardians answered; a visit how it went
        labels = CONTACT_RESULTS if detail.get("via") == "report" else VISIT_OUTCOMES
        if isinstance(task, str) and is_follow_up(task):  # A4.2: how the child is doing
            labels = FOLLOW_UP_OUTCOMES
        if outcome in labels:
            parts.append(t(labels[outcome]))
    text = detail.get("text") or detail.get("note")
    if isinstance(text, str) and text and not restricted:
        parts.append(escape(text[:200]))
    return "; ".join(parts)


def history_line(
    at: datetime,
    kind: str,
    detail: dict[str, object],
    actor: str,
    actor_role: str | None,
    t: Translate,
    lang: str,
    policy: Policy,
    restricted: bool = False,
) -> str:
    """3月5日（周二）14:30 李老师（班主任）：phoned the guardians (reached: agreed)."""
    who = (
        t("{name} ({role})").format(name=escape(actor), role=role_name(actor_role, t))
        if actor
        else t("the system")
    )
    what = t(ACTION_NAMES.get(kind, kind))
    extra = _detail(kind, detail, t, restricted)
    if extra:
        what = t("{what} ({detail})").format(what=what, detail=extra)
    return t("{when} {who}: {what}").format(when=when(at, t, lang, policy), who=who, what=what)


def _guardians_line(card: CaseCard, t: Translate) -> str:
    """The guardians with their relation (and phone, unless ``card.restricted``)."""
    names = []
    for g in card.guardians:
        name = escape(g.name)
        if g.relation:
            name = t("{name} ({role})").format(name=name, role=escape(relation_word(g.relation, t)))
        if g.phone and not card.restricted:
            name = t("{guardian}, phone {phone}").format(guardian=name, phone=escape(g.phone))
        names.append(name)
    contact = names[0] if names else ""
    for other in names[1:]:
        contact = t("{guardian}; {other}").format(guardian=contact, other=other)
    return t("Guardians: {contact}").format(contact=contact)


def _card_head(
    card: CaseCard, t: Translate, lang: str, policy: Policy, *, brief: bool
) -> list[str]:
    """Who the case is about and where it stands (``brief``: without the report's date and
    the guardians' first answer, which the full card and its history give)."""
    case, student, state = card.case, card.student, card.state
    status = t(CASE_STATUS.get(case.status, case.status))
    lines = [
        t("Case <b>{number}</b> · {status}").format(number=case.number, status=status),
        t("Student: {student}, {school}").format(
            student=student_label(student, t), school=escape(card.school)
        ),
    ]
    if card.household:
        lines.append(t("Household: {place}").format(place=escape(card.household)))
    if card.guardians:
        lines.append(_guardians_line(card, t))
    if student.a9_flags:
        flags = "、".join(
            t(A9_FLAG_NAMES[f]) if f in A9_FLAG_NAMES else f for f in student.a9_flags
        )
        lines.append(t("Vulnerable student (Article 9): {flags}").format(flags=flags))
    lines.append(t("Reason: {cause}").format(cause=cause_name(case.cause, t)))
    if not brief:
        lines.append(
            t("Absent since {since}; reported by {by}, {when}").format(
                since=format_date(case.absent_since, t, lang),
                by=escape(card.reporter) or t("the system"),
                when=when(case.reported_at, t, lang, policy),
            )
        )
    if not card.restricted and not brief:  # the brief card: the history's last entry says it
        if case.guardian_contact in CONTACTS:
            lines.append(
                t("Guardians when phoned: {contact}").format(
                    contact=t(CONTACT_RESULTS[case.guardian_contact or ""])
                )
            )
        if case.note:
            lines.append(t("Note: {note}").format(note=escape(case.note)))
    if card.previous_number:
        lines.append(
            t(
                "Continues case <b>{number}</b> (absent again soon after the return): from day "
                "{day}."
            ).format(number=card.previous_number, day=case.carried_days)
        )
    lines.append(
        t("Stage: {stage}, day {day}").format(stage=t(STAGE_NAMES[state.stage]), day=state.day)
    )
    return lines


def card_lines(card: CaseCard, t: Translate, lang: str, policy: Policy) -> list[str]:
    """The case card: the student, the case, where it stands, the tasks and the history.

    A department liaison (``card.restricted``) sees what the department needs to act: the
    child, the household and the guardians' names, not their phone numbers, the teacher's
    note or what the guardians said.
    """
    state = card.state
    lines = _card_head(card, t, lang, policy, brief=False)
    lines += ["", t("<b>Tasks</b>")]
    tasks = sorted(state.tasks, key=lambda task: (task.done, task.due_at))
    actors = card.actor_names
    lines += [_task_line(task, state.now, t, lang, policy, actors) for task in tasks] or [t("none")]
    lines += ["", t("<b>History</b>")]
    if card.history:
        lines += [
            history_line(
                e.action.at,
                e.action.kind,
                e.action.detail,
                e.actor_name,
                e.actor_role,
                t,
                lang,
                policy,
                card.restricted,
            )
            for e in card.history
        ]
    else:
        lines.append(t("No actions recorded yet."))
    for section in card.sections:
        lines += ["", section]
    return lines


BRIEF_TASKS = 2  # open tasks on the card itself; the rest behind [Details]


def card_brief_lines(card: CaseCard, t: Translate, lang: str, policy: Policy) -> list[str]:
    """The case card as a phone shows it: at most 11 lines (an edit after a tap adds one),
    the student, where the case stands, what is open and the last thing done; [Details]
    (``card_lines``) has the whole record."""
    state = card.state
    head = _card_head(card, t, lang, policy, brief=True)
    open_tasks = sorted((task for task in state.tasks if not task.done), key=lambda k: k.due_at)
    lines = list(head)
    shown = open_tasks if len(open_tasks) <= BRIEF_TASKS else open_tasks[: BRIEF_TASKS - 1]
    lines += [_task_line(task, state.now, t, lang, policy, card.actor_names) for task in shown]
    if len(open_tasks) > len(shown):
        lines.append(t("… and {count} more open tasks").format(count=len(open_tasks) - len(shown)))
    if card.history:
        last = card.history[-1]
        entry = history_line(
            last.action.at,
            last.action.kind,
            last.action.detail,
            last.actor_name,
            last.actor_role,
            t,
            lang,
            policy,
            card.restricted,
        )
        lines.append(t("Last: {entry}").format(entry=entry))
    else:
        lines.append(t("No actions recorded yet."))
    return lines


__all__ = [
    "A9_FLAG_NAMES",
    "CASE_STATUS",
    "card_brief_lines",
    "card_lines",
    "case_label",
    "case_line",
    "cause_name",
    "class_label",
    "history_line",
    "open_case_instead",
    "report_done",
    "report_summary",
    "role_name",
    "steps_ahead",
    "student_label",
    "when",
]


def visit_photos_label(count: int, t: Translate) -> str:
    """The [详情] button that sends a case's visit photos again (at most 12 characters)."""
    return t("Visit photos ({count})").format(count=count)


def visit_photos_caption(
    at: datetime, recorder: str, t: Translate, lang: str, policy: Policy
) -> str:
    """On the first photo of a visit's album: when the visit was and who recorded it."""
    day = at.astimezone(policy.time.tz).date()
    return t("Visit of {date}, recorded by {name}").format(
        date=format_date(day, t, lang), name=escape(recorder or "—")
    )
