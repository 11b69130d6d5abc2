"""What a reminder says: the generic reminder, the escalation, the hand-over, the morning
digest (rules A7.1-A7.6).

Every reminder names the student (escaped), the case number (bold), the rule, the task and
its deadline (``3月5日（周二） 18:00``), with the buttons of :mod:`kcbx.bot.domain.caseactions`:
"Received", the task's action, "Back at school" (school staff only) and the case card. An
escalation says who did not act and since when; a hand-over says that the holder of the role
cannot be reached, or that nobody holds it. Texts are HTML and stay under Telegram's 4096
characters; a digest is paged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from kcbx.bot.domain.caseactions import (
    CASE_LABEL,
    RECEIVED_LABEL,
    RETURN_CONFIRMERS,
    Buttons,
    ack_data,
    action_button,
    case_data,
    do_data,
    may_record,
    reminder_buttons,
    snooze_row,
    without,
)
from kcbx.bot.domain.dates import format_date, format_date_time
from kcbx.bot.domain.glossary import cited
from kcbx.bot.domain.grades import class_words
from kcbx.bot.domain.i18n import Translate, normalize_language
from kcbx.bot.domain.ladder.due import DueTask
from kcbx.bot.domain.ladder.follow_up import is_follow_up
from kcbx.bot.domain.ladder.state import Task
from kcbx.bot.domain.model import Person
from kcbx.bot.domain.policy.tree import DEPARTMENTS, Policy
from kcbx.bot.domain.roles import ROLE_LABELS, Role
from kcbx.storage.outbox import OutgoingMessage

MAX_TEXT = 4096  # Telegram's limit for a message text
PAGE_TEXT = 3500  # a digest page stops adding entries here (leaves room for the heading)
PAGE_ENTRIES = 6  # and after this many entries: one button each, six a message


def role_name(role: str, t: Translate) -> str:
    try:
        return t(ROLE_LABELS[Role(role)])
    except ValueError:
        return role


def when_text(instant: datetime, policy: Policy, t: Translate, lang: str) -> str:
    """``2024年3月5日（周二） 18:00`` in the policy's time zone."""
    local = instant.astimezone(policy.time.tz)
    return format_date_time(local, t, lang)


def task_text(task: Task, t: Translate) -> str:
    """The task, with its department for an A6/A9 task."""
    what = t(task.what)
    if task.department and task.department in DEPARTMENTS:
        what += t(" ({department})").format(department=t(DEPARTMENTS[task.department]))
    return what


@dataclass(frozen=True)
class Subject:
    """The facts every reminder line needs, ready to print."""

    number: str  # bold
    student: str  # bold, escaped
    place: str  # escaped: school, grade and class
    day: int
    rule: str
    task: str
    due: str
    overdue: bool  # sent after the deadline: "overdue since", never a past "due"


def subject(due: DueTask, school_name: str, policy: Policy, t: Translate, lang: str) -> Subject:
    student = due.student
    place = escape(school_name)
    if student.grade is not None and student.class_name:
        grade = escape(class_words(student.grade, student.class_name, t))
        place = t("{school}, {grade}").format(school=place, grade=grade)
    task = task_text(due.task, t)
    if is_follow_up(due.task.code) and due.case.closed_at is not None:  # A4.2
        back = format_date(policy.time.local_date(due.case.closed_at), t, lang)
        task += t(" (back at school since {date})").format(date=back)
    return Subject(
        number=f"<b>{escape(due.case.number)}</b>",
        student=f"<b>{escape(student.name)}</b>",
        place=place,
        day=max(due.state.day, 0),
        rule=cited(due.task.rule, t),  # the article: users never see rule IDs
        task=task,
        due=when_text(due.task.due_at, policy, t, lang),
        overdue=due.state.now > due.task.due_at,
    )


def due_line(s: Subject, t: Translate) -> str:
    """``期限：…`` while it runs; ``期限已过：…`` once the deadline has passed."""
    if s.overdue:
        return t("Overdue since: {when}").format(when=s.due)
    return t("Due: {when}").format(when=s.due)


