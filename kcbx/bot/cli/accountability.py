"""``kcbx accountability --year 2023-2024``: the school year's A8 findings for 年终考核, and
``kcbx leader-rank PHONE chief|deputy|none``: which leader of a township, department or the
bureau is the main one (主要领导) and which the one in charge (分管领导)."""

from __future__ import annotations

from kcbx.bot.domain.a8.rules import CHIEF, DEPUTY
from kcbx.bot.domain.i18n import translator
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.a8year import parse_school_year, year_record
from kcbx.bot.services.accountability import school_year_of
from kcbx.bot.texts.accountability import year_lines
from kcbx.bot.texts.reply import plain

EXIT_USAGE = 2
RANKS = {"chief": CHIEF, "deputy": DEPUTY, "none": None}


async def print_year(services: Services, year_text: str | None, lang: str) -> int:
    """Print a school year's findings (this school year when ``year_text`` is None)."""
    year = parse_school_year(year_text) if year_text else None
    if year_text and year is None:
        print(f"not a school year: {year_text!r} (e.g. 2023-2024)")
        return EXIT_USAGE
    if year is None:
        year = school_year_of(services, services.clock.now())
    record = await year_record(services, year)
    for line in year_lines(record, services.policy, translator(lang), lang):
        print(plain(line))
    return 0


async def set_rank(services: Services, phone: str, rank: str, actor: str) -> int:
    """Set a leader's rank: chief (主要领导), deputy (分管领导) or none."""
    if rank not in RANKS:
        print(f"rank must be one of: {', '.join(RANKS)}")
        return EXIT_USAGE
    person = await services.people.by_phone(phone)
    if person is None:
        print(f"nobody with phone {phone}")
        return 1
    await services.a8.set_leader_rank(person.id, RANKS[rank], actor=actor, now=services.clock.now())
    print(f"{person.name} ({person.role.value}): {rank}")
    return 0


__all__ = ["RANKS", "print_year", "set_rank"]
