"""The guardians' notices, as PDF (for phones) and Word (for offices to edit and print).

Two documents, both from the education bureau together with the township (A7.4, A7.5):

- the notice to enrol by a deadline (限期入学通知书), when the guardians have not sent the child
  back after 15 days;
- the reprimand and order to correct (批评教育，责令限期改正通知书), when the notice's deadline
  has passed.

The texts are Chinese official documents and stay Chinese whatever language the person who
asks for them reads the bot in: the county's notice to a family is legally a Chinese document.
So they are not gettext messages. Each document ends with a receipt (回执) to cut off, which the
guardian signs and which goes back into the case file.

Everything here is pure: a :class:`NoticeData` in, the file's bytes out. The wording is built
once by :func:`compose_notice` and laid out twice, so the PDF and the .docx say the same thing.
"""

from __future__ import annotations

import io
import logging
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Literal
from xml.sax.saxutils import escape

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
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

log = logging.getLogger(__name__)

NoticeKind = Literal["notice", "correction"]

DEFAULT_LEGAL_BASIS = (
    "《中华人民共和国义务教育法》第五条第二款规定：“适龄儿童、少年的父母或者其他法定监护人"
    "应当依法保证其按时入学接受并完成义务教育。”"
    "《沙坡头区义务教育控辍保学管理办法》第七条规定：“对超过15日仍未送子女复学的父母或其他监护人，"
    "由教育行政部门联合属地乡镇下发《限期入学通知书》，责令限期复学，在限期内仍不能按期入学的，"
    "对不履行职责和劝返无果的学生父母或其他监护人给予批评教育，并责令限期改正。”"
)
"""The guardians' duty and the county's rule, quoted; another county passes its own text."""

TITLES: dict[NoticeKind, str] = {
    "notice": "限期入学通知书",
    "correction": "批评教育，责令限期改正通知书",
}
SHORT_TITLES: dict[NoticeKind, str] = {
    "notice": "限期入学通知书",
    "correction": "责令限期改正通知书",
}

DOCX_BODY_FONT = "宋体"
"""East Asian font of the Word documents: SimSun comes with every Chinese Windows and WPS."""
DOCX_TITLE_FONT = "黑体"

_BLANK = "＿＿＿＿＿＿＿＿"


@dataclass(frozen=True)
class NoticeData:
    """What a notice says.

    Attributes:
        kind: ``"notice"`` (限期入学通知书, A7.4) or ``"correction"`` (A7.5).
        number: the document number, e.g. ``沙教控辍〔2024〕第007号``.
        guardians: the guardians' names, as on the household register.
        student: the child's name.
        gender: ``男`` or ``女``.
        school: the school's full name.
        grade_class: grade and class, e.g. ``三年级（2）班``.
        address: household address (township, village, group), e.g. ``滨河镇黄湾村三组``.
        absent_since: the first day of unexplained absence (day 0).
        days_absent: days absent so far, counted as the policy counts them.
        deadline: the day by which the child must be back at school; None while it is not
            known (the deadline runs from delivery, A7.4): the document then gives
            ``deadline_days`` counted from the day it is delivered.
        issuers: the issuing bodies, e.g. ``("中卫市沙坡头区教育局", "滨河镇人民政府")``.
        issue_date: the date of the document.
        previous_number: for a correction, the number of the notice whose deadline passed
            (required); for a notice, the number of the notice it replaces, if any.
        legal_basis: the legal provisions quoted in the document.
        contact: who to call and the number, printed if given.
        deadline_days: the days from delivery the guardians have, when ``deadline`` is None.
    """

    kind: NoticeKind
    number: str
    guardians: Sequence[str]
    student: str
    gender: str
    school: str
    grade_class: str
    address: str
    absent_since: date
    days_absent: int
    deadline: date | None
    issuers: Sequence[str]
    issue_date: date
    previous_number: str | None = None
    legal_basis: str = DEFAULT_LEGAL_BASIS
    contact: str = ""
    deadline_days: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in TITLES:
            raise ValueError(f"unknown notice kind {self.kind!r}")
        if isinstance(self.guardians, str) or isinstance(self.issuers, str):
            raise TypeError("guardians and issuers are lists of names, not one string")
        if not self.guardians or not all(name.strip() for name in self.guardians):
            raise ValueError("a notice needs the guardians' names")
        if not self.issuers:
            raise ValueError("a notice needs its issuing bodies")
        if self.kind == "correction" and not self.previous_number:
            raise ValueError("an order to correct cites the notice whose deadline passed")
        if self.deadline is None:
            if self.deadline_days is None or self.deadline_days < 1:
                raise ValueError("without a deadline date, give the days from delivery")
        elif self.deadline <= self.issue_date:
            raise ValueError("the deadline must come after the issue date")