def heading(due: DueTask, policy: Policy, t: Translate, lang: str, *, cc: bool = False) -> str:
    """The first line: what kind of message this is, and why it reaches this person.

    ``cc``: a copy for information to a cc role (round 1 only; ``due.reason`` stays '')."""
    source = due.escalated_from
    if due.reason == "escalated":
        since = when_text(due.task.due_at, policy, t, lang)
        if source is None:
            return t(
                "⚠️ Escalated to you: the {role} has not done this task since {since} "
                "({count} reminders). Please see that it is done."
            ).format(role=role_name(due.task.role, t), since=since, count=due.round)
        return t(
            "⚠️ Escalated to you: <b>{name}</b> ({role}) has not done this task since "
            "{since} ({count} reminders). Please see that it is done."
        ).format(
            name=escape(source.name),
            role=role_name(source.role, t),
            since=since,
            count=due.round,
        )
    if due.reason == "unreachable" and source is not None:
        return t(
            "⚠️ Handed to you: <b>{name}</b> ({role}) cannot be reached through this bot "
            "(blocked it or never joined). Please act on this task in their place."
        ).format(name=escape(source.name), role=role_name(source.role, t))
    if due.reason in ("unreachable", "no_one"):
        return t(
            "⚠️ Handed to you: nobody can be reached as {role} for this student. "
            "Please act on this task."
        ).format(role=role_name(due.task.role, t))
    if cc:
        return t("For your information: a task of the {role}").format(
            role=role_name(due.task.role, t)
        )
    if due.round > 1:
        return t("⏰ Reminder {round}: this task is still not done").format(round=due.round)
    return t("⏰ Reminder: a task is due")


def body(s: Subject, t: Translate) -> str:
    """Four lines: the student, the case and its article, the task, the deadline."""
    return "\n".join(
        (
            t("Student: {student} ({place})").format(student=s.student, place=s.place),
            t("Case: {number}, day {day}; rule: {rule}").format(
                number=s.number, day=s.day, rule=s.rule
            ),
            t("Task: {task}").format(task=s.task),
            due_line(s, t),
        )
    )


def buttons_for(due: DueTask, t: Translate, *, cc: bool = False, snooze_limit: int = 0) -> Buttons:
    """The reminder's buttons; a copy for information has "Received" and the case only. The
    owner's own reminder offers "remind me later" while ``snooze_limit`` allows."""
    case_id, code = due.case.id, due.task.code
    if cc:
        return (
            ((t(RECEIVED_LABEL), ack_data(case_id, code)), (t(CASE_LABEL), case_data(case_id))),
        )
    can_return = due.case.is_open and due.recipient.role in RETURN_CONFIRMERS
    rows = reminder_buttons(case_id, code, t, can_return=can_return)
    if not may_press(due.recipient.role, code):  # e.g. the bureau standing in for a department
        rows = without(rows, do_data(case_id, code))
    if not due.reason and due.task.snoozes < snooze_limit:
        rows = (*rows, snooze_row(case_id, code, t))
    return rows


def may_press(role: str, task_code: str) -> bool:
    """Whether a reminder's one-press action is the reader's to press: a task's button is
    offered only to whom may record it (a liaison's own department is checked on the press,
    kcbx.bot.services.cases.record_task). A home visit's button is for whoever may record a
    visit (the visits feature asks)."""
    if action_button(0, task_code, lambda s: s) is None or task_code.endswith("-visit"):
        return True
    try:
        reader = Role(role)
    except ValueError:
        return False
    return reader == Role.DEPARTMENT_LIAISON or may_record(reader, task_code)


def language_of(person: Person, default: str) -> str:
    return normalize_language(person.lang or default, default)


def reminder_message(
    due: DueTask, school_name: str, policy: Policy, t: Translate, lang: str, *, cc: bool = False
) -> OutgoingMessage:
    """One reminder (or escalation, or hand-over, or copy) about one task, for one person."""
    s = subject(due, school_name, policy, t, lang)
    text = heading(due, policy, t, lang, cc=cc) + "\n" + body(s, t)  # 5 lines: a phone's
    limit = policy.tasks.snooze_limit
    return OutgoingMessage(text=_fit(text), buttons=buttons_for(due, t, cc=cc, snooze_limit=limit))


