"""The notices of A7.4 and A7.5 as PDF and Word, and the Chinese font they are drawn with.

The PDF checks go past "it built": the text is extracted again, the first page is rendered
with an independent PDF engine (pdfium), and the title's glyphs are cut out of the bitmap to
prove they are real characters and not seven copies of the same missing-glyph box.
"""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import textwrap
from dataclasses import replace
from datetime import date
from pathlib import Path

import matplotlib
import numpy as np
import pypdfium2 as pdfium
import pytest
from docx import Document
from docx.oxml.ns import qn
from fontTools.ttLib import TTFont
from pypdf import PdfReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont as ReportlabTTFont
from reportlab.pdfgen.canvas import Canvas

from kcbx.bot.documents import fonts
from kcbx.bot.documents.notice import (
    NoticeData,
    compose_notice,
    notice_filename,
    render_notice_docx,
    render_notice_pdf,
)

pytestmark = pytest.mark.single_backend  # opens no database


NOTICE = NoticeData(
    kind="notice",
    number="沙教控辍〔2024〕第007号",
    guardians=["王建国", "马玉兰"],
    student="王玥婧",  # 玥 and 婧 are outside GB2312: the per-document font must carry them
    gender="女",
    school="中卫市沙坡头区滨河镇中心小学",
    grade_class="五年级（2）班",
    address="滨河镇黄湾村三组",
    absent_since=date(2024, 3, 4),
    days_absent=16,
    deadline=date(2024, 3, 27),
    issuers=["中卫市沙坡头区教育局", "滨河镇人民政府"],
    issue_date=date(2024, 3, 20),
    contact="滨河镇中心小学 张老师 0955-1234567",
)
CORRECTION = replace(
    NOTICE,
    kind="correction",
    number="沙教控辍〔2024〕第011号",
    previous_number="沙教控辍〔2024〕第007号",
    days_absent=24,
    issue_date=date(2024, 3, 28),
    deadline=date(2024, 4, 4),
)
SCALE = 2.0  # pixels per PDF point when rendering


def squeeze(text: str) -> str:
    """Text without whitespace: extraction puts line breaks where the layout wrapped."""
    return "".join(text.split())


def pdf_text(pdf: bytes) -> str:
    return squeeze("".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))


def render_first_page(pdf: bytes) -> tuple[np.ndarray, list[tuple[str, tuple[int, int, int, int]]]]:
    """The first page as a grey bitmap, and each character with its box in pixels."""
    document = pdfium.PdfDocument(pdf)
    try:
        page = document[0]
        height = page.get_height()
        grey = np.asarray(page.render(scale=SCALE, grayscale=True).to_pil().convert("L"))
        textpage = page.get_textpage()
        boxes = []
        for index in range(textpage.count_chars()):
            char = textpage.get_text_range(index, 1)
            left, bottom, right, top = textpage.get_charbox(index)
            box = (
                int(left * SCALE),
                int((height - top) * SCALE),
                int(right * SCALE) + 1,
                int((height - bottom) * SCALE) + 1,
            )
            boxes.append((char, box))
        textpage.close()
        page.close()
    finally:
        document.close()
    return grey, boxes


def glyph_crops(grey: np.ndarray, boxes: list[tuple[int, int, int, int]]) -> list[np.ndarray]:
    """The ink of each box, thresholded, cut to the same size so glyphs can be compared."""
    size = max(max(right - left, bottom - top) for left, top, right, bottom in boxes)
    crops = []
    for left, top, _right, _bottom in boxes:
        crop = grey[top : top + size, left : left + size] < 128
        crops.append(crop)
    return crops


def assert_distinct_glyphs(crops: list[np.ndarray]) -> None:
    for crop in crops:
        assert crop.mean() > 0.03, "a glyph box without ink"
    for i, first in enumerate(crops):
        for second in crops[i + 1 :]:
            assert np.mean(first != second) > 0.05, "two different characters drew alike"


# --- the documents ---------------------------------------------------------------------------


def test_notice_pdf_carries_the_chinese_text() -> None:
    text = pdf_text(render_notice_pdf(NOTICE))
    for expected in (
        "限期入学通知书",
        "沙教控辍〔2024〕第007号",
        "王建国、马玉兰：",
        "王玥婧（女）",
        "五年级（2）班",
        "滨河镇黄湾村三组",
        "2024年3月4日起无故未到校上学，至今已16天",
        "请于2024年3月27日前送王玥婧到中卫市沙坡头区滨河镇中心小学报到复学",
        "应当依法保证其按时入学接受并完成义务教育",  # the guardians' duty
        "《沙坡头区义务教育控辍保学管理办法》第七条",  # A7.4, the basis of this notice
        "第五十八条",  # the consequence: reprimand and order to correct
        "中卫市沙坡头区教育局",
        "滨河镇人民政府",
        "2024年3月20日",
        "回执",
        "监护人（签名）",
        "沿此线剪下",
        "0955-1234567",
    ):
        assert expected in text, expected


