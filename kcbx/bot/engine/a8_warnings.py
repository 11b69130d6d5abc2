"""A8 through the outbox: the warnings to the responsible leaders, once per case (or unit),
rule and period (key ``a8:{rule}:{kind}:{subject}:{period}:{person}``), and each new finding
of the school year's record to the leaders it names and the bureau (``a8f:{finding}:{person}``).
"""

from __future__ import annotations

from kcbx.bot.domain.caseactions import case_data
from kcbx.bot.domain.i18n import translator
from kcbx.bot.domain.reminders import quiet_hours_next_send
from kcbx.bot.domain.roles import Role
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.a8year import addressed, finding_views, reachable_of
from kcbx.bot.services.accountability import record_year, warning_key, warnings_due
from kcbx.bot.services.caseviews import unit_tree
from kcbx.bot.texts.accountability import finding_message, warning_message
from kcbx.storage.outbox import OutgoingMessage


async def queue_warnings(services: Services) -> int:
    """Queue the warnings due now (each once per key); how many were queued."""
    due = await warnings_due(services)
    now = due.now
    not_before = quiet_hours_next_send(now, services.policy)
    tz = services.policy.time.tz
    queued = 0
    for warning, people in due.warnings:
        for person in people:
            key = warning_key(warning, person.id, tz, now)
            if await services.outbox.has_key(key):
                continue
            lang = person.lang or services.config.default_language
            t = translator(lang)
            text = warning_message(warning, due.unit_names, t, lang, services.policy)
            subject = warning.case
            buttons = (((t("Open the case"), case_data(subject.case_id)),),) if subject else ()
            assert person.chat_id is not None
            if await services.outbox.enqueue(
                key=key,
                chat_id=person.chat_id,
                message=OutgoingMessage(text=text, buttons=buttons),
                now=now,
                not_before=not_before,
                person_id=person.id,
                case_id=subject.case_id if subject else None,
            ):
                queued += 1
    return queued


async def record_and_tell(services: Services) -> int:
    """Add this pass's findings to the school year's record and tell the people each names
    (the step's 分管 or 主要 leader, or the school's principal and lead) and the bureau."""
    new = await record_year(services)
    if not new:
        return 0
    tree = await unit_tree(services)
    bureau = await services.reports.reachable_people((Role.BUREAU_STAFF,))
    now = services.clock.now()
    not_before = quiet_hours_next_send(now, services.policy)
    queued = 0
    for line in await finding_views(services, new, tree):
        finding = line.finding
        found = await addressed(services, finding.rule, finding.level, finding.unit_id)
        district = tree.nearest(finding.unit_id, "district")
        people = reachable_of(found) + [
            p for p in bureau if district is None or tree.within(p.unit_id, district.id)
        ]
        for person in {p.id: p for p in people}.values():
            lang = person.lang or services.config.default_language
            text = finding_message(line, services.policy, translator(lang), lang)
            assert person.chat_id is not None
            if await services.outbox.enqueue(
                key=f"a8f:{finding.id}:{person.id}",
                chat_id=person.chat_id,
                message=OutgoingMessage(text=text),
                now=now,
                not_before=not_before,
                person_id=person.id,
            ):
                queued += 1
    return queued


__all__ = ["queue_warnings", "record_and_tell"]