def told_message(
    due: DueTask,
    to: Sequence[Person],
    to_role: str,
    school_name: str,
    policy: Policy,
    t: Translate,
    lang: str,
) -> OutgoingMessage:
    """To the holder of the role: the task went to their supervisor."""
    s = subject(due, school_name, policy, t, lang)
    names = t(", ").join(f"<b>{escape(p.name)}</b>" for p in to)
    text = (
        t(
            "📣 This task was not done after {count} reminders and has been escalated to "
            "{names} ({role}). Please still do it and record it."
        ).format(count=due.round, names=names, role=role_name(to_role, t))
        + "\n"
        + body(s, t)
    )
    rows = reminder_buttons(due.case.id, due.task.code, t, can_return=False)
    if due.recipient.role == Role.DEPARTMENT_LIAISON:  # accepting was "received"; no card (A6)
        rows = without(rows, ack_data(due.case.id, due.task.code), case_data(due.case.id))
    return OutgoingMessage(text=_fit(text), buttons=tuple(row for row in rows if row))


@dataclass(frozen=True)
class DigestEntry:
    """One line of a digest: a task for the recipient, or a note that it was escalated."""

    due: DueTask
    school_name: str
    told_to: tuple[Person, ...] = ()  # set on a note "escalated to ..."
    told_role: str | None = None
    cc: bool = False  # a copy for information


def _note(entry: DigestEntry, policy: Policy, t: Translate, lang: str) -> str:
    due = entry.due
    if entry.told_role is not None:
        names = t(", ").join(escape(p.name) for p in entry.told_to)
        return t("escalated to {names} ({role}) after {count} reminders").format(
            names=names, role=role_name(entry.told_role, t), count=due.round
        )
    source = due.escalated_from
    if due.reason == "escalated":
        who = escape(source.name) if source else role_name(due.task.role, t)
        return t("escalated: {name} has not done it").format(name=who)
    if due.reason in ("unreachable", "no_one"):
        who = escape(source.name) if source else role_name(due.task.role, t)
        return t("handed to you: {name} cannot be reached").format(name=who)
    if entry.cc:
        return t("for your information")
    if due.round > 1:
        return t("reminder {round}").format(round=due.round)
    return ""


def _entry_text(n: int, entry: DigestEntry, policy: Policy, t: Translate, lang: str) -> str:
    s = subject(entry.due, entry.school_name, policy, t, lang)
    lines = [
        t("{n}. {number} {student} ({place}), day {day}").format(
            n=n, number=s.number, student=s.student, place=s.place, day=s.day
        ),
        "   " + s.task,
        "   " + due_line(s, t),
    ]
    note = _note(entry, policy, t, lang)
    if note:
        lines.append("   ⚠️ " + note)
    return "\n".join(lines)


def _entry_buttons(n: int, entry: DigestEntry, t: Translate) -> tuple[tuple[str, str], ...]:
    """One button an entry, so that a page of six fits a phone: the task's own action (which
    also acknowledges it), else "Received", else the case (whose card has the rest)."""
    due = entry.due
    case_id, code = due.case.id, due.task.code
    action = None if entry.cc else action_button(case_id, code, t)
    if action is not None and not may_press(due.recipient.role, code):
        action = None
    if action is None and entry.told_role is None:
        action = (t(RECEIVED_LABEL), ack_data(case_id, code))
    label, data = action or (t(CASE_LABEL), case_data(case_id))
    return ((t("{n}. {label}").format(n=n, label=label), data),)


MAX_PAGES = 3  # one person, one sweep: at most this many messages (the rest is counted)


def _is_bundled(entry: DigestEntry) -> bool:
    """A department task handed to the bureau's clerk: nobody can be told there (A6)."""
    due = entry.due
    return (
        due.task.department is not None
        and due.task.role == Role.DEPARTMENT_LIAISON
        and due.reason in ("unreachable", "no_one")
    )


