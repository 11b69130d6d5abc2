"""A8 through the outbox: the warnings to the responsible leaders as one digest per person
(``a8w:{person}:{iso-week}`` on Mondays, ``a8w:{person}:{date}`` when a warning not told yet
cannot wait for the next week; each warning, ``a8:{rule}:{kind}:{subject}:{period}:{person}``,
is remembered as told), and each new finding of the school year's record to the leaders it
names and the bureau (``a8f:{finding}:{person}``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from kcbx.bot.domain.a8.warnings import Warning
from kcbx.bot.domain.i18n import translator
from kcbx.bot.domain.ladder.reminders import in_quiet_hours, quiet_hours_next_send
from kcbx.bot.domain.model import Person
from kcbx.bot.domain.roles import Role
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.a8year import addressed, finding_views, reachable_of
from kcbx.bot.services.accountability import record_year, warning_key, warnings_due
from kcbx.bot.services.caseviews import unit_tree
from kcbx.bot.texts.accountability import finding_message, warning_digest
from kcbx.storage.outbox import OutgoingMessage


async def queue_warnings(services: Services) -> int:
    """One digest per responsible person: the week's from Monday's business-day start
    (every warning that stands), and between two weeks one a day at most, only when a
    warning not told yet falls due before the next week's (not on a Monday: that day has
    the week's). How many digests were queued."""
    due = await warnings_due(services)
    if not due.warnings:
        return 0
    now = due.now
    tz = services.policy.time.tz
    local = now.astimezone(tz)
    monday = local.date() - timedelta(days=local.weekday())
    slot = datetime.combine(monday, services.policy.time.business_day_start, tzinfo=tz)
    week = f"{local.isocalendar()[0]}-W{local.isocalendar()[1]:02d}"
    mine: dict[int, tuple[Person, list[Warning]]] = {}
    for warning, people in due.warnings:
        for person in people:
            mine.setdefault(person.id, (person, []))[1].append(warning)
    queued = 0
    for person, warns in mine.values():
        keys = {warning_key(w, person.id, tz, now): w for w in warns}
        new = set(keys) - await services.a8.warned(keys)
        weekly = f"a8w:{person.id}:{week}"
        if local >= slot and not await services.outbox.has_key(weekly):
            key = weekly
        elif (
            local.date() != monday  # Monday has the week's: one a day at most
            and not in_quiet_hours(now, services.policy)  # queued at night, it went tomorrow
            and any(_before(keys[k], slot + timedelta(weeks=1)) for k in new)
        ):
            key = f"a8w:{person.id}:{local.date().isoformat()}"
        else:
            continue
        if await _send_digest(services, person, key, warns, due.unit_names, now):
            await services.a8.mark_warned(keys, person.id, now=now)
            queued += 1
    return queued


def _before(warning: Warning, instant: datetime) -> bool:
    return warning.deadline is None or warning.deadline <= instant


async def _send_digest(
    services: Services,
    person: Person,
    key: str,
    warns: list[Warning],
    names: dict[int, str],
    now: datetime,
) -> bool:
    lang = person.lang or services.config.default_language
    message = warning_digest(warns, names, translator(lang), lang, services.policy)
    assert person.chat_id is not None
    return await services.outbox.enqueue(
        key=key,
        chat_id=person.chat_id,
        message=OutgoingMessage(text=message.text, buttons=message.buttons),
        now=now,
        not_before=quiet_hours_next_send(now, services.policy),
        person_id=person.id,
    )


async def record_and_tell(services: Services) -> int:
    """Add this pass's findings to the school year's record and tell the people each names
    (the step's 分管 or 主要 leader, or the school's principal and lead) and the bureau."""
    new = await record_year(services)
    if not new:
        return 0
    tree = await unit_tree(services)
    bureau = await services.directory.reachable_people((Role.BUREAU_STAFF,))
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
