"""Summary charts: Chinese really drawn (not boxes), no pyplot state, fast enough for a chat."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import warnings
from datetime import date, timedelta

import matplotlib
import numpy as np
import pytest
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ft2font import FT2Font
from PIL import Image

from kcbx.bot.documents import fonts
from kcbx.bot.documents.charts import (
    DPI,
    WIDTH_INCHES,
    ChartLabels,
    StageRow,
    render_stage_chart,
    render_summary_chart,
    render_trend_chart,
)

ZH = ChartLabels(
    stages={
        "teacher": "第0–2天 班主任劝返",
        "school": "第3–6天 学校劝返",
        "dropout": "第7–14天 辍学",
        "notice": "已发限期入学通知书",
        "correction": "已责令限期改正",
    },
    cases="未结案件（件）",
    no_cases="目前没有未结案件",
    stage_panel="各乡镇未结案件（按阶段）",
    trend_panel="近8周未结案件",
    date_format="{d.month}月{d.day}日",
    footnote="截至2024年3月28日 08:00",
)
EN = ChartLabels(
    stages={
        "teacher": "Day 0-2 teacher",
        "school": "Day 3-6 school",
        "dropout": "Day 7-14 dropout",
        "notice": "Notice issued",
        "correction": "Ordered to correct",
    },
    cases="Open cases",
    no_cases="No open cases",
    stage_panel="Open cases by township and stage",
    trend_panel="Open cases, last 8 weeks",
    footnote="As of 28 March 2024, 08:00",
)
ROWS = [
    StageRow("滨河镇", {"teacher": 3, "school": 2, "dropout": 1, "notice": 1}),
    StageRow("宣和镇", {"teacher": 1, "dropout": 2, "correction": 1}),
    StageRow("迎水桥镇", {"school": 1}),
    StageRow("柔远镇", {}),
    StageRow("中卫市沙坡头区香山乡红泉小学", {"dropout": 3}),
]
POINTS = [(date(2024, 2, 8) + timedelta(weeks=i), n) for i, n in enumerate([4, 6, 9, 12, 10, 14])]


def glyph_image(char: str, font: FontProperties) -> np.ndarray:
    """One character drawn alone, as a boolean ink mask."""
    figure = Figure(figsize=(1, 1), dpi=80)
    canvas = FigureCanvasAgg(figure)
    figure.text(0.5, 0.5, char, ha="center", va="center", fontproperties=font)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., 0] < 128


def png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(png)) as image:
        return image.size


def test_the_cjk_font_draws_chinese_where_the_default_font_draws_boxes() -> None:
    cjk = fonts.matplotlib_font_properties(40)
    ours = [glyph_image(char, cjk) for char in "滨河镇"]
    for image in ours:
        assert image.mean() > 0.02
    for i, first in enumerate(ours):
        for second in ours[i + 1 :]:
            assert np.mean(first != second) > 0.02, "two characters drew alike"

    dejavu = FontProperties(family="DejaVu Sans", size=40)
    with pytest.warns(UserWarning, match="missing from font"):
        boxes = [glyph_image(char, dejavu) for char in "滨河镇"]
    assert all(np.array_equal(boxes[0], box) for box in boxes[1:]), "DejaVu drew Chinese?"
    assert all(np.mean(box != glyph) > 0.02 for box, glyph in zip(boxes, ours, strict=True))


def test_matplotlib_reads_the_sc_face_of_the_collection() -> None:
    found = font_manager.fontManager.findfont(
        fonts.matplotlib_font_properties(), fallback_to_default=False
    )
    assert str(found) == str(fonts.collection_path())
    assert found.face_index == fonts._source_face_index()  # SC, not the JP face at index 0


def test_an_older_matplotlib_gets_the_cached_truetype_font(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(font_manager, "FontPath")  # what matplotlib < 3.11 looks like
    path = fonts._matplotlib_font_file()
    assert path == str(fonts.cjk_font_path())
    assert FT2Font(path).get_char_index(ord("滨")) != 0


@pytest.mark.parametrize("labels", [ZH, EN], ids=["zh_CN", "en"])
def test_charts_draw_without_a_missing_glyph_warning(labels: ChartLabels) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pictures = [
            render_stage_chart(ROWS, "沙坡头区控辍保学周报", labels),
            render_trend_chart(POINTS, "沙坡头区控辍保学周报", labels),
            render_summary_chart(ROWS, POINTS, "沙坡头区控辍保学周报", labels),
        ]
    assert [str(warning.message) for warning in caught] == []
    for png in pictures:
        width, _height = png_size(png)
        assert width == round(WIDTH_INCHES * DPI)  # about a phone's screen width in pixels


def test_more_rows_make_a_taller_chart_and_long_names_still_fit() -> None:
    _width, few = png_size(render_stage_chart(ROWS[:2], "周报", ZH))
    _width, many = png_size(render_stage_chart(ROWS * 3, "周报", ZH))
    assert many > few


def test_nothing_open_is_said_in_words_not_drawn_as_an_empty_grid() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for png in (
            render_stage_chart([], "周报", ZH),
            render_stage_chart([StageRow("滨河镇", {})], "周报", ZH),
            render_trend_chart([], "周报", ZH),
            render_summary_chart([], [], "周报", ZH),
            render_summary_chart([StageRow("滨河镇", {})], POINTS, "周报", ZH),
        ):
            png_size(png)
    assert caught == []


def test_a_stage_without_a_label_is_refused() -> None:
    with pytest.raises(ValueError, match="without a label"):
        render_stage_chart([StageRow("滨河镇", {"unknown": 1})], "周报", ZH)


def test_rendering_changes_no_global_matplotlib_state() -> None:
    before = dict(matplotlib.rcParams)
    render_summary_chart(ROWS, POINTS, "周报", ZH)
    assert dict(matplotlib.rcParams) == before
    script = textwrap.dedent(
        """
        import sys
        from kcbx.bot.documents.charts import ChartLabels, StageRow, render_stage_chart
        labels = ChartLabels(stages={"a": "第0–2天"}, cases="件", no_cases="无")
        render_stage_chart([StageRow("滨河镇", {"a": 1})], "周报", labels)
        assert "matplotlib.pyplot" not in sys.modules, "pyplot was imported"
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