def test_notice_pdf_embeds_a_truetype_chinese_font_and_fits_one_page() -> None:
    for data in (NOTICE, CORRECTION, replace(NOTICE, previous_number="沙教控辍〔2024〕第003号")):
        reader = PdfReader(io.BytesIO(render_notice_pdf(data)))
        assert len(reader.pages) == 1
        resources = reader.pages[0]["/Resources"]["/Font"]
        embedded = [font.get_object() for font in resources.values()]
        cjk = [font for font in embedded if "NotoSansCJKsc" in str(font["/BaseFont"])]
        assert cjk, [font["/BaseFont"] for font in embedded]
        assert all("/FontFile2" in font["/FontDescriptor"] for font in cjk)  # TrueType outlines


def test_notice_first_page_is_drawn_with_real_chinese_glyphs() -> None:
    grey, characters = render_first_page(render_notice_pdf(NOTICE))
    assert (grey < 128).mean() > 0.02, "the page is (nearly) blank"

    title = "限期入学通知书"
    start = "".join(char for char, _box in characters).index(title)
    boxes = [box for _char, box in characters[start : start + len(title)]]
    assert_distinct_glyphs(glyph_crops(grey, boxes))


def test_the_glyph_check_catches_missing_glyph_boxes(tmp_path: Path) -> None:
    """The same check on a title drawn with a font that has no Chinese fails: it is not vacuous."""
    dejavu = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    pdfmetrics.registerFont(ReportlabTTFont("TestDejaVuNoCJK", str(dejavu)))
    size, x0, y0 = 20.0, 100.0, 700.0
    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    canvas.setFont("TestDejaVuNoCJK", size)
    title = "限期入学通知书"
    for offset, char in enumerate(title):
        canvas.drawString(x0 + offset * size, y0, char)
    canvas.save()
    document = pdfium.PdfDocument(buffer.getvalue())
    page = document[0]
    height = page.get_height()
    grey = np.asarray(page.render(scale=SCALE, grayscale=True).to_pil().convert("L"))
    page.close()
    document.close()
    boxes = [
        (
            int((x0 + offset * size) * SCALE),
            int((height - y0 - size) * SCALE),
            int((x0 + (offset + 1) * size) * SCALE),
            int((height - y0 + 0.25 * size) * SCALE),
        )
        for offset in range(len(title))
    ]
    with pytest.raises(AssertionError, match="drew alike"):
        assert_distinct_glyphs(glyph_crops(grey, boxes))


def test_correction_cites_the_notice_whose_deadline_passed() -> None:
    text = pdf_text(render_notice_pdf(CORRECTION))
    assert "批评教育，责令限期改正通知书" in text
    assert "沙教控辍〔2024〕第011号" in text
    assert "此前已向你们送达沙教控辍〔2024〕第007号《限期入学通知书》" in text
    assert "现对你们提出批评教育，并责令你们限期改正" in text
    assert "请于2024年4月4日前送王玥婧" in text


def test_a_reissued_notice_says_which_notice_it_replaces() -> None:
    reissued = replace(NOTICE, previous_number="沙教控辍〔2024〕第003号")
    assert "本通知书替代沙教控辍〔2024〕第003号《限期入学通知书》" in pdf_text(
        render_notice_pdf(reissued)
    )
    assert "替代" not in pdf_text(render_notice_pdf(NOTICE))


def test_a_deadline_that_runs_from_delivery_is_given_in_days() -> None:
    undated = replace(NOTICE, deadline=None, deadline_days=7)
    assert "请自本通知书送达之日起7日内送王玥婧到" in pdf_text(render_notice_pdf(undated))
    with pytest.raises(ValueError, match="days from delivery"):
        replace(NOTICE, deadline=None)


def test_names_with_markup_characters_are_printed_as_typed() -> None:
    data = replace(NOTICE, student="<小明>&Co", guardians=["王&李", "<b>马</b>"])
    text = pdf_text(render_notice_pdf(data))
    assert "<小明>&Co" in text
    assert "王&李、<b>马</b>：" in text
    docx_text = "".join(p.text for p in Document(io.BytesIO(render_notice_docx(data))).paragraphs)
    assert "<小明>&Co" in docx_text


def test_control_characters_in_names_do_not_break_word() -> None:
    data = replace(NOTICE, student="王\x07玥婧\n")
    assert compose_notice(data).paragraphs[0].startswith("你们的子女王玥婧（女）")
    Document(io.BytesIO(render_notice_docx(data)))


def test_a_character_the_font_lacks_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="kcbx.bot.documents.notice"):
        render_notice_pdf(replace(NOTICE, student="王ก"))  # Thai: not in Noto Sans CJK
    assert "ก" in caplog.text


