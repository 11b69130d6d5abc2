"""The summary's chart (issue 5): drawn from the database with Chinese labels that are real
glyphs of the bundled CJK font, not empty boxes (the approach of tests/test_charts.py)."""

from __future__ import annotations

import io
import warnings
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from PIL import Image

from kcbx.bot.documents import charts, fonts
from kcbx.bot.domain.clock import FakeClock
from kcbx.bot.domain.i18n import translator
from kcbx.bot.runtime.config import Config
from kcbx.bot.runtime.services import Services
from kcbx.bot.services.summary import chart_labels, summary_chart, unit_tree
from kcbx.testing.seed import T0, District, small_district

ZH = translator("zh_CN")


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[Services, District]]:
    clock = FakeClock(T0)
    services = await Services.open(Config(db_path=str(tmp_path / "kcbx.db")), clock)
    district = await small_district(services, T0)
    for name, since in (
        ("张三", date(2024, 2, 20)),
        ("王五", date(2024, 3, 2)),
        ("孙八", date(2024, 2, 1)),
    ):
        await services.cases.open_case(
            student_id=district.students[name],
            reported_by=None,
            absent_since=since,
            cause="unknown",
            guardian_contact=None,
            note=None,
            now=datetime.combine(since, datetime.min.time(), tzinfo=UTC),
            year=2024,
            actor="cli:test",
        )
    yield services, district
    await services.close()


def glyph(char: str, font: FontProperties) -> np.ndarray:
    figure = Figure(figsize=(1, 1), dpi=80)
    canvas = FigureCanvasAgg(figure)
    figure.text(0.5, 0.5, char, ha="center", va="center", fontproperties=font)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., 0] < 128


async def test_the_summary_chart_draws_its_chinese_labels(
    world: tuple[Services, District],
) -> None:
    services, district = world
    leader = await services.people.by_phone("13900000002")
    assert leader is not None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        drawn = await summary_chart(
            services, leader, district.units["district"], gettext=ZH, lang="zh_CN"
        )
    assert drawn is not None
    png, caption = drawn
    assert [str(w.message) for w in caught if "missing from font" in str(w.message)] == []
    with Image.open(io.BytesIO(png)) as image:
        width, height = image.size
        assert width == round(charts.WIDTH_INCHES * charts.DPI) and height > 600
        ink = np.asarray(image.convert("L")) < 128
    assert ink.mean() > 0.005  # something was drawn
    assert "未结案件" in caption

    # The labels the chart carries are Chinese, and the bundled font has a distinct glyph for
    # each of their characters (an empty box would look the same for all).
    tree = await unit_tree(services)
    labels = chart_labels(services, ZH, "zh_CN", tree.units[district.units["district"]])
    text = "".join(labels.stages.values()) + labels.stage_panel + labels.trend_panel
    characters = sorted({c for c in text + "滨河镇文昌" if "\u4e00" <= c <= "\u9fff"})
    assert len(characters) >= 15
    cjk = fonts.matplotlib_font_properties(40)
    images = [glyph(c, cjk) for c in characters]
    assert all(image.mean() > 0.02 for image in images)
    for i, first in enumerate(images):
        for second in images[i + 1 :]:
            assert np.mean(first != second) > 0.02, "two characters drew alike"


async def test_without_the_cjk_font_the_same_chart_would_draw_boxes(
    world: tuple[Services, District], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: the check above would catch a chart drawn in a Latin font."""
    services, district = world
    leader = await services.people.by_phone("13900000002")
    assert leader is not None
    monkeypatch.setattr(charts, "_font", lambda: FontProperties(family="DejaVu Sans", size=13))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await summary_chart(services, leader, district.units["district"], gettext=ZH, lang="zh_CN")
    assert any("missing from font" in str(w.message) for w in caught)


async def test_a_chart_outside_the_scope_is_not_drawn(world: tuple[Services, District]) -> None:
    services, district = world
    principal = await services.people.by_phone("13900000030")
    assert principal is not None
    assert (
        await summary_chart(
            services, principal, district.units["binhe_primary"], gettext=ZH, lang="zh_CN"
        )
        is None
    )
