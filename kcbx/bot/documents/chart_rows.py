"""What a chart shows, without the drawing: the rows and the words, as the summary's texts
build them. Light on purpose: matplotlib is imported by :mod:`kcbx.bot.documents.charts`
only when a chart is drawn, not by every process that writes a summary."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class StageRow:
    """The open cases of one township (or school), by stage.

    Attributes:
        name: the township's or school's name, as it should appear.
        counts: open cases per stage key; keys are those of ``ChartLabels.stages``.
    """

    name: str
    counts: Mapping[str, int]
    returned: int = 0  # back at school this school year (a bar of its own, not stacked)
    rate: float | None = None  # dropouts not returned per 100 students

    @property
    def total(self) -> int:
        """All open cases of the row."""
        return sum(self.counts.values())


@dataclass(frozen=True)
class ChartLabels:
    """The texts of the charts, already in the reader's language.

    Attributes:
        stages: stage key -> legend text, in ladder order (the order of the stacked bars).
        cases: the axis of case counts, e.g. ``未结案件（件）`` / ``Open cases``.
        no_cases: shown instead of an empty chart.
        stage_panel: the stage panel's heading in the summary figure.
        trend_panel: the trend panel's heading in the summary figure.
        date_format: how a date is written under the trend, with ``{d}`` the date, e.g.
            ``{d.month}月{d.day}日`` or ``{d.day}/{d.month}``.
        footnote: a small line under the figure (e.g. when the data was taken), or empty.
    """

    stages: Mapping[str, str]
    cases: str
    no_cases: str
    stage_panel: str = ""
    trend_panel: str = ""
    date_format: str = "{d.month}/{d.day}"
    footnote: str = ""
    returned: str = ""  # the legend of the returned bars; empty: not drawn
    rate_panel: str = ""  # the dropout rate panel's heading; empty: no panel
    rate_axis: str = "%"
    rate_line: str = ""  # the threshold's label, e.g. ``第八条：1%``
    rate_limit: float | None = None  # the threshold in percent (A8.1)
    rate_total: str = ""  # the name of the whole unit's bar in the rate panel
    total_rate: float | None = None  # the whole unit's rate
