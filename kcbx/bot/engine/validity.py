"""A10: the measures are in force until 2028-12-15. From 90 days before (policy), the
administrators are told once a week that the policy file will need the new measures' numbers;
the bot keeps working on the policy file it has. Likewise when school days are counted and
the installed holiday calendar does not know this year's public holidays."""

from __future__ import annotations

from datetime import date

from kcbx.bot.domain.dates import format_date
from kcbx.bot.domain.i18n import N_, translator
from kcbx.bot.domain.ladder.reminders import quiet_hours_next_send
from kcbx.bot.domain.policy.tree import DayCounting
from kcbx.bot.domain.roles import Role
from kcbx.bot.domain.schoolcal import SchoolCalendar
from kcbx.bot.runtime.services import Services
from kcbx.storage.outbox import OutgoingMessage

ENDING = N_(
    "The measures kcbx applies ({document}) are in force until {date} (Article 10). "
    "kcbx keeps applying its current policy file; when the new measures are published, put "
    "their numbers in the policy file and check it with: kcbx policy check FILE"
)
ENDED = N_(
    "The measures kcbx applies ({document}) expired on {date} (Article 10). kcbx keeps "
    "applying its current policy file until a new one is loaded (kcbx policy check FILE)."
)
NO_HOLIDAYS = N_(
    "Ladder days are counted in school days, but the installed holiday calendar does not know "
    "the public holidays of {year}: only weekends and the school's vacations are skipped. "
    "Please update kcbx (the chinesecalendar package) when the holidays are published."
)


async def queue_validity_warnings(services: Services) -> int:
    """Queue this week's warnings to the administrators (once per person and ISO week)."""
    policy = services.policy
    now = services.clock.now()
    today = now.astimezone(policy.time.tz).date()
    year, week, _ = today.isocalendar()
    warnings: list[tuple[str, str, dict[str, object]]] = []
    if policy.validity.needs_warning(today):
        text = ENDED if today > policy.validity.ends_on else ENDING
        shown = {"date": policy.validity.ends_on, "document": policy.validity.document}
        warnings.append(("a10", text, shown))
    counting = policy.ladder.day_counting
    if counting == DayCounting.SCHOOL_DAYS and not SchoolCalendar.knows_holidays(today.year):
        warnings.append(("cal", NO_HOLIDAYS, {"year": today.year}))
    if not warnings:
        return 0
    admins = [
        p
        for p in await services.people.list_all()
        if p.role == Role.ADMIN and p.active and p.chat_id is not None
    ]
    queued = 0
    for person in admins:
        lang = person.lang or services.config.default_language
        t = translator(lang)
        for code, msgid, params in warnings:
            shown = {
                k: format_date(v, t, lang) if isinstance(v, date) else v for k, v in params.items()
            }
            assert person.chat_id is not None
            if await services.outbox.enqueue(
                key=f"{code}:{person.id}:{year}-W{week:02d}",
                chat_id=person.chat_id,
                message=OutgoingMessage(text="⚠ " + t(msgid).format(**shown)),
                now=now,
                not_before=quiet_hours_next_send(now, policy),
                person_id=person.id,
            ):
                queued += 1
    return queued
