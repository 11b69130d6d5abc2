"""The guardians' notices, as PDF (for phones) and Word (for offices to edit and print).

Two documents, both from the education bureau together with the township (A7.4, A7.5):

- the notice to enrol by a deadline (限期入学通知书), when the guardians have not sent the child
  back after 15 days;
- the reprimand and order to correct (批评教育，责令限期改正通知书), when the notice's deadline
  has passed.

The wording is written once by :func:`compose_notice` (kcbx/bot/documents/wording.py) and laid
out twice here, so the PDF and the .docx say the same thing. Both follow GB/T 9704-2012
practice: the body in a 宋体 (serif) face, the title in 黑体, the issuing organs signed side by
side with room for each seal (（盖章）), the date below them, and the receipt (送达回证) on the
first page under a cut line. Everything here is pure: a :class:`NoticeData` in, bytes out.

The PDF embeds subsets of the installed Noto Serif SC and Noto Sans CJK SC faces. The .docx
names 宋体 and 黑体 (on every Chinese Windows and in WPS) and declares in its font table the
alternatives, code page and PANOSE class a word processor uses to substitute a similar face
where they are missing; every line has an exact height, so a substitute with other metrics
cannot push the receipt onto a second page.
"""

from __future__ import annotations

import io
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal
from xml.sax.saxutils import escape

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from lxml import etree
from reportlab.lib import textsplit as reportlab_textsplit
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
)
from reportlab.platypus import paragraph as reportlab_paragraph

from kcbx.bot.documents.fonts import missing_characters, register_reportlab_font
from kcbx.bot.documents.wording import (
    CUT_LINE_LABEL,
    DEFAULT_LEGAL_BASIS,
    SHORT_TITLES,
    TITLES,
    NoticeData,
    NoticeKind,
    NoticeText,
    chinese_date,
    compose_notice,
)

log = logging.getLogger(__name__)

DOCX_BODY_FONT = "宋体"
"""East Asian font of the Word documents: SimSun comes with every Chinese Windows and WPS."""
DOCX_TITLE_FONT = "黑体"
# What a word processor needs to substitute a similar face for a missing one: the font's
# other name, PANOSE class, character set (86 = GB2312), family and pitch (ECMA-376 17.8.3).
_DOCX_FONT_TABLE = {
    DOCX_BODY_FONT: ("SimSun", "02010600030101010101", "86", "auto", "variable"),
    DOCX_TITLE_FONT: ("SimHei", "02010609060101010101", "86", "modern", "fixed"),
}
_GREY = "#555555"


def notice_filename(data: NoticeData, extension: Literal["pdf", "docx"]) -> str:
    """A file name such as ``限期入学通知书_王小明_沙教控辍〔2024〕7号.pdf``.

    Characters that file systems or Telegram clients refuse (``/ \\ : * ? " < > |`` and
    control characters) become ``_``.
    """
    stem = "_".join((SHORT_TITLES[data.kind], data.student.strip(), data.number.strip()))
    stem = re.sub(r'[\\/:*?"<>|\x00-\x1f\x7f]', "_", stem).strip(" .")[:120]
    return f"{stem}.{extension}"


# --- PDF -------------------------------------------------------------------------------------

# reportlab keeps module-level state (fonts, document templates); one document at a time.
_pdf_lock = threading.Lock()


def render_notice_pdf(data: NoticeData) -> bytes:
    """The document as an A4 PDF with its Chinese fonts embedded, the receipt on page 1."""
    text = compose_notice(data)
    missing = missing_characters(text.all_text(), serif=True)
    if missing:
        log.warning("%s %s: the font has no glyph for %r", text.title, text.number, missing)
    serif = register_reportlab_font(text.all_text(), serif=True)
    sans = register_reportlab_font(text.title + text.receipt_title + CUT_LINE_LABEL)
    styles = _pdf_styles(serif, sans)
    # Paragraph reads XML-like markup, so every text is escaped (a name may hold < or &).
    story: list[Any] = [
        Paragraph(escape(text.title), styles["title"]),
        Paragraph(escape(text.number), styles["number"]),
        Paragraph(escape(text.salutation), styles["salutation"]),
        *(Paragraph(escape(paragraph), styles["body"]) for paragraph in text.paragraphs),
        _pdf_signature(text, serif),
        Paragraph(escape(text.date), styles["date"]),
        Spacer(1, 0.45 * cm),
        KeepTogether(
            [
                _CutLine(sans),
                Spacer(1, 0.2 * cm),
                Paragraph(escape(text.receipt_title), styles["receipt_title"]),
                _pdf_receipt(text, styles["cell"]),
                Spacer(1, 0.15 * cm),
                Paragraph(escape(text.receipt_note), styles["note"]),
            ]
        ),
    ]
    buffer = io.BytesIO()
    with _pdf_lock, _chinese_line_breaking():
        document = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=2.2 * cm,
            rightMargin=2.2 * cm,
            topMargin=1.6 * cm,
            bottomMargin=1.3 * cm,
            title=f"{text.title} {text.number}",
            author="、".join(text.issuers),
            subject=text.subject,
            creator="kcbx",
            lang="zh-CN",
        )
        document.build(story)
    return buffer.getvalue()