def _bundles(entries: Sequence[DigestEntry], t: Translate) -> list[str]:
    """One line per department without a reachable liaison: "区民政局暂无联络员：3件待转介"."""
    by_department: dict[str, list[str]] = {}
    for entry in entries:
        code = entry.due.task.department or ""
        by_department.setdefault(code, []).append(escape(entry.due.case.number))
    lines = []
    for code, numbers in sorted(by_department.items()):
        shown = t(", ").join(numbers[:10]) + (t(" …") if len(numbers) > 10 else "")
        lines.append(
            t(
                "{department} has no liaison who can be reached: {count} cases to refer ({numbers})"
            ).format(department=t(DEPARTMENTS.get(code, code)), count=len(numbers), numbers=shown)
        )
    return lines


def digest_messages(
    entries: Sequence[DigestEntry],
    policy: Policy,
    t: Translate,
    lang: str,
    max_pages: int = MAX_PAGES,
) -> list[OutgoingMessage]:
    """Several tasks released to one person at once, as one message a page (4096 chars),
    at most ``max_pages``: what does not fit is counted on the last page (/cases lists it).
    Department tasks handed over for want of a liaison come as one line per department."""
    bundled = [e for e in entries if _is_bundled(e)]
    listed = [e for e in entries if not _is_bundled(e)]
    blocks = [
        (_entry_text(n, e, policy, t, lang), _entry_buttons(n, e, t))
        for n, e in enumerate(listed, start=1)
    ]
    if bundled:
        blocks.insert(0, ("\n".join("📮 " + line for line in _bundles(bundled, t)), ()))
    pages: list[list[tuple[str, tuple[tuple[str, str], ...]]]] = [[]]
    size = 0
    for block in blocks:
        page = pages[-1]
        if page and (size + len(block[0]) > PAGE_TEXT or len(page) >= PAGE_ENTRIES):
            pages.append([])
            page, size = pages[-1], 0
        page.append(block)
        size += len(block[0]) + 2
    left = sum(len(p) for p in pages[max(1, max_pages) :])
    pages = pages[: max(1, max_pages)]
    messages = []
    for index, page in enumerate(pages, start=1):
        if len(pages) > 1:
            head = t("📋 You have {count} tasks to act on (page {page} of {pages})").format(
                count=len(entries), page=index, pages=len(pages)
            )
        else:
            head = t("📋 You have {count} tasks to act on").format(count=len(entries))
        text = head + "\n\n" + "\n\n".join(b[0] for b in page)
        if left and index == len(pages):
            text += "\n\n" + t("… and {count} more: send /cases to see them all.").format(
                count=left
            )
        rows = tuple(b[1] for b in page if b[1])
        messages.append(OutgoingMessage(text=_fit(text), buttons=rows))
    return messages


def liaison_gap_message(departments: Sequence[str], t: Translate) -> OutgoingMessage:
    """To the administrator: departments whose referrals nobody can receive (A6)."""
    names = t(", ").join(t(DEPARTMENTS.get(code, code)) for code in sorted(departments))
    text = t(
        "📮 These departments have no liaison who can be reached, so their referrals go to "
        "the education bureau: {names}. Please invite a liaison for each (/invite)."
    ).format(names=names)
    return OutgoingMessage(text=_fit(text))


def _fit(text: str) -> str:
    """Never over Telegram's limit. The texts are short; for odd data (a huge name) the
    formatting is dropped and the plain text cut, so no tag or entity is left half-open."""
    if len(text) <= MAX_TEXT:
        return text
    plain = _TAG.sub("", text)[: MAX_TEXT - 1]
    amp = plain.rfind("&")
    if amp > plain.rfind(";"):
        plain = plain[:amp]
    return plain.rstrip() + "…"


_TAG = re.compile(r"</?b>")


__all__ = [
    "MAX_PAGES",
    "DigestEntry",
    "digest_messages",
    "due_line",
    "language_of",
    "liaison_gap_message",
    "reminder_message",
    "told_message",
    "when_text",
]
