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
