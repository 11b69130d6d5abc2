"""The notices of A7.4 and A7.5 as PDF and Word, and the Chinese font they are drawn with.

The PDF checks go past "it built": the text is extracted again, the first page is rendered
with an independent PDF engine (pdfium), and the title's glyphs are cut out of the bitmap to
prove they are real characters and not seven copies of the same missing-glyph box.
"""

from __future__ import annotations

import io
import logging
import math
import re
import subprocess
import sys
import textwrap
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pypdfium2 as pdfium
import pytest
from docx import Document
from docx.enum.text import WD_LINE_SPACING
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph as DocxParagraph
from fontTools.ttLib import TTFont
from lxml import etree
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
from kcbx.bot.domain.model import Guardian, Notice
from kcbx.bot.services.notices import issue_date_of

pytestmark = pytest.mark.single_backend  # opens no database


NOTICE = NoticeData(
    kind="notice",
    number="沙教控辍〔2024〕7号",
    guardians=[Guardian("王建国", "父亲", "13900000001"), Guardian("马玉兰", "母亲", None)],
    student="王玥婧",  # 玥 and 婧 are outside GB2312: the per-document font must carry them
    gender="女",
    school="中卫市沙坡头区滨河镇中心小学",
    grade_class="五年级（2）班",
    address="滨河镇黄湾村三组",
    absent_since=date(2024, 3, 4),
    days_absent=16,
    deadline=date(2024, 3, 27),
    issuers=["中卫市沙坡头区教育局", "中卫市沙坡头区滨河镇人民政府"],
    issue_date=date(2024, 3, 20),
    contact="滨河镇中心小学 张老师 0955-1234567",
)
CORRECTION = replace(
    NOTICE,
    kind="correction",
    number="沙教控辍改〔2024〕11号",
    previous_number="沙教控辍〔2024〕7号",
    previous_deadline=date(2024, 3, 27),
    days_absent=24,
    issue_date=date(2024, 3, 28),
    deadline=date(2024, 4, 4),
)
GRANDMOTHER = replace(NOTICE, guardians=[Guardian("马桂花", "奶奶", None)])
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


def first_page_text(pdf: bytes) -> str:
    return squeeze(PdfReader(io.BytesIO(pdf)).pages[0].extract_text())


def docx_text(data: bytes) -> str:
    """Every paragraph's text, the tables' cells included, one line each."""
    document = Document(io.BytesIO(data))
    lines = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            seen: list[object] = []
            for cell in row.cells:  # a merged cell is listed once per column it spans
                if cell._tc not in seen:
                    seen.append(cell._tc)
                    lines.append(cell.text)
    return "\n".join(lines)


# What both the PDF and the .docx of the notice must say (GB/T 9704-2012 practice, A7.4).
NOTICE_FIELDS = (
    "限期入学通知书",
    "沙教控辍〔2024〕7号",
    "王建国、马玉兰：",  # every guardian named
    "你们的子女王玥婧（女）",  # two parents: 你们, 子女
    "五年级（2）班",
    "滨河镇黄湾村三组",
    "2024年3月4日起无故未到校上学，至今已16天",
    "请于2024年3月27日前送王玥婧到中卫市沙坡头区滨河镇中心小学报到复学",
    "应当依法保证其按时入学接受并完成义务教育",  # the guardians' duty
    "《沙坡头区义务教育控辍保学管理办法》第七条",  # A7.4, the basis of this notice
    "第五十八条",  # the consequence: reprimand and order to correct
    "中卫市沙坡头区教育局",
    "中卫市沙坡头区滨河镇人民政府",
    "2024年3月20日",
    "0955-1234567",
)
RECEIPT_FIELDS = (
    "送达回证",
    "《限期入学通知书》沙教控辍〔2024〕7号",
    "王建国（父亲）、马玉兰（母亲）",
    "受送达人（签名）",
    "送达人（签名）",
    "见证人（签名）",
)


def assert_official_number(text: str) -> None:
    """GB/T 9704-2012: 〔year〕 then the number, without 第 and without leading zeros."""
    numbers = re.findall(r"〔\d{4}〕\S{0,3}?\d+号", text)
    assert numbers, text[:200]
    for number in numbers:
        assert re.fullmatch(r"〔\d{4}〕[1-9]\d*号", number), number