def _pdf_styles(serif: str, sans: str) -> dict[str, ParagraphStyle]:
    def style(name: str, size: float, font: str = serif, **options: Any) -> ParagraphStyle:
        options.setdefault("leading", size * 1.55)
        return ParagraphStyle(name, fontName=font, fontSize=size, wordWrap="CJK", **options)

    return {
        "title": style("title", 20, sans, alignment=TA_CENTER, spaceAfter=2),
        "number": style("number", 11.5, alignment=TA_CENTER, spaceAfter=8),
        "salutation": style("salutation", 12.5, alignment=TA_LEFT),
        "body": style("body", 12.5, alignment=TA_JUSTIFY, firstLineIndent=25, leading=19),
        "date": style("date", 12, alignment=TA_RIGHT, rightIndent=24),
        "receipt_title": style("receipt_title", 14, sans, alignment=TA_CENTER, spaceAfter=3),
        "cell": style("cell", 10.5, leading=13),
        "note": style("note", 9, alignment=TA_LEFT, textColor="#444444"),
    }


def _pdf_signature(text: NoticeText, font: str) -> Table:
    """The issuing organs side by side, each with room for its seal above its name."""
    count = len(text.issuers)
    return Table(
        [[text.seal_mark] * count, list(text.issuers)],  # plain strings: not markup
        colWidths=[7.6 * cm] * count if count > 1 else None,
        rowHeights=[1.35 * cm, 0.75 * cm],
        hAlign="RIGHT",
        style=[
            ("FONT", (0, 0), (-1, 0), font, 9),
            ("TEXTCOLOR", (0, 0), (-1, 0), _GREY),
            ("FONT", (0, 1), (-1, 1), font, 12),
            ("ALIGN", (0, 0), (-1, -1), "CENTER"),
            ("VALIGN", (0, 0), (-1, 0), "MIDDLE"),
            ("VALIGN", (0, 1), (-1, 1), "BOTTOM"),
        ],
    )


def _pdf_receipt(text: NoticeText, cell: ParagraphStyle) -> Table:
    """The receipt's table: a label and its value, or two of each, a row."""
    rows, spans = [], []
    for index, row in enumerate(text.receipt_rows):
        # reportlab breaks lines at blanks and drops them there: keep the ideographic ones
        cells = [Paragraph(escape(value).replace("\u3000", "\xa0\xa0"), cell) for value in row]
        if len(row) == 2:
            cells += ["", ""]
            spans.append(("SPAN", (1, index), (3, index)))
        rows.append(cells)
    return Table(
        rows,
        colWidths=[3.3 * cm, 5.0 * cm, 3.0 * cm, 5.3 * cm],
        style=[
            ("GRID", (0, 0), (-1, -1), 0.5, "#333333"),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 4.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 4.5),
            *spans,
        ],
    )


# Chinese punctuation that must not start a line; reportlab's list is made for Japanese and
# lacks ，：；！？》 and the closing quotes.
_CANNOT_START_LINE = "，。、：；！？）》〉」』】〕］｝”’…％"


@contextmanager
def _chinese_line_breaking() -> Iterator[None]:
    """While held, reportlab's CJK line breaking also keeps Chinese closing punctuation back.

    reportlab reads the list from two module globals (one for single-style paragraphs, one
    for mixed ones); both are extended, and restored afterwards. Hold ``_pdf_lock``.
    """
    modules = (reportlab_textsplit, reportlab_paragraph)
    originals = [module.ALL_CANNOT_START for module in modules]
    for module, original in zip(modules, originals, strict=True):
        extra = "".join(char for char in _CANNOT_START_LINE if char not in original)
        module.ALL_CANNOT_START = original + extra
    try:
        yield
    finally:
        for module, original in zip(modules, originals, strict=True):
            module.ALL_CANNOT_START = original


class _CutLine(Flowable):
    """A dashed line across the page, labelled where the receipt is cut off."""

    height = 12.0

    def __init__(self, font: str) -> None:
        super().__init__()
        self.font = font
        self.width = 0.0

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        self.width = available_width
        return available_width, self.height

    def draw(self) -> None:
        canvas = self.canv
        label_width = canvas.stringWidth(CUT_LINE_LABEL, self.font, 9) + 12
        gap_start = (self.width - label_width) / 2
        middle = self.height / 2
        canvas.saveState()
        canvas.setStrokeColor("#666666")
        canvas.setFillColor("#666666")
        canvas.setDash(4, 3)
        canvas.line(0, middle, gap_start, middle)
        canvas.line(gap_start + label_width, middle, self.width, middle)
        canvas.setFont(self.font, 9)
        canvas.drawCentredString(self.width / 2, middle - 3, CUT_LINE_LABEL)
        canvas.restoreState()


