"""The summary's chart as a photo: the figures from the summary service, the words from its
texts, the drawing from :mod:`kcbx.bot.documents.charts`."""

from __future__ import annotations

import asyncio

from kcbx.bot.domain.i18n import Translate
from kcbx.bot.domain.model import Person
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.summary import chart_data
from kcbx.bot.texts.summary import chart_caption, chart_labels, chart_rows, chart_title


async def summary_chart(
    services: Services, person: Person, unit_id: int, *, gettext: Translate, lang: str
) -> tuple[bytes, str] | None:
    """The summary's picture (open cases by stage per township or school, and the trend of
    open cases over the last weeks) and its caption; None if the unit is out of scope."""
    from kcbx.bot.documents.charts import render_summary_chart  # matplotlib: only when drawn

    data = await chart_data(services, person, unit_id)
    if data is None:
        return None
    t = gettext
    labels = chart_labels(services.policy, data, t, lang)
    png = await asyncio.to_thread(
        render_summary_chart, chart_rows(data, t), list(data.trend), chart_title(data, t), labels
    )
    return png, chart_caption(data, services.policy, t)


__all__ = ["summary_chart"]
