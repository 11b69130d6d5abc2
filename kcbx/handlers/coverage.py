"""/coverage: the 三包 chain's gaps and loads (A5.1) for a township leader (their township) or
the district's leaders and bureau (the district). Counts, units and cadres only: no child's
name, so it may be asked in a group too."""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.ext import Application, CommandHandler

from kcbx.bot.domain.roles import DISTRICT_ROLES, Role
from kcbx.bot.services.coverage import coverage_of, render_coverage
from kcbx.bot.texts.paging import pages
from kcbx.handlers.common import deny, reply, require_person
from kcbx.handlers.context import KcbxContext

VIEWERS = DISTRICT_ROLES | {Role.TOWNSHIP_LEADER}
MAX_PAGES = 5  # in chat; `kcbx coverage` prints everything


async def show_coverage(update: Update, context: KcbxContext) -> None:
    person = require_person(context)
    t = context.gettext
    if person.role not in VIEWERS or person.unit_id is None:
        await deny(update, context)
        return
    view = await coverage_of(context.services, person.unit_id)
    lines = render_coverage(view.report, view.units, t, scope=view.scope)
    texts = pages(lines, cut="")
    for text in texts[:MAX_PAGES]:
        await reply(update, text)
    if len(texts) > MAX_PAGES:
        await reply(
            update,
            t("The list goes on; the whole of it: kcbx coverage --unit {unit}").format(
                unit=escape(view.scope or "-")
            ),
        )


def register(app: Application) -> None:
    app.add_handler(CommandHandler("coverage", show_coverage))