# --- Word ------------------------------------------------------------------------------------

# Exact line heights (points) of the Word document: a substitute font cannot change them.
DOCX_LINE = 19.0
DOCX_RECEIPT_ROW = 20.0


def render_notice_docx(data: NoticeData) -> bytes:
    """The document as a Word file (A4), for the office to check, edit and print."""
    text = compose_notice(data)
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.4)
    section.top_margin, section.bottom_margin = Cm(1.6), Cm(1.3)
    _docx_defaults(document)
    properties = document.core_properties
    properties.title = f"{text.title} {text.number}"
    properties.author = "、".join(text.issuers)
    properties.subject = text.subject
    properties.language = "zh-CN"

    add = _adder(document)
    add(text.title, size=20, align=WD_ALIGN_PARAGRAPH.CENTER, font=DOCX_TITLE_FONT, line=30)
    add(text.number, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=6)
    add(text.salutation)
    for paragraph in text.paragraphs:
        add(paragraph, align=WD_ALIGN_PARAGRAPH.JUSTIFY, indent=True)
    _docx_signature(document, text)
    dated = add(text.date, align=WD_ALIGN_PARAGRAPH.RIGHT, space_after=10)
    dated.paragraph_format.right_indent = Pt(24)

    cut = add(CUT_LINE_LABEL, size=9, align=WD_ALIGN_PARAGRAPH.CENTER, line=14, space_after=4)
    _dashed_top_border(cut)
    receipt_title = add(
        text.receipt_title, size=14, align=WD_ALIGN_PARAGRAPH.CENTER, font=DOCX_TITLE_FONT, line=22
    )
    for together in (cut, receipt_title):
        together.paragraph_format.keep_with_next = True
    _docx_receipt(document, text)
    add(text.receipt_note, size=9, line=13, colour=RGBColor(0x44, 0x44, 0x44))

    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _docx_defaults(document: Any) -> None:
    """宋体 12 pt with exact 19 pt lines everywhere, and the fonts' fallbacks declared."""
    normal: Any = document.styles["Normal"]
    normal.font.size = Pt(12)
    _set_east_asian_font(normal.element, DOCX_BODY_FONT)
    normal.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    normal.paragraph_format.line_spacing = Pt(DOCX_LINE)
    normal.paragraph_format.space_before = Pt(0)
    normal.paragraph_format.space_after = Pt(0)
    table_style: Any = document.styles["Normal Table"]
    _set_east_asian_font(table_style.element, DOCX_BODY_FONT)
    _declare_fonts(document)


def _adder(document: Any) -> Any:
    def add(
        content: str,
        *,
        size: float = 12,
        align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.LEFT,
        font: str = DOCX_BODY_FONT,
        indent: bool = False,
        space_after: float = 0,
        line: float = DOCX_LINE,
        colour: RGBColor | None = None,
        into: Any = None,
    ) -> Any:
        paragraph = (into or document).add_paragraph()
        paragraph.alignment = align
        paragraph_format = paragraph.paragraph_format
        paragraph_format.space_after = Pt(space_after)
        paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        paragraph_format.line_spacing = Pt(line)
        if indent:
            paragraph_format.first_line_indent = Pt(size * 2)
        run = paragraph.add_run(content)
        run.font.size = Pt(size)
        _set_east_asian_font(run._r, font)
        if colour is not None:
            run.font.color.rgb = colour
        return paragraph

    return add


def _docx_signature(document: Any, text: NoticeText) -> None:
    """The organs side by side (a borderless table), room for each seal above its name."""
    add = _adder(document)
    table = document.add_table(rows=2, cols=len(text.issuers))
    table.alignment = WD_TABLE_ALIGNMENT.RIGHT
    for column, issuer in enumerate(text.issuers):
        seal, name = table.cell(0, column), table.cell(1, column)
        seal.paragraphs[0]._p.getparent().remove(seal.paragraphs[0]._p)
        name.paragraphs[0]._p.getparent().remove(name.paragraphs[0]._p)
        grey = RGBColor(0x55, 0x55, 0x55)
        add(text.seal_mark, size=9, align=WD_ALIGN_PARAGRAPH.CENTER, colour=grey, into=seal)
        add(issuer, align=WD_ALIGN_PARAGRAPH.CENTER, into=name)
        seal.vertical_alignment = name.vertical_alignment = 1  # centre, bottom-ish rows
    _row_height(table.rows[0], 34)
    _row_height(table.rows[1], DOCX_LINE + 2)


