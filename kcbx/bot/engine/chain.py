"""The 三包 chain's day-7 message (A5.1, A7.3): the renderer of ``A5-`` tasks.

At A7.3 the ladder owes ``A5-visit``: the group cadre of the household visits, the village
and township cadres are told too (the sweep resolves who holds each role for the household
in :mod:`kcbx.bot.domain.recipients`, and goes up the chain when a holder is revoked or cannot be
reached). Each is told the case facts (as a department is: :mod:`kcbx.bot.services.referrals`), what
is known of the cause (the case's cause and the latest records), and their task: visit the
household by the end of ``[cadres] visit_within_days`` after the day they are told.
"""

from __future__ import annotations

from datetime import date
from html import escape

from kcbx.bot.domain.caseactions import reminder_buttons
from kcbx.bot.domain.dates import format_date
from kcbx.bot.domain.due import DueTask
from kcbx.bot.domain.i18n import Translate
from kcbx.bot.domain.ladder import Task
from kcbx.bot.domain.policy import Policy
from kcbx.bot.domain.roles import ROLE_LABELS
from kcbx.bot.domain.schoolcal import SchoolCalendar
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.referrals import case_lines, need_to_know
from kcbx.bot.services.visits import latest_records, record_line
from kcbx.bot.texts.reminders import heading, language_of
from kcbx.storage.outbox import OutgoingMessage


def visit_deadline(task: Task, policy: Policy, calendar: SchoolCalendar) -> date:
    """The last day of the chain's visit: ``visit_within_days`` after the day it is told."""
    told = policy.time.local_date(task.due_at)
    return calendar.add_days(told, policy.cadres.visit_within_days)


async def render_chain_task(
    services: Services, due: DueTask, gettext: Translate
) -> list[OutgoingMessage]:
    """The message to one cadre of the household's chain (or whoever stands in for them)."""
    t = gettext
    lang = language_of(due.recipient, services.config.default_language)
    policy = services.policy
    facts = await need_to_know(services, due.case, due.student)
    role = due.recipient.role
    told_too = role in due.task.cc and not (due.reason or due.escalated_from)
    lines = [
        heading(due, policy, t, lang, cc=told_too),
        t("<b>三包 task (A5.1)</b>: case <b>{number}</b>, day {day} of absence").format(
            number=escape(due.case.number), day=max(due.state.day, 0)
        ),
        t(
            "Not back after {days} days: the child is a dropout (A7.3); the school has reported it."
        ).format(days=policy.ladder.dropout_day),
        *case_lines(facts, t, lang),
    ]
    records = latest_records(await services.cases.actions(due.case.id))
    if records:
        tz = policy.time.tz
        lines.append(
            t("Done so far: {records}").format(
                records=t("; ").join(record_line(a, t, lang, tz) for a in records)
            )
        )
    else:
        lines.append(t("No call or visit is recorded yet."))
    if told_too:
        lines.append(
            t(
                "You are told as the {role} of this household; the group cadre leads the visit."
            ).format(role=t(ROLE_LABELS[role]))
        )
    deadline = visit_deadline(due.task, policy, services.calendar)
    lines.append(
        t("Your task: {what}, by {date}.").format(
            what=t(due.task.what), date=format_date(deadline, t, lang)
        )
    )
    buttons = reminder_buttons(due.case.id, due.task.code, t, can_return=False)
    return [OutgoingMessage(text="\n".join(lines), buttons=buttons)]
