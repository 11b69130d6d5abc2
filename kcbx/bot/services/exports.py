"""Protected exports: the ledger leaves the bot encrypted, with who exported it on every page.

The ledger names children (PIPL art. 28, 31): the file is encrypted with a one-time password
that travels in a separate message the bot deletes after a while, and each sheet's printed
header and footer name the person who exported it and when.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from kcbx.bot.documents.protect import one_time_password, protect
from kcbx.bot.domain.dates import format_date_time
from kcbx.bot.domain.i18n import Translate
from kcbx.bot.domain.model import Person
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.ledger import Ledger, export_for_person


@dataclass(frozen=True)
class ProtectedLedger:
    ledger: Ledger
    data: bytes  # the encrypted workbook
    password: str


def export_marks(exported_by: str, when: str, t: Translate) -> tuple[str, str]:
    """The printed header and footer of every sheet of an export."""
    header = t("Exported by {name} on {when}").format(name=exported_by, when=when)
    footer = t("Confidential: personal information of minors. Do not forward or copy.")
    return header, footer


async def protect_ledger(
    services: Services,
    ledger: Ledger,
    exported_by: str,
    *,
    gettext: Translate,
    lang: str,
    password: str | None = None,
) -> ProtectedLedger:
    now = services.clock.now().astimezone(services.config.tz)
    when = format_date_time(now, gettext, lang)
    header, footer = export_marks(exported_by, when, gettext)
    password = password or one_time_password()
    # zip rewriting and AES run in a worker thread: the bot keeps answering meanwhile
    data = await asyncio.to_thread(protect, ledger.data, password, header=header, footer=footer)
    return ProtectedLedger(ledger, data, password)


async def protected_export_for_person(
    services: Services, person: Person, *, gettext: Translate, lang: str
) -> ProtectedLedger | None:
    """The ledger of a leader's scope, encrypted (None for anyone else)."""
    ledger = await export_for_person(services, person, gettext=gettext)
    if ledger is None:
        return None
    return await protect_ledger(services, ledger, person.name, gettext=gettext, lang=lang)