@dataclass(frozen=True)
class NoticeText:
    """The wording of one document, ready to lay out."""

    title: str
    number: str
    subject: str
    salutation: str
    paragraphs: tuple[str, ...]
    issuers: tuple[str, ...]
    date: str
    receipt_title: str
    receipt_statement: str
    receipt_blanks: tuple[tuple[str, str], ...]
    receipt_note: str

    def all_text(self) -> str:
        """Every character the document draws (to build its font)."""
        return "".join(
            (
                self.title,
                self.number,
                self.salutation,
                *self.paragraphs,
                *self.issuers,
                self.date,
                self.receipt_title,
                self.receipt_statement,
                *(label for row in self.receipt_blanks for label in row),
                self.receipt_note,
                _CUT_LINE_LABEL,
            )
        )


_CUT_LINE_LABEL = "沿此线剪下"


def chinese_date(day: date) -> str:
    """``2024年3月5日``: dates in official documents use Arabic numerals (GB/T 9704-2012)."""
    return f"{day.year}年{day.month}月{day.day}日"


def _clean(text: str) -> str:
    """Drop control characters (Word refuses them in XML) and surrounding blanks."""
    return "".join(char for char in text if char.isprintable() or char == "\u3000").strip()


def compose_notice(data: NoticeData) -> NoticeText:
    """Write the document's text from its data."""
    data = replace(
        data,
        number=_clean(data.number),
        guardians=[_clean(name) for name in data.guardians],
        student=_clean(data.student),
        gender=_clean(data.gender),
        school=_clean(data.school),
        grade_class=_clean(data.grade_class),
        address=_clean(data.address),
        issuers=[_clean(issuer) for issuer in data.issuers],
        previous_number=_clean(data.previous_number) if data.previous_number else None,
        contact=_clean(data.contact),
    )
    student = data.student
    facts = (
        f"你们的子女{student}（{data.gender}），系{data.school}{data.grade_class}学生，"
        f"家庭住址：{data.address}。该生自{chinese_date(data.absent_since)}起无故未到校上学，"
        f"至今已{data.days_absent}天。"
    )
    if data.deadline is not None:
        back_by = f"请于{chinese_date(data.deadline)}前送{student}到{data.school}报到复学。"
    else:
        back_by = (
            f"请自本通知书送达之日起{data.deadline_days}日内送{student}到{data.school}报到复学。"
        )
    help_text = "如有特殊困难，请及时向学校或乡镇人民政府说明，我们将依照有关政策帮助解决。"
    if data.contact:
        help_text += f"联系人及电话：{data.contact}。"
    if data.kind == "notice":
        paragraphs = [
            facts + "你们作为监护人，至今未送其返校复学。",
            data.legal_basis,
            "依据上述规定，现责令你们限期送子女入学：" + back_by,
            "逾期仍不送其入学的，将依照《中华人民共和国义务教育法》第五十八条的规定，"
            "由教育行政部门和乡镇人民政府对你们给予批评教育，并责令限期改正。",
            help_text,
        ]
        if data.previous_number:
            paragraphs.append(
                f"本通知书替代{data.previous_number}《限期入学通知书》，原通知书同时作废。"
            )
    else:
        paragraphs = [
            facts + f"此前已向你们送达{data.previous_number}《限期入学通知书》，责令限期送其"
            "复学，你们在规定期限内仍未送其入学，未履行监护人依法保证子女接受义务教育的职责。",
            data.legal_basis,
            "依照《中华人民共和国义务教育法》第五十八条和上述规定，现对你们提出批评教育，"
            "并责令你们限期改正：" + back_by,
            "逾期仍拒不改正的，将依照有关法律法规作进一步处理。",
            help_text,
        ]
    title = TITLES[data.kind]
    return NoticeText(
        title=title,
        number=data.number,
        subject=f"{student} {data.school}{data.grade_class}",
        salutation="、".join(data.guardians) + "：",
        paragraphs=tuple(paragraphs),
        issuers=tuple(data.issuers),
        date=chinese_date(data.issue_date),
        receipt_title="回　执",
        receipt_statement=(
            f"本人已收到{data.number}《{title}》（学生：{student}，"
            f"{data.school}{data.grade_class}），知悉其内容。"
        ),
        receipt_blanks=(
            ("监护人（签名）", "与学生关系"),
            ("签收日期", "联系电话"),
            ("送达人（签名）", "见证人（签名）"),
        ),
        receipt_note=(
            "请监护人签名后将本回执交回学校或乡镇人民政府。监护人拒绝签收的，"
            "由送达人注明情况和日期，并由见证人签名。"
        ),
    )