def test_notice_pdf_carries_the_text_and_the_receipt_on_page_one() -> None:
    pdf = render_notice_pdf(NOTICE)
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
    text = first_page_text(pdf)
    for expected in (*NOTICE_FIELDS, *RECEIPT_FIELDS, "沿此线剪下"):
        assert expected in squeeze(expected) and squeeze(expected) in text, expected
    assert_official_number(text)
    assert text.count("（盖章）") == 2  # one seal for each organ (two-organ 落款)
    signature = text[text.rindex("第五十八条") :]
    assert signature.index("中卫市沙坡头区教育局") < signature.index("2024年3月20日")
    assert "你们" in text and "你的" not in text


def test_a_grandmother_alone_is_you_and_the_child_her_granddaughter() -> None:
    text = pdf_text(render_notice_pdf(GRANDMOTHER))
    assert "马桂花：" in text
    assert "你的孙女王玥婧（女）" in text
    assert "你作为监护人" in text and "责令你限期送其入学" in text
    assert "你们" not in text
    boy = compose_notice(replace(GRANDMOTHER, gender="男")).paragraphs[0]
    assert boy.startswith("你的孙子王玥婧（男）")
    uncle = compose_notice(replace(NOTICE, guardians=[Guardian("王建军", "叔叔", None)]))
    assert uncle.paragraphs[0].startswith("你监护的王玥婧")
    assert "王建军（叔叔）" in dict(row[:2] for row in uncle.receipt_rows)["受送达人"]


def test_notice_pdf_embeds_truetype_serif_and_sans_faces_and_fits_one_page() -> None:
    for data in (NOTICE, CORRECTION, replace(NOTICE, previous_number="沙教控辍〔2024〕3号")):
        reader = PdfReader(io.BytesIO(render_notice_pdf(data)))
        assert len(reader.pages) == 1
        resources = reader.pages[0]["/Resources"]["/Font"]
        embedded = [font.get_object() for font in resources.values()]
        names = [str(font["/BaseFont"]) for font in embedded]
        serif = [f for f in embedded if "NotoSerifSC" in str(f["/BaseFont"])]
        sans = [f for f in embedded if "NotoSansCJKsc" in str(f["/BaseFont"])]
        assert serif and sans, names  # 宋体-like body, 黑体-like title
        assert all("/FontFile2" in font["/FontDescriptor"] for font in serif + sans)


def test_notice_first_page_is_drawn_with_real_chinese_glyphs() -> None:
    grey, characters = render_first_page(render_notice_pdf(NOTICE))
    assert (grey < 128).mean() > 0.02, "the page is (nearly) blank"
    drawn = "".join(char for char, _box in characters)
    for word in ("限期入学通知书", "中卫市沙坡头区教育局"):  # the sans title, the serif body
        start = drawn.index(word)
        boxes = [box for _char, box in characters[start : start + len(word)]]
        assert_distinct_glyphs(glyph_crops(grey, boxes[:7]))


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
    assert "沙教控辍改〔2024〕11号" in text
    assert "此前已向你们送达沙教控辍〔2024〕7号《限期入学通知书》，责令于2024年3月27日前" in text
    assert "现对你们提出批评教育，并责令你们限期改正" in text
    assert "请于2024年4月4日前送王玥婧" in text
    assert_official_number(text)


def test_an_order_to_correct_is_dated_after_the_deadline_it_follows() -> None:
    with pytest.raises(ValueError, match="after the deadline"):
        replace(CORRECTION, issue_date=date(2024, 3, 27))
    cited = replace(_notice_row(), deadline=date(2024, 3, 27))
    assert issue_date_of("correction", date(2024, 3, 27), cited) == date(2024, 3, 28)
    assert issue_date_of("correction", date(2024, 3, 30), cited) == date(2024, 3, 30)
    assert issue_date_of("notice", date(2024, 3, 27), None) == date(2024, 3, 27)


def _notice_row() -> Notice:
    return Notice(
        id=1,
        case_id=1,
        kind="notice",
        year=2024,
        seq=7,
        number="沙教控辍〔2024〕7号",
        replaces_id=None,
        cites_id=None,
        task=None,
        status="delivered",
        created_at=datetime(2024, 3, 19, tzinfo=UTC),
        created_by="system",
        issue_date=date(2024, 3, 19),
        issued_by=None,
        issued_at=None,
        deadline=None,
        delivered_on=date(2024, 3, 20),
        delivered_to="王建国",
        delivered_by=None,
        receipt_blob_id=None,
        pdf_blob_id=None,
        docx_blob_id=None,
        action_id=None,
    )


