"""What plugs into the sweep: each feature's renderers and first-due hooks, in one place."""

from __future__ import annotations

from kcbx.bot.domain.i18n import Translate
from kcbx.bot.domain.model import Case
from kcbx.bot.engine import chain, notice_tasks
from kcbx.bot.runtime.services import Services
from kcbx.bot.services import referrals
from kcbx.bot.services.visits import case_locations
from kcbx.bot.texts.visits import locations_section


def register_features(services: Services) -> None:
    """Called once by the composition root and by the offline CLI after opening services."""
    hooks = services.task_hooks
    # the 三包 chain's day-7 task (A5.1), the departments' referrals (A6, A9).
    hooks.renderer("A5-", chain.render_chain_task)
    hooks.renderer("A6-", referrals.render_department_task)
    hooks.renderer("A9-", referrals.render_department_task)
    hooks.first_due("A6-", referrals.open_referral)
    hooks.first_due("A9-", referrals.open_referral)
    hooks.card_section(referrals.card_section)
    hooks.card_section(visit_places)  # where the visits were: the village each pin is near
    # the notice (A7.4) and the order to correct (A7.5) with their documents.
    notice_tasks.register(hooks)
    del hooks  # features register here, e.g. notices.register(hooks)


async def visit_places(services: Services, case: Case, gettext: Translate, lang: str) -> str | None:
    """Card section: each visit's location as the village it is near (A7.1 evidence)."""
    student = await services.students.get(case.student_id)
    if student is None:
        return None
    found = await case_locations(services, case, student)
    return locations_section(found, gettext, lang, services.policy) if found else None