def notice_filename(data: NoticeData, extension: Literal["pdf", "docx"]) -> str:
    """A file name such as ``限期入学通知书_王小明_沙教控辍〔2024〕第007号.pdf``.

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
    """The document as an A4 PDF with the Chinese font embedded (one page for usual data)."""
    text = compose_notice(data)
    missing = missing_characters(text.all_text())
    if missing:
        log.warning("%s %s: the font has no glyph for %r", text.title, text.number, missing)
    font = register_reportlab_font(text.all_text())

    def style(name: str, size: float, **options: Any) -> ParagraphStyle:
        return ParagraphStyle(
            name, fontName=font, fontSize=size, leading=size * 1.6, wordWrap="CJK", **options
        )

    title = style("title", 20, alignment=TA_CENTER, spaceAfter=4)
    number = style("number", 11, alignment=TA_CENTER, spaceAfter=14)
    salutation = style("salutation", 12, alignment=TA_LEFT, spaceAfter=2)
    body = style("body", 12, alignment=TA_JUSTIFY, firstLineIndent=24)
    right = style("right", 12, alignment=TA_RIGHT, rightIndent=24)
    receipt_title = style("receipt_title", 14, alignment=TA_CENTER, spaceAfter=4)
    receipt = style("receipt", 11, alignment=TA_LEFT)
    note = style("note", 9, alignment=TA_LEFT, textColor="#444444")

    # Paragraph reads XML-like markup, so every text is escaped (a name may hold < or &).
    issuers = Table(
        [list(text.issuers)],  # plain strings: a Table cell is not markup
        hAlign="RIGHT",
        style=[
            ("FONT", (0, 0), (-1, -1), font, 12),
            ("LEFTPADDING", (0, 0), (-1, -1), 14),
            ("RIGHTPADDING", (0, 0), (-1, -1), 14),
        ],
    )
    receipt_table = Table(
        [
            [cell for label in row for cell in (Paragraph(escape(label) + "：", receipt), "")]
            for row in text.receipt_blanks
        ],
        colWidths=[3.7 * cm, 4.3 * cm, 3.7 * cm, 4.9 * cm],
        rowHeights=1.0 * cm,
        style=[
            ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
            ("LINEBELOW", (1, 0), (1, -1), 0.6, "#333333"),
            ("LINEBELOW", (3, 0), (3, -1), 0.6, "#333333"),
        ],
    )
    story: list[Any] = [
        Paragraph(escape(text.title), title),
        Paragraph(escape(text.number), number),
        Paragraph(escape(text.salutation), salutation),
        *(Paragraph(escape(paragraph), body) for paragraph in text.paragraphs),
        # Room for the seals, which are pressed over the issuers' names and the date.
        Spacer(1, 1.2 * cm),
        issuers,
        Paragraph(escape(text.date), right),
        Spacer(1, 0.8 * cm),
        KeepTogether(
            [
                _CutLine(font),
                Spacer(1, 0.35 * cm),
                Paragraph(escape(text.receipt_title), receipt_title),
                Paragraph(escape(text.receipt_statement), receipt),
                receipt_table,
                Spacer(1, 0.3 * cm),
                Paragraph(escape(text.receipt_note), note),
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
            topMargin=1.8 * cm,
            bottomMargin=1.5 * cm,
            title=f"{text.title} {text.number}",
            author="、".join(text.issuers),
            subject=text.subject,
            creator="kcbx",
            lang="zh-CN",
        )
        document.build(story)
    return buffer.getvalue()


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
        label_width = canvas.stringWidth(_CUT_LINE_LABEL, self.font, 9) + 12
        gap_start = (self.width - label_width) / 2
        middle = self.height / 2
        canvas.saveState()
        canvas.setStrokeColor("#666666")
        canvas.setFillColor("#666666")
        canvas.setDash(4, 3)
        canvas.line(0, middle, gap_start, middle)
        canvas.line(gap_start + label_width, middle, self.width, middle)
        canvas.setFont(self.font, 9)
        canvas.drawCentredString(self.width / 2, middle - 3, _CUT_LINE_LABEL)
        canvas.restoreState()


# --- Word ------------------------------------------------------------------------------------


def render_notice_docx(data: NoticeData) -> bytes:
    """The document as a Word file (A4), for the office to check, edit and print."""
    text = compose_notice(data)
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.5)
    section.top_margin, section.bottom_margin = Cm(2.2), Cm(2)

    normal: Any = document.styles["Normal"]
    normal.font.size = Pt(12)
    _set_east_asian_font(normal.element, DOCX_BODY_FONT)
    normal.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    normal.paragraph_format.line_spacing = Pt(22)
    normal.paragraph_format.space_after = Pt(0)

    properties = document.core_properties
    properties.title = f"{text.title} {text.number}"
    properties.author = "、".join(text.issuers)
    properties.subject = text.subject
    properties.language = "zh-CN"

    def add(
        content: str,
        *,
        size: float = 12,
        align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.LEFT,
        font: str = DOCX_BODY_FONT,
        indent: bool = False,
        space_after: float = 0,
        colour: RGBColor | None = None,
    ) -> Any:
        paragraph = document.add_paragraph()
        paragraph.alignment = align
        paragraph_format = paragraph.paragraph_format
        paragraph_format.space_after = Pt(space_after)
        if size > 14:
            paragraph_format.line_spacing = Pt(size * 1.6)
        if indent:
            paragraph_format.first_line_indent = Pt(size * 2)
        run = paragraph.add_run(content)
        run.font.size = Pt(size)
        _set_east_asian_font(run._r, font)
        if colour is not None:
            run.font.color.rgb = colour
        return paragraph

    add(text.title, size=22, align=WD_ALIGN_PARAGRAPH.CENTER, font=DOCX_TITLE_FONT)
    add(text.number, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=12)
    add(text.salutation)
    for paragraph in text.paragraphs:
        add(paragraph, align=WD_ALIGN_PARAGRAPH.JUSTIFY, indent=True)
    add("", space_after=24)  # room for the seals, pressed over the issuers and the date
    issuers = add("　　".join(text.issuers), align=WD_ALIGN_PARAGRAPH.RIGHT)
    issuers.paragraph_format.right_indent = Pt(24)
    dated = add(text.date, align=WD_ALIGN_PARAGRAPH.RIGHT, space_after=18)
    dated.paragraph_format.right_indent = Pt(24)

    cut = add(_CUT_LINE_LABEL, size=9, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=6)
    _dashed_top_border(cut)
    receipt_title = add(text.receipt_title, size=14, align=WD_ALIGN_PARAGRAPH.CENTER)
    receipt_lines = [add(text.receipt_statement, size=11)]
    for row in text.receipt_blanks:
        line = "　　".join(f"{label}：{_BLANK}" for label in row)
        receipt_lines.append(add(line, size=11, space_after=8))
    for together in (cut, receipt_title, *receipt_lines):
        together.paragraph_format.keep_with_next = True
    add(text.receipt_note, size=9, colour=RGBColor(0x44, 0x44, 0x44))

    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _set_east_asian_font(element: Any, name: str) -> None:
    """Set a style's or run's font in every slot, East Asian included, and its language.

    ``font.name`` in python-docx sets only the Latin slots; Word takes the font for Chinese
    from ``w:rFonts/@w:eastAsia`` and line-breaks by ``w:lang/@w:eastAsia``.
    """
    properties = element.get_or_add_rPr()
    fonts = properties.get_or_add_rFonts()
    for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(slot), name)
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
