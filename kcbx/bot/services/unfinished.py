"""A multi-step conversation left unfinished: the person is told that nothing was saved.

A conversation timeout fires with no message to answer, so the bot speaks on its own
initiative: through the outbox (exactly once, never at night).
"""

from __future__ import annotations

from kcbx.bot.domain.clock import to_iso
from kcbx.bot.domain.i18n import N_, translator
from kcbx.bot.domain.ladder.reminders import quiet_hours_next_send
from kcbx.bot.runtime.services import Services
from kcbx.storage.outbox import OutgoingMessage

UNFINISHED: dict[str, str] = {
    "report": N_(
        "The report was left unfinished and has been closed. Nothing was saved; send "
        "/report to start again."
    ),
    "visit": N_(
        "The visit record was left unfinished and has been closed. Nothing was saved; send "
        "/visit to start again."
    ),
    "closing": N_(
        "Closing the case was left unfinished and has been stopped. Nothing was saved; "
        "please start again."
    ),
    "delivery": N_(
        "The delivery record was left unfinished and has been closed. Nothing was saved."
    ),
}


KEPT: dict[str, str] = {
    "report": N_(
        "The bot was restarted. Your report was kept: answer the last question to go on, or "
        "send /cancel to drop it."
    ),
    "visit": N_(
        "The bot was restarted. Your visit record was kept: answer the last question to go "
        "on, or send /cancel to drop it."
    ),
    "closing": N_(
        "The bot was restarted. Closing the case was kept: answer the last question to go on, "
        "or send /cancel to drop it."
    ),
    "delivery": N_(
        "The bot was restarted. Your delivery record was kept: answer the last question to go "
        "on, or send /cancel to drop it."
    ),
}


async def tell(services: Services, telegram_id: int, what: str, *, kept: bool) -> bool:
    """After a restart: your unfinished <what> was kept (or, too old, closed); False if there
    is nobody active to tell."""
    texts = KEPT if kept else UNFINISHED
    if what not in texts:
        return False
    person = await services.people.by_telegram(telegram_id)
    if person is None or not person.active or person.chat_id is None:
        return False
    now = services.clock.now()
    t = translator(person.lang or services.config.default_language)
    label = "kept" if kept else "timeout"
    return await services.outbox.enqueue(
        key=f"{what}-{label}:to={person.id}:at={to_iso(now)}",
        chat_id=person.chat_id,
        message=OutgoingMessage(text=t(texts[what])),
        now=now,
        not_before=quiet_hours_next_send(now, services.policy),
        person_id=person.id,
    )


async def tell_left_unfinished(services: Services, telegram_id: int, what: str) -> bool:
    """Queue "your unfinished <what> was closed, nothing was saved"; False if there is nobody
    active to tell."""
    return await tell(services, telegram_id, what, kept=False)