def _docx_receipt(document: Any, text: NoticeText) -> None:
    """The receipt as a bordered table whose rows have an exact height."""
    add = _adder(document)
    table = document.add_table(rows=len(text.receipt_rows), cols=4)
    table.style = document.styles["Table Grid"]
    widths = (Cm(3.3), Cm(4.9), Cm(3.0), Cm(5.0))
    for index, values in enumerate(text.receipt_rows):
        row = table.rows[index]
        _row_height(row, DOCX_RECEIPT_ROW)
        cells = list(row.cells)
        if len(values) == 2:
            cells = [cells[0], cells[1].merge(cells[3])]
        for cell, width, value in zip(cells, widths, values, strict=False):
            cell.width = width
            cell._tc.remove(cell.paragraphs[0]._p)
            add(value, size=10.5, line=14, into=cell)
            cell.vertical_alignment = 1
    for row in table.rows:
        row.cells[0].paragraphs[0].paragraph_format.keep_with_next = True


def _row_height(row: Any, points: float) -> None:
    """An exact row height: the row neither grows nor shrinks with its font."""
    properties = row._tr.get_or_add_trPr()
    height = OxmlElement("w:trHeight")
    height.set(qn("w:val"), str(round(points * 20)))
    height.set(qn("w:hRule"), "exact")
    properties.append(height)


def _declare_fonts(document: Any) -> None:
    """Add 宋体 and 黑体 to the font table with what a word processor substitutes them by."""
    part = document.part.part_related_by(RELATIONSHIP_TYPE.FONT_TABLE)
    fonts = parse_xml(part.blob)
    for name, (alternative, panose, charset, family, pitch) in _DOCX_FONT_TABLE.items():
        font = OxmlElement("w:font")
        font.set(qn("w:name"), name)
        for tag, value in (
            ("w:altName", alternative),
            ("w:panose1", panose),
            ("w:charset", charset),
            ("w:family", family),
            ("w:pitch", pitch),
        ):
            child = OxmlElement(tag)
            child.set(qn("w:val"), value)
            font.append(child)
        fonts.append(font)
    # a plain Part keeps its XML as bytes
    part._blob = etree.tostring(fonts, xml_declaration=True, encoding="UTF-8", standalone=True)


def _set_east_asian_font(element: Any, name: str) -> None:
    """Set a style's or run's font in every slot, East Asian included, and its language.

    ``font.name`` in python-docx sets only the Latin slots; Word takes the font for Chinese
    from ``w:rFonts/@w:eastAsia`` and line-breaks by ``w:lang/@w:eastAsia``.
    """
    properties = element.get_or_add_rPr()
    fonts = properties.get_or_add_rFonts()
    for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(slot), name)
    fonts.set(qn("w:hint"), "eastAsia")  # ambiguous characters (“”…) take the Chinese font
    language = properties.find(qn("w:lang"))
    if language is None:
        language = OxmlElement("w:lang")
        properties.append(language)  # w:lang is the last property python-docx writes
    language.set(qn("w:eastAsia"), "zh-CN")


def _dashed_top_border(paragraph: Any) -> None:
    """A dashed line above the paragraph (the cut line of the receipt)."""
    border = OxmlElement("w:pBdr")
    top = OxmlElement("w:top")
    for attribute, value in (("w:val", "dashed"), ("w:sz", "6"), ("w:space", "4")):
        top.set(qn(attribute), value)
    top.set(qn("w:color"), "666666")
    border.append(top)
    paragraph._p.get_or_add_pPr().insert_element_before(border, *_AFTER_PARAGRAPH_BORDER)


# WordprocessingML orders a paragraph's properties; these come after w:pBdr (ECMA-376 17.3.1.26).
_AFTER_PARAGRAPH_BORDER = (
    "w:shd",
    "w:tabs",
    "w:suppressAutoHyphens",
    "w:kinsoku",
    "w:wordWrap",
    "w:overflowPunct",
    "w:topLinePunct",
    "w:autoSpaceDE",
    "w:autoSpaceDN",
    "w:bidi",
    "w:adjustRightInd",
    "w:snapToGrid",
    "w:spacing",
    "w:ind",
    "w:contextualSpacing",
    "w:mirrorIndents",
    "w:suppressOverlap",
    "w:jc",
    "w:textDirection",
    "w:textAlignment",
    "w:textboxTightWrap",
    "w:outlineLvl",
    "w:divId",
    "w:cnfStyle",
    "w:rPr",
    "w:sectPr",
    "w:pPrChange",
)


__all__ = [
    "DEFAULT_LEGAL_BASIS",
    "TITLES",
    "NoticeData",
    "NoticeKind",
    "chinese_date",
    "compose_notice",
    "notice_filename",
    "render_notice_docx",
    "render_notice_pdf",
]
