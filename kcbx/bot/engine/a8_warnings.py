"""A8 warnings to the responsible leaders through the outbox, once per case (or unit), rule
and period (key ``a8:{rule}:{kind}:{subject}:{period}:{person}``)."""

from __future__ import annotations

from kcbx.bot.domain.caseactions import case_data
from kcbx.bot.domain.i18n import translator
from kcbx.bot.domain.reminders import quiet_hours_next_send
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.accountability import warning_key, warnings_due
from kcbx.bot.texts.accountability import warning_message
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


__all__ = ["queue_warnings"]