def test_a_reissued_notice_says_which_notice_it_replaces() -> None:
    reissued = replace(NOTICE, previous_number="沙教控辍〔2024〕3号")
    assert "本通知书替代沙教控辍〔2024〕3号《限期入学通知书》" in pdf_text(
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


def test_docx_holds_the_same_text_seals_and_receipt() -> None:
    text = squeeze(docx_text(render_notice_docx(NOTICE)))
    for expected in (*NOTICE_FIELDS, *RECEIPT_FIELDS):
        assert squeeze(expected) in text, expected
    assert text.count("（盖章）") == 2
    assert_official_number(text)
    grandmother = squeeze(docx_text(render_notice_docx(GRANDMOTHER)))
    assert "你的孙女王玥婧" in grandmother and "你们" not in grandmother
    correction = squeeze(docx_text(render_notice_docx(CORRECTION)))
    for expected in ("批评教育，责令限期改正通知书", "沙教控辍改〔2024〕11号", "2024年3月28日"):
        assert expected in correction, expected


def test_docx_names_east_asian_fonts_with_fallbacks_and_exact_line_heights() -> None:
    document = Document(io.BytesIO(render_notice_docx(CORRECTION)))
    normal_fonts = document.styles["Normal"].element.rPr.rFonts
    assert normal_fonts.get(qn("w:eastAsia")) == "宋体"
    paragraphs = list(document.paragraphs) + [
        p for table in document.tables for cell in table._cells for p in cell.paragraphs
    ]
    for paragraph in paragraphs:
        assert paragraph.paragraph_format.line_spacing_rule == WD_LINE_SPACING.EXACTLY
        for run in paragraph.runs:
            assert run._r.rPr.rFonts.get(qn("w:eastAsia")) in ("宋体", "黑体")
    # where 宋体/黑体 are missing, the font table says what to substitute them by
    part = document.part.part_related_by(RELATIONSHIP_TYPE.FONT_TABLE)
    table = etree.fromstring(part.blob)
    declared = {
        font.get(qn("w:name")): font.find(qn("w:charset")).get(qn("w:val"))
        for font in table.iter(qn("w:font"))
    }
    assert declared["宋体"] == "86" and declared["黑体"] == "86"  # GB2312
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert document.core_properties.language == "zh-CN"


def docx_height(data: bytes) -> float:
    """The height in points the document's content takes, whatever font draws it.

    Every line has an exact height and every Chinese character is one em wide in any CJK
    font, so the number of lines of a paragraph is its characters times its size over the
    width, and its height that many exact lines: a missing 宋体 cannot change it.
    """
    document = Document(io.BytesIO(data))
    section = document.sections[0]
    width = (section.page_width - section.left_margin - section.right_margin) / 12700

    def lines(paragraph: Any, available: float) -> int:
        size = max((run.font.size.pt for run in paragraph.runs if run.font.size), default=12)
        indent = paragraph.paragraph_format.first_line_indent
        ems = sum(1 if ord(c) > 0x2E80 else 0.55 for c in paragraph.text)
        ems += indent.pt / size if indent else 0
        return max(1, math.ceil(ems * size / available))

    total = 0.0
    body = document.element.body
    for child in body.iterchildren():
        if child.tag == qn("w:p"):
            paragraph = DocxParagraph(child, document)
            spacing = paragraph.paragraph_format
            total += lines(paragraph, width) * spacing.line_spacing.pt
            total += (spacing.space_after.pt if spacing.space_after else 0) + (
                spacing.space_before.pt if spacing.space_before else 0
            )
        elif child.tag == qn("w:tbl"):
            for height in child.iter(qn("w:trHeight")):
                assert height.get(qn("w:hRule")) == "exact"
                total += int(height.get(qn("w:val"))) / 20
    return total


def test_the_docx_receipt_fits_on_page_one_whatever_font_draws_it() -> None:
    long = replace(
        CORRECTION,
        school="中卫市沙坡头区迎水桥镇九年一贯制学校",
        guardians=[Guardian("欧阳建国", "爷爷", None), Guardian("马玉兰", "奶奶", None)],
    )
    for data in (NOTICE, CORRECTION, long):
        document = Document(io.BytesIO(render_notice_docx(data)))
        section = document.sections[0]
        page = (section.page_height - section.top_margin - section.bottom_margin) / 12700
        assert docx_height(render_notice_docx(data)) < page - 12, data.kind
    # the receipt's rows cannot grow: a cell's text fits in its width at its size
    for row in compose_notice(long).receipt_rows:
        assert all(len(value) * 10.5 < 12.9 * 28.35 for value in row[1::2]), row


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
    assert notice_filename(NOTICE, "pdf") == "限期入学通知书_王玥婧_沙教控辍〔2024〕7号.pdf"
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
