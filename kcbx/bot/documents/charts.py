"""Charts for the summaries: open cases by stage, and open cases week by week.

Pure rendering: rows and points in, PNG bytes out. Every text on a chart arrives already
translated (the caller has the person's language), so the same code draws zh_CN and English.
The charts use matplotlib's object API on a ``Figure`` with an Agg canvas: no pyplot, no
``rcParams`` changes, nothing left behind between calls. Sizes are chosen for a phone: about
1080 pixels wide, large type, one idea per panel.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import MaxNLocator

from kcbx.bot.documents.fonts import FAMILY, matplotlib_font_properties

WIDTH_INCHES = 7.2
DPI = 150
BASE_SIZE = 13.0
_LABEL_WIDTH = 8  # characters of a township or school name per line
_BAR_ROW_INCHES = 0.5


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


def render_stage_chart(rows: Sequence[StageRow], title: str, labels: ChartLabels) -> bytes:
    """Open cases by stage per township (or school): stacked horizontal bars, PNG.

    Args:
        rows: one row per township or school, drawn top to bottom in the given order.
        title: the chart's title.
        labels: the translated texts.

    Returns:
        The PNG file's bytes.
    """
    figure = _figure(_stage_height(rows) + 1.4, title)
    axes = figure.add_subplot()
    _draw_stages(axes, rows, labels)
    return _finish(figure, labels)


def render_trend_chart(
    points: Sequence[tuple[date, int]], title: str, labels: ChartLabels
) -> bytes:
    """Open cases over the last weeks: one line, the latest value marked, PNG.

    Args:
        points: (day, open cases on that day), oldest first.
        title: the chart's title.
        labels: the translated texts.

    Returns:
        The PNG file's bytes.
    """
    figure = _figure(4.6, title)
    axes = figure.add_subplot()
    _draw_trend(axes, points, labels)
    return _finish(figure, labels)


def render_summary_chart(
    rows: Sequence[StageRow],
    points: Sequence[tuple[date, int]],
    title: str,
    labels: ChartLabels,
) -> bytes:
    """Both panels in one picture (stages above, trend below): one photo for one summary.

    Args:
        rows: as for :func:`render_stage_chart`.
        points: as for :func:`render_trend_chart`.
        title: the figure's title.
        labels: the translated texts, with the panel headings.

    Returns:
        The PNG file's bytes. Without points it is the stage chart alone; with no open cases
        the stage panel is one short line above the trend.
    """
    if not points:
        return render_stage_chart(rows, title, labels)
    stage_height = _stage_height(rows) if _has_cases(rows) else 1.2
    trend_height = 3.6
    figure = _figure(stage_height + trend_height + 1.8, title)
    stage_axes, trend_axes = figure.subplots(2, 1, height_ratios=[stage_height, trend_height])
    _draw_stages(stage_axes, rows, labels)
    _draw_trend(trend_axes, points, labels)
    font = _font()
    if labels.trend_panel:
        trend_axes.set_title(
            labels.trend_panel, fontproperties=_sized(font, 1.05), loc="left", pad=10
        )
    return _finish(figure, labels)


def stage_colours(count: int) -> list[tuple[float, float, float, float]]:
    """Colours for ``count`` stages, light to dark: later stages of the ladder look graver."""
    palette = colormaps["YlOrRd"]
    return [tuple(colour) for colour in palette(np.linspace(0.22, 1.0, max(count, 1)))][:count]


def _font() -> FontProperties:
    return matplotlib_font_properties(BASE_SIZE)


def _sized(font: FontProperties, factor: float) -> FontProperties:
    sized = font.copy()
    sized.set_size(BASE_SIZE * factor)
    return sized


def _figure(height_inches: float, title: str) -> Figure:
    figure = Figure(figsize=(WIDTH_INCHES, height_inches), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    figure.set_facecolor("white")
    # The title before any legend: constrained layout stacks them in the order they come.
    figure.suptitle(title, fontproperties=_sized(_font(), 1.3))
    return figure


def _has_cases(rows: Sequence[StageRow]) -> bool:
    return any(row.total for row in rows)


def _stage_height(rows: Sequence[StageRow]) -> float:
    if not _has_cases(rows):
        return 2.0
    lines = sum(1 + (len(row.name) - 1) // _LABEL_WIDTH for row in rows)
    return max(2.6, 0.9 + _BAR_ROW_INCHES * len(rows) + 0.12 * lines)


def _wrap(name: str) -> str:
    """Break a long Chinese name every few characters, so the bars keep their room."""
    name = name.strip()
    if " " in name or len(name) <= _LABEL_WIDTH:
        return name
    return "\n".join(name[i : i + _LABEL_WIDTH] for i in range(0, len(name), _LABEL_WIDTH))


def _style_axes(axes: Axes) -> None:
    axes.tick_params(labelfontfamily=FAMILY, labelsize=BASE_SIZE * 0.9, length=0)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.set_axisbelow(True)


def _draw_empty(axes: Axes, labels: ChartLabels) -> None:
    axes.set_axis_off()
    axes.text(
        0.5,
        0.5,
        labels.no_cases,
        transform=axes.transAxes,
        ha="center",
        va="center",
        color="#555555",
        fontproperties=_sized(_font(), 1.1),
    )


def _draw_stages(
    axes: Axes,
    rows: Sequence[StageRow],
    labels: ChartLabels,
) -> None:
    unknown = {key for row in rows for key in row.counts} - set(labels.stages)
    if unknown:
        raise ValueError(f"stages without a label: {sorted(unknown)}")
    if not _has_cases(rows):
        _draw_empty(axes, labels)
        return
    font = _font()
    positions = np.arange(len(rows))
    left = np.zeros(len(rows))
    colours = stage_colours(len(labels.stages))
    for (key, stage_label), colour in zip(labels.stages.items(), colours, strict=True):
        values = np.array([row.counts.get(key, 0) for row in rows], dtype=float)
        axes.barh(positions, values, left=left, color=colour, height=0.68, label=stage_label)
        left += values
    for position, row in zip(positions, rows, strict=True):
        axes.text(
            row.total,
            float(position),
            f" {row.total}",
            va="center",
            ha="left",
            fontproperties=_sized(font, 0.95),
        )
    axes.set_yticks(positions, labels=[_wrap(row.name) for row in rows])
    axes.invert_yaxis()  # the first row on top
    axes.set_xlim(0, max(row.total for row in rows) * 1.15 + 0.5)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel(labels.cases, fontproperties=font)
    axes.grid(axis="x", color="#dddddd", linewidth=0.8)
    _style_axes(axes)
    # The legend sits above the bars, under the title, across the width (a phone has no room
    # at the side); the panel's heading is its title, so the two never collide.
    axes.legend(
        loc="lower left",
        bbox_to_anchor=(0.0, 1.02, 1.0, 0.0),
        mode="expand",
        ncols=min(len(labels.stages), 3),
        frameon=False,
        prop=_sized(font, 0.9),
        title=labels.stage_panel or None,
        title_fontproperties=_sized(font, 1.05),
        alignment="left",
        borderaxespad=0.0,
    )


def _draw_trend(axes: Axes, points: Sequence[tuple[date, int]], labels: ChartLabels) -> None:
    if not points:
        _draw_empty(axes, labels)
        return
    font = _font()
    points = sorted(points)
    positions = np.arange(len(points))
    values = np.array([count for _day, count in points], dtype=float)
    colour = "#34495e"  # not a stage colour: the line counts every stage
    axes.plot(positions, values, color=colour, linewidth=2.4, marker="o", markersize=6)
    axes.fill_between(positions, values, color=colour, alpha=0.12)
    last_position, last_value = positions[-1], int(values[-1])
    axes.annotate(
        str(last_value),
        (last_position, last_value),
        xytext=(0, 10),
        textcoords="offset points",
        ha="center",
        fontproperties=_sized(font, 1.05),
    )
    step = max(1, int(np.ceil(len(points) / 8)))  # at most about eight dates under the line
    shown = positions[::-1][::step][::-1]
    axes.set_xticks(shown, labels=[labels.date_format.format(d=points[int(i)][0]) for i in shown])
    axes.set_xlim(-0.4, len(points) - 0.6)
    axes.set_ylim(0, max(values.max() * 1.25, 1))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(axis="y", color="#dddddd", linewidth=0.8)
    _style_axes(axes)


def _finish(figure: Figure, labels: ChartLabels) -> bytes:
    if labels.footnote:
        figure.supxlabel(labels.footnote, fontproperties=_sized(_font(), 0.75), color="#666666")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()