def test_docx_opens_and_carries_the_fields_with_an_east_asian_font() -> None:
    document = Document(io.BytesIO(render_notice_docx(CORRECTION)))
    text = "\n".join(paragraph.text for paragraph in document.paragraphs)
    for expected in (
        "批评教育，责令限期改正通知书",
        "沙教控辍〔2024〕第011号",
        "王建国、马玉兰：",
        "王玥婧（女）",
        "中卫市沙坡头区滨河镇中心小学五年级（2）班",
        "滨河镇黄湾村三组",
        "2024年4月4日",
        "沙教控辍〔2024〕第007号",
        "中卫市沙坡头区教育局",
        "2024年3月28日",
        "回　执",
        "监护人（签名）",
    ):
        assert expected in text, expected

    normal_fonts = document.styles["Normal"].element.rPr.rFonts
    assert normal_fonts.get(qn("w:eastAsia")) == "宋体"
    for paragraph in document.paragraphs:
        for run in paragraph.runs:
            assert run._r.rPr.rFonts.get(qn("w:eastAsia")) in ("宋体", "黑体")
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert document.core_properties.language == "zh-CN"


def test_notice_data_is_checked() -> None:
    with pytest.raises(ValueError, match="cites the notice"):
        replace(CORRECTION, previous_number=None)
    with pytest.raises(TypeError, match="lists of names"):
        replace(NOTICE, guardians="王建国")
    with pytest.raises(ValueError, match="guardians"):
        replace(NOTICE, guardians=[])
    with pytest.raises(ValueError, match="deadline"):
        replace(NOTICE, deadline=NOTICE.issue_date)


def test_file_names_are_safe_and_say_what_the_file_is() -> None:
    assert notice_filename(NOTICE, "pdf") == "限期入学通知书_王玥婧_沙教控辍〔2024〕第007号.pdf"
    assert notice_filename(CORRECTION, "docx").startswith("责令限期改正通知书_王玥婧_")
    odd = notice_filename(replace(NOTICE, student='a/b\\c:"d"<e>|?*'), "pdf")
    assert not set('/\\:"<>|?*') & set(odd.removesuffix(".pdf"))


# --- the font --------------------------------------------------------------------------------


def test_each_text_gets_a_font_with_its_own_glyphs() -> None:
    """reportlab hands out the first font for a repeated PostScript name; ours never repeat."""
    first = fonts.register_reportlab_font("你好世界")
    second = fonts.register_reportlab_font("提出法律")
    assert first != second
    assert fonts.register_reportlab_font("界世好你") == first  # same characters, same font
    glyphs = pdfmetrics.getFont(second).face.charToGlyph
    assert all(ord(char) in glyphs for char in "提出法律")


def test_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KCBX_CACHE_DIR", "/srv/kcbx-cache")
    assert fonts.cache_dir() == Path("/srv/kcbx-cache")
    monkeypatch.delenv("KCBX_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", "/var/cache/me")
    assert fonts.cache_dir() == Path("/var/cache/me/kcbx")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", "/home/teacher")
    assert fonts.cache_dir() == Path("/home/teacher/.cache/kcbx")


def test_cached_fonts_are_built_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KCBX_CACHE_DIR", str(tmp_path))
    path = fonts._cached_font("small.ttf", map(ord, "沙坡头区"))
    assert path == tmp_path / "small.ttf"
    assert "glyf" in TTFont(path) and "CFF " not in TTFont(path)

    def no_rebuild(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("rebuilt a cached font")

    monkeypatch.setattr(fonts, "_build_truetype", no_rebuild)
    assert fonts._cached_font("small.ttf", map(ord, "沙坡头区")) == path
    assert [entry.name for entry in tmp_path.iterdir()] == ["small.ttf"]  # no temporary left


def test_processes_racing_to_build_the_same_font_all_get_a_whole_file(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        from kcbx.bot.documents import fonts
        print(fonts._cached_font("race.ttf", map(ord, "滨河镇宣和镇迎水桥镇")))
        """
    )
    environment = {"KCBX_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for racer in racers:
        out, err = racer.communicate(timeout=120)
        assert racer.returncode == 0, err
        assert out.strip() == str(tmp_path / "race.ttf")
    cmap = TTFont(tmp_path / "race.ttf").getBestCmap()
    assert all(ord(char) in cmap for char in "滨河镇宣和镇迎水桥镇")
    assert [entry.name for entry in tmp_path.iterdir()] == ["race.ttf"]


def test_the_base_font_covers_gb2312_and_reportlab_takes_it() -> None:
    """Builds into the real per-user cache, like matplotlib's own font cache: once per machine."""
    path = fonts.cjk_font_path()
    font = TTFont(path)
    assert "glyf" in font and "CFF " not in font
    cmap = font.getBestCmap()
    assert {ord(c) for c in "中卫市沙坡头区控辍保学，。“”〔〕（）ＡＢ１２"} <= set(cmap)
    assert len(cmap) > 7000
    name = fonts.register_reportlab_font()
    assert pdfmetrics.stringWidth("滨河镇", name, 10) == pytest.approx(30)
