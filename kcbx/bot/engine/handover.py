"""What delivery asks of the sweep: hand a bounced reminder's tasks over, and hold the night.

A 403 at delivery marks the person unreachable and :func:`hand_over` gives their tasks to the
supervisor at once (``Delivery.on_unreachable``). Nothing of the sweep is sent between 20:00
and 08:00, not even a retry (:func:`quiet_hold`, ``Delivery.hold``).
"""

from __future__ import annotations

import logging
from datetime import datetime

from kcbx.bot.domain.ladder.due import DueTask
from kcbx.bot.domain.ladder.recipients import CasePlace, Directory, route, stand_in_role
from kcbx.bot.domain.ladder.reminders import Send, in_quiet_hours, quiet_hours_next_send
from kcbx.bot.domain.model import Person
from kcbx.bot.engine.delivery import HoldHook, UnreachableHook
from kcbx.bot.engine.keys import OUTBOX_PREFIXES
from kcbx.bot.engine.loading import CaseFiles, load_case_files, load_places
from kcbx.bot.engine.planning import Notification, TaskStep
from kcbx.bot.engine.queueing import render_messages, write_sweep
from kcbx.bot.runtime.services import Services
from kcbx.storage import reminder_history as kinds
from kcbx.storage.outbox import OutboxItem
from kcbx.storage.reminder_history import SendRecord

log = logging.getLogger(__name__)


async def hand_over(services: Services, item: OutboxItem) -> int:
    """A reminder bounced (403; the person is already marked unreachable): the tasks it
    carried go to the supervisor at once. Returns the messages queued."""
    if item.person_id is None:
        return 0
    sends = [
        s
        for s in await services.reminder_history.sends_of_message(item.dedup_key)
        if s.person_id == item.person_id and s.kind not in (kinds.TOLD, kinds.CC)
    ]
    if not sends:
        return 0
    now = services.clock.now()
    cases = [c for c in [await services.cases.get(i) for i in {s.case_id for s in sends}] if c]
    files = await load_case_files(
        services,
        [c for c in cases if c.is_open or c.status == "returned"],  # A4.2 check-ins
    )
    places, directory = await load_places(services, files.enrolled.values())
    blocked = (await services.directory.people([item.person_id])).get(item.person_id)
    steps = [
        step
        for send in sends
        if (step := _handed_over(services, files, send, places, directory, blocked, now))
    ]
    if not steps:
        return 0
    notifications = [n for s in steps for n in s.notifications]
    outgoing = await render_messages(services, notifications, places)
    return await write_sweep(services, steps, outgoing, now)


def _handed_over(
    services: Services,
    files: CaseFiles,
    send: SendRecord,
    places: dict[int, CasePlace],
    directory: Directory,
    blocked: Person | None,
    now: datetime,
) -> TaskStep | None:
    """Who has the task of one bounced send now, if anyone new."""
    case = next((c for c in files.cases if c.id == send.case_id), None)
    enrolled = files.enrolled.get(case.student_id) if case else None
    if case is None or enrolled is None:
        return None
    state = files.state(case, services, now)
    task = next((t for t in state.tasks if t.key == send.task_key), None)
    if task is None or task.done:
        return None
    place = places[enrolled.student.id]
    history = files.histories_of(case.id).get(task.key)
    step = TaskStep(case, enrolled.student.name, task, now, Send(send.round, (send.role,)))
    if send.kind == kinds.REMIND:
        if history is not None and history.escalated_at is not None:
            return None
        up = route(task.role, place, directory, task.department)
        if not up.reason or up.role is None:
            return None  # others of the role were told too, or nobody is left at all
        step.escalate_to, step.reason = up.role, kinds.UNREACHABLE
    else:  # the supervisor who was handed the task is unreachable: one more step up
        above = stand_in_role(send.role)
        if above is None:
            return None
        up = route(above, place, directory, exclude={send.person_id})
        if up.role is None:
            return None
    step.notifications = [
        Notification(
            DueTask(case, enrolled.student, state, task, send.round, p, blocked, "unreachable"),
            kinds.UNREACHABLE,
            up.role or "",
            0,
        )
        for p in up.people
    ]
    return step


def quiet_hold(services: Services) -> HoldHook:
    """``Delivery.hold``: a reminder due in the quiet hours (a retry, a restart at night)
    waits for their end; nothing of the sweep is sent between 20:00 and 08:00."""

    def hold(item: OutboxItem, now: datetime) -> datetime | None:
        if not item.dedup_key.startswith(OUTBOX_PREFIXES):
            return None
        if not in_quiet_hours(now, services.policy):
            return None
        return quiet_hours_next_send(now, services.policy)

    return hold


def unreachable_hook(services: Services) -> UnreachableHook:
    """``Delivery.on_unreachable``: hand the bounced tasks over; never fail the drain."""

    async def hook(item: OutboxItem) -> None:
        try:
            await hand_over(services, item)
        except Exception:  # logged; the person stays marked, the next sweep routes around
            log.exception("hand-over of %s failed", item.dedup_key)

    return hook
