"""The 三包 chain's day-7 message (A5.1, A7.3): the renderer of ``A5-`` tasks.

At A7.3 the ladder owes ``A5-visit``: the group cadre of the household visits, the village
and township cadres are told too (the sweep resolves who holds each role for the household
in :mod:`kcbx.bot.domain.ladder.recipients`, and goes up the chain when a holder is revoked
or cannot be
reached). Each is told the case facts (as a department is: :mod:`kcbx.bot.texts.referrals`), what
is known of the cause (the case's cause and the latest records), and their task: visit the
household by the end of ``[cadres] visit_within_days`` after the day they are told.
"""

from __future__ import annotations

from datetime import date

from kcbx.bot.domain.caseactions import reminder_buttons
from kcbx.bot.domain.i18n import Translate
from kcbx.bot.domain.ladder.due import DueTask
from kcbx.bot.domain.ladder.state import Task
from kcbx.bot.domain.policy.tree import Policy
from kcbx.bot.domain.schoolcal import SchoolCalendar
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.referrals import need_to_know
from kcbx.bot.services.visits import latest_records
from kcbx.bot.texts.chain import ChainTask, chain_task_text
from kcbx.bot.texts.reminders import heading, language_of
from kcbx.storage.outbox import OutgoingMessage


def visit_deadline(task: Task, policy: Policy, calendar: SchoolCalendar) -> date:
    """The last day of the chain's visit: the task's due date (``visit_within_days`` after
    the day it is told, on a working day)."""
    return policy.time.local_date(task.due_at)


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
    task = ChainTask(
        facts=facts,
        day=due.state.day,
        dropout_day=policy.ladder.dropout_day,
        records=latest_records(await services.cases.actions(due.case.id)),
        role=role,
        told_too=told_too,
        what=due.task.what,
        deadline=visit_deadline(due.task, policy, services.calendar),
    )
    text = chain_task_text(
        task, heading(due, policy, t, lang, cc=told_too), t, lang, policy.time.tz
    )
    buttons = reminder_buttons(due.case.id, due.task.code, t, can_return=False)
    return [OutgoingMessage(text=text, buttons=buttons)]
